"""When a brief's action is due, and the sentence that tells the operator why.

`scheduled_for` is `now` plus an action-specific delay (`BriefParams.delays`, falling
back to `DEFAULT_DELAYS` for an action a partial override leaves out). A reminder
for a known, future first session is timed from that session instead: the lead
time before it, never earlier than `now`. Quiet hours are the guardrails' job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from stream_app.domain.actions import Action
from stream_app.domain.briefs.model import DEFAULT_DELAYS, BriefParams
from stream_app.domain.context import LeadContext


def timing(
    action: Action, why: str, ctx: LeadContext, now: datetime, params: BriefParams
) -> tuple[datetime, str]:
    """(scheduled_for, timing rationale) for `action`; `why` is its template's reason."""
    first = ctx.first_session_at
    if action == Action.FIRST_SESSION_REMINDER and first is not None and first > now:
        at = max(now, first - params.first_session_lead)
        return at, (
            f"Remind them {_human(first - at)} before the first session ({first:%a %d %b %H:%M})"
        )
    delay = params.delays.get(action, DEFAULT_DELAYS[action])  # partial overrides keep the rest
    return now + delay, _rationale(why, delay)


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
