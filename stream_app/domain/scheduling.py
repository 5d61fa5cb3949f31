"""When a decision's contact may happen: `scheduled_for` and the reason for it.

The one place that times a contact, in three steps, and a fourth for a call:

1. the action's own delay (`BriefParams.delays`, falling back to `DEFAULT_DELAYS`
   for an action a partial override leaves out); a reminder for a known, future
   first session is timed from that session instead, the lead time before it and
   never earlier than the decision;
2. not before the cooldown after the lead's last outreach (the cooldown spaces
   contacts out instead of blocking them, or every decision made right after a
   call would be a wait);
3. out of the quiet hours (default 21:00-08:00) of the lead's time zone (UTC when
   it has none or an invalid IANA name): moved to the next allowed local time.
   `scheduled_for` is always expressed in that zone;
4. a voice call books a slot in its partition's `VoiceCalendar` (`book_voice`):
   the global voice capacity (`ContactPolicy.voice_per_hour`, split per partition
   as `voice_per_partition`) is counted by the UTC hour each call is scheduled
   for. A full hour moves the call to the start of the next hour with room, out of
   quiet hours again (which may move it to the next morning, whose hour may be full
   too, and so on), searched up to `ContactPolicy.voice_horizon` (14 days) ahead.
   No room within the horizon: the decision waits (`guardrail:voice_rate_limit`).

Why counted by scheduled hour, in a calendar: the old single "current hour" counter
was charged at decision time, so when the leads' event times interleave (a
backfill, an accelerated simulation) an earlier hour's call was charged to the
newest hour, and one far-future event pinned the counter to its hour for good,
blocking voice. Each call now books the hour it will happen in, whatever order
the decisions come in, and a full hour delays a call rather than dropping it.

Why per partition: the limit is global, but workers share nothing except Kafka,
and a central counter would put a lock (and a network round trip) on every
decision. Each partition instead owns `ceil(limit / partitions)` calls per hour,
kept by the worker that owns the partition, already the single writer of its
leads. Rounding up never starves a partition when there are more partitions than
the limit allows, at the cost of overshooting the global limit by at most
`partitions - 1` per hour; a hot partition delays its calls while others have room.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PositiveInt, model_validator

from stream_app.domain.actions import Action
from stream_app.domain.briefs.model import DEFAULT_DELAYS, BriefParams, Schedule
from stream_app.domain.briefs.templates import TEMPLATES
from stream_app.domain.context import LeadContext
from stream_app.domain.frozen import Stored
from stream_app.domain.guardrails import (
    DEFAULT_POLICY,
    ContactHistory,
    ContactPolicy,
    is_outreach,
)


def schedule(
    action: Action,
    ctx: LeadContext,
    decided_at: datetime,
    history: ContactHistory,
    timezone: str | None,
    contact: ContactPolicy = DEFAULT_POLICY,
    briefs: BriefParams | None = None,
) -> Schedule:
    """When the decided `action` may reach the family, and why then."""
    planned_at = planned(action, ctx, decided_at, briefs or BriefParams())
    at = planned_at.at
    if is_outreach(action) and history.contacts:
        at = max(at, history.contacts[-1].decided_at + contact.cooldown)
    zone = lead_zone(timezone, contact.default_timezone)
    return Schedule(outside_quiet_hours(at, zone, contact), planned_at.rationale)


def planned(action: Action, ctx: LeadContext, now: datetime, params: BriefParams) -> Schedule:
    """The action's own timing (step 1), before cooldown and quiet hours."""
    first = ctx.first_session_at
    if action == Action.FIRST_SESSION_REMINDER and first is not None and first > now:
        at = max(now, first - params.first_session_lead)
        return Schedule(
            at,
            f"Remind them {_human(first - at)} before the first session ({first:%a %d %b %H:%M})",
        )
    delay = params.delays.get(action, DEFAULT_DELAYS[action])  # partial overrides keep the rest
    return Schedule(now + delay, _rationale(TEMPLATES[action].why, delay))


@lru_cache(maxsize=1024)
def lead_zone(name: str | None, default: str = "UTC") -> tzinfo:
    """The lead's IANA zone, else `default`, else UTC; bad names never raise.

    Cached, because a failed lookup goes to the file system every time.
    """
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return UTC


def _quiet(local: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def in_quiet_hours(at: datetime, zone: tzinfo, policy: ContactPolicy = DEFAULT_POLICY) -> bool:
    """Whether `at` falls in the quiet hours of the local clock in `zone`."""
    return _quiet(at.astimezone(zone).time(), policy.quiet_start, policy.quiet_end)


def outside_quiet_hours(
    at: datetime, zone: tzinfo, policy: ContactPolicy = DEFAULT_POLICY
) -> datetime:
    """`at`, or the end of the quiet hours it falls in, in `zone`'s local time.

    The end is a local wall time (08:00 stays 08:00 across a DST change); a wall
    time that a DST gap skips is moved past the gap.
    """
    return _out_of_quiet(at, zone, policy.quiet_start, policy.quiet_end)


def _out_of_quiet(at: datetime, zone: tzinfo, start: time, end: time) -> datetime:
    local = at.astimezone(zone)
    if not _quiet(local.time(), start, end):
        return local
    until = datetime.combine(local.date(), end, tzinfo=zone)
    if until <= local:
        until = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=zone)
    return until.astimezone(UTC).astimezone(zone)


_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def hour_number(at: datetime) -> int:
    """The UTC clock hour `at` falls in, as whole hours since 1970-01-01T00:00Z."""
    return (at - _EPOCH) // _HOUR


def hour_start(number: int) -> datetime:
    """When the UTC clock hour `number` (see `hour_number`) starts."""
    return _EPOCH + number * _HOUR


class VoiceCalendar(Stored):
    """The voice calls one partition booked, per UTC hour they are scheduled for.

    Stored (the `budgets` table's value), so a field a newer release adds is
    ignored; `slots` has no default, so a record of another shape (the old
    single-hour budget) is refused rather than read as an empty calendar.

    `slots` are (hour, calls booked) pairs, only hours with a booking, in
    ascending order of hour, each hour once. An hour is its number (`hour_number`:
    whole hours since 1970-01-01T00:00Z), so the stored record has no zone, no
    DST and nothing to align, and reading it (on every record of the partition)
    stays cheap.

    Bounded by count, not by time: a booking keeps the latest
    `ContactPolicy.voice_calendar_slots` hours (504 by default: the 14-day
    booking horizon plus a week behind it, about 6 kB of JSON) and drops the
    oldest. Not by time because any anchor for a time horizon can be an outlier:
    behind the newest booked hour, one far-future call would erase the calendar,
    and every call after it (all "too old") would be forgotten at once. A late
    event whose hour is older than every hour kept still gets its call, in an
    hour the calendar no longer counts: a past hour, whose calls are made now.
    """

    slots: tuple[tuple[int, PositiveInt], ...]

    @model_validator(mode="after")
    def _ascending(self) -> Self:
        hours = self.hours()
        if not all(map(operator.lt, hours, hours[1:])):
            raise ValueError("slots must be in ascending order of hour, each hour once")
        return self

    def hours(self) -> list[int]:
        return [hour for hour, _ in self.slots]

    def booked(self, at: datetime) -> int:
        """Calls booked in the UTC clock hour of `at`."""
        return _booked(self.slots, hour_number(at))[1]


_HOUR_OF = operator.itemgetter(0)


def _booked(slots: tuple[tuple[int, int], ...], hour: int) -> tuple[int, int]:
    """Where `hour` is or would go in `slots`, and the calls booked in it.

    Searched on the slots themselves: a list of the hours, built per booking, cost
    as much as the rest of the booking (a calendar holds up to 504 hours).
    """
    i = bisect_left(slots, hour, key=_HOUR_OF)
    return i, slots[i][1] if i < len(slots) and slots[i][0] == hour else 0


def book_voice(
    calendar: VoiceCalendar | None,
    at: datetime,
    capacity: int,
    zone: tzinfo,
    policy: ContactPolicy = DEFAULT_POLICY,
) -> tuple[VoiceCalendar, datetime] | None:
    """Book one call scheduled for `at`: the calendar after it and the call's time.

    The call stays at `at` (in `zone`) if its UTC hour has fewer than `capacity`
    calls; else it moves to the start of the next hour with room that is outside
    the lead's quiet hours (a move out of quiet hours lands on the next morning,
    whose hour is checked in turn). None when no hour has room before
    `at + policy.voice_horizon` (or `capacity` is 0): the call cannot be scheduled.
    At most one candidate per hour of the horizon is tried.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    slots = calendar.slots if calendar is not None else ()
    end = at + policy.voice_horizon
    when = outside_quiet_hours(at, zone, policy)
    hour = hour_number(when)
    while capacity > 0 and when < end:
        i, calls = _booked(slots, hour)
        if calls < capacity:
            after = i + 1 if calls else i  # replace the hour's slot, or insert one
            slots = (*slots[:i], (hour, calls + 1), *slots[after:])
            # Ascending, each hour once and every count positive, as the calendar it
            # came from: built without validating the calendar's 504 slots again
            # (their validation was most of a booking's cost).
            booked = VoiceCalendar.model_construct(slots=slots[-policy.voice_calendar_slots :])
            return booked, when
        when, hour = _next_allowed(hour + 1, zone, policy.quiet_start, policy.quiet_end)
    return None


@lru_cache(maxsize=4096)
def _next_allowed(
    hour: int, zone: tzinfo, quiet_start: time, quiet_end: time
) -> tuple[datetime, int]:
    """The first time out of quiet hours from the start of UTC clock `hour` (in `zone`),
    and the UTC clock hour it falls in: where a call moves when its hour is full.

    Cached, because a booking walks every full hour ahead of its call, and the
    partition's other calls walk the same hours: the conversions cost ~1.8 us per
    hour walked (~21 per booking in bench/core_decisions.py), the cached lookup
    ~0.2 us. Keyed on all it depends on: of the policy, only the quiet hours.
    """
    when = _out_of_quiet(hour_start(hour), zone, quiet_start, quiet_end)
    return when, hour_number(when)


def schedule_call(
    when: Schedule,
    calendar: VoiceCalendar | None,
    zone: tzinfo,
    policy: ContactPolicy = DEFAULT_POLICY,
) -> tuple[VoiceCalendar, Schedule] | None:
    """Step 4 for a voice call: `when` booked in the partition's calendar (`book_voice`),
    moved, with the reason added to its rationale, when its hour is full."""
    booked = book_voice(calendar, when.at, policy.voice_per_partition, zone, policy)
    if booked is None:
        return None
    calendar, at = booked
    if at == when.at:
        return calendar, when
    return calendar, Schedule(at, f"{when.rationale} (moved: no voice capacity left that hour)")


@lru_cache(maxsize=256)
def _rationale(why: str, delay: timedelta) -> str:
    return f"{why}: {_human(delay, prefix='in ')}"


def _human(delay: timedelta, prefix: str = "") -> str:
    """'2 hours', '3 days', 'now': what an operator reads in the timing rationale."""
    seconds = int(delay.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or unit == "minute"):
            n = seconds // size
            return f"{prefix}{n} {unit}{'s' if n != 1 else ''}"
    return "now"
