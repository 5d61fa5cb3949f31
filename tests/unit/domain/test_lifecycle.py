"""The lifecycle and reward tables, row by row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.extraction.model import Intent
from stream_app.domain.lifecycle import (
    CLOSED,
    DEFAULT_REWARDS,
    AttendanceOutcome,
    ConsentChannel,
    ContactOutcome,
    LifecycleParams,
    Milestone,
    PaymentOutcome,
    Rewards,
    Status,
    decay,
    decay_due_at,
    on_attendance,
    on_consent,
    on_intent,
    on_interaction,
    on_milestone,
    on_opt_out,
    on_payment,
    reward,
)

S = Status
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    "before, after, expected",
    [
        # the reward table, one row each
        (S.NEW, S.CONTACTED, 0.1),
        (S.CONTACTED, S.INTERESTED, 0.4),
        (S.INTERESTED, S.TRIAL, 0.7),
        (S.TRIAL, S.ENROLLED, 1.0),
        (S.ENROLLED, S.ACTIVE, 0.3),
        (S.ACTIVE, S.AT_RISK, -0.5),
        (S.AT_RISK, S.INACTIVE, -0.7),
        (S.AT_RISK, S.ACTIVE, 0.5),
        (S.INACTIVE, S.AT_RISK, 0.3),
        (S.NEW, S.DECLINED, -1.0),
        (S.TRIAL, S.DECLINED, -1.0),
        (S.ACTIVE, S.DECLINED, -1.0),
        (S.NEW, S.OPTED_OUT, -1.0),
        (S.ENROLLED, S.OPTED_OUT, -1.0),
        (S.DECLINED, S.OPTED_OUT, -1.0),
        (S.INTERESTED, S.INTERESTED, -0.02),
        (S.ACTIVE, S.ACTIVE, -0.02),
        (S.DECLINED, S.DECLINED, -0.02),
        # jumps earn the sum of the steps they skip
        (S.NEW, S.INTERESTED, 0.1 + 0.4),
        (S.NEW, S.TRIAL, 0.1 + 0.4 + 0.7),
        (S.NEW, S.ENROLLED, 0.1 + 0.4 + 0.7 + 1.0),
        (S.CONTACTED, S.ENROLLED, 0.4 + 0.7 + 1.0),
        (S.INTERESTED, S.ENROLLED, 0.7 + 1.0),
        (S.TRIAL, S.ACTIVE, 1.0 + 0.3),
        (S.ACTIVE, S.INACTIVE, -0.5 - 0.7),
        (S.INACTIVE, S.ACTIVE, 0.3 + 0.5),
        # others 0
        (S.INTERESTED, S.CONTACTED, 0.0),
        (S.DECLINED, S.CONTACTED, 0.0),
        (S.OPTED_OUT, S.ENROLLED, 0.0),
        (S.ENROLLED, S.AT_RISK, 0.0),
        (S.INACTIVE, S.ENROLLED, 0.0),
    ],
)
def test_reward(before: Status, after: Status, expected: float) -> None:
    assert reward(before, after) == pytest.approx(expected)


def test_operator_rejection_reward_is_a_parameter() -> None:
    assert DEFAULT_REWARDS.operator_rejected == -0.2
    assert Rewards(operator_rejected=-0.5).operator_rejected == -0.5


def test_overridden_rewards_flow_into_jumps() -> None:
    rewards = Rewards(new_to_contacted=0.2, contacted_to_interested=1.0, stalled=-0.1)
    assert reward(S.NEW, S.INTERESTED, rewards) == pytest.approx(1.2)
    assert reward(S.TRIAL, S.TRIAL, rewards) == pytest.approx(-0.1)


@pytest.mark.parametrize(
    "status, outcome, expected",
    [
        (S.NEW, ContactOutcome.COMPLETED, S.CONTACTED),
        (S.NEW, ContactOutcome.NO_ANSWER, S.NEW),
        (S.NEW, ContactOutcome.VOICEMAIL, S.NEW),
        (S.INTERESTED, ContactOutcome.COMPLETED, S.INTERESTED),
        (S.OPTED_OUT, ContactOutcome.COMPLETED, S.OPTED_OUT),
    ],
)
def test_interaction(status: Status, outcome: ContactOutcome, expected: Status) -> None:
    assert on_interaction(status, outcome) == expected


@pytest.mark.parametrize(
    "status, intent, expected",
    [
        (S.NEW, Intent.INTERESTED, S.INTERESTED),
        (S.NEW, Intent.SCHEDULING, S.INTERESTED),
        (S.CONTACTED, Intent.REQUESTING_INFO, S.INTERESTED),
        (S.CONTACTED, Intent.CONSIDERING, S.CONTACTED),
        (S.NEW, Intent.DECLINING, S.DECLINED),
        (S.ACTIVE, Intent.DECLINING, S.DECLINED),
        (S.OPTED_OUT, Intent.DECLINING, S.OPTED_OUT),
        (S.ENROLLED, Intent.INTERESTED, S.ENROLLED),
        (S.TRIAL, Intent.SCHEDULING, S.TRIAL),
        (S.DECLINED, Intent.INTERESTED, S.DECLINED),
    ],
)
def test_intent(status: Status, intent: Intent, expected: Status) -> None:
    assert on_intent(status, intent) == expected


_RANK = [S.NEW, S.CONTACTED, S.INTERESTED, S.TRIAL, S.ENROLLED]


@given(st.sampled_from([s for s in Status if s not in CLOSED]), st.sampled_from(list(Intent)))
def test_an_intent_never_moves_a_lead_backwards(status: Status, intent: Intent) -> None:
    after = on_intent(status, intent)
    if after == S.DECLINED:
        assert intent == Intent.DECLINING
    elif status in _RANK:
        assert after in _RANK and _RANK.index(after) >= _RANK.index(status)
    else:
        assert after == status


def test_opt_out_wins_from_anywhere() -> None:
    assert {on_opt_out(s) for s in Status} == {S.OPTED_OUT}


@pytest.mark.parametrize(
    "status, milestone, expected",
    [
        (S.NEW, Milestone.TRIAL_BOOKED, S.TRIAL),
        (S.INTERESTED, Milestone.TRIAL_ATTENDED, S.TRIAL),
        (S.TRIAL, Milestone.ENROLLED, S.ENROLLED),
        (S.CONTACTED, Milestone.ENROLLED, S.ENROLLED),
        (S.TRIAL, Milestone.WITHDRAWN, S.DECLINED),
        (S.ACTIVE, Milestone.WITHDRAWN, S.DECLINED),
        (S.OPTED_OUT, Milestone.WITHDRAWN, S.OPTED_OUT),
        (S.ACTIVE, Milestone.TRIAL_BOOKED, S.ACTIVE),
        (S.ENROLLED, Milestone.TRIAL_ATTENDED, S.ENROLLED),
        (S.ACTIVE, Milestone.ENROLLED, S.ACTIVE),
        (S.INACTIVE, Milestone.ENROLLED, S.ENROLLED),
        (S.DECLINED, Milestone.TRIAL_BOOKED, S.TRIAL),
        (S.OPTED_OUT, Milestone.ENROLLED, S.ENROLLED),
    ],
)
def test_milestone(status: Status, milestone: Milestone, expected: Status) -> None:
    assert on_milestone(status, milestone) == expected


@pytest.mark.parametrize(
    "status, channel, granted, resume, expected",
    [
        (S.INTERESTED, ConsentChannel.ALL, False, None, S.OPTED_OUT),
        (S.INTERESTED, ConsentChannel.SMS, False, None, S.INTERESTED),
        (S.OPTED_OUT, ConsentChannel.ALL, True, S.ENROLLED, S.ENROLLED),
        (S.OPTED_OUT, ConsentChannel.SMS, True, S.TRIAL, S.TRIAL),
        (S.OPTED_OUT, ConsentChannel.ALL, True, None, S.CONTACTED),
        (S.DECLINED, ConsentChannel.ALL, True, S.DECLINED, S.CONTACTED),
        (S.ACTIVE, ConsentChannel.ALL, True, None, S.ACTIVE),
    ],
)
def test_consent(
    status: Status,
    channel: ConsentChannel,
    granted: bool,
    resume: Status | None,
    expected: Status,
) -> None:
    assert on_consent(status, channel, granted, resume) == expected


A = AttendanceOutcome


@pytest.mark.parametrize(
    "status, outcome, misses, attended_ever, expected",
    [
        (S.ENROLLED, A.ATTENDED, 0, True, S.ACTIVE),
        (S.ACTIVE, A.MISSED, 1, True, S.ACTIVE),
        (S.ACTIVE, A.MISSED, 2, True, S.AT_RISK),
        (S.ENROLLED, A.MISSED, 1, False, S.ENROLLED),
        (S.ENROLLED, A.MISSED, 2, False, S.AT_RISK),
        (S.AT_RISK, A.ATTENDED, 0, True, S.ACTIVE),
        (S.INACTIVE, A.ATTENDED, 0, True, S.AT_RISK),
        (S.ACTIVE, A.CANCELLED, 2, True, S.ACTIVE),
        (S.TRIAL, A.ATTENDED, 0, True, S.TRIAL),
    ],
)
def test_attendance(
    status: Status,
    outcome: AttendanceOutcome,
    misses: int,
    attended_ever: bool,
    expected: Status,
) -> None:
    assert on_attendance(status, outcome, misses, attended_ever) == expected


def test_misses_to_at_risk_is_a_parameter() -> None:
    params = LifecycleParams(misses_to_at_risk=3)
    assert on_attendance(S.ACTIVE, A.MISSED, 2, True, params) == S.ACTIVE
    assert on_attendance(S.ACTIVE, A.MISSED, 3, True, params) == S.AT_RISK


@pytest.mark.parametrize(
    "status, outcome, expected",
    [
        (S.ACTIVE, PaymentOutcome.MISSED, S.AT_RISK),
        (S.ENROLLED, PaymentOutcome.MISSED, S.ENROLLED),
        (S.ACTIVE, PaymentOutcome.LATE, S.ACTIVE),
        (S.AT_RISK, PaymentOutcome.SUCCEEDED, S.AT_RISK),
    ],
)
def test_payment(status: Status, outcome: PaymentOutcome, expected: Status) -> None:
    assert on_payment(status, outcome) == expected


@pytest.mark.parametrize(
    "status, last_attended_days_ago, at_risk_days_ago, expected",
    [
        (S.AT_RISK, 14, None, S.INACTIVE),
        (S.AT_RISK, 13, None, S.AT_RISK),
        (S.AT_RISK, 20, 3, S.AT_RISK),  # the at_risk spell gets its full 14 days
        (S.AT_RISK, None, 15, S.INACTIVE),
        (S.AT_RISK, None, None, S.AT_RISK),
        (S.ACTIVE, 30, None, S.ACTIVE),
    ],
)
def test_decay(
    status: Status,
    last_attended_days_ago: int | None,
    at_risk_days_ago: int | None,
    expected: Status,
) -> None:
    last = NOW - last_attended_days_ago * DAY if last_attended_days_ago is not None else None
    since = NOW - at_risk_days_ago * DAY if at_risk_days_ago is not None else None
    assert decay(status, last, NOW, at_risk_since=since) == expected


def test_decay_due_at_tells_the_shell_when_to_fire() -> None:
    assert decay_due_at(S.AT_RISK, NOW, at_risk_since=NOW - DAY) == NOW + 14 * DAY
    assert decay_due_at(S.ACTIVE, NOW) is None
