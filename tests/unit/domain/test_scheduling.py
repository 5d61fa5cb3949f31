"""When a contact may happen: the action's delay, then the cooldown, then quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.actions import Action, Channel
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams
from stream_app.domain.context import LeadContext
from stream_app.domain.guardrails import ContactHistory, ContactPolicy, record_outreach
from stream_app.domain.scheduling import (
    in_quiet_hours,
    lead_zone,
    outside_quiet_hours,
    planned,
    schedule,
)

A = Action
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOON = NOW
NY = ZoneInfo("America/New_York")


def _at(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# --- the action's own timing -------------------------------------------------------


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
def test_each_action_has_its_own_delay(action: Action, delay: timedelta, words: str) -> None:
    when = planned(action, LeadContext(), NOW, DEFAULT_BRIEFS)
    assert when.at == NOW + delay
    assert when.rationale.endswith(words)


def test_delays_are_parameters_and_partial_overrides_keep_the_defaults() -> None:
    params = BriefParams(delays={A.SCHEDULING_PUSH: timedelta(minutes=30)})
    when = planned(A.SCHEDULING_PUSH, LeadContext(), NOW, params)
    assert when.at == NOW + timedelta(minutes=30)
    assert when.rationale.endswith("in 30 minutes")
    assert planned(A.INFO_SEND, LeadContext(), NOW, params).at == NOW + timedelta(hours=1)


def test_first_session_reminder_is_timed_from_the_session() -> None:
    first = NOW + timedelta(days=4)
    when = planned(
        A.FIRST_SESSION_REMINDER, LeadContext(first_session_at=first), NOW, DEFAULT_BRIEFS
    )
    assert when.at == first - timedelta(days=1)
    assert "first session" in when.rationale


def test_a_reminder_never_lands_before_now() -> None:
    first = NOW + timedelta(hours=5)
    when = planned(
        A.FIRST_SESSION_REMINDER, LeadContext(first_session_at=first), NOW, DEFAULT_BRIEFS
    )
    assert when.at == NOW
    assert when.rationale == "Remind them 5 hours before the first session (Mon 02 Mar 17:00)"


def test_a_past_first_session_falls_back_to_the_delay() -> None:
    ctx = LeadContext(first_session_at=NOW - timedelta(days=1))
    when = planned(A.FIRST_SESSION_REMINDER, ctx, NOW, DEFAULT_BRIEFS)
    assert when.at == NOW + timedelta(days=1)
    assert when.rationale.endswith("in 1 day")


# --- the cooldown --------------------------------------------------------------------


def test_the_cooldown_spaces_outreach_after_the_last_contact() -> None:
    an_hour_ago = NOW - timedelta(hours=1)
    history = record_outreach(ContactHistory(), an_hour_ago, Channel.VOICE, A.WARM_FOLLOW_UP)
    when = schedule(A.SCHEDULING_PUSH, LeadContext(), NOW, history, None)
    assert when.at == NOW - timedelta(hours=1) + ContactPolicy().cooldown
    assert when.rationale.endswith("in 2 hours")  # the action's reason is kept


def test_the_cooldown_does_not_move_what_is_not_outreach() -> None:
    history = record_outreach(ContactHistory(), NOW, Channel.VOICE, A.WARM_FOLLOW_UP)
    assert schedule(A.STOP, LeadContext(), NOW, history, None).at == NOW


def test_a_contact_long_ago_does_not_delay_anything() -> None:
    history = record_outreach(ContactHistory(), NOW - timedelta(days=3), Channel.SMS, A.INFO_SEND)
    assert schedule(A.INFO_SEND, LeadContext(), NOW, history, None).at == NOW + timedelta(hours=1)


# --- quiet hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "zone, decided_at, scheduled_local",
    [
        # UTC: 21:00 inclusive, 08:00 exclusive
        ("UTC", _at("UTC", 2026, 3, 2, 22, 30), _at("UTC", 2026, 3, 3, 8, 0)),
        ("UTC", _at("UTC", 2026, 3, 2, 21, 0), _at("UTC", 2026, 3, 3, 8, 0)),
        ("UTC", _at("UTC", 2026, 3, 3, 7, 59), _at("UTC", 2026, 3, 3, 8, 0)),
        ("UTC", _at("UTC", 2026, 3, 3, 8, 0), _at("UTC", 2026, 3, 3, 8, 0)),
        ("UTC", _at("UTC", 2026, 3, 2, 20, 59), _at("UTC", 2026, 3, 2, 20, 59)),
        # the lead's clock, not the event's offset
        ("America/New_York", _at("UTC", 2026, 3, 2, 3, 30), _at("America/New_York", 2026, 3, 2, 8)),
        ("America/New_York", _at("UTC", 2026, 3, 2, 23, 0), _at("UTC", 2026, 3, 2, 23, 0)),
        ("Asia/Tokyo", _at("UTC", 2026, 3, 2, 13, 30), _at("Asia/Tokyo", 2026, 3, 3, 8, 0)),
        ("Asia/Kolkata", _at("UTC", 2026, 3, 2, 0, 0), _at("Asia/Kolkata", 2026, 3, 2, 8, 0)),
        ("Australia/Sydney", _at("UTC", 2026, 3, 2, 11, 0), _at("Australia/Sydney", 2026, 3, 3, 8)),
        # DST: 08:00 stays 08:00 local across the change
        # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT (08:00 EDT = 12:00 UTC)
        (
            "America/New_York",
            _at("America/New_York", 2026, 3, 7, 22, 30),
            _at("UTC", 2026, 3, 8, 12, 0),
        ),
        # ... and falls back 2026-11-01 02:00 EDT -> 01:00 EST (08:00 EST = 13:00 UTC)
        (
            "America/New_York",
            _at("America/New_York", 2026, 10, 31, 22, 30),
            _at("UTC", 2026, 11, 1, 13, 0),
        ),
        # 01:30 EST, the second pass through the repeated hour
        ("America/New_York", _at("UTC", 2026, 11, 1, 6, 30), _at("UTC", 2026, 11, 1, 13, 0)),
        # London springs forward 2026-03-29 01:00 GMT -> 02:00 BST (08:00 BST = 07:00 UTC)
        ("Europe/London", _at("UTC", 2026, 3, 29, 0, 30), _at("UTC", 2026, 3, 29, 7, 0)),
    ],
)
def test_quiet_hours_move_a_contact_to_the_next_local_morning(
    zone: str, decided_at: datetime, scheduled_local: datetime
) -> None:
    when = schedule(A.STOP, LeadContext(), decided_at, ContactHistory(), zone)  # no delay
    assert when.at == scheduled_local
    assert when.at.tzinfo == ZoneInfo(zone)
    assert not in_quiet_hours(when.at, ZoneInfo(zone))


@pytest.mark.parametrize(
    "policy, at, expected",
    [
        # a quiet window that does not wrap midnight
        (ContactPolicy(quiet_start=time(12), quiet_end=time(13)), NOON, NOON + timedelta(hours=1)),
        (
            ContactPolicy(quiet_start=time(12), quiet_end=time(13)),
            NOON - timedelta(minutes=1),
            None,
        ),
        # equal ends: no quiet hours at all
        (ContactPolicy(quiet_start=time(8), quiet_end=time(8)), NOON.replace(hour=2), None),
        # an end the spring-forward gap skips (02:30 on 2026-03-08 in New York): 03:30 EDT
        (
            ContactPolicy(quiet_start=time(22), quiet_end=time(2, 30)),
            _at("America/New_York", 2026, 3, 8, 1, 30),
            _at("UTC", 2026, 3, 8, 7, 30),
        ),
    ],
)
def test_outside_quiet_hours_with_other_windows(
    policy: ContactPolicy, at: datetime, expected: datetime | None
) -> None:
    zone = NY if at.tzinfo == NY else ZoneInfo("UTC")
    assert outside_quiet_hours(at, zone, policy) == (expected or at)


@pytest.mark.parametrize(
    "name", [None, "", "Not/AZone", "America", "../etc/passwd", "Europe/Berlin ", "utc", "x" * 300]
)
def test_missing_or_invalid_time_zone_falls_back_to_utc(name: str | None) -> None:
    assert lead_zone(name) == ZoneInfo("UTC")
    when = schedule(A.STOP, LeadContext(), NOON.replace(hour=22, minute=30), ContactHistory(), name)
    assert when.at == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    assert when.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "name, default, expected",
    [
        ("Asia/Tokyo", "Europe/Paris", ZoneInfo("Asia/Tokyo")),
        ("Nowhere", "Europe/Paris", ZoneInfo("Europe/Paris")),
        ("Nowhere", "Nowhere/Else", UTC),
    ],
)
def test_lead_zone_prefers_the_lead_then_the_policy_default(
    name: str, default: str, expected: tzinfo
) -> None:
    assert lead_zone(name, default) == expected


def test_policy_default_zone_applies_to_leads_without_one() -> None:
    policy = ContactPolicy(default_timezone="Asia/Tokyo")
    when = schedule(A.STOP, LeadContext(), NOON, ContactHistory(), None, policy)  # 21:00 in Tokyo
    assert when.at == _at("Asia/Tokyo", 2026, 3, 3, 8, 0)


instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2035, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(instants, st.timezones())
def test_outside_quiet_hours_is_the_earliest_allowed_time(at: datetime, zone: tzinfo) -> None:
    shifted = outside_quiet_hours(at, zone)
    assert shifted >= at
    assert not in_quiet_hours(shifted, zone)
    assert outside_quiet_hours(shifted, zone) == shifted
    if not in_quiet_hours(at, zone):
        assert shifted == at
