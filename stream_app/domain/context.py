"""What the system knows about a lead beyond its status: signals accumulated over time.

`LeadContext` is a frozen pydantic model because it lives in the changelogged lead
table and must round-trip JSON (a `Stored` one, so a field a newer release added is
ignored); the pure `with_*` functions return new values with `model_copy`, which
skips re-validation (every value they build is already valid).

Every list is capped (`ContextLimits`) and deduplicated, keeping the most recent
items, so the state per lead and the cost per event stay bounded however long the
history grows. Signals accumulate across extractions; the latest successful
extraction sets the current financial concern level.

Choices made here:

- An unreached attempt is any contact that did not reach the family: no answer,
  voicemail, busy or failed.
- A missed payment raises `payment_concern` just like a late one (it is the stronger
  signal); a successful payment clears it.
- Objections stay open until the cap pushes them out: extractions do not report an
  objection as resolved, and forgetting one too early is worse than repeating it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from stream_app.domain.extraction.evidence import SignalEvidence
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Extraction,
    ExtractionStatus,
    Intent,
    Level,
    Objection,
    Sentiment,
)
from stream_app.domain.frozen import Stored, drop_unknown
from stream_app.domain.lifecycle import (
    CLOSED,
    AttendanceOutcome,
    ContactChannel,
    ContactOutcome,
    PaymentOutcome,
    Status,
)

UNREACHED_OUTCOMES: frozenset[ContactOutcome] = frozenset(
    {ContactOutcome.NO_ANSWER, ContactOutcome.VOICEMAIL, ContactOutcome.BUSY, ContactOutcome.FAILED}
)


@dataclass(frozen=True, slots=True)
class ContextLimits:
    """Caps on every accumulated list."""

    facts: int = 20
    open_questions: int = 10
    objections: int = 10
    signals: int = 10
    mentions: int = 10
    family: int = 10
    scheduling: int = 10
    recent: int = 5


DEFAULT_LIMITS = ContextLimits()


class LeadContext(Stored):
    """The accumulated, bounded signals of one lead.

    Objections and signals are the extraction's own (strict) records; read back from
    a stored state, their unknown keys are dropped like any stored field's.
    """

    # From extractions
    financial_concern: Level = Level.NONE
    financial_mentions: tuple[str, ...] = ()
    objections: Annotated[tuple[Objection, ...], drop_unknown(Objection)] = ()
    siblings: tuple[str, ...] = ()
    decision_makers: tuple[str, ...] = ()
    family_notes: tuple[str, ...] = ()
    scheduling_constraints: tuple[str, ...] = ()
    preferred_times: tuple[str, ...] = ()
    signals: Annotated[tuple[AdditionalSignal, ...], drop_unknown(AdditionalSignal)] = ()
    facts: tuple[str, ...] = ()
    open_questions: tuple[str, ...] = ()
    summary: str = ""
    last_intent: Intent | None = None
    evidence: Annotated[tuple[SignalEvidence, ...], drop_unknown(SignalEvidence)] = ()
    """The family's words behind each signal held here (lead.extraction folds them in)."""
    recent_intents: tuple[Intent, ...] = ()
    recent_sentiments: tuple[Sentiment, ...] = ()
    # From interactions
    interaction_count: int = 0
    consecutive_unreached: int = 0
    last_contact_outcome: ContactOutcome | None = None
    last_contact_channel: ContactChannel | None = None
    last_engagement_at: datetime | None = None
    first_seen_at: datetime | None = None
    # From payments
    payment_concern: bool = False
    last_payment: PaymentOutcome | None = None
    refunds: int = 0
    last_refund_at: datetime | None = None
    # From attendance
    consecutive_misses: int = 0
    missed_sessions: int = 0
    attended_sessions: int = 0
    attended_ever: bool = False
    last_attendance_at: datetime | None = None
    first_session_at: datetime | None = None
    # From status changes
    at_risk_since: datetime | None = None
    inactive_since: datetime | None = None
    resume_status: Status | None = None

    @property
    def missed_session(self) -> bool:
        """Whether any session was ever missed."""
        return self.missed_sessions > 0


K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _merge(old: tuple[T, ...], new: Iterable[T], cap: int, key: Callable[[T], K]) -> tuple[T, ...]:
    """Append `new` to `old`, a repeated key replacing (and refreshing) the older item.

    The newest items are kept when over `cap`.
    """
    merged: dict[K, T] = {}
    for item in (*old, *new):
        k = key(item)
        merged.pop(k, None)
        merged[k] = item
    items = tuple(merged.values())
    return items[-cap:] if len(items) > cap else items


def _merge_text(old: tuple[str, ...], new: Iterable[str], cap: int) -> tuple[str, ...]:
    return _merge(old, (s.strip() for s in new if s.strip()), cap, _norm)


def _recent(old: tuple[T, ...], item: T, cap: int) -> tuple[T, ...]:
    return (*old, item)[-cap:]


def with_extraction(
    ctx: LeadContext, extraction: Extraction, limits: ContextLimits = DEFAULT_LIMITS
) -> LeadContext:
    """Fold one extraction into the context; a failed or skipped one changes nothing."""
    if extraction.status != ExtractionStatus.OK:
        return ctx
    e = extraction
    lim = limits
    return ctx.model_copy(
        update={
            "financial_concern": e.financial.concern_level,
            "financial_mentions": _merge_text(
                ctx.financial_mentions, e.financial.mentions, lim.mentions
            ),
            "objections": _merge(
                ctx.objections, e.objections, lim.objections, lambda o: _norm(o.topic)
            ),
            "siblings": _merge_text(ctx.siblings, e.family.siblings, lim.family),
            "decision_makers": _merge_text(
                ctx.decision_makers, e.family.decision_makers, lim.family
            ),
            "family_notes": _merge_text(ctx.family_notes, e.family.notes, lim.family),
            "scheduling_constraints": _merge_text(
                ctx.scheduling_constraints, e.scheduling.constraints, lim.scheduling
            ),
            "preferred_times": _merge_text(
                ctx.preferred_times, e.scheduling.preferred_times, lim.scheduling
            ),
            "signals": _merge(
                ctx.signals, e.additional_signals, lim.signals, lambda s: _norm(s.signal)
            ),
            "facts": _merge_text(ctx.facts, e.facts, lim.facts),
            "open_questions": _merge_text(ctx.open_questions, e.open_questions, lim.open_questions),
            "summary": e.summary or ctx.summary,
            "last_intent": e.intent,
            "recent_intents": _recent(ctx.recent_intents, e.intent, lim.recent),
            "recent_sentiments": _recent(ctx.recent_sentiments, e.sentiment, lim.recent),
        }
    )


def with_interaction(
    ctx: LeadContext,
    outcome: ContactOutcome,
    occurred_at: datetime,
    channel: ContactChannel | None = None,
) -> LeadContext:
    """Count a contact attempt of any outcome; a completed one is engagement.

    The channel is kept so that `channel_switch` can move away from the one failing.
    """
    if outcome in UNREACHED_OUTCOMES:
        return ctx.model_copy(
            update={
                "interaction_count": ctx.interaction_count + 1,
                "consecutive_unreached": ctx.consecutive_unreached + 1,
                "last_contact_outcome": outcome,
                "last_contact_channel": channel or ctx.last_contact_channel,
            }
        )
    return ctx.model_copy(
        update={
            "interaction_count": ctx.interaction_count + 1,
            "consecutive_unreached": 0,
            "last_contact_outcome": outcome,
            "last_contact_channel": channel or ctx.last_contact_channel,
            "last_engagement_at": _later(ctx.last_engagement_at, occurred_at),
        }
    )


def with_attendance(
    ctx: LeadContext,
    outcome: AttendanceOutcome,
    occurred_at: datetime,
    session_at: datetime | None = None,
) -> LeadContext:
    """Count an attendance record; `session_at` (else `occurred_at`) dates the session."""
    when = session_at or occurred_at
    first = ctx.first_session_at if ctx.first_session_at and ctx.first_session_at <= when else when
    if outcome == AttendanceOutcome.ATTENDED:
        return ctx.model_copy(
            update={
                "consecutive_misses": 0,
                "attended_sessions": ctx.attended_sessions + 1,
                "attended_ever": True,
                "last_attendance_at": _later(ctx.last_attendance_at, when),
                "last_engagement_at": _later(ctx.last_engagement_at, when),
                "first_session_at": first,
            }
        )
    if outcome == AttendanceOutcome.MISSED:
        return ctx.model_copy(
            update={
                "consecutive_misses": ctx.consecutive_misses + 1,
                "missed_sessions": ctx.missed_sessions + 1,
                "first_session_at": first,
            }
        )
    return ctx


def with_payment(ctx: LeadContext, outcome: PaymentOutcome, occurred_at: datetime) -> LeadContext:
    """Track the payment concern flag (late/missed raise it, succeeded clears it)."""
    if outcome == PaymentOutcome.REFUNDED:
        return ctx.model_copy(
            update={
                "last_payment": outcome,
                "refunds": ctx.refunds + 1,
                "last_refund_at": _later(ctx.last_refund_at, occurred_at),
            }
        )
    concern = outcome != PaymentOutcome.SUCCEEDED
    return ctx.model_copy(update={"last_payment": outcome, "payment_concern": concern})


def with_status(
    ctx: LeadContext, before: Status, after: Status, occurred_at: datetime
) -> LeadContext:
    """Remember when the current at_risk/inactive spell began and what a closing interrupted.

    Those dates drive the decay and win-back clocks; `resume_status` lets a renewed
    consent restore the lead to where it was (see lifecycle.on_consent).
    """
    if before == after:
        return ctx
    resume = (ctx.resume_status if before in CLOSED else before) if after in CLOSED else None
    return ctx.model_copy(
        update={
            "at_risk_since": occurred_at if after == Status.AT_RISK else None,
            "inactive_since": occurred_at if after == Status.INACTIVE else None,
            "resume_status": resume,
        }
    )


def negative_trend(ctx: LeadContext, window: int = 3, minimum: int = 2) -> bool:
    """The latest sentiment is negative and it is not an isolated one.

    Counting `minimum` negatives in the last `window` extractions keeps one bad call
    from colouring the state, and requiring the latest to be negative lets a family
    that has warmed up leave the `negative` bucket at once.
    """
    recent = ctx.recent_sentiments
    if not recent or recent[-1] != Sentiment.NEGATIVE:
        return False
    return sum(1 for s in recent[-window:] if s == Sentiment.NEGATIVE) >= minimum


def _later(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate > current else current
