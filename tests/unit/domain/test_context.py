"""Folding events into the lead context: accumulation, dedup, caps, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.domain.context import (
    ContextLimits,
    LeadContext,
    negative_trend,
    with_attendance,
    with_extraction,
    with_interaction,
    with_payment,
    with_status,
)
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Extraction,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    Objection,
    SchedulingSignals,
    Sentiment,
)
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ContactChannel,
    ContactOutcome,
    PaymentOutcome,
    Status,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_signals_accumulate_and_dedup_and_latest_sets_the_concern_level() -> None:
    first = Extraction(
        facts=("Plays basketball",),
        financial=FinancialSignals(concern_level=Level.HIGH, mentions=("asked about cost",)),
        objections=(Objection(topic="distance", detail="30 min drive"),),
        family=FamilyContext(siblings=("sister, 9",)),
        additional_signals=(AdditionalSignal(signal="referral_source", detail="friend"),),
        intent=Intent.CONSIDERING,
        sentiment=Sentiment.NEUTRAL,
    )
    second = Extraction(
        facts=("plays  BASKETBALL", "Age 14"),
        financial=FinancialSignals(concern_level=Level.LOW, mentions=("Asked about cost",)),
        objections=(Objection(topic="Distance", detail="moved further away"),),
        family=FamilyContext(decision_makers=("spouse",)),
        scheduling=SchedulingSignals(constraints=("busy weekends",)),
        intent=Intent.SCHEDULING,
        sentiment=Sentiment.POSITIVE,
        summary="Wants to book.",
    )
    ctx = with_extraction(with_extraction(LeadContext(), first), second)
    assert ctx.financial_concern == Level.LOW
    assert ctx.financial_mentions == ("Asked about cost",)
    assert ctx.facts == ("plays  BASKETBALL", "Age 14")
    assert [o.detail for o in ctx.objections] == ["moved further away"]
    assert ctx.siblings == ("sister, 9",) and ctx.decision_makers == ("spouse",)
    assert ctx.scheduling_constraints == ("busy weekends",)
    assert [s.signal for s in ctx.signals] == ["referral_source"]
    assert ctx.last_intent == Intent.SCHEDULING
    assert ctx.recent_intents == (Intent.CONSIDERING, Intent.SCHEDULING)
    assert ctx.recent_sentiments == (Sentiment.NEUTRAL, Sentiment.POSITIVE)
    assert ctx.summary == "Wants to book."


def test_a_failed_extraction_changes_nothing() -> None:
    ctx = with_extraction(
        LeadContext(), Extraction(financial=FinancialSignals(concern_level=Level.HIGH))
    )
    assert with_extraction(ctx, Extraction.failed("openai", "timeout")) == ctx


_text = st.text(min_size=1, max_size=12)
_extractions = st.builds(
    Extraction,
    facts=st.lists(_text, max_size=30).map(tuple),
    open_questions=st.lists(_text, max_size=15).map(tuple),
    objections=st.lists(st.builds(Objection, topic=_text), max_size=15).map(tuple),
    additional_signals=st.lists(st.builds(AdditionalSignal, signal=_text), max_size=15).map(tuple),
    family=st.builds(FamilyContext, siblings=st.lists(_text, max_size=15).map(tuple)),
    sentiment=st.sampled_from(list(Sentiment)),
)


@settings(max_examples=50)
@given(st.lists(_extractions, max_size=8))
def test_every_list_stays_capped(extractions: list[Extraction]) -> None:
    limits = ContextLimits()
    ctx = LeadContext()
    for e in extractions:
        ctx = with_extraction(ctx, e)
    assert len(ctx.facts) <= limits.facts
    assert len(ctx.open_questions) <= limits.open_questions
    assert len(ctx.objections) <= limits.objections
    assert len(ctx.signals) <= limits.signals
    assert len(ctx.siblings) <= limits.family
    assert len(ctx.recent_sentiments) <= limits.recent
    assert len(ctx.recent_intents) <= limits.recent


def test_caps_keep_the_newest() -> None:
    ctx = LeadContext()
    for i in range(25):
        ctx = with_extraction(ctx, Extraction(facts=(f"fact {i}",)))
    assert ctx.facts[0] == "fact 5" and ctx.facts[-1] == "fact 24"


def test_interactions_count_any_outcome_and_track_the_unreached_streak() -> None:
    ctx = LeadContext()
    ctx = with_interaction(ctx, ContactOutcome.NO_ANSWER, NOW, ContactChannel.VOICE)
    ctx = with_interaction(ctx, ContactOutcome.VOICEMAIL, NOW)
    assert (ctx.interaction_count, ctx.consecutive_unreached) == (2, 2)
    assert ctx.last_contact_channel == ContactChannel.VOICE
    assert ctx.last_engagement_at is None
    ctx = with_interaction(ctx, ContactOutcome.COMPLETED, NOW, ContactChannel.SMS)
    assert (ctx.interaction_count, ctx.consecutive_unreached) == (3, 0)
    assert ctx.last_contact_outcome == ContactOutcome.COMPLETED
    assert ctx.last_engagement_at == NOW


def test_attendance_counters() -> None:
    ctx = LeadContext()
    ctx = with_attendance(ctx, AttendanceOutcome.MISSED, NOW, NOW - timedelta(days=7))
    ctx = with_attendance(ctx, AttendanceOutcome.CANCELLED, NOW)
    ctx = with_attendance(ctx, AttendanceOutcome.MISSED, NOW)
    assert (ctx.consecutive_misses, ctx.missed_sessions, ctx.attended_ever) == (2, 2, False)
    assert ctx.first_session_at == NOW - timedelta(days=7)
    ctx = with_attendance(ctx, AttendanceOutcome.ATTENDED, NOW + timedelta(days=7))
    assert (ctx.consecutive_misses, ctx.attended_sessions, ctx.attended_ever) == (0, 1, True)
    assert ctx.missed_session
    assert ctx.last_attendance_at == NOW + timedelta(days=7)


def test_payments_raise_and_clear_the_concern_and_record_refunds() -> None:
    ctx = with_payment(LeadContext(), PaymentOutcome.LATE, NOW)
    assert ctx.payment_concern
    assert not with_payment(ctx, PaymentOutcome.SUCCEEDED, NOW).payment_concern
    assert with_payment(LeadContext(), PaymentOutcome.MISSED, NOW).payment_concern
    refunded = with_payment(ctx, PaymentOutcome.REFUNDED, NOW)
    assert (refunded.refunds, refunded.last_refund_at, refunded.payment_concern) == (1, NOW, True)


def test_status_changes_start_the_clocks_and_remember_what_a_closing_interrupted() -> None:
    ctx = with_status(LeadContext(), Status.ACTIVE, Status.AT_RISK, NOW)
    assert ctx.at_risk_since == NOW
    ctx = with_status(ctx, Status.AT_RISK, Status.INACTIVE, NOW + timedelta(days=14))
    assert (ctx.at_risk_since, ctx.inactive_since) == (None, NOW + timedelta(days=14))
    closed = with_status(ctx, Status.INACTIVE, Status.OPTED_OUT, NOW)
    assert closed.resume_status == Status.INACTIVE
    assert with_status(closed, Status.OPTED_OUT, Status.DECLINED, NOW).resume_status == (
        Status.INACTIVE
    )


def test_negative_trend_needs_the_latest_and_more_than_one() -> None:
    neg, pos = Sentiment.NEGATIVE, Sentiment.POSITIVE
    assert negative_trend(LeadContext(recent_sentiments=(neg, pos, neg)))
    assert not negative_trend(LeadContext(recent_sentiments=(pos, neg)))
    assert not negative_trend(LeadContext(recent_sentiments=(neg, neg, pos)))


def test_context_round_trips_json() -> None:
    ctx = with_extraction(
        LeadContext(first_seen_at=NOW),
        Extraction(objections=(Objection(topic="cost"),), intent=Intent.INTERESTED),
    )
    assert LeadContext.model_validate_json(ctx.model_dump_json()) == ctx
