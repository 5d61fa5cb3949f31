"""Context buckets: the second half of the RL state (`status:bucket`).

A bucket is the single most decision-relevant situation of a lead, chosen first
match wins in the order of `Bucket`. The order puts "can we even reach them" and "are
they upset" before opportunities, and opportunities before concerns, because those
are what change the right next step most. What the bucket loses (a lead with a
financial concern *and* objections) the action brief gets back: briefs draw on
every active signal; the `compound` state model (`state_model.py`) keeps it in the
RL state too.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stream_app.domain.context import UNREACHED_OUTCOMES, LeadContext, negative_trend
from stream_app.domain.extraction.model import Intent, Level, Sentiment
from stream_app.domain.lifecycle import Status


class Bucket(StrEnum):
    UNREACHED = "unreached"
    NEGATIVE = "negative"
    SCHEDULING_INTENT = "scheduling_intent"
    POSITIVE_ENGAGEMENT = "positive_engagement"
    PAYMENT_CONCERN = "payment_concern"
    FINANCIAL_CONCERN = "financial_concern"
    HAS_OBJECTIONS = "has_objections"
    FAMILY_CONTEXT = "family_context"
    CONSIDERING = "considering"
    NOVEL_SIGNAL = "novel_signal"
    NEUTRAL = "neutral"


@dataclass(frozen=True, slots=True)
class BucketParams:
    """Thresholds of the bucket rules."""

    negative_window: int = 3
    negative_minimum: int = 2
    financial_concern_from: Level = Level.MODERATE
    novel_signal_from: Level = Level.MODERATE


DEFAULT_BUCKETS = BucketParams()


def bucket(ctx: LeadContext, params: BucketParams = DEFAULT_BUCKETS) -> Bucket:
    """The first matching bucket, in the order of `Bucket`."""
    if ctx.last_contact_outcome in UNREACHED_OUTCOMES:
        return Bucket.UNREACHED
    intent = ctx.last_intent
    if intent == Intent.DECLINING or negative_trend(
        ctx, params.negative_window, params.negative_minimum
    ):
        return Bucket.NEGATIVE
    if intent == Intent.SCHEDULING:
        return Bucket.SCHEDULING_INTENT
    sentiments = ctx.recent_sentiments
    if intent == Intent.INTERESTED and sentiments and sentiments[-1] == Sentiment.POSITIVE:
        return Bucket.POSITIVE_ENGAGEMENT
    if ctx.payment_concern:
        return Bucket.PAYMENT_CONCERN
    if ctx.financial_concern.rank >= params.financial_concern_from.rank:
        return Bucket.FINANCIAL_CONCERN
    if ctx.objections:
        return Bucket.HAS_OBJECTIONS
    if ctx.decision_makers or ctx.siblings:
        return Bucket.FAMILY_CONTEXT
    if intent == Intent.CONSIDERING:
        return Bucket.CONSIDERING
    floor = params.novel_signal_from.rank
    if any(s.urgency.rank >= floor for s in ctx.signals):
        return Bucket.NOVEL_SIGNAL
    return Bucket.NEUTRAL


_STATES: dict[tuple[Status, Bucket], str] = {
    (s, b): f"{s.value}:{b.value}" for s in Status for b in Bucket
}


def rl_state(status: Status, bucket: Bucket) -> str:
    """The RL state key, `status:bucket`."""
    return _STATES[(status, bucket)]
