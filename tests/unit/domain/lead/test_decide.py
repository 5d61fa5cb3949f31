"""`decide`, called directly: the record it publishes and what the lead remembers of it.

Every rule that decides (an event, an extraction, a deadline, a time rule) goes
through it, so its id, its dating and the state it leaves must not depend on the
caller.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.lead import LeadState, Policy, decision_id, stable_id
from stream_app.domain.lead.decide import decide
from stream_app.domain.lead.state import moved_to
from stream_app.domain.lifecycle import Status
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
    assert state.last_nba == nba
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
