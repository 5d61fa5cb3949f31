"""The action catalog, the status table and the signal conditions, row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.actions import (
    CATALOG,
    Action,
    Channel,
    FilterParams,
    allowed_actions,
    channel_for,
    hard_override,
)
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import Level, Objection
from stream_app.domain.lifecycle import Status

A = Action
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

# Every condition met, so only the status table filters.
PERMISSIVE = LeadContext(
    financial_concern=Level.LOW,
    decision_makers=("spouse",),
    objections=(Objection(topic="distance"),),
    consecutive_unreached=2,
    missed_sessions=1,
    consecutive_misses=1,
    inactive_since=NOW - timedelta(days=30),
    interaction_count=3,
)

ACQUISITION = {
    A.WARM_FOLLOW_UP,
    A.SCHEDULING_PUSH,
    A.INFO_SEND,
    A.GENTLE_NUDGE,
    A.OBJECTION_ADDRESS,
    A.SCHOLARSHIP_OUTREACH,
    A.FAMILY_ENGAGE,
    A.LOW_COMMITMENT_INVITE,
    A.CHANNEL_SWITCH,
    A.WAIT,
    A.STOP,
}


def test_catalog_order() -> None:
    assert [a.value for a in Action] == [
        "warm_follow_up",
        "scheduling_push",
        "scholarship_outreach",
        "info_send",
        "gentle_nudge",
        "objection_address",
        "welcome_onboard",
        "retention_check_in",
        "family_engage",
        "channel_switch",
        "wait",
        "stop",
        "first_session_reminder",
        "reschedule_offer",
        "barrier_investigation",
        "social_proof",
        "low_commitment_invite",
        "win_back_offer",
    ]
    assert set(CATALOG) == set(Action)


@pytest.mark.parametrize(
    "status, expected",
    [
        (
            Status.NEW,
            {A.WARM_FOLLOW_UP, A.INFO_SEND, A.GENTLE_NUDGE, A.CHANNEL_SWITCH, A.WAIT, A.STOP},
        ),
        (Status.CONTACTED, ACQUISITION),
        (Status.INTERESTED, ACQUISITION | {A.SOCIAL_PROOF}),
        (
            Status.TRIAL,
            {
                A.SCHEDULING_PUSH,
                A.WARM_FOLLOW_UP,
                A.OBJECTION_ADDRESS,
                A.SCHOLARSHIP_OUTREACH,
                A.FAMILY_ENGAGE,
                A.SOCIAL_PROOF,
                A.GENTLE_NUDGE,
                A.WAIT,
                A.STOP,
            },
        ),
        (
            Status.ENROLLED,
            {
                A.WELCOME_ONBOARD,
                A.FIRST_SESSION_REMINDER,
                A.RESCHEDULE_OFFER,
                A.GENTLE_NUDGE,
                A.WAIT,
            },
        ),
        (Status.ACTIVE, {A.RETENTION_CHECK_IN, A.SOCIAL_PROOF, A.WAIT}),
        (
            Status.AT_RISK,
            {
                A.RETENTION_CHECK_IN,
                A.BARRIER_INVESTIGATION,
                A.RESCHEDULE_OFFER,
                A.SOCIAL_PROOF,
                A.LOW_COMMITMENT_INVITE,
                A.SCHOLARSHIP_OUTREACH,
                A.FAMILY_ENGAGE,
                A.WAIT,
                A.STOP,
            },
        ),
        (
            Status.INACTIVE,
            {
                A.WIN_BACK_OFFER,
                A.LOW_COMMITMENT_INVITE,
                A.BARRIER_INVESTIGATION,
                A.RETENTION_CHECK_IN,
                A.WAIT,
                A.STOP,
            },
        ),
        (Status.DECLINED, {A.STOP}),
        (Status.OPTED_OUT, {A.STOP}),
    ],
)
def test_status_table(status: Status, expected: set[Action]) -> None:
    allowed, filtered = allowed_actions(status, PERMISSIVE, NOW)
    assert set(allowed) == expected
    assert allowed == sorted(allowed, key=list(Action).index)  # catalog order
    assert set(filtered) == set(Action) - expected
    assert all(reason for reason in filtered.values())


@pytest.mark.parametrize(
    "action, status, missing, present",
    [
        (A.SCHOLARSHIP_OUTREACH, Status.INTERESTED, {}, {"financial_concern": Level.LOW}),
        (A.SCHOLARSHIP_OUTREACH, Status.AT_RISK, {}, {"payment_concern": True}),
        (A.FAMILY_ENGAGE, Status.CONTACTED, {}, {"decision_makers": ("spouse",)}),
        (A.FAMILY_ENGAGE, Status.TRIAL, {}, {"siblings": ("sister",)}),
        (A.OBJECTION_ADDRESS, Status.INTERESTED, {}, {"objections": (Objection(topic="x"),)}),
        (A.CHANNEL_SWITCH, Status.NEW, {"consecutive_unreached": 1}, {"consecutive_unreached": 2}),
        (A.RESCHEDULE_OFFER, Status.ENROLLED, {}, {"missed_sessions": 1}),
        (
            A.WIN_BACK_OFFER,
            Status.INACTIVE,
            {"inactive_since": NOW - timedelta(days=29)},
            {"inactive_since": NOW - timedelta(days=30)},
        ),
        (A.STOP, Status.CONTACTED, {"interaction_count": 2}, {"interaction_count": 3}),
    ],
)
def test_conditions(
    action: Action, status: Status, missing: dict[str, Any], present: dict[str, Any]
) -> None:
    allowed, filtered = allowed_actions(status, LeadContext(**missing), NOW)
    assert action not in allowed
    assert filtered[action]
    allowed, filtered = allowed_actions(status, LeadContext(**present), NOW)
    assert action in allowed and action not in filtered


def test_reasons_are_human_readable() -> None:
    _, filtered = allowed_actions(Status.CONTACTED, LeadContext(interaction_count=1), NOW)
    assert filtered[A.STOP] == "needs 3+ interactions (has 1)"
    assert filtered[A.WELCOME_ONBOARD] == "not offered to contacted leads"


def test_thresholds_are_parameters() -> None:
    params = FilterParams(stop_after=1, scholarship_from=Level.HIGH)
    ctx = LeadContext(interaction_count=1, financial_concern=Level.MODERATE)
    allowed, _ = allowed_actions(Status.CONTACTED, ctx, NOW, params)
    assert A.STOP in allowed and A.SCHOLARSHIP_OUTREACH not in allowed


@pytest.mark.parametrize("status", list(Status))
def test_hard_override(status: Status) -> None:
    expected = A.STOP if status in (Status.DECLINED, Status.OPTED_OUT) else None
    assert hard_override(status) == expected


@given(st.sampled_from(list(Status)), st.integers(0, 2), st.booleans(), st.integers(0, 5))
def test_closed_leads_always_stop(
    status: Status, interactions: int, payment: bool, unreached: int
) -> None:
    ctx = LeadContext(
        interaction_count=interactions, payment_concern=payment, consecutive_unreached=unreached
    )
    allowed, _ = allowed_actions(status, ctx, NOW)
    if status in (Status.DECLINED, Status.OPTED_OUT):
        assert allowed == [A.STOP] and hard_override(status) == A.STOP
    else:
        assert A.STOP not in allowed  # stop is never offered before 3 interactions
        assert A.WAIT in allowed


@pytest.mark.parametrize(
    "action, last, prefer_email, expected",
    [
        (A.CHANNEL_SWITCH, "voice", False, Channel.SMS),
        (A.CHANNEL_SWITCH, "sms", False, Channel.VOICE),
        (A.CHANNEL_SWITCH, "email", False, Channel.SMS),
        (A.CHANNEL_SWITCH, None, False, Channel.SMS),
        (A.INFO_SEND, None, True, Channel.EMAIL),
        (A.INFO_SEND, None, False, Channel.SMS),
        (A.WARM_FOLLOW_UP, None, True, Channel.VOICE),
        (A.WAIT, None, False, Channel.NONE),
    ],
)
def test_channel_for(
    action: Action, last: str | None, prefer_email: bool, expected: Channel
) -> None:
    assert channel_for(action, last, prefer_email) == expected


def test_high_cost_actions() -> None:
    assert {a for a, spec in CATALOG.items() if spec.high_cost} == {
        A.SCHOLARSHIP_OUTREACH,
        A.WIN_BACK_OFFER,
        A.FAMILY_ENGAGE,
    }
