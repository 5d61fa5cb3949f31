"""Which decision a reward belongs to. The learner trusts these transitions as they come:
a wrong credit teaches the wrong (state, action), and a repeated id is applied once.

The lead is driven through the real step (`Lead`), so every state here is one the
rule book produces: a call names the decision it carried out (`decision_id`), an
inbound reply or a milestone names none.
"""

from __future__ import annotations

from datetime import timedelta

from stream_app.domain.actions import Action
from stream_app.domain.lead import LeadState, stable_id
from stream_app.domain.lead.credit import (
    EPISODE_PREFIX,
    close_step,
    closing_transition,
    opens_episode,
    rejection_transition,
)
from stream_app.domain.lead.state import moved_to
from stream_app.domain.lifecycle import DEFAULT_REWARDS, Status
from stream_app.domain.messages import LeadTransition, NextBestAction
from tests.unit.domain.lead.helpers import PARAMS, Lead

R = DEFAULT_REWARDS


def _created() -> tuple[Lead, NextBestAction]:
    lead = Lead()
    [first] = lead.created().decisions
    return lead, first


def _only(transitions: list[LeadTransition]) -> LeadTransition:
    [transition] = transitions
    return transition


def test_a_status_change_is_credited_to_the_decision_in_force_with_its_own_state() -> None:
    lead, first = _created()
    effects = lead.send(lead.event("lead.milestone", milestone="trial_booked"))
    transition = _only(effects.transitions)
    [later] = effects.decisions
    assert (transition.decision_id, transition.action) == (first.decision_id, first.action)
    assert (transition.state_before, transition.state_after) == (first.rl_state, later.rl_state)
    # the learner's next-state max runs over what the next decision could choose
    assert transition.next_actions == tuple(c.action for c in later.candidates)
    gained = R.new_to_contacted + R.contacted_to_interested + R.interested_to_trial
    assert transition.reward == gained
    [move] = effects.moves
    assert (move.before, move.after, move.reward) == (Status.NEW, Status.TRIAL, gained)


def test_in_force_wins_over_an_older_decision_the_crm_reported_carried_out() -> None:
    # The old rule credited the newest decision with a delivered outcome: the reply
    # to the second decision was learned as the first one's success.
    lead, first = _created()
    lead.call(outcome="completed", decision_id=first.decision_id)  # closes the first step
    lead.send(lead.event("action.outcome", decision_id=first.decision_id, outcome="delivered"))
    assert lead.state is not None
    in_force = lead.state.decisions[-1]
    effects = lead.send(lead.event("lead.milestone", milestone="trial_booked"))
    transition = _only(effects.transitions)
    assert transition.decision_id == in_force.decision_id != first.decision_id
    assert transition.reward == R.contacted_to_interested + R.interested_to_trial


def test_a_contact_naming_an_older_decision_is_rewarded_from_that_decisions_status() -> None:
    # The old rule took the reward from the decision in force's status and the state
    # from the named one: state, action and reward described different steps.
    lead, first = _created()
    lead.send(lead.event("lead.updated", owner="desk-2"))  # supersedes, nothing carried out
    lead.send(lead.event("lead.milestone", milestone="trial_booked"))  # credits that one
    assert lead.state is not None and lead.state.decision_in_force is not None
    assert lead.state.decision_in_force.status == Status.TRIAL
    effects = lead.call(outcome="no_answer", decision_id=first.decision_id)  # the late report
    transition = _only(effects.transitions)
    [move] = effects.moves
    assert (transition.decision_id, transition.state_before) == (first.decision_id, first.rl_state)
    gained = R.new_to_contacted + R.contacted_to_interested + R.interested_to_trial
    assert (move.before, move.after, transition.reward, move.reward) == (
        Status.NEW,
        Status.TRIAL,
        gained,
        gained,
    )


def test_a_re_decision_before_anything_was_carried_out_closes_no_step() -> None:
    lead, first = _created()
    assert first.action == "warm_follow_up"  # a call that has not happened yet
    effects = lead.send(lead.event("lead.updated", owner="desk-2"))
    assert effects.decisions and effects.transitions == []
    assert lead.state is not None and not any(d.closed for d in lead.state.decisions)


def test_an_executed_contact_with_no_change_closes_its_step_with_the_stall() -> None:
    lead, first = _created()
    effects = lead.call(outcome="no_answer", decision_id=first.decision_id)
    transition = _only(effects.transitions)
    assert (transition.decision_id, transition.reward) == (first.decision_id, R.stalled)


def test_a_delivered_outcome_makes_the_decision_in_force_closable() -> None:
    lead, first = _created()
    lead.send(lead.event("action.outcome", decision_id=first.decision_id, outcome="delivered"))
    effects = lead.send(lead.event("lead.updated", owner="desk-2"))
    assert _only(effects.transitions).reward == R.stalled


def test_a_wait_needs_no_one_to_carry_it_out() -> None:
    lead, _ = _created()
    assert lead.state is not None
    waiting = lead.state.decisions[-1].model_copy(update={"action": Action.WAIT})
    lead.state = lead.state.model_copy(update={"decisions": (waiting,)})
    effects = lead.send(lead.event("lead.updated", owner="desk-2"))
    transition = _only(effects.transitions)
    assert (transition.action, transition.reward) == ("wait", R.stalled)


def test_a_step_is_closed_once_so_a_late_contact_naming_it_credits_nothing() -> None:
    lead, first = _created()
    lead.send(lead.event("lead.milestone", milestone="trial_booked"))  # closes the first step
    effects = lead.call(outcome="no_answer", decision_id=first.decision_id)
    assert all(t.decision_id != first.decision_id for t in effects.transitions)


def test_an_expired_decision_is_credited_nothing() -> None:
    lead, first = _created()
    lead.send(lead.event("action.outcome", decision_id=first.decision_id, outcome="expired"))
    effects = lead.send(lead.event("lead.milestone", milestone="trial_booked"))
    assert effects.decisions and effects.transitions == []


def test_a_contact_naming_an_unknown_decision_credits_the_decision_in_force() -> None:
    lead, _ = _created()
    effects = lead.call(outcome="no_answer", decision_id="d-forgotten")
    assert effects.transitions == []  # the call in force was not named: not carried out
    assert lead.state is not None and lead.state.decision_in_force is not None
    in_force = lead.state.decision_in_force.decision_id
    effects = lead.send(lead.event("lead.milestone", milestone="trial_booked"))
    assert _only(effects.transitions).decision_id == in_force


def test_only_the_first_step_of_a_lead_opens_its_episode() -> None:
    lead, first = _created()
    opening = _only(lead.call(outcome="no_answer", decision_id=first.decision_id).transitions)
    assert opening.transition_id.startswith(f"{EPISODE_PREFIX}-") and opens_episode(
        opening.transition_id
    )
    assert lead.state is not None
    [later] = lead.call(
        outcome="no_answer", decision_id=lead.state.decisions[-1].decision_id
    ).transitions
    assert not opens_episode(later.transition_id)
    assert later.transition_id == stable_id(
        "t", "L1", lead.state.decisions[-2].decision_id, later.cause_event_id
    )


def test_nothing_is_credited_without_an_open_decision_in_force() -> None:
    lead, first = _created()
    _, credit = close_step(LeadState(lead_id="L1"), first, None, PARAMS)
    assert credit is None
    lead.send(lead.event("lead.milestone", milestone="withdrawn"))  # decided stop, closed
    assert lead.state is not None and lead.state.status == Status.DECLINED
    reopened = moved_to(lead.state, Status.CONTACTED, first.decided_at)
    _, credit = close_step(reopened, first, None, PARAMS)
    assert credit is None  # that episode ended


def test_a_stop_for_an_open_lead_closes_its_own_step_at_once() -> None:
    lead, _ = _created()
    [later] = lead.call(outcome="no_answer").decisions
    assert lead.state is not None
    transition, move = closing_transition(lead.state, later, PARAMS)
    assert transition.decision_id == later.decision_id
    assert (transition.action, transition.reward) == ("stop", R.stopped)
    assert transition.state_before == transition.state_after == later.rl_state
    assert (move.before, move.after) == (Status.NEW, Status.NEW)


def test_a_rejection_is_named_by_its_decision_so_a_repeat_is_learned_once() -> None:
    lead, first = _created()
    assert lead.state is not None
    [record] = lead.state.decisions
    at = first.decided_at
    once, move = rejection_transition(lead.state, record, "e-8", at, PARAMS)
    again, _ = rejection_transition(lead.state, record, "e-9", at + timedelta(hours=1), PARAMS)
    assert once.transition_id == again.transition_id
    assert (once.decision_id, once.reward) == (first.decision_id, R.operator_rejected)
    assert move.reward == once.reward and move.before == move.after == Status.NEW
