"""Bucket encoding: the order of `Bucket`, first match wins."""

from __future__ import annotations

from typing import Any

import pytest

from stream_app.domain.buckets import Bucket, BucketParams, bucket, rl_state
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Intent,
    Level,
    Objection,
    Sentiment,
)
from stream_app.domain.lifecycle import ContactOutcome, Status

NEG, POS = Sentiment.NEGATIVE, Sentiment.POSITIVE

# In priority order: each row's signals plus those of every row below it must still
# give that row's bucket, which is what "first match wins" means.
PRIORITY: list[tuple[Bucket, dict[str, Any]]] = [
    (Bucket.UNREACHED, {"last_contact_outcome": ContactOutcome.NO_ANSWER}),
    (Bucket.NEGATIVE, {"recent_sentiments": (NEG, NEG)}),
    (Bucket.SCHEDULING_INTENT, {"last_intent": Intent.SCHEDULING}),
    (Bucket.POSITIVE_ENGAGEMENT, {"last_intent": Intent.INTERESTED, "recent_sentiments": (POS,)}),
    (Bucket.PAYMENT_CONCERN, {"payment_concern": True}),
    (Bucket.FINANCIAL_CONCERN, {"financial_concern": Level.MODERATE}),
    (Bucket.HAS_OBJECTIONS, {"objections": (Objection(topic="distance"),)}),
    (Bucket.FAMILY_CONTEXT, {"siblings": ("brother, 7",)}),
    (Bucket.CONSIDERING, {"last_intent": Intent.CONSIDERING}),
    (
        Bucket.NOVEL_SIGNAL,
        {"signals": (AdditionalSignal(signal="job_loss", urgency=Level.MODERATE),)},
    ),
    (Bucket.NEUTRAL, {}),
]


@pytest.mark.parametrize("row", range(len(PRIORITY)), ids=[b.value for b, _ in PRIORITY])
def test_priority_order(row: int) -> None:
    fields: dict[str, Any] = {}
    for _, signals in reversed(PRIORITY[row:]):
        fields.update(signals)
    assert bucket(LeadContext(**fields)) == PRIORITY[row][0]


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"last_contact_outcome": ContactOutcome.VOICEMAIL}, Bucket.UNREACHED),
        ({"last_contact_outcome": ContactOutcome.BUSY}, Bucket.UNREACHED),
        ({"last_contact_outcome": ContactOutcome.COMPLETED}, Bucket.NEUTRAL),
        ({"last_intent": Intent.DECLINING}, Bucket.NEGATIVE),
        ({"recent_sentiments": (NEG,)}, Bucket.NEUTRAL),  # one bad call is not a trend
        (
            {"recent_sentiments": (NEG, NEG, POS), "last_intent": Intent.INTERESTED},
            Bucket.POSITIVE_ENGAGEMENT,
        ),
        (
            {"last_intent": Intent.INTERESTED, "recent_sentiments": (Sentiment.NEUTRAL,)},
            Bucket.NEUTRAL,
        ),
        ({"financial_concern": Level.LOW}, Bucket.NEUTRAL),
        ({"financial_concern": Level.HIGH}, Bucket.FINANCIAL_CONCERN),
        ({"decision_makers": ("grandmother",)}, Bucket.FAMILY_CONTEXT),
        (
            {"signals": (AdditionalSignal(signal="referral_source", urgency=Level.LOW),)},
            Bucket.NEUTRAL,
        ),
        (
            {"signals": (AdditionalSignal(signal="special_needs", urgency=Level.HIGH),)},
            Bucket.NOVEL_SIGNAL,
        ),
    ],
)
def test_single_signals(fields: dict[str, Any], expected: Bucket) -> None:
    assert bucket(LeadContext(**fields)) == expected


def test_thresholds_are_parameters() -> None:
    ctx = LeadContext(financial_concern=Level.LOW)
    assert bucket(ctx, BucketParams(financial_concern_from=Level.LOW)) == Bucket.FINANCIAL_CONCERN


def test_rl_state_is_status_colon_bucket() -> None:
    assert rl_state(Status.INTERESTED, Bucket.SCHEDULING_INTENT) == "interested:scheduling_intent"
