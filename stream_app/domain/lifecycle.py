"""Lead statuses, the events that move them, and the reward for each move.

Every transition is a pure function of the current status and one fact, so the lead
agent can apply events in partition order and a replay reproduces the same statuses.
Intents and milestones only ever move a lead *forward*: a late "sounds interesting"
from an enrolled family must not drag it back to `interested`.

Decisions documented here (choices the lifecycle table alone does not settle):

- `declining` and `withdrawn` close any lead except an opted-out one: opting out is
  the stronger, compliance-bearing state and is never downgraded.
- `lead.consent granted: true` (on any channel) reopens a closed lead to the status
  it held before it was closed (`LeadContext.resume_status`), because re-consenting
  does not undo an enrollment; without that memory, or if it was itself closed, it
  reopens to `contacted`: the family has demonstrably been in touch, but we do not
  presume interest. Per-channel consent is the guardrails' business, not a status.
- A milestone is a fact from the CRM, so it also reopens a closed lead,
  but still never moves a lead backwards: `trial_booked` for an active family changes
  nothing, while `enrolled` re-enrols an inactive one.
- A `cancelled` session (the academy's doing) neither counts as a miss nor breaks a
  streak of misses.
- The 14-day decay clock starts at the later of the last attendance and the moment
  the lead became at_risk, so a family that turns at_risk through a missed payment
  gets the full 14 days to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from stream_app.domain.extraction.model import Intent


class Status(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    INTERESTED = "interested"
    TRIAL = "trial"
    ENROLLED = "enrolled"
    ACTIVE = "active"
    AT_RISK = "at_risk"
    INACTIVE = "inactive"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"


class ContactChannel(StrEnum):
    """Channel of one interaction (`interaction.completed.channel`)."""

    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"


class ContactOutcome(StrEnum):
    """Outcome of one interaction (`interaction.completed.outcome`)."""

    COMPLETED = "completed"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    BUSY = "busy"
    FAILED = "failed"


class Milestone(StrEnum):
    TRIAL_BOOKED = "trial_booked"
    TRIAL_ATTENDED = "trial_attended"
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"


class AttendanceOutcome(StrEnum):
    ATTENDED = "attended"
    MISSED = "missed"
    CANCELLED = "cancelled"


class PaymentOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    LATE = "late"
    MISSED = "missed"
    REFUNDED = "refunded"


class ConsentChannel(StrEnum):
    SMS = "sms"
    VOICE = "voice"
    EMAIL = "email"
    ALL = "all"


CLOSED: frozenset[Status] = frozenset({Status.DECLINED, Status.OPTED_OUT})
"""Statuses in which outreach has ended; the decision is always `stop`."""

# Position along the path a family takes; retention statuses share the enrolled rank
# and above, so acquisition events can never pull a retained family back.
_RANK: dict[Status, int] = {
    Status.NEW: 0,
    Status.CONTACTED: 1,
    Status.INTERESTED: 2,
    Status.TRIAL: 3,
    Status.ENROLLED: 4,
    Status.ACTIVE: 5,
    Status.AT_RISK: 5,
    Status.INACTIVE: 5,
}

_ENGAGED_INTENTS = frozenset({Intent.INTERESTED, Intent.SCHEDULING, Intent.REQUESTING_INFO})


@dataclass(frozen=True, slots=True)
class LifecycleParams:
    """Thresholds of the attendance and time rules, overridable from Settings."""

    misses_to_at_risk: int = 2
    inactive_after: timedelta = timedelta(days=14)


DEFAULT_LIFECYCLE = LifecycleParams()


@dataclass(frozen=True, slots=True)
class Rewards:
    """The reward table; a jump along a path earns the sum of the steps it skips."""

    new_to_contacted: float = 0.1
    contacted_to_interested: float = 0.4
    interested_to_trial: float = 0.7
    trial_to_enrolled: float = 1.0
    enrolled_to_active: float = 0.3
    active_to_at_risk: float = -0.5
    at_risk_to_inactive: float = -0.7
    at_risk_to_active: float = 0.5
    inactive_to_at_risk: float = 0.3
    to_declined: float = -1.0
    to_opted_out: float = -1.0
    stalled: float = -0.02
    operator_rejected: float = -0.2
    # Giving up on an open lead forfeits its future; nothing more is earned or lost.
    stopped: float = 0.0


DEFAULT_REWARDS = Rewards()


def _forward(status: Status, target: Status) -> Status:
    """Move to `target` only if that is progress (or a reopening of a closed lead)."""
    if status in CLOSED:
        return target
    return target if _RANK[target] > _RANK[status] else status


def on_interaction(status: Status, outcome: ContactOutcome) -> Status:
    """A completed two-way contact turns a new lead into a contacted one."""
    if status == Status.NEW and outcome == ContactOutcome.COMPLETED:
        return Status.CONTACTED
    return status


def on_intent(status: Status, intent: Intent) -> Status:
    """Apply the intent of a successful extraction."""
    if status in CLOSED:
        return status
    if intent == Intent.DECLINING:
        return Status.DECLINED
    if intent in _ENGAGED_INTENTS and status in (Status.NEW, Status.CONTACTED):
        return Status.INTERESTED
    return status


def on_opt_out(status: Status) -> Status:
    """An opt-out request wins over everything, immediately (compliance)."""
    del status
    return Status.OPTED_OUT


def on_milestone(status: Status, milestone: Milestone) -> Status:
    """Apply a CRM milestone; forward-only, but it reopens a closed lead."""
    if milestone == Milestone.WITHDRAWN:
        return status if status == Status.OPTED_OUT else Status.DECLINED
    if milestone == Milestone.ENROLLED:
        if status == Status.INACTIVE:
            return Status.ENROLLED
        return _forward(status, Status.ENROLLED)
    return _forward(status, Status.TRIAL)


def on_consent(
    status: Status, channel: ConsentChannel, granted: bool, resume: Status | None = None
) -> Status:
    """Withdrawing consent on every channel opts out; granting any consent reopens.

    Args:
        resume: the status held before the lead was closed, if the lead state kept it.
    """
    if not granted:
        return Status.OPTED_OUT if channel == ConsentChannel.ALL else status
    if status not in CLOSED:
        return status
    if resume is None or resume in CLOSED:
        return Status.CONTACTED
    return resume


def on_attendance(
    status: Status,
    outcome: AttendanceOutcome,
    consecutive_misses: int,
    attended_ever: bool,
    params: LifecycleParams = DEFAULT_LIFECYCLE,
) -> Status:
    """Apply one attendance record.

    Args:
        consecutive_misses: misses in a row *including* this record (as counted by
            `context.with_attendance`).
        attended_ever: whether the family attended any session, this one included.
    """
    if outcome == AttendanceOutcome.ATTENDED:
        if status in (Status.ENROLLED, Status.AT_RISK):
            return Status.ACTIVE
        if status == Status.INACTIVE:
            return Status.AT_RISK
        return status
    slipping = status == Status.ACTIVE or (status == Status.ENROLLED and not attended_ever)
    if (
        slipping
        and outcome == AttendanceOutcome.MISSED
        and consecutive_misses >= params.misses_to_at_risk
    ):
        return Status.AT_RISK
    return status


def on_payment(status: Status, outcome: PaymentOutcome) -> Status:
    """A missed payment from an active family is an early churn signal."""
    if outcome == PaymentOutcome.MISSED and status == Status.ACTIVE:
        return Status.AT_RISK
    return status


def decay_due_at(
    status: Status,
    last_attendance_at: datetime | None,
    params: LifecycleParams = DEFAULT_LIFECYCLE,
    *,
    at_risk_since: datetime | None = None,
) -> datetime | None:
    """When an at_risk lead turns inactive if nobody attends; None if no clock runs.

    The shell uses this to schedule the time rule; `decay` applies it.
    """
    if status != Status.AT_RISK:
        return None
    marks = [t for t in (last_attendance_at, at_risk_since) if t is not None]
    if not marks:
        return None
    return max(marks) + params.inactive_after


def decay(
    status: Status,
    last_attendance_at: datetime | None,
    now: datetime,
    params: LifecycleParams = DEFAULT_LIFECYCLE,
    *,
    at_risk_since: datetime | None = None,
) -> Status:
    """The time rule: at_risk with no attendance for `inactive_after` becomes inactive."""
    due = decay_due_at(status, last_attendance_at, params, at_risk_since=at_risk_since)
    if due is not None and now >= due:
        return Status.INACTIVE
    return status


def _chain(
    path: tuple[Status, ...], steps: tuple[float, ...]
) -> dict[tuple[Status, Status], float]:
    """Every forward pair on `path`, rewarded with the sum of the steps between them."""
    table: dict[tuple[Status, Status], float] = {}
    for i, start in enumerate(path):
        total = 0.0
        for j in range(i + 1, len(path)):
            total += steps[j - 1]
            table[(start, path[j])] = total
    return table


def reward_table(rewards: Rewards = DEFAULT_REWARDS) -> dict[tuple[Status, Status], float]:
    """All non-zero status-change rewards except the closing ones, jumps included.

    Three paths: the acquisition funnel up to active, the slide from active to
    inactive, and the recovery from inactive back to active.
    """
    r = rewards
    return {
        **_chain(
            (
                Status.NEW,
                Status.CONTACTED,
                Status.INTERESTED,
                Status.TRIAL,
                Status.ENROLLED,
                Status.ACTIVE,
            ),
            (
                r.new_to_contacted,
                r.contacted_to_interested,
                r.interested_to_trial,
                r.trial_to_enrolled,
                r.enrolled_to_active,
            ),
        ),
        **_chain(
            (Status.ACTIVE, Status.AT_RISK, Status.INACTIVE),
            (r.active_to_at_risk, r.at_risk_to_inactive),
        ),
        **_chain(
            (Status.INACTIVE, Status.AT_RISK, Status.ACTIVE),
            (r.inactive_to_at_risk, r.at_risk_to_active),
        ),
    }


_DEFAULT_TABLE = reward_table()


def reward(before: Status, after: Status, rewards: Rewards = DEFAULT_REWARDS) -> float:
    """The reward for one decision step that moved the lead from `before` to `after`."""
    if after == Status.OPTED_OUT and before != Status.OPTED_OUT:
        return rewards.to_opted_out
    if after == Status.DECLINED and before != Status.DECLINED:
        return rewards.to_declined
    if before == after:
        return rewards.stalled
    table = _DEFAULT_TABLE if rewards == DEFAULT_REWARDS else reward_table(rewards)
    return table.get((before, after), 0.0)
