"""Risk segment, churn urgency and the approval gate attached to every decision.

Risk segment: three dimensions, each graded Critical / Moderate / On Track;
the composite is Critical if any dimension is Critical, else Moderate if any is
Moderate, else On Track.

- Engagement: days since the family last engaged (a completed contact or an attended
  session; the lead's first appearance if it never engaged). Critical > 14 days,
  Moderate > 7 days (both are parameters).
- Progress: for enrolled families the attendance rate (attended / recorded
  sessions), Critical < 50 %, Moderate < 70 %. Status carries progress too: an
  inactive family is Critical, an at_risk one at least Moderate.
- Barriers: known barriers (an objection of moderate+ severity, a payment concern, a
  financial concern of moderate+, or an additional signal of high urgency) are
  Critical (any reported barrier triggers Critical); minor ones (a
  low-severity objection, a low financial concern, a moderate-urgency signal) are
  Moderate.

Closed leads (declined, opted out) are On Track: they must never land on an
outreach worklist, and "Critical" would put them at its top.

Urgency (time-to-churn as 7d / 30d / 90d / none): how soon the lead is
lost if nothing is done.

- declined, opted_out: none, already gone.
- at_risk: 7d when the 14-day decay to inactive is 7 days away or less, else 30d.
- inactive: 90d, a slow win-back horizon.
- active: 30d after a missed session or with a payment concern (one more slip makes
  it at_risk), else none.
- enrolled: 7d once a session was missed before any attendance (one more miss makes
  it at_risk), else 30d until the first attendance, the biggest drop-off.
- new .. trial: from days since engagement against `goes_cold_after` (45 days): 7d
  when 7 days or fewer remain, 30d when 30 or fewer, else 90d; a negative trend or
  `unreached_urgent` (3) unreached attempts in a row make it 7d.

Approval: premium and platinum families and high-cost actions
(see actions.CATALOG) need a human; `wait` never does, since there is nothing to
carry out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stream_app.domain.actions import CATALOG, Action
from stream_app.domain.context import LeadContext, negative_trend
from stream_app.domain.extraction.model import Level
from stream_app.domain.lifecycle import CLOSED, DEFAULT_LIFECYCLE, LifecycleParams, Status


class RiskSegment(StrEnum):
    CRITICAL = "critical"
    MODERATE = "moderate"
    ON_TRACK = "on_track"


class Urgency(StrEnum):
    D7 = "7d"
    D30 = "30d"
    D90 = "90d"
    NONE = "none"


class ValueTier(StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    PLATINUM = "platinum"


@dataclass(frozen=True, slots=True)
class RiskParams:
    """Seed thresholds, overridable from Settings."""

    engagement_critical: timedelta = timedelta(days=14)
    engagement_moderate: timedelta = timedelta(days=7)
    attendance_critical: float = 0.5
    attendance_moderate: float = 0.7
    goes_cold_after: timedelta = timedelta(days=45)
    unreached_urgent: int = 3
    approval_tiers: frozenset[str] = frozenset({ValueTier.PREMIUM, ValueTier.PLATINUM})
    approval_exempt: frozenset[Action] = frozenset({Action.WAIT})
    lifecycle: LifecycleParams = DEFAULT_LIFECYCLE


DEFAULT_RISK = RiskParams()

# Enum members as module names: on Python 3.11 reading a member off its class costs
# ~60 ns, a module name ~7 ns, and risk_segment reads a dozen per decision.
_CRITICAL, _MODERATE, _ON_TRACK = RiskSegment.CRITICAL, RiskSegment.MODERATE, RiskSegment.ON_TRACK
_LOW, _MID, _HIGH = Level.LOW, Level.MODERATE, Level.HIGH
_SERIOUS = frozenset({_MID, _HIGH})
"""The levels of a known barrier (moderate and up): one set lookup, not two ranks."""
_RETENTION = frozenset({Status.ENROLLED, Status.ACTIVE, Status.AT_RISK, Status.INACTIVE})


def _engaged_at(ctx: LeadContext) -> datetime | None:
    return ctx.last_engagement_at or ctx.first_seen_at


def _grade(critical: bool, moderate: bool) -> RiskSegment:
    if critical:
        return _CRITICAL
    return _MODERATE if moderate else _ON_TRACK


def _engagement(ctx: LeadContext, now: datetime, p: RiskParams) -> RiskSegment:
    since = _engaged_at(ctx)
    if since is None:
        return _ON_TRACK
    idle = now - since
    return _grade(idle > p.engagement_critical, idle > p.engagement_moderate)


def _progress(status: Status, ctx: LeadContext, p: RiskParams) -> RiskSegment:
    if status == Status.INACTIVE:
        return _CRITICAL
    grade = _MODERATE if status == Status.AT_RISK else _ON_TRACK
    recorded = ctx.attended_sessions + ctx.missed_sessions
    if status in _RETENTION and recorded:
        rate = ctx.attended_sessions / recorded
        by_rate = _grade(rate < p.attendance_critical, rate < p.attendance_moderate)
        grade = _worst(grade, by_rate)
    return grade


def _barriers(ctx: LeadContext) -> RiskSegment:
    urgencies = {s.urgency for s in ctx.signals}
    if (
        ctx.payment_concern
        or ctx.financial_concern in _SERIOUS
        or any(o.severity in _SERIOUS for o in ctx.objections)
        or _HIGH in urgencies
    ):
        return _CRITICAL
    minor = ctx.financial_concern == _LOW or bool(ctx.objections) or _MID in urgencies
    return _MODERATE if minor else _ON_TRACK


def _worst(*grades: RiskSegment) -> RiskSegment:
    """Critical if any grade is, else Moderate if any is, else On Track."""
    if _CRITICAL in grades:
        return _CRITICAL
    return _MODERATE if _MODERATE in grades else _ON_TRACK


def risk_segment(
    status: Status, ctx: LeadContext, now: datetime, params: RiskParams = DEFAULT_RISK
) -> RiskSegment:
    """Critical / Moderate / On Track from engagement, progress and barriers."""
    if status in CLOSED:
        return _ON_TRACK
    return _worst(_engagement(ctx, now, params), _progress(status, ctx, params), _barriers(ctx))


_WEEK, _MONTH = timedelta(days=7), timedelta(days=30)
"""Built once: a `timedelta(...)` per comparison was a fifth of `urgency`."""


def _by_remaining(remaining: timedelta) -> Urgency:
    if remaining <= _WEEK:
        return Urgency.D7
    return Urgency.D30 if remaining <= _MONTH else Urgency.D90


def urgency(
    status: Status, ctx: LeadContext, now: datetime, params: RiskParams = DEFAULT_RISK
) -> Urgency:
    """How soon the lead is lost if nothing is done (see the module table)."""
    if status in CLOSED:
        return Urgency.NONE
    if status == Status.AT_RISK:
        marks = [t for t in (ctx.last_attendance_at, ctx.at_risk_since) if t is not None]
        if not marks:
            return Urgency.D7
        remaining = max(marks) + params.lifecycle.inactive_after - now
        return Urgency.D7 if remaining <= _WEEK else Urgency.D30
    if status == Status.INACTIVE:
        return Urgency.D90
    if status == Status.ACTIVE:
        slipping = ctx.consecutive_misses > 0 or ctx.payment_concern
        return Urgency.D30 if slipping else Urgency.NONE
    if status == Status.ENROLLED:
        return Urgency.D7 if ctx.consecutive_misses > 0 else Urgency.D30
    if negative_trend(ctx) or ctx.consecutive_unreached >= params.unreached_urgent:
        return Urgency.D7
    since = _engaged_at(ctx)
    if since is None:
        return Urgency.D30
    return _by_remaining(since + params.goes_cold_after - now)


def requires_approval(
    value_tier: str | None, action: Action, params: RiskParams = DEFAULT_RISK
) -> bool:
    """A human approves decisions for high-value families and high-cost actions."""
    if action in params.approval_exempt:
        return False
    return (value_tier or "").casefold() in params.approval_tiers or CATALOG[action].high_cost
