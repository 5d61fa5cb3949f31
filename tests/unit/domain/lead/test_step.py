"""`apply`, the one lead step every runner calls: dispatch, the two clocks, the effects.

The lead agent, replay, the simulator and the benchmarks all go through `apply`, so
these tests pin what they rely on: each record kind reaches its handler, the wall
clock only dates and expires extraction work, a redelivery is a no-op, and the typed
facts the shell counts (`moves`, `decays`, `arm`) say what actually happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.extraction.model import Extraction, Intent
from stream_app.domain.lead import (
    FROZEN_PRIORS,
    Effects,
    LeadRecord,
    LeadState,
    Params,
    Policy,
    StatusMove,
    Tick,
    apply,
    handle_event,
    handle_extraction,
    handle_tick,
    next_due,
    rule_trigger_id,
)
from stream_app.domain.lifecycle import DEFAULT_REWARDS, Status, decay_due_at
from stream_app.domain.messages import ExtractionResult, NextBestAction
from stream_app.domain.qlearning import QEntry, QTable
from tests.unit.domain.lead.helpers import (
    CALL,
    NOW,
    PARAMS,
    POLICY,
    T0,
    Always,
    Lead,
    result_for,
)

Outcome = tuple[LeadState | None, Effects]
YEAR = timedelta(days=365)

# --- dispatch -------------------------------------------------------------------------


def _an_event() -> tuple[LeadState | None, LeadRecord, Outcome]:
    lead = Lead()
    lead.created()
    event = lead.call_event(outcome="no_answer")
    return lead.state, event, handle_event(lead.state, event, POLICY, PARAMS, NOW)


def _a_result() -> tuple[LeadState | None, LeadRecord, Outcome]:
    lead = Lead()
    lead.created()
    [request] = lead.call(transcript=CALL).extraction_requests
    result = result_for(request, Extraction(intent=Intent.INTERESTED))
    return lead.state, result, handle_extraction(lead.state, result, POLICY, PARAMS)


def _a_tick() -> tuple[LeadState | None, LeadRecord, Outcome]:
    lead = Lead()
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    due = lead.state.reminder.remind_at
    return lead.state, Tick("L1", due), handle_tick(lead.state, due, NOW, POLICY, PARAMS)


@pytest.mark.parametrize(
    "build, produces",
    [(_an_event, "decisions"), (_a_result, "decisions"), (_a_tick, "reminders")],
    ids=["input event", "extraction result", "tick"],
)
def test_apply_gives_each_record_kind_its_handlers_outcome(
    build: Callable[[], tuple[LeadState | None, LeadRecord, Outcome]], produces: str
) -> None:
    state, record, direct = build()
    assert apply(state, record, POLICY, PARAMS, NOW) == direct
    assert getattr(direct[1], produces)  # a real outcome, so a misrouted record would differ


# --- the two clocks -------------------------------------------------------------------


@pytest.mark.parametrize("clock", [T0 - YEAR, NOW, NOW + YEAR])
@pytest.mark.parametrize("deadline", [timedelta(minutes=2), timedelta(hours=1)])
def test_the_clock_dates_the_deadline_of_a_conversation_handed_to_the_extractor(
    clock: datetime, deadline: timedelta
) -> None:
    params = replace(PARAMS, extraction_deadline=deadline)
    lead = Lead(params=params)
    call = lead.call_event(transcript=CALL)
    state, effects = apply(None, call, POLICY, params, clock)
    assert state is not None
    [pending] = state.pending
    [request] = effects.extraction_requests
    assert pending.deadline == clock + deadline
    assert pending.trigger_at == request.requested_at == call.occurred_at  # business time


@pytest.mark.parametrize("clock", [T0 - YEAR, NOW + YEAR])
def test_the_clock_dates_the_deadline_of_an_sms_thread_a_tick_flushes(clock: datetime) -> None:
    lead = Lead()
    lead.send(lead.event("sms.received", message_id="m1", body="Hi, what ages do you take?"))
    assert lead.state is not None
    due = next_due(lead.state, PARAMS)
    assert due is not None
    state, effects = apply(lead.state, Tick("L1", due), POLICY, PARAMS, clock)
    assert state is not None and effects.extraction_requests
    [pending] = state.pending
    assert pending.deadline == clock + PARAMS.extraction_deadline
    assert pending.trigger_at == lead.clock  # the thread's last message, not the tick


def _waiting_for_extraction() -> tuple[LeadState, datetime]:
    """A lead whose only pending rule is an extraction deadline, requested at NOW."""
    lead = Lead()
    lead.call(transcript=CALL)
    assert lead.state is not None and next_due(lead.state, PARAMS) is None
    return lead.state, lead.clock


@pytest.mark.parametrize("stream_time", [T0 - YEAR, NOW + YEAR], ids=["early", "late"])
@pytest.mark.parametrize(
    "wall, decides",
    [
        (NOW + PARAMS.extraction_deadline - timedelta(seconds=1), False),
        (NOW + PARAMS.extraction_deadline, True),
        (NOW + YEAR, True),
    ],
    ids=["before the deadline", "at the deadline", "long after"],
)
def test_the_clock_not_stream_time_decides_that_an_extraction_deadline_passed(
    stream_time: datetime, wall: datetime, decides: bool
) -> None:
    state, call_at = _waiting_for_extraction()
    after, effects = apply(state, Tick("L1", stream_time), POLICY, PARAMS, wall)
    assert after is not None
    if not decides:
        assert effects == Effects() and after == state
        return
    [nba] = effects.decisions
    assert nba.trigger_event_id == "L1-e1"
    assert nba.decided_at == call_at  # dated at its trigger, not at the wall clock
    assert not after.pending


@pytest.mark.parametrize(
    "stream_offset, wall, fires",
    [
        (-timedelta(seconds=1), NOW + YEAR, False),
        (timedelta(0), T0 - YEAR, True),
        (YEAR, T0 - YEAR, True),
    ],
    ids=["just before, late wall", "due, early wall", "long after, early wall"],
)
def test_the_ticks_stream_time_not_the_clock_fires_event_time_rules(
    stream_offset: timedelta, wall: datetime, fires: bool
) -> None:
    lead = Lead()
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    reminder = lead.state.reminder
    _, effects = apply(
        lead.state, Tick("L1", reminder.remind_at + stream_offset), POLICY, PARAMS, wall
    )
    assert effects.reminders == ([reminder] if fires else [])


def _journey(clock: datetime) -> tuple[list[Effects], LeadState | None]:
    """A few events that decide at once, applied under `clock`."""
    lead = Lead()
    outcomes: list[Effects] = []
    for event in (
        lead.event("lead.created", parent_name="Ana", phone="+15550100"),
        lead.call_event(outcome="no_answer"),
        lead.event("lead.milestone", milestone="trial_booked"),
    ):
        lead.state, effects = apply(lead.state, event, POLICY, PARAMS, clock)
        [nba] = effects.decisions
        assert nba.decided_at == event.occurred_at
        outcomes.append(effects)
    return outcomes, lead.state


@pytest.mark.parametrize("clock", [T0 - YEAR, T0, NOW + YEAR])
def test_decisions_run_on_event_time_whatever_the_clock(clock: datetime) -> None:
    """Without extraction work in flight, the clock changes nothing at all."""
    assert _journey(clock) == _journey(NOW)


def test_a_decision_after_an_extraction_is_dated_at_its_trigger() -> None:
    lead = Lead()
    call = lead.call_event(transcript=CALL)
    state, pending = apply(None, call, POLICY, PARAMS, NOW)
    [request] = pending.extraction_requests
    result = result_for(request, Extraction(intent=Intent.INTERESTED), at=NOW + YEAR)
    _, effects = apply(state, result, POLICY, PARAMS, NOW + YEAR)
    [nba] = effects.decisions
    assert (nba.trigger_event_id, nba.decided_at) == (call.event_id, call.occurred_at)


# --- at-least-once input ----------------------------------------------------------------


def _feed(lead: Lead, kind: str) -> LeadRecord:
    """Bring `lead` to where `kind` means something, and return a record of that kind."""
    lead.created()
    if kind == "lead.created":
        return lead.event("lead.created", parent_name="Ana")
    if kind == "unanswered call":
        return lead.call_event(outcome="no_answer")
    if kind == "conversation":
        return lead.call_event(transcript=CALL)
    if kind == "sms.received":
        return lead.event("sms.received", message_id="m1", body="what ages?")
    if kind == "milestone":
        return lead.event("lead.milestone", milestone="trial_booked")
    if kind == "attendance":
        lead.send(lead.event("lead.milestone", milestone="enrolled"))
        return lead.event("attendance.recorded", session_id="s1", status="attended")
    if kind == "rejection":
        assert lead.state is not None and lead.state.last_nba is not None
        decision = lead.state.last_nba.decision_id
        return lead.event("action.outcome", decision_id=decision, outcome="rejected")
    if kind == "extraction result":
        [request] = lead.call(transcript=CALL).extraction_requests
        return result_for(request, Extraction(intent=Intent.INTERESTED))
    assert kind == "tick"
    assert lead.state is not None and lead.state.reminder is not None
    return Tick("L1", lead.state.reminder.remind_at)


KINDS = [
    "lead.created",
    "unanswered call",
    "conversation",
    "sms.received",
    "milestone",
    "attendance",
    "rejection",
    "extraction result",
    "tick",
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_redelivered_record_emits_nothing_and_leaves_the_state_as_it_was(kind: str) -> None:
    lead = Lead()
    record = _feed(lead, kind)
    state, _ = apply(lead.state, record, POLICY, PARAMS, NOW)
    assert state != lead.state  # the first delivery did something
    again, second = apply(state, record, POLICY, PARAMS, NOW)
    assert second == Effects()
    assert again == state


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_reapplied_to_the_state_before_it_re_emits_identical_effects(kind: str) -> None:
    # A crash between publishing and writing the state: the redelivery meets the old
    # state, later by the wall clock, and its outputs must carry the same ids for
    # consumers to drop them.
    lead = Lead()
    record = _feed(lead, kind)
    _, first = apply(lead.state, record, POLICY, PARAMS, NOW)
    _, again = apply(lead.state, record, POLICY, PARAMS, NOW + timedelta(minutes=10))
    assert again == first


def _ghost_result() -> ExtractionResult:
    lead = Lead("ghost")
    [request] = lead.call(transcript=CALL).extraction_requests
    return result_for(request, Extraction(intent=Intent.INTERESTED))


@pytest.mark.parametrize(
    "record",
    [Tick("ghost", T0), Tick("ghost", NOW + YEAR), _ghost_result()],
    ids=["early tick", "late tick", "extraction result"],
)
def test_a_record_for_an_unknown_lead_writes_nothing_and_emits_nothing(
    record: LeadRecord,
) -> None:
    # A timer or a result still in flight for a lead that is gone must not recreate it.
    assert apply(None, record, POLICY, PARAMS, NOW) == (None, Effects())


# --- what the shell counts ------------------------------------------------------------

R = DEFAULT_REWARDS


def _trial_after_interest(lead: Lead) -> Effects:
    lead.created()
    lead.extracted(lead.call(transcript=CALL), Extraction(intent=Intent.INTERESTED))
    return lead.send(lead.event("lead.milestone", milestone="trial_booked"))


def _first_decision(lead: Lead) -> Effects:
    return lead.created()


def _unanswered(lead: Lead) -> Effects:
    [planned] = lead.created().decisions
    return lead.call(outcome="no_answer", decision_id=planned.decision_id)


def _attends(lead: Lead) -> Effects:
    lead.created()
    lead.send(lead.event("lead.milestone", milestone="enrolled"))
    return lead.send(lead.event("attendance.recorded", session_id="s1", status="attended"))


def _texts_stop(lead: Lead) -> Effects:
    lead.created()
    return lead.send(lead.event("sms.received", message_id="m1", body="STOP"))


def _rejected(lead: Lead) -> Effects:
    [first] = lead.created().decisions
    return lead.send(
        lead.event("action.outcome", decision_id=first.decision_id, outcome="rejected")
    )


def _stopped_while_open(lead: Lead) -> Effects:
    lead.created()
    for _ in range(3):
        lead.call(outcome="no_answer")  # stop is not allowed before anyone tried
    stop = Policy(POLICY.table, 0, rng=Always(Action.STOP))
    lead.state, effects = apply(
        lead.state, lead.event("lead.updated", phone="+15550123"), stop, PARAMS, NOW
    )
    return effects


@pytest.mark.parametrize(
    "journey, moves",
    [
        (_first_decision, []),
        (_trial_after_interest, [(Status.INTERESTED, Status.TRIAL, R.interested_to_trial)]),
        (_unanswered, [(Status.NEW, Status.NEW, R.stalled)]),
        (_attends, [(Status.ENROLLED, Status.ACTIVE, R.enrolled_to_active)]),
        (_texts_stop, [(Status.NEW, Status.OPTED_OUT, R.to_opted_out)]),
        (_rejected, [(Status.NEW, Status.NEW, R.operator_rejected)]),
        (
            _stopped_while_open,
            # the call in force was never carried out, so the re-decision closes no
            # step of it: only the stop's own closing transition
            [(Status.NEW, Status.NEW, R.stopped)],
        ),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] or None,
)
def test_each_transition_comes_with_the_status_move_it_rewards(
    journey: Callable[[Lead], Effects], moves: list[tuple[Status, Status, float]]
) -> None:
    effects = journey(Lead())
    assert effects.moves == [StatusMove(*move) for move in moves]
    assert [m.reward for m in effects.moves] == [t.reward for t in effects.transitions]


def test_the_trial_reward_is_the_seed_tables_interested_to_trial_step() -> None:
    # Pinned separately so a changed reward table is a visible decision, not a drift.
    [move] = _trial_after_interest(Lead()).moves
    assert move == StatusMove(Status.INTERESTED, Status.TRIAL, 0.7)


def _at_risk() -> tuple[Lead, datetime]:
    lead = Lead()
    lead.created()
    lead.to_at_risk()
    assert lead.state is not None and lead.state.status == Status.AT_RISK
    ctx = lead.state.context
    due = decay_due_at(Status.AT_RISK, ctx.last_attendance_at, at_risk_since=ctx.at_risk_since)
    assert due is not None
    return lead, due


def test_an_at_risk_lead_that_decays_through_a_tick_counts_one_decay() -> None:
    lead, due = _at_risk()
    state, effects = apply(lead.state, Tick("L1", due + timedelta(days=2)), POLICY, PARAMS, NOW)
    assert state is not None and state.status == Status.INACTIVE
    assert effects.decays == 1
    [nba] = effects.decisions
    assert nba.trigger_event_id == rule_trigger_id("L1", "decay", due)  # not the sweep's time
    assert StatusMove(Status.AT_RISK, Status.INACTIVE, R.at_risk_to_inactive) in effects.moves
    _, repeat = apply(state, Tick("L1", due + timedelta(days=3)), POLICY, PARAMS, NOW)
    assert repeat.decays == 0


def _ticks_early(lead: Lead, due: datetime) -> Effects:
    _, effects = apply(lead.state, Tick("L1", due - timedelta(seconds=1)), POLICY, PARAMS, NOW)
    assert not effects.moves
    return effects


def _attends_again(lead: Lead, due: datetime) -> Effects:
    effects = lead.send(lead.event("attendance.recorded", session_id="s4", status="attended"))
    assert effects.moves[-1].after == Status.ACTIVE  # a status change, by an event
    return effects


def _misses_a_payment(lead: Lead, due: datetime) -> Effects:
    other = Lead("L2")
    other.created()
    other.send(other.event("lead.milestone", milestone="enrolled"))
    other.send(other.event("attendance.recorded", session_id="s1", status="attended"))
    effects = other.send(other.event("payment.recorded", payment_id="p1", status="missed"))
    assert effects.moves[-1].after == Status.AT_RISK  # a status change, by an event
    return effects


@pytest.mark.parametrize(
    "step",
    [_ticks_early, _attends_again, _misses_a_payment],
    ids=lambda f: f.__name__[1:],
)
def test_status_changes_not_made_by_the_decay_rule_count_no_decay(
    step: Callable[[Lead, datetime], Effects],
) -> None:
    assert step(*_at_risk()).decays == 0


# --- the holdout arm ------------------------------------------------------------------

INVERTED = QTable.from_entries((key, QEntry(-e.q, e.visits)) for key, e in FROZEN_PRIORS.items())
"""A learned table that disagrees with the priors wherever they have a preference."""


def _decisions(policy: Policy, params: Params, lead_id: str) -> list[NextBestAction]:
    """Every decision of one short journey: created, unreached, trial booked, unreached."""
    lead = Lead(lead_id, policy, params)
    decisions: list[NextBestAction] = []
    for effects in (
        lead.created(),
        lead.call(outcome="no_answer"),
        lead.send(lead.event("lead.milestone", milestone="trial_booked")),
        lead.call(outcome="no_answer"),
    ):
        decisions += effects.decisions
    assert len(decisions) == 4
    return decisions


@pytest.mark.parametrize("lead_id", ["L1", "lead-42", "Z"])
@pytest.mark.parametrize(
    "policy, share, deciding, group",
    [
        (Policy(INVERTED, 3), 1.0, FROZEN_PRIORS, "holdout"),
        (Policy(INVERTED, 3), 0.0, INVERTED, "learning"),
        (Policy(FROZEN_PRIORS, 3, holdout=INVERTED), 1.0, INVERTED, "holdout"),
        (Policy(FROZEN_PRIORS, 3, holdout=INVERTED), 0.0, FROZEN_PRIORS, "learning"),
    ],
    ids=["default holdout", "learning", "holdout field", "learning beside a holdout"],
)
def test_the_holdout_share_picks_the_table_every_decision_is_made_from(
    lead_id: str, policy: Policy, share: float, deciding: QTable, group: str
) -> None:
    got = _decisions(policy, replace(PARAMS, holdout_share=share), lead_id)
    assert {nba.arm for nba in got} == {group}
    # The same journey decided by `deciding` alone, in the learning arm.
    expected = _decisions(Policy(deciding, 3), PARAMS, lead_id)
    assert [nba.model_copy(update={"arm": "learning"}) for nba in got] == expected
    # ...and the other table would have chosen differently, so the check has teeth.
    other = FROZEN_PRIORS if deciding is INVERTED else INVERTED
    actions = [nba.action for nba in _decisions(Policy(other, 3), PARAMS, lead_id)]
    assert actions != [nba.action for nba in got]
