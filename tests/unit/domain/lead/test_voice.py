"""The global voice capacity through the lead's decision: a call books the UTC hour it is
scheduled for in its partition's calendar (`Policy.voice_budget`, returned in
`Effects.voice_budget`); a full hour moves it, and only a call no hour of the horizon
has room for waits (`guardrail:voice_rate_limit`)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.guardrails import ContactPolicy
from stream_app.domain.lead import Effects, LeadState, Params, Policy, Tick, apply
from stream_app.domain.messages import NextBestAction
from stream_app.domain.qlearning import seeded_priors
from stream_app.domain.scheduling import VoiceCalendar, book_voice, hour_number
from stream_app.wire.models import INPUT_EVENT
from tests.unit.domain.lead.helpers import NOW, Always

MON = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday; leads have no zone, so UTC
H, DAY = timedelta(hours=1), timedelta(days=1)
CALL = Always(Action.WARM_FOLLOW_UP)  # a voice action, planned a day after the decision
TABLE = seeded_priors()


def params(voice_per_hour: int = 4, partitions: int = 4, **contact: Any) -> Params:
    policy = ContactPolicy(voice_per_hour=voice_per_hour, partitions=partitions, **contact)
    return Params(contact=policy)


def created(
    lead_id: str,
    at: datetime,
    calendar: VoiceCalendar | None,
    knobs: Params,
    chooser: Always = CALL,
    **fields: Any,
) -> tuple[LeadState | None, Effects]:
    """A new lead's first decision, with its partition's calendar."""
    event = INPUT_EVENT.validate_python(
        {
            "type": "lead.created",
            "event_id": f"{lead_id}-created",
            "lead_id": lead_id,
            "occurred_at": at.isoformat(),
            "parent_name": "Sarah Mitchell",
            "child_name": "Jake",
            "phone": "+15550100",
            **fields,
        }
    )
    policy = Policy(TABLE, 7, rng=chooser, voice_budget=calendar)
    return apply(None, event, policy, knobs, NOW)


def full(*hours: datetime, calls: int = 1) -> VoiceCalendar:
    return VoiceCalendar(slots=tuple((hour_number(h), calls) for h in sorted(hours)))


def test_a_call_books_the_hour_it_is_scheduled_for_not_the_hour_it_was_decided() -> None:
    _, effects = created("L1", MON.replace(hour=15, minute=20), None, params())
    [nba] = effects.decisions
    assert (nba.action, nba.channel, nba.override) == ("warm_follow_up", "voice", None)
    assert nba.brief.scheduled_for == MON.replace(hour=15, minute=20) + DAY
    calendar = effects.voice_budget
    assert calendar is not None
    assert calendar.booked(MON + DAY + 15 * H) == 1
    assert calendar.booked(MON + 15 * H) == 0  # the decision's own hour is not charged
    assert effects.guardrail_changes == []


@pytest.mark.parametrize(
    "at, timezone, booked_hours, scheduled_local",
    [
        # the planned hour is full: the start of the next hour
        (MON + 15 * H, None, [MON + DAY + 15 * H], datetime(2026, 11, 3, 16, tzinfo=UTC)),
        # ... and the next: the one after
        (
            MON + 15 * H,
            None,
            [MON + DAY + 15 * H, MON + DAY + 16 * H],
            datetime(2026, 11, 3, 17, tzinfo=UTC),
        ),
        # 20:30 is full, 21:00 is quiet: 08:00 the next morning
        (
            MON + 20 * H + 30 * timedelta(minutes=1),
            None,
            [MON + DAY + 20 * H],
            datetime(2026, 11, 4, 8, tzinfo=UTC),
        ),
        # in the lead's zone: 20:30 in Chicago is 02:30 UTC; 08:00 there is 14:00 UTC ...
        (
            datetime(2026, 11, 2, 20, 30, tzinfo=ZoneInfo("America/Chicago")),
            "America/Chicago",
            [datetime(2026, 11, 4, 2, tzinfo=UTC)],
            datetime(2026, 11, 4, 8, tzinfo=ZoneInfo("America/Chicago")),
        ),
        # ... and when that morning's hour is full too, 09:00
        (
            datetime(2026, 11, 2, 20, 30, tzinfo=ZoneInfo("America/Chicago")),
            "America/Chicago",
            [datetime(2026, 11, 4, 2, tzinfo=UTC), datetime(2026, 11, 4, 14, tzinfo=UTC)],
            datetime(2026, 11, 4, 9, tzinfo=ZoneInfo("America/Chicago")),
        ),
    ],
)
def test_a_full_hour_moves_the_call_and_its_reminder_out_of_quiet_hours(
    at: datetime,
    timezone: str | None,
    booked_hours: list[datetime],
    scheduled_local: datetime,
) -> None:
    zone = {"timezone": timezone} if timezone else {}
    state, effects = created("L1", at, full(*booked_hours), params(), **zone)
    [nba] = effects.decisions
    assert (nba.action, nba.channel, nba.override) == ("warm_follow_up", "voice", None)
    assert nba.brief.scheduled_for == scheduled_local
    assert nba.brief.scheduled_for.utcoffset() == scheduled_local.utcoffset()  # lead's zone
    assert nba.brief.timing_rationale.endswith("(moved: no voice capacity left that hour)")
    assert state is not None and state.reminder is not None
    assert state.reminder.remind_at == scheduled_local
    calendar = effects.voice_budget
    assert calendar is not None and calendar.booked(scheduled_local) == 1
    assert sum(n for _, n in calendar.slots) == len(booked_hours) + 1


def test_a_call_no_hour_of_the_horizon_has_room_for_waits() -> None:
    knobs = params(voice_horizon=3 * H)
    planned = MON + DAY + 15 * H
    calendar = full(planned, planned + H, planned + 2 * H)
    state, effects = created("L1", MON + 15 * H, calendar, knobs)
    [nba] = effects.decisions
    assert (nba.action, nba.channel) == ("wait", "none")
    assert nba.override == "guardrail:voice_rate_limit"
    assert nba.filtered_out["warm_follow_up"] == "guardrail:voice_rate_limit"
    assert nba.brief.scheduled_for == MON + 15 * H + 3 * DAY  # the wait's own timing
    assert effects.guardrail_changes == ["voice_rate_limit"]
    assert effects.voice_budget is calendar  # nothing booked
    assert state is not None and state.reminder is None


def test_only_calls_book_the_calendar() -> None:
    calendar = full(MON + DAY + 15 * H)
    for action in (Action.GENTLE_NUDGE, Action.INFO_SEND, Action.WAIT):
        _, effects = created("L1", MON + 15 * H, calendar, params(), Always(action))
        [nba] = effects.decisions
        assert nba.action == action.value and nba.channel != "voice"
        assert effects.voice_budget is calendar


@pytest.mark.parametrize(
    "voice_per_hour, partitions, per_hour",
    [(50, 1, 50), (50, 4, 13), (50, 12, 5), (3, 2, 2), (4, 4, 1)],
)
def test_each_partition_calls_its_share_of_the_hourly_limit(
    voice_per_hour: int, partitions: int, per_hour: int
) -> None:
    knobs = params(voice_per_hour, partitions)
    calendar = None
    scheduled = []
    for i in range(per_hour + 1):  # leads of one partition decided in the same minute
        _, effects = created(f"L{i}", MON + 15 * H, calendar, knobs)
        calendar = effects.voice_budget
        [nba] = effects.decisions
        assert nba.channel == "voice"
        scheduled.append(nba.brief.scheduled_for)
    assert scheduled == [MON + DAY + 15 * H] * per_hour + [MON + DAY + 16 * H]


# --- interleaved event times, through the lead step ---------------------------------
#
# One call per partition and hour (4 an hour over 4 partitions), leads decided in this
# order, each partition with its own calendar threaded from step to step as the lead
# agent stores it. The old single "current hour" counter, charged at decision time,
# waited on B (charged to 15:00, the newest hour), on C (15:00 spent) and on E (the
# counter pinned to 2027 by D).

MIN = timedelta(minutes=1)
FAR = datetime(2027, 6, 1, 12, tzinfo=UTC)
INTERLEAVED = [
    # lead, partition, event time, the call's scheduled_for
    ("A", 0, MON + 15 * H, MON + DAY + 15 * H),
    ("B", 0, MON + 10 * H, MON + DAY + 10 * H),  # an earlier hour after a later one
    ("C", 0, MON + 15 * H + 20 * MIN, MON + DAY + 16 * H),  # A's hour is full: moved
    ("D", 1, FAR, FAR + DAY),  # far in the future
    ("E", 1, MON + 11 * H, MON + DAY + 11 * H),  # today, after it
    ("F", 2, MON + 15 * H, MON + DAY + 15 * H),  # A's hour, in another partition
    ("G", 3, MON + 9 * H, MON + DAY + 9 * H),
]


def test_interleaved_event_times_book_their_own_hours_and_never_block_each_other() -> None:
    knobs = params(voice_per_hour=4, partitions=4)
    calendars: dict[int, Any] = {}
    published = []
    for lead_id, partition, at, _ in INTERLEAVED:
        _, effects = created(lead_id, at, calendars.get(partition), knobs)
        if effects.voice_budget is not None:
            calendars[partition] = effects.voice_budget
        [nba] = effects.decisions
        published.append((nba.lead_id, nba.action, nba.channel, nba.brief.scheduled_for))
    assert published == [
        (lead_id, "warm_follow_up", "voice", scheduled) for lead_id, _, _, scheduled in INTERLEAVED
    ]


def _decisions_in_random_order(seed: int) -> list[NextBestAction]:
    """40 leads of one partition, 2 calls an hour, decided in shuffled event-time order
    (an accelerated simulation's interleaving), their events spread over two days."""
    rng = random.Random(seed)
    times = [MON + 9 * H + timedelta(minutes=rng.randrange(0, 2 * 24 * 60)) for _ in range(40)]
    rng.shuffle(times)
    knobs = params(voice_per_hour=2, partitions=1)
    calendar = None
    decisions = []
    for i, at in enumerate(times):
        _, effects = created(f"L{i}", at, calendar, knobs)
        calendar = effects.voice_budget
        decisions.extend(effects.decisions)
    return decisions


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_in_any_order_every_call_goes_out_and_no_hour_takes_more_than_its_share(
    seed: int,
) -> None:
    decisions = _decisions_in_random_order(seed)
    assert {(d.action, d.channel, d.override) for d in decisions} == {
        ("warm_follow_up", "voice", None)
    }
    per_hour = Counter(hour_number(d.brief.scheduled_for) for d in decisions)
    assert max(per_hour.values()) <= 2
    for d in decisions:
        planned = d.decided_at + DAY
        assert d.brief.scheduled_for >= planned
        # moved only past hours already full (or quiet): never later than the horizon
        assert d.brief.scheduled_for - planned < ContactPolicy().voice_horizon


def test_the_decision_books_what_book_voice_books() -> None:
    calendar = full(MON + DAY + 15 * H)
    _, effects = created("L1", MON + 15 * H, calendar, params())
    expected = book_voice(calendar, MON + DAY + 15 * H, 1, UTC)
    assert expected is not None
    assert effects.voice_budget == expected[0]
    assert effects.decisions[0].brief.scheduled_for == expected[1]


def test_two_decisions_in_one_tick_book_two_calls() -> None:
    """A tick whose two overdue extractions both decide a call must count both calls:
    the second decision books in the calendar the first one left."""
    knobs = params(voice_per_hour=40)
    state, first = created("T1", MON + 10 * H, None, knobs)
    calendar = first.voice_budget
    assert state is not None
    for n in (1, 2):
        call = INPUT_EVENT.validate_python(
            {
                "type": "interaction.completed",
                "event_id": f"T1-call{n}",
                "lead_id": "T1",
                "occurred_at": (MON + (10 + n) * H).isoformat(),
                "interaction_id": f"c{n}",
                "channel": "voice",
                "direction": "inbound",
                "outcome": "completed",
                "transcript": "Agent: Hi!\nParent: Tell me more about the classes.",
            }
        )
        state, _ = apply(state, call, Policy(TABLE, 7, rng=CALL, voice_budget=calendar), knobs, NOW)
        assert state is not None
    assert len(state.pending) == 2
    tick = Tick("T1", MON + 13 * H)
    late = NOW + DAY  # both extraction deadlines have passed
    _, effects = apply(state, tick, Policy(TABLE, 7, rng=CALL, voice_budget=calendar), knobs, late)
    calls = [d for d in effects.decisions if d.channel == "voice"]
    assert len(calls) == 2
    booked_before = sum(n for _, n in calendar.slots) if calendar else 0
    assert effects.voice_budget is not None
    assert sum(n for _, n in effects.voice_budget.slots) == booked_before + 2
