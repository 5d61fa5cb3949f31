"""When a decision's contact may happen: `scheduled_for` and the reason for it.

The one place that times a contact, in three steps:

1. the action's own delay (`BriefParams.delays`, falling back to `DEFAULT_DELAYS`
   for an action a partial override leaves out); a reminder for a known, future
   first session is timed from that session instead, the lead time before it and
   never earlier than the decision;
2. not before the cooldown after the lead's last outreach (the cooldown spaces
   contacts out instead of blocking them, or every decision made right after a
   call would be a wait);
3. out of the quiet hours (default 21:00-08:00) of the lead's time zone (UTC when
   it has none or an invalid IANA name): moved to the next allowed local time.
   `scheduled_for` is always expressed in that zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stream_app.domain.actions import Action
from stream_app.domain.briefs.model import DEFAULT_DELAYS, BriefParams, Schedule
from stream_app.domain.briefs.templates import TEMPLATES
from stream_app.domain.context import LeadContext
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


def _quiet(local: time, policy: ContactPolicy) -> bool:
    start, end = policy.quiet_start, policy.quiet_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def in_quiet_hours(at: datetime, zone: tzinfo, policy: ContactPolicy = DEFAULT_POLICY) -> bool:
    """Whether `at` falls in the quiet hours of the local clock in `zone`."""
    return _quiet(at.astimezone(zone).time(), policy)


def outside_quiet_hours(
    at: datetime, zone: tzinfo, policy: ContactPolicy = DEFAULT_POLICY
) -> datetime:
    """`at`, or the end of the quiet hours it falls in, in `zone`'s local time.

    The end is a local wall time (08:00 stays 08:00 across a DST change); a wall
    time that a DST gap skips is moved past the gap.
    """
    local = at.astimezone(zone)
    if not _quiet(local.time(), policy):
        return local
    end = datetime.combine(local.date(), policy.quiet_end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), policy.quiet_end, tzinfo=zone)
    return end.astimezone(UTC).astimezone(zone)


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
