"""What the system never sees: a family's traits, its true stage and the response table.

This module is data. `RESPONSES` is the base response table: each seed's `world`
draws its dispositions' tables from it (scaled, sometimes reordered), and a
family's journey (`population`) looks up the odds of each published action in
its disposition's table, in the situation the family is truly in; the worker only
ever sees the events those odds lead to. Keeping the table apart from the journey
logic lets a reader check the simulated world's assumptions (the action that
answers a concern moves the family on, pushing too early loses it, waiting lets a
hesitant family come back) without reading how events are produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stream_app.domain.actions import Action


class Concern(StrEnum):
    """What holds a family back until the right action answers it."""

    COST = "cost"
    SPOUSE = "spouse"
    CHILD = "child"
    SCHEDULE = "schedule"
    HESITANT = "hesitant"


class Stage(StrEnum):
    """Where the family truly is, whatever the system believes."""

    UNREACHED = "unreached"
    ENGAGED = "engaged"
    TRIAL_BOOKED = "trial_booked"
    TRIAL_DONE = "trial_done"
    ENROLLED = "enrolled"
    ACTIVE = "active"
    PAID = "paid"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"
    STOPPED = "stopped"


TERMINAL: frozenset[Stage] = frozenset({Stage.PAID, Stage.DECLINED, Stage.OPTED_OUT, Stage.STOPPED})
"""Stages after which a family reacts to nothing more: its journey has ended."""
ENROLLED_STAGES: frozenset[Stage] = frozenset({Stage.ENROLLED, Stage.ACTIVE, Stage.PAID})


@dataclass(frozen=True, slots=True)
class Traits:
    cost_worried: bool
    busy_schedule: bool
    needs_spouse: bool
    child_reluctant: bool
    hesitant: bool
    responsiveness: float
    """Chance of answering a call; replies to texts come a little more readily."""

    def concerns(self) -> list[Concern]:
        """The concerns these traits give, in a fixed order the family then shuffles."""
        flags = (
            (self.cost_worried, Concern.COST),
            (self.needs_spouse, Concern.SPOUSE),
            (self.child_reluctant, Concern.CHILD),
            (self.busy_schedule, Concern.SCHEDULE),
            (self.hesitant, Concern.HESITANT),
        )
        return [c for on, c in flags if on]


_A = Action
Odds = tuple[float, float]
"""(forward, backfire): the chance this action moves the family on, or loses it."""

CONTACT_DEFAULT: Odds = (0.08, 0.04)
"""Odds of an action the table does not list for a concern or readiness."""

# Situation -> action -> odds, for a family that was reached (or, for `wait`, that
# acts on its own). Unlisted actions get the situation's default.
RESPONSES: dict[str, dict[Action, Odds]] = {
    Concern.COST: {
        _A.SCHOLARSHIP_OUTREACH: (0.75, 0.0),
        _A.INFO_SEND: (0.25, 0.02),
        _A.OBJECTION_ADDRESS: (0.2, 0.03),
        _A.SCHEDULING_PUSH: (0.02, 0.3),
        _A.WAIT: (0.05, 0.08),
    },
    Concern.SPOUSE: {
        _A.FAMILY_ENGAGE: (0.7, 0.0),
        _A.INFO_SEND: (0.3, 0.01),
        _A.WAIT: (0.2, 0.03),
        _A.SCHEDULING_PUSH: (0.05, 0.2),
    },
    Concern.CHILD: {
        _A.LOW_COMMITMENT_INVITE: (0.55, 0.0),
        _A.OBJECTION_ADDRESS: (0.5, 0.0),
        _A.SOCIAL_PROOF: (0.45, 0.0),
        _A.SCHEDULING_PUSH: (0.05, 0.25),
    },
    Concern.SCHEDULE: {
        _A.OBJECTION_ADDRESS: (0.5, 0.0),
        _A.SCHEDULING_PUSH: (0.4, 0.05),
        _A.INFO_SEND: (0.2, 0.0),
        _A.WARM_FOLLOW_UP: (0.15, 0.05),
    },
    Concern.HESITANT: {
        _A.WAIT: (0.55, 0.0),
        _A.SOCIAL_PROOF: (0.4, 0.0),
        _A.LOW_COMMITMENT_INVITE: (0.35, 0.0),
        _A.INFO_SEND: (0.3, 0.0),
        _A.SCHEDULING_PUSH: (0.02, 0.35),
        _A.WARM_FOLLOW_UP: (0.05, 0.1),
        _A.GENTLE_NUDGE: (0.05, 0.1),
    },
    "ready": {
        _A.SCHEDULING_PUSH: (0.75, 0.0),
        _A.WARM_FOLLOW_UP: (0.35, 0.0),
        _A.LOW_COMMITMENT_INVITE: (0.35, 0.0),
        _A.SOCIAL_PROOF: (0.25, 0.0),
        _A.INFO_SEND: (0.2, 0.0),
        _A.WAIT: (0.05, 0.05),
    },
    Stage.TRIAL_BOOKED: {
        _A.GENTLE_NUDGE: (0.9, 0.0),
        _A.WARM_FOLLOW_UP: (0.85, 0.0),
        _A.SCHEDULING_PUSH: (0.8, 0.0),
        _A.WAIT: (0.6, 0.05),
    },
    Stage.TRIAL_DONE: {
        _A.SCHEDULING_PUSH: (0.6, 0.02),
        _A.WARM_FOLLOW_UP: (0.45, 0.0),
        _A.SOCIAL_PROOF: (0.45, 0.0),
        _A.WAIT: (0.15, 0.05),
    },
    Stage.ENROLLED: {
        _A.FIRST_SESSION_REMINDER: (0.9, 0.0),
        _A.RESCHEDULE_OFFER: (0.85, 0.0),
        _A.WELCOME_ONBOARD: (0.8, 0.0),
        _A.GENTLE_NUDGE: (0.7, 0.0),
        _A.WAIT: (0.5, 0.02),
    },
}
STAGE_DEFAULTS: dict[str, Odds] = {
    Stage.TRIAL_BOOKED: (0.7, 0.02),
    Stage.TRIAL_DONE: (0.2, 0.03),
    Stage.ENROLLED: (0.6, 0.02),
}
"""Unlisted actions after the trial is booked still mostly keep the family going."""


__all__ = [
    "CONTACT_DEFAULT",
    "ENROLLED_STAGES",
    "RESPONSES",
    "STAGE_DEFAULTS",
    "TERMINAL",
    "Concern",
    "Odds",
    "Stage",
    "Traits",
]
