"""Which decision a reward belongs to, and the transition that tells the learner.

The rule (docs/architecture.md, "Learning"): an event that names a decision (an
executed outbound contact) credits that decision; anything else credits the decision in force, the
latest one published, whether or not the CRM has reported its outcome. The reward
is the status change since the credited decision's own state, and the transition
starts from that decision's own `rl_state`, so state, action and reward all
describe the same step.

One transition closes each executed step. A decision counts as carried out when a
contact names it, the CRM reports it delivered or completed, or it needs no one to
carry it out (`wait`); a status change is always credited to the decision it
happened under. A re-decision with neither (a profile update an hour after a call
was planned) closes nothing: a stall penalty there would teach that the planned
call failed when it never happened. A closed decision is marked, so a late contact
naming it cannot credit it twice; an expired one never reached the family and is
credited nothing.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.actions import Action
from stream_app.domain.guardrails import is_outreach
from stream_app.domain.lead.effects import StatusMove
from stream_app.domain.lead.ids import stable_id
from stream_app.domain.lead.policy import Params
from stream_app.domain.lead.state import DecisionRecord, LeadState
from stream_app.domain.lifecycle import CLOSED, reward
from stream_app.domain.messages import LeadTransition, NextBestAction

# Outcomes that mean the decision reached the family; an expired one never did.
_CARRIED_OUT = frozenset({"delivered", "completed"})

EPISODE_PREFIX = "t1"
"""Id prefix of the transition that closes a lead's first step (`opens_episode`).

The Q-learner counts the leads of each arm by it (the guard needs outcomes per
lead, not per step), without a field a learner of an older release would reject.
"""

Credit = tuple[LeadTransition, StatusMove]


def opens_episode(transition_id: str) -> bool:
    """Whether the transition closes its lead's first step (one per lead)."""
    return transition_id.startswith(f"{EPISODE_PREFIX}-")


def close_step(
    lead: LeadState, nba: NextBestAction, credit_decision_id: str | None, params: Params
) -> tuple[LeadState, Credit | None]:
    """Close the step of the credited decision as `nba` is made, if it was executed.

    Returns the lead with that decision marked closed, and the transition with the
    typed move it rewards (None when no step closes). A closed lead's `stop` ended
    its episode, so nothing after it is learned from.
    """
    named = next((d for d in lead.decisions if d.decision_id == credit_decision_id), None)
    credited = named or lead.decision_in_force
    if credited is None or credited.closed or not _open(credited):
        return lead, None
    moved = lead.status != credited.status
    if not (moved or named is not None or _carried_out(credited)):
        return lead, None
    gained = reward(credited.status, lead.status, params.rewards)
    prefix = EPISODE_PREFIX if credited.first else "t"
    transition = LeadTransition(
        transition_id=stable_id(prefix, lead.lead_id, credited.decision_id, nba.trigger_event_id),
        lead_id=lead.lead_id,
        occurred_at=nba.decided_at,
        state_before=credited.rl_state,
        action=credited.action.value,
        decision_id=credited.decision_id,
        reward=gained,
        state_after=nba.rl_state,
        cause_event_id=nba.trigger_event_id,
        next_actions=tuple(c.action for c in nba.candidates),
    )
    return _closed(lead, credited), (transition, StatusMove(credited.status, lead.status, gained))


def _open(decision: DecisionRecord) -> bool:
    """A decision that can still be credited: its lead was open, it did not stop,
    and it did not expire undelivered."""
    expired = "expired" in decision.outcomes and not _CARRIED_OUT & set(decision.outcomes)
    return decision.status not in CLOSED and decision.action != Action.STOP and not expired


def _carried_out(decision: DecisionRecord) -> bool:
    return not is_outreach(decision.action) or bool(_CARRIED_OUT & set(decision.outcomes))


def _closed(lead: LeadState, decision: DecisionRecord) -> LeadState:
    closed = decision.model_copy(update={"closed": True})
    decisions = tuple(closed if d is decision else d for d in lead.decisions)
    return lead.model_copy(update={"decisions": decisions})


def closing_transition(lead: LeadState, nba: NextBestAction, params: Params) -> Credit:
    """Close a `stop` chosen for an open lead at once: no later event follows from it.

    Without this the (state, stop) pair is never visited, its UCB bonus only grows,
    and the learner ends up stopping everyone (seen in the simulator).
    """
    transition = LeadTransition(
        transition_id=stable_id("t", lead.lead_id, nba.decision_id, "stop"),
        lead_id=lead.lead_id,
        occurred_at=nba.decided_at,
        state_before=nba.rl_state,
        action=Action.STOP.value,
        decision_id=nba.decision_id,
        reward=params.rewards.stopped,
        state_after=nba.rl_state,
        cause_event_id=nba.trigger_event_id,
    )
    return transition, StatusMove(lead.status, lead.status, params.rewards.stopped)


def rejection_transition(
    lead: LeadState, decision: DecisionRecord, event_id: str, at: datetime, params: Params
) -> Credit:
    """An operator's rejection of `decision`: a penalty for its (state, action).

    The id is derived from the decision, so however often the CRM repeats the
    rejection the learner applies it once. The rejected decision never reached the
    family, so unless the status moves under it, no later step closes it.
    """
    penalty = params.rewards.operator_rejected
    transition = LeadTransition(
        transition_id=stable_id("t", lead.lead_id, decision.decision_id, "rejected"),
        lead_id=lead.lead_id,
        occurred_at=at,
        state_before=decision.rl_state,
        action=decision.action.value,
        decision_id=decision.decision_id,
        reward=penalty,
        state_after=decision.rl_state,
        cause_event_id=event_id,
    )
    return transition, StatusMove(decision.status, decision.status, penalty)
