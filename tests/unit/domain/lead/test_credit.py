"""Which decision a reward belongs to. The learner trusts these transitions as they come:
a wrong credit teaches the wrong (state, action), and a repeated id is applied once."""

from __future__ import annotations

from datetime import timedelta

from stream_app.domain.lead import LeadState, stable_id
from stream_app.domain.lead.credit import closing_transition, rejection_transition, step_transition
from stream_app.domain.lead.state import moved_to
from stream_app.domain.lifecycle import DEFAULT_REWARDS, Status
from stream_app.domain.messages import NextBestAction
from tests.unit.domain.lead.helpers import PARAMS, Lead


def _two_decisions() -> tuple[LeadState, NextBestAction, NextBestAction]:
    """A lead after its first decision, that decision, and a later one to close its step."""
    lead = Lead()
    [first] = lead.created().decisions
    state = lead.state
    [later] = lead.call(outcome="no_answer").decisions
    assert state is not None
    return state, first, later


def test_the_step_is_credited_to_the_decision_in_force_with_its_status_change() -> None:
    state, first, later = _two_decisions()
    trial = moved_to(state, Status.TRIAL, later.decided_at)
    credit = step_transition(trial, later, None, PARAMS)
    assert credit is not None
    transition, move = credit
    assert (transition.decision_id, transition.action) == (first.decision_id, first.action)
    assert (transition.state_before, transition.state_after) == (first.rl_state, later.rl_state)
    assert transition.transition_id == stable_id(
        "t", "L1", first.decision_id, later.trigger_event_id
    )
    r = DEFAULT_REWARDS
    assert (
        transition.reward == r.new_to_contacted + r.contacted_to_interested + r.interested_to_trial
    )
    assert (move.before, move.after, move.reward) == (Status.NEW, Status.TRIAL, transition.reward)


def _three_decisions() -> tuple[LeadState, list[NextBestAction], NextBestAction]:
    """A lead after two decisions, those two, and a third one to close the step."""
    lead = Lead()
    made = [*lead.created().decisions, *lead.call(outcome="no_answer").decisions]
    state = lead.state
    [later] = lead.call(outcome="no_answer").decisions
    assert state is not None and len(made) == 2
    return state, made, later


def test_a_contact_naming_its_decision_credits_that_one_over_the_one_in_force() -> None:
    state, [first, in_force], later = _three_decisions()
    assert state.decision_in_force is not None
    assert state.decision_in_force.decision_id == in_force.decision_id
    credit = step_transition(state, later, first.decision_id, PARAMS)
    assert credit is not None
    transition, _ = credit
    assert (transition.decision_id, transition.state_before) == (first.decision_id, first.rl_state)


def test_without_a_named_decision_the_newest_carried_out_one_is_credited() -> None:
    state, [first, _], later = _three_decisions()
    records = tuple(
        d.model_copy(update={"outcomes": ("delivered",)})
        if d.decision_id == first.decision_id
        else d
        for d in state.decisions
    )
    reported = state.model_copy(update={"decisions": records})
    credit = step_transition(reported, later, None, PARAMS)
    assert credit is not None and credit[0].decision_id == first.decision_id
    expired = state.model_copy(
        update={
            "decisions": tuple(d.model_copy(update={"outcomes": ("expired",)}) for d in records)
        }
    )
    credit = step_transition(expired, later, None, PARAMS)  # an expired decision never reached
    assert credit is not None and credit[0].decision_id == state.decisions[-1].decision_id


def test_a_contact_naming_an_unknown_decision_credits_the_decision_in_force() -> None:
    state, first, later = _two_decisions()
    credit = step_transition(state, later, "d-forgotten", PARAMS)
    assert credit is not None and credit[0].decision_id == first.decision_id


def test_nothing_is_credited_without_an_open_decision_in_force() -> None:
    *_, later = _two_decisions()
    assert step_transition(LeadState(lead_id="L1"), later, None, PARAMS) is None
    lead = Lead()
    lead.created()
    lead.send(lead.event("lead.milestone", milestone="withdrawn"))  # decided stop, closed
    assert lead.state is not None and lead.state.status == Status.DECLINED
    reopened = moved_to(lead.state, Status.CONTACTED, later.decided_at)
    assert step_transition(reopened, later, None, PARAMS) is None  # that episode ended


def test_a_stop_for_an_open_lead_closes_its_own_step_at_once() -> None:
    state, _, later = _two_decisions()
    transition, move = closing_transition(state, later, PARAMS)
    assert transition.decision_id == later.decision_id
    assert (transition.action, transition.reward) == ("stop", DEFAULT_REWARDS.stopped)
    assert transition.state_before == transition.state_after == later.rl_state
    assert (move.before, move.after) == (Status.NEW, Status.NEW)


def test_a_rejection_is_named_by_its_decision_so_a_repeat_is_learned_once() -> None:
    state, first, _ = _two_decisions()
    [record] = state.decisions
    at = first.decided_at
    once, move = rejection_transition(state, record, "e-8", at, PARAMS)
    again, _ = rejection_transition(state, record, "e-9", at + timedelta(hours=1), PARAMS)
    assert once.transition_id == again.transition_id
    assert (once.decision_id, once.reward) == (first.decision_id, DEFAULT_REWARDS.operator_rejected)
    assert move.reward == once.reward and move.before == move.after == Status.NEW
