"""The console's pure rules, table by table, without a store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stream_app.console.analytics import csv_cell, mean_ci, outcome_tracking, shares
from stream_app.console.views import (
    ReminderState,
    approval_state,
    decision_reminder,
    due_state,
    fold_profile,
    fold_reminders,
    is_open,
    priority_key,
    reminder_state,
)
from stream_app.domain.messages import NextBestAction
from stream_app.wire.models import OperatorReminder
from tests.unit.console.records import T0, nba


@pytest.mark.parametrize(
    ("offset", "state"),
    [
        (-timedelta(minutes=1), "overdue"),
        (timedelta(0), "overdue"),
        (timedelta(hours=23), "due_soon"),
        (timedelta(hours=24), "due_soon"),
        (timedelta(hours=25), "on_track"),
    ],
)
def test_due_state(offset: timedelta, state: str) -> None:
    assert due_state(T0 + offset, T0) == state


def test_priority_puts_overdue_then_approval_then_risk_then_urgency_then_time_first() -> None:
    def item(lead: str, due: str, risk: str, urgency: str, at: str) -> dict[str, str]:
        return {
            "lead_id": lead,
            "due": due,
            "risk_segment": risk,
            "urgency": urgency,
            "scheduled_for": at,
        }

    items = [
        item("a", "on_track", "critical", "7d", "1"),
        item("b", "overdue", "on_track", "none", "2"),
        item("c", "overdue", "critical", "30d", "3"),
        item("d", "overdue", "critical", "7d", "4"),
        item("e", "overdue", "critical", "7d", "0"),
        {**item("f", "overdue", "on_track", "none", "9"), "approval": "pending"},
        {**item("g", "on_track", "on_track", "none", "0"), "approval": "pending"},
    ]
    ranked = [i["lead_id"] for i in sorted(items, key=priority_key)]
    assert ranked == ["f", "e", "d", "c", "b", "g", "a"]


@pytest.mark.parametrize(
    ("needs", "outcomes", "state"),
    [
        (False, [], None),
        (True, [], "pending"),
        (True, ["delivered"], "pending"),
        (True, ["accepted"], "accepted"),
        (True, ["accepted", "rejected"], "rejected"),
    ],
)
def test_approval_state(needs: bool, outcomes: list[str], state: str | None) -> None:
    assert approval_state(needs, outcomes) == state


@pytest.mark.parametrize(
    ("action", "outcomes", "open_"),
    [
        ("warm_follow_up", [], True),
        ("warm_follow_up", ["accepted"], True),
        ("warm_follow_up", ["completed"], False),
        ("info_send", ["rejected"], False),
        ("info_send", ["expired"], False),
        ("wait", [], False),
        ("stop", [], False),
    ],
)
def test_is_open(action: str, outcomes: list[str], open_: bool) -> None:
    assert is_open(action, outcomes) is open_


def test_profile_later_fields_win_and_absent_ones_keep() -> None:
    events = [
        {
            "type": "lead.created",
            "event_id": "1",
            "lead_id": "L",
            "occurred_at": "t",
            "parent_name": "Ana",
            "phone": "1",
            "owner": None,
        },
        {"type": "lead.milestone", "milestone": "enrolled"},
        {
            "type": "lead.updated",
            "event_id": "2",
            "lead_id": "L",
            "occurred_at": "t",
            "owner": "bo",
        },
    ]
    assert fold_profile(events) == {"parent_name": "Ana", "phone": "1", "owner": "bo"}


def act(kind: str, rid: str, hours: float, when: float | None, n: int) -> OperatorReminder:
    return OperatorReminder(
        type=kind,  # type: ignore[arg-type]
        event_id=f"a{n}",
        lead_id="L",
        occurred_at=T0 + timedelta(hours=hours),
        reminder_id=rid,
        remind_at=None if when is None else T0 + timedelta(hours=when),
    )


def test_reminders_fold_set_snooze_dismiss_in_event_time_order() -> None:
    pending = ReminderState("r-1", "L", "d-1", "warm_follow_up", None, T0, "decision")
    acts = [
        act("reminder.dismissed", "r-1", 3, None, 3),
        act("reminder.snoozed", "r-1", 1, 48, 1),
        act("reminder.set", "rc-1", 2, 10, 2),
        act("reminder.snoozed", "unknown", 2, 10, 4),
    ]
    states = {s.reminder_id: s for s in fold_reminders([pending], {"r-1"}, acts)}
    assert set(states) == {"r-1", "rc-1"}
    assert states["r-1"].dismissed and states["r-1"].remind_at == T0 + timedelta(hours=48)
    assert not states["r-1"].fired  # a snooze moves a reminder that came due
    assert states["rc-1"].source == "operator" and not states["rc-1"].dismissed


@pytest.mark.parametrize(
    ("fired", "dismissed", "offset", "state"),
    [
        (False, False, timedelta(hours=1), "upcoming"),
        (False, False, timedelta(0), "overdue"),
        (True, False, timedelta(hours=1), "overdue"),  # the worker's clock ran ahead
        (True, True, -timedelta(hours=1), "dismissed"),
    ],
)
def test_reminder_state(fired: bool, dismissed: bool, offset: timedelta, state: str) -> None:
    reminder = ReminderState("r", "L", "d", None, None, T0 + offset, "decision", fired, dismissed)
    assert reminder_state(reminder, T0) == state


@pytest.mark.parametrize(
    ("fields", "outcomes", "pending"),
    [
        ({}, [], True),
        ({}, ["accepted"], True),
        ({}, ["delivered"], False),
        ({}, ["completed"], False),
        ({}, ["rejected"], False),
        ({"action": "wait"}, [], False),
    ],
)
def test_a_decision_leaves_a_reminder_until_an_outcome_closes_it(
    fields: dict[str, str], outcomes: list[str], pending: bool
) -> None:
    decision = NextBestAction.model_validate(nba("L", "L-created", 0, **fields))
    reminder = decision_reminder(decision, outcomes)
    assert (reminder is not None) is pending
    if reminder is not None:
        assert reminder.remind_at == decision.brief.scheduled_for


def test_shares_and_outcome_tracking() -> None:
    assert shares({"moderate": 1, "critical": 3}, ("critical", "moderate")) == [
        {"key": "critical", "count": 3, "pct": 75.0},
        {"key": "moderate", "count": 1, "pct": 25.0},
    ]
    statuses = ["enrolled", "active", "declined", "inactive", "opted_out", "new", "trial"]
    assert outcome_tracking(statuses) == {"saved": 2, "churned": 3, "pending": 2}


def test_mean_ci() -> None:
    assert mean_ci([]) == {"n": 0, "mean": None, "low": None, "high": None}
    ci = mean_ci([1.0, 3.0])
    assert (
        ci["mean"] == 2.0
        and ci["low"] == pytest.approx(2 - 1.96)
        and ci["high"] == pytest.approx(2 + 1.96)
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=HYPERLINK(1)", "'=HYPERLINK(1)"),
        ("+1+2", "'+1+2"),
        ("@SUM", "'@SUM"),
        ("-0.5", "-0.5"),
        ("Ana", "Ana"),
        (None, ""),
        (3, "3"),
    ],
)
def test_csv_cells_never_become_formulas(value: object, cell: str) -> None:
    assert csv_cell(value) == cell
