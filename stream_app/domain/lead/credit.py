"""Which decision a reward belongs to, and the transition that tells the learner."""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.actions import Action
from stream_app.domain.lead.effects import StatusMove
from stream_app.domain.lead.ids import stable_id
from stream_app.domain.lead.policy import Params
from stream_app.domain.lead.state import DecisionRecord, LeadState
from stream_app.domain.lifecycle import CLOSED, reward
from stream_app.domain.messages import LeadTransition, NextBestAction

# Outcomes that mean the decision reached the family; an expired one never did.
_CARRIED_OUT = frozenset({"delivered", "completed"})

Credit = tuple[LeadTransition, StatusMove]


def step_transition(
    lead: LeadState, nba: NextBestAction, credit_decision_id: str | None, params: Params
) -> Credit | None:
    """Close the step the decision in force opened, as the new decision `nba` is made.

    The reward is for the status change since that decision; it is credited to
    the decision the triggering contact carried out when it names one we know,
    else to the newest decision the CRM reported carried out, else to the decision
    in force. A closed lead's `stop` ended its episode, so nothing after it is
    learned from.
    """
    in_force = lead.decision_in_force
    if in_force is None or in_force.status in CLOSED or in_force.action == Action.STOP:
        return None  # that decision ended its episode and was closed then
    named = next((d for d in lead.decisions if d.decision_id == credit_decision_id), None)
    carried_out = (d for d in reversed(lead.decisions) if _CARRIED_OUT & set(d.outcomes))
    credited = named or next(carried_out, in_force)
    gained = reward(in_force.status, lead.status, params.rewards)
    transition = LeadTransition(
        transition_id=stable_id("t", lead.lead_id, credited.decision_id, nba.trigger_event_id),
        lead_id=lead.lead_id,
        occurred_at=nba.decided_at,
        state_before=credited.rl_state,
        action=credited.action.value,
        decision_id=credited.decision_id,
        reward=gained,
        state_after=nba.rl_state,
        cause_event_id=nba.trigger_event_id,
    )
    return transition, StatusMove(credited.status, lead.status, gained)


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
    rejection the learner applies it once.
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
