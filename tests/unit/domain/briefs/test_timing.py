"""Brief timing: an action-specific delay from now, or a reminder timed from the session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stream_app.domain.actions import CATALOG, Action, Channel
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams, LeadProfile, build_brief, timing
from stream_app.domain.context import LeadContext

A = Action
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROFILE = LeadProfile("Sarah Mitchell", "Jake Mitchell", "Summer basketball intensive")


@pytest.mark.parametrize(
    "action, delay, words",
    [
        (A.SCHEDULING_PUSH, timedelta(hours=2), "in 2 hours"),
        (A.GENTLE_NUDGE, timedelta(days=2), "in 2 days"),
        (A.WAIT, timedelta(days=3), "in 3 days"),
        (A.INFO_SEND, timedelta(hours=1), "in 1 hour"),
        (A.STOP, timedelta(0), "now"),
    ],
)
def test_scheduled_for_is_an_action_specific_delay_from_now(
    action: Action, delay: timedelta, words: str
) -> None:
    brief = build_brief(action, CATALOG[action].channels[0], PROFILE, LeadContext(), NOW)
    assert brief.scheduled_for == NOW + delay
    assert brief.timing_rationale.endswith(words)


def test_delays_are_parameters() -> None:
    params = BriefParams(delays={A.SCHEDULING_PUSH: timedelta(minutes=30)})
    brief = build_brief(A.SCHEDULING_PUSH, Channel.VOICE, PROFILE, LeadContext(), NOW, params)
    assert brief.scheduled_for == NOW + timedelta(minutes=30)
    assert brief.timing_rationale.endswith("in 30 minutes")


def test_first_session_reminder_is_timed_from_the_session() -> None:
    first = NOW + timedelta(days=4)
    brief = build_brief(
        A.FIRST_SESSION_REMINDER, Channel.SMS, PROFILE, LeadContext(first_session_at=first), NOW
    )
    assert brief.scheduled_for == first - timedelta(days=1)
    assert "first session" in brief.timing_rationale


def test_a_reminder_never_lands_before_now() -> None:
    first = NOW + timedelta(hours=5)
    at, why = timing(
        A.FIRST_SESSION_REMINDER, "unused", LeadContext(first_session_at=first), NOW, DEFAULT_BRIEFS
    )
    assert at == NOW
    assert why == "Remind them 5 hours before the first session (Mon 02 Mar 17:00)"


def test_a_past_first_session_falls_back_to_the_delay() -> None:
    ctx = LeadContext(first_session_at=NOW - timedelta(days=1))
    at, why = timing(
        A.FIRST_SESSION_REMINDER, "Remind them ahead of time", ctx, NOW, DEFAULT_BRIEFS
    )
    assert at == NOW + timedelta(days=1)
    assert why == "Remind them ahead of time: in 1 day"


def test_partial_delay_overrides_keep_the_defaults() -> None:
    params = BriefParams(delays={A.WAIT: timedelta(minutes=90)})
    assert timing(A.WAIT, "Wait", LeadContext(), NOW, params) == (
        NOW + timedelta(minutes=90),
        "Wait: in 90 minutes",
    )
    assert timing(A.INFO_SEND, "Send", LeadContext(), NOW, params)[0] == NOW + timedelta(hours=1)
