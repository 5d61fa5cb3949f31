"""`decide`, called directly: the record it publishes and what the lead remembers of it.

Every rule that decides (an event, an extraction, a deadline, a time rule) goes
through it, so its id, its dating and the state it leaves must not depend on the
caller.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.exploration import Exploration
from stream_app.domain.lead import LeadState, Policy, decision_id, stable_id
from stream_app.domain.lead.decide import decide
from stream_app.domain.lead.state import moved_to
from stream_app.domain.lifecycle import Status
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from tests.unit.domain.lead.helpers import PARAMS, POLICY, T0, Always, Lead


def _lead() -> LeadState:
    lead = Lead()
    lead.created()
    assert lead.state is not None
    return lead.state


def test_a_decision_is_named_by_its_trigger_and_dated_when_it_was_asked_for() -> None:
    at = T0 + timedelta(days=2)
    state, effects = decide(_lead(), "e-42", at, None, POLICY, PARAMS)
    [nba] = effects.decisions
    assert nba.decision_id == decision_id("L1", "e-42")
    assert (nba.trigger_event_id, nba.decided_at) == ("e-42", at)
    # The state keeps the decision as published but for its ranking (on the topic).
    assert state.last_nba == nba.model_copy(update={"candidates": (), "filtered_out": {}})
    assert nba.candidates and nba.filtered_out
    record = state.decisions[-1]
    assert (record.decision_id, record.action.value, record.rl_state, record.decided_at) == (
        nba.decision_id,
        nba.action,
        nba.rl_state,
        at,
    )


@pytest.mark.parametrize(
    "action, reminds",
    [(Action.GENTLE_NUDGE, True), (Action.INFO_SEND, True), (Action.WAIT, False)],
)
def test_an_outreach_scheduled_later_leaves_a_reminder_and_a_wait_does_not(
    action: Action, reminds: bool
) -> None:
    chosen = Policy(POLICY.table, 0, rng=Always(action))
    state, effects = decide(_lead(), "e-42", T0, None, chosen, PARAMS)
    [nba] = effects.decisions
    assert nba.action == action.value
    assert nba.brief.scheduled_for > nba.decided_at  # each is planned for later
    if not reminds:
        assert state.reminder is None  # nobody is to be contacted
        return
    assert state.reminder is not None
    assert state.reminder.reminder_id == stable_id("r", nba.decision_id)
    assert state.reminder.remind_at == nba.brief.scheduled_for


@pytest.mark.parametrize("status", [Status.DECLINED, Status.OPTED_OUT])
def test_a_closed_lead_is_always_stopped_without_a_reminder(status: Status) -> None:
    closed = moved_to(_lead(), status, T0)
    state, effects = decide(closed, "e-42", T0, None, POLICY, PARAMS)
    [nba] = effects.decisions
    assert (nba.action, nba.override) == ("stop", status.value)
    assert state.reminder is None


def test_the_baseline_picks_at_random_and_logs_a_uniform_propensity() -> None:
    baseline = Policy(POLICY.table, 0, rng=Always(Action.INFO_SEND))
    _, effects = decide(_lead(), "e-42", T0, None, baseline, PARAMS)
    [nba] = effects.decisions
    allowed = [c.action for c in nba.candidates]
    assert nba.action == "info_send"
    assert nba.propensity == pytest.approx(1 / len(allowed))


def test_the_same_inputs_make_the_same_decision() -> None:
    # A redelivery after a crash (state not yet written) must re-emit identical records.
    lead = _lead()
    assert decide(lead, "e-42", T0, None, POLICY, PARAMS) == decide(
        lead, "e-42", T0, None, POLICY, PARAMS
    )


def _explored_table() -> QTable:
    """new:neutral after many warm_follow_up calls: UCB's bonus now favours the others."""
    priors = seeded_priors()
    return priors.with_entry("new:neutral", Action.WARM_FOLLOW_UP, QEntry(0.30, 400))


def test_ucb_explores_but_the_guards_stop_decides_greedily_over_the_learned_q() -> None:
    lead = _lead()
    assert lead.last_nba is not None and lead.last_nba.rl_state == "new:neutral"
    table = _explored_table()
    wide = replace(PARAMS, ucb_c=1.0)
    _, explored = decide(lead, "e-42", T0, None, Policy(table, 1), wide)
    _, stopped = decide(lead, "e-42", T0, None, Policy(table.exploring(False), 1), wide)
    assert explored.decisions[0].action != "warm_follow_up"  # the bonus won
    [greedy] = stopped.decisions
    assert greedy.action == "warm_follow_up"  # the best learned Q
    assert greedy.score == greedy.q_value == pytest.approx(0.30)
    assert greedy.propensity == 1.0


def test_the_holdout_arm_never_explores() -> None:
    lead = _lead()
    table = _explored_table()
    holdout = replace(PARAMS, ucb_c=1.0, holdout_share=1.0, exploration=Exploration(0.9))
    policy = Policy(table, 1, holdout=table)
    picks = [decide(lead, f"e-{i}", T0, None, policy, holdout)[1].decisions[0] for i in range(20)]
    assert {(nba.arm, nba.action, nba.propensity) for nba in picks} == {
        ("holdout", "warm_follow_up", 1.0)
    }


def test_thompson_sampling_decides_reproducibly_and_logs_its_propensity() -> None:
    lead = _lead()
    sampling = replace(PARAMS, exploration=Exploration.parse("thompson:0.3"))
    made = [decide(lead, f"e-{i}", T0, None, POLICY, sampling)[1].decisions[0] for i in range(40)]
    again = [decide(lead, f"e-{i}", T0, None, POLICY, sampling)[1].decisions[0] for i in range(40)]
    assert made == again  # every draw derives from the decision id
    actions = {nba.action for nba in made}
    assert "warm_follow_up" in actions and len(actions) > 1  # the best prior, mostly
    for nba in made:
        assert nba.propensity is not None and 0.0 < nba.propensity <= 1.0
    favourite = [nba.propensity for nba in made if nba.action == "warm_follow_up"]
    others = [nba.propensity for nba in made if nba.action != "warm_follow_up"]
    assert min(favourite) > max(others)
    stopped = Policy(POLICY.table.exploring(False), 7)
    [greedy] = decide(lead, "e-1", T0, None, stopped, sampling)[1].decisions
    assert (greedy.action, greedy.propensity) == ("warm_follow_up", 1.0)
