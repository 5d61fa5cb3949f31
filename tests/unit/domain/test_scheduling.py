"""When a contact may happen: the action's delay, then the cooldown, then quiet hours,
and for a call the hour it books in its partition's voice calendar."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from stream_app.domain.actions import Action, Channel
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams, Schedule
from stream_app.domain.context import LeadContext
from stream_app.domain.guardrails import ContactHistory, ContactPolicy, record_outreach
from stream_app.domain.scheduling import (
    VoiceCalendar,
    book_voice,
    hour_number,
    hour_start,
    in_quiet_hours,
    lead_zone,
    outside_quiet_hours,
    planned,
    schedule,
    schedule_call,
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


# --- the voice calendar: calls counted by the hour they are scheduled for ------------

H = timedelta(hours=1)
UTC_ZONE = ZoneInfo("UTC")
KOLKATA = ZoneInfo("Asia/Kolkata")


def full(*hours: datetime, capacity: int = 2) -> VoiceCalendar:
    """A calendar whose given hours have `capacity` calls booked."""
    return VoiceCalendar(slots=tuple((hour_number(h), capacity) for h in sorted(hours)))


def hours_of(calendar: VoiceCalendar) -> dict[datetime, int]:
    return {hour_start(h): n for h, n in calendar.slots}


def booked(calendar: VoiceCalendar | None, at: datetime, zone: tzinfo = UTC_ZONE) -> datetime:
    """The time a call planned for `at` is booked for (capacity 2), which must exist."""
    result = book_voice(calendar, at, 2, zone)
    assert result is not None
    return result[1]


@pytest.mark.parametrize(
    "calendar, at, zone, expected",
    [
        # room in the call's hour: it stays where it was planned
        (None, NOON.replace(minute=20), UTC_ZONE, NOON.replace(minute=20)),
        (
            full(NOON, capacity=1),
            NOON.replace(minute=59),
            UTC_ZONE,
            NOON.replace(minute=59),
        ),
        # a full hour moves the call to the start of the next hour with room
        (full(NOON), NOON.replace(minute=20), UTC_ZONE, NOON + H),
        (full(NOON, NOON + H, NOON + 2 * H), NOON.replace(minute=1), UTC_ZONE, NOON + 3 * H),
        # ... skipping only full hours: a free hour between two full ones is taken
        (full(NOON, NOON + 2 * H), NOON, UTC_ZONE, NOON + H),
        # ... out of quiet hours: 21:00 is quiet, so the next morning at 08:00
        (
            full(NOON.replace(hour=20)),
            NOON.replace(hour=20, minute=30),
            UTC_ZONE,
            _at("UTC", 2026, 3, 3, 8),
        ),
        # ... whose hour may be full in turn: then 09:00
        (
            full(NOON.replace(hour=20), _at("UTC", 2026, 3, 3, 8)),
            NOON.replace(hour=20, minute=30),
            UTC_ZONE,
            _at("UTC", 2026, 3, 3, 9),
        ),
        # the lead's own quiet hours: 20:30 in New York is 01:30 UTC, its 08:00 is 13:00 UTC
        (
            full(_at("UTC", 2026, 3, 3, 1)),
            _at("America/New_York", 2026, 3, 2, 20, 30),
            NY,
            _at("America/New_York", 2026, 3, 3, 8),
        ),
        # a half-hour zone: 08:00 in Kolkata is 02:30 UTC, in the 02:00 UTC hour ...
        (
            full(_at("UTC", 2026, 3, 2, 15)),
            _at("Asia/Kolkata", 2026, 3, 2, 20, 45),
            KOLKATA,
            _at("Asia/Kolkata", 2026, 3, 3, 8),
        ),
        # ... and when that hour is full, the next UTC hour starts at 08:30 there
        (
            full(_at("UTC", 2026, 3, 2, 15), _at("UTC", 2026, 3, 3, 2)),
            _at("Asia/Kolkata", 2026, 3, 2, 20, 45),
            KOLKATA,
            _at("Asia/Kolkata", 2026, 3, 3, 8, 30),
        ),
    ],
)
def test_a_call_books_its_own_hour_or_the_next_with_room(
    calendar: VoiceCalendar | None, at: datetime, zone: tzinfo, expected: datetime
) -> None:
    result = book_voice(calendar, at, 2, zone)
    assert result is not None
    after, when = result
    assert when == expected
    assert when.tzinfo == zone  # scheduled_for stays in the lead's zone
    assert not in_quiet_hours(when, zone)
    before = hours_of(calendar) if calendar else {}
    hour = when.astimezone(UTC).replace(minute=0)
    assert hours_of(after) == {**before, hour: before.get(hour, 0) + 1}


def test_the_hour_a_full_hour_moves_to_follows_each_zone_and_quiet_window() -> None:
    # One full hour (20:00 UTC), the same call time, moved by three leads' quiet
    # hours in turn, twice over: where a call moves is remembered per hour, so a
    # zone or a quiet window must never get the move another one was given.
    calendar = full(NOON.replace(hour=20))
    at = NOON.replace(hour=20, minute=30)
    late = ContactPolicy(quiet_start=time(22, 0), quiet_end=time(7, 0))
    cases = [
        (UTC_ZONE, ContactPolicy(), _at("UTC", 2026, 3, 3, 8)),  # 21:00 UTC is quiet
        (NY, ContactPolicy(), NOON.replace(hour=21)),  # 16:00 in New York is not
        (UTC_ZONE, late, NOON.replace(hour=21)),  # nor is 21:00 with quiet from 22:00
    ]
    for zone, policy, expected in cases * 2:
        result = book_voice(calendar, at.astimezone(zone), 2, zone, policy)
        assert result is not None
        assert result[1] == expected
        assert result[1].tzinfo is zone


def test_calls_are_counted_by_scheduled_hour_not_decision_order() -> None:
    # Interleaved event times: a call for 10:00 booked after one for 15:00 (a
    # backfill), then one for 15:00 again. With room for 1 call an hour, each of the
    # first two takes its own hour, neither blocks the other; the third moves.
    ten, three = NOON.replace(hour=10), NOON.replace(hour=15)
    calendar = None
    times = []
    for at in (three, ten, three + timedelta(minutes=30), ten + timedelta(minutes=5)):
        result = book_voice(calendar, at, 1, UTC_ZONE)
        assert result is not None
        calendar, when = result
        times.append(when)
    assert times == [three, ten, three + H, ten + H]
    assert calendar is not None
    assert hours_of(calendar) == {ten: 1, ten + H: 1, three: 1, three + H: 1}


def test_a_far_future_booking_does_not_block_calls_today() -> None:
    future = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)
    result = book_voice(None, future, 1, UTC_ZONE)
    assert result is not None
    calendar = result[0]
    for minute in (0, 30):  # today's hours book as if the far-future call did not exist
        result = book_voice(calendar, NOON + timedelta(minutes=minute), 1, UTC_ZONE)
        assert result is not None
        calendar, when = result
    assert when == NOON + H  # moved by today's own first call only
    assert list(hours_of(calendar)) == [NOON, NOON + H, future]


@pytest.mark.parametrize(
    "voice_per_hour, partitions, calls_in_the_hour",
    [(50, 1, 50), (50, 4, 13), (50, 12, 5), (50, 64, 1), (3, 2, 2)],
)
def test_each_partition_books_its_share_of_the_hourly_limit(
    voice_per_hour: int, partitions: int, calls_in_the_hour: int
) -> None:
    policy = ContactPolicy(voice_per_hour=voice_per_hour, partitions=partitions)
    calendar = None
    times = []
    for _ in range(calls_in_the_hour + 1):
        when = Schedule(NOON.replace(minute=10), "Build rapport: in 1 day")
        result = schedule_call(when, calendar, UTC_ZONE, policy)
        assert result is not None
        calendar, when = result
        times.append(when)
    assert times[:-1] == [Schedule(NOON.replace(minute=10), "Build rapport: in 1 day")] * (
        calls_in_the_hour
    )
    assert times[-1] == Schedule(
        NOON + H, "Build rapport: in 1 day (moved: no voice capacity left that hour)"
    )
    assert calendar is not None
    assert hours_of(calendar) == {NOON: calls_in_the_hour, NOON + H: 1}


@pytest.mark.parametrize(
    "calendar, capacity, horizon",
    [
        # every hour within the horizon is full
        (full(*(NOON + i * H for i in range(5)), capacity=1), 1, timedelta(hours=5)),
        # quiet hours take the rest: 20:00 full, then 21:00-08:00, then out of the horizon
        (full(NOON.replace(hour=20), capacity=1), 1, timedelta(hours=12)),
        # no capacity at all
        (None, 0, timedelta(days=14)),
    ],
)
def test_no_room_within_the_horizon_cannot_be_scheduled(
    calendar: VoiceCalendar | None, capacity: int, horizon: timedelta
) -> None:
    policy = ContactPolicy(voice_horizon=horizon)
    at = NOON if calendar is None or calendar.booked(NOON) else NOON.replace(hour=20)
    assert book_voice(calendar, at, capacity, UTC_ZONE, policy) is None


def test_the_default_horizon_is_two_weeks() -> None:
    no_quiet_hours = ContactPolicy(quiet_start=time(8), quiet_end=time(8))
    two_weeks = [NOON + i * H for i in range(14 * 24)]
    assert book_voice(full(*two_weeks, capacity=1), NOON, 1, UTC_ZONE, no_quiet_hours) is None
    result = book_voice(full(*two_weeks[:-1], capacity=1), NOON, 1, UTC_ZONE, no_quiet_hours)
    assert result is not None and result[1] == two_weeks[-1]  # the last hour of the horizon
    assert booked(full(*two_weeks, capacity=1), NOON) == NOON  # room for 2 calls an hour


def test_the_calendar_stays_bounded_after_thousands_of_bookings_over_months() -> None:
    rng = random.Random(7)
    policy = ContactPolicy()
    calendar: VoiceCalendar | None = None
    latest = NOON
    for i in range(3000):
        # mostly moving forward over ~4 months, with late and early events mixed in
        at = NOON + timedelta(hours=i + rng.uniform(-48, 72))
        result = book_voice(calendar, at, 3, UTC_ZONE, policy)
        assert result is not None
        calendar, when = result
        latest = max(latest, when.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
        assert len(calendar.slots) <= policy.voice_calendar_slots
    assert calendar is not None
    assert len(calendar.slots) == policy.voice_calendar_slots == 504
    assert VoiceCalendar.model_validate_json(calendar.model_dump_json()) == calendar
    assert hour_start(calendar.slots[-1][0]) == latest  # the oldest hours went, the newest stayed
    assert len(calendar.model_dump_json()) < 10_000  # one budgets-table record


def test_a_stale_call_older_than_every_kept_hour_is_booked_but_not_kept() -> None:
    policy = ContactPolicy(voice_horizon=timedelta(hours=1))  # keeps 1 + 168 hours
    calendar = full(*(NOON + i * H for i in range(policy.voice_calendar_slots)), capacity=1)
    long_ago = NOON - timedelta(days=30)
    result = book_voice(calendar, long_ago, 1, UTC_ZONE, policy)
    assert result is not None
    assert result == (calendar, long_ago)


@st.composite
def bookings(draw: st.DrawFn) -> list[tuple[datetime, str]]:
    starts = st.integers(0, 24 * 10).map(lambda h: NOON + timedelta(minutes=17 * h))
    zones = st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"])
    return draw(st.lists(st.tuples(starts, zones), min_size=1, max_size=40))


@given(bookings(), st.integers(1, 3))
def test_no_hour_is_overbooked_and_no_call_is_early_or_quiet(
    calls: list[tuple[datetime, str]], capacity: int
) -> None:
    calendar: VoiceCalendar | None = None
    for at, name in calls:
        zone = ZoneInfo(name)
        at = outside_quiet_hours(at, zone)  # as `schedule` hands it over
        result = book_voice(calendar, at, capacity, zone)
        assert result is not None
        before = calendar
        calendar, when = result
        assert when >= at and not in_quiet_hours(when, zone)
        # never later than needed: every hour it skipped was full or quiet
        if when != at:
            assert before is not None and before.booked(at) == capacity
        assert all(n <= capacity for _, n in calendar.slots)
        # Built without validation: it must be the calendar validation accepts and builds.
        assert VoiceCalendar.model_validate(calendar.model_dump()) == calendar
    assert calendar is not None
    assert sum(n for _, n in calendar.slots) == len(calls)


def test_the_calendar_round_trips_through_json() -> None:
    calendar = full(NOON, NOON + H, capacity=3)
    assert VoiceCalendar.model_validate_json(calendar.model_dump_json()) == calendar
    assert calendar.model_dump_json() == '{"slots":[[492348,3],[492349,3]]}'
    assert hour_start(492348) == NOON == datetime(1970, 1, 1, tzinfo=UTC) + 492348 * H


@pytest.mark.parametrize(
    "at, number",
    [
        (NOON, 492348),
        (NOON + timedelta(minutes=59, seconds=59), 492348),
        (NOON - timedelta(microseconds=1), 492347),
        (_at("Asia/Kolkata", 2026, 3, 2, 17, 45), 492348),  # 12:15 UTC
        (_at("Asia/Kolkata", 2026, 3, 2, 17, 15), 492347),  # 11:45 UTC
    ],
)
def test_hours_are_utc_clock_hours_whatever_the_offset(at: datetime, number: int) -> None:
    assert hour_number(at) == number


@pytest.mark.parametrize(
    "raw",
    [
        # the old single-hour budget: never read as a calendar (hence its new table key)
        '{"hour_start":"2026-03-02T12:00:00Z","used":4}',
        '{"slots":[[492349,1],[492348,1]]}',  # unsorted
        '{"slots":[[492348,1],[492348,1]]}',  # the same hour twice
        '{"slots":[[492348,0]]}',  # an hour without a call
        '{"slots":[["2026-03-02T12:00:00Z",1]]}',
    ],
)
def test_the_calendar_rejects_what_it_could_not_have_written(raw: str) -> None:
    with pytest.raises(ValidationError):
        VoiceCalendar.model_validate_json(raw)


def test_the_calendar_reads_a_newer_release_s_record() -> None:
    raw = '{"slots":[[492348,1]],"added_later":{"x":1}}'
    assert VoiceCalendar.model_validate_json(raw) == full(NOON, capacity=1)


def test_booking_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        book_voice(None, datetime(2026, 3, 2, 12), 1, UTC_ZONE)  # noqa: DTZ001
