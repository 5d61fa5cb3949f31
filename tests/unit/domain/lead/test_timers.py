"""Who is due when: `next_due`, `next_deadline`, `TimerIndex` and `StreamClock`.

The worker's sweep and replay never read every lead; they trust `TimerIndex` to hand
out each lead whose time rule is due, once, in order, and to forget superseded dues
without growing. The states here are real ones, driven by events to have a due rule:
an SMS buffered (its thread flushes), a reminder, an extraction waiting for its result.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import permutations

import pytest

from stream_app.domain.lead import (
    LeadState,
    StreamClock,
    Tick,
    TimerIndex,
    apply,
    next_deadline,
    next_due,
)
from stream_app.domain.lead.timers import PartitionedIndex, StreamClocks
from stream_app.domain.lifecycle import Status, decay_due_at
from tests.unit.domain.lead.helpers import CALL, NOW, PARAMS, POLICY, T0, Lead

QUIET = PARAMS.sms.quiet
DEADLINE = PARAMS.extraction_deadline
EARLY, LATE = T0 - timedelta(days=365), NOW + timedelta(days=365)


def texted(lead_id: str, *at: datetime) -> LeadState:
    """A lead whose only due rule is its SMS thread: family texts at the given times."""
    lead = Lead(lead_id)
    for i, when in enumerate(at):
        lead.clock = when
        lead.send(lead.event("sms.received", timedelta(0), message_id=f"m{i}", body="what ages?"))
    assert lead.state is not None and lead.state.reminder is None
    return lead.state


def waiting(lead_id: str, clock: datetime = NOW) -> LeadState:
    """A lead whose only pending rule is its extraction deadline, requested at `clock`."""
    lead = Lead(lead_id)
    lead.send(lead.call_event(transcript=CALL), now=clock)
    assert lead.state is not None and next_due(lead.state, PARAMS) is None
    return lead.state


def reminded(lead_id: str) -> LeadState:
    """A new lead whose decision set a reminder: its only due rule."""
    lead = Lead(lead_id)
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    return lead.state


def stopped(lead_id: str) -> LeadState:
    """A lead that texted, then texted STOP: thread flushed, stopped, nothing pending."""
    lead = Lead(lead_id)
    lead.send(lead.event("sms.received", message_id="m1", body="hi"))
    lead.send(lead.event("sms.received", timedelta(minutes=1), message_id="m2", body="STOP"))
    assert lead.state is not None and lead.state.status == Status.OPTED_OUT
    return lead.state


# --- next_due, next_deadline ------------------------------------------------------------


def test_next_due_is_the_earliest_of_the_leads_time_rules() -> None:
    thread = texted("A", T0, T0 + timedelta(minutes=3))
    assert next_due(thread, PARAMS) == T0 + timedelta(minutes=3) + QUIET  # quiet since last
    assert next_deadline(thread) is None

    reminder = reminded("B")
    assert reminder.reminder is not None
    assert next_due(reminder, PARAMS) == reminder.reminder.remind_at

    lead = Lead("C")
    lead.created()
    lead.to_at_risk()
    assert lead.state is not None and lead.state.reminder is not None
    ctx = lead.state.context
    decay = decay_due_at(Status.AT_RISK, ctx.last_attendance_at, at_risk_since=ctx.at_risk_since)
    assert decay is not None
    assert next_due(lead.state, PARAMS) == min(decay, lead.state.reminder.remind_at)


def test_next_deadline_is_the_earliest_pending_extraction_and_no_event_time_rule() -> None:
    lead = Lead("A")
    lead.send(lead.call_event(transcript=CALL), now=NOW + timedelta(hours=1))
    lead.send(lead.call_event(transcript=CALL), now=NOW)  # a second one, requested earlier
    assert lead.state is not None and len(lead.state.pending) == 2
    assert next_deadline(lead.state) == NOW + DEADLINE
    assert next_due(lead.state, PARAMS) is None


def test_a_lead_with_nothing_pending_is_due_never() -> None:
    for state in (stopped("A"), LeadState(lead_id="B")):
        assert (next_due(state, PARAMS), next_deadline(state)) == (None, None)


# --- TimerIndex -----------------------------------------------------------------------

DUES = {"A": T0, "B": T0 + timedelta(hours=1), "C": T0 + timedelta(hours=2)}
"""When each lead's family texted; its thread is due `QUIET` later."""


@pytest.mark.parametrize("order", list(permutations(DUES)), ids="".join)
def test_pop_next_hands_out_the_earliest_event_time_due_first(order: tuple[str, ...]) -> None:
    index = TimerIndex(PARAMS)
    for lead_id in order:
        index.update(texted(lead_id, DUES[lead_id]))
    popped = [index.pop_next(LATE, EARLY) for _ in range(4)]
    assert popped == [(at + QUIET, lead_id) for lead_id, at in DUES.items()] + [None]


def test_pop_next_hands_out_only_what_is_due_by_now() -> None:
    index = TimerIndex(PARAMS)
    for lead_id, at in DUES.items():
        index.update(texted(lead_id, at))
    now = DUES["B"] + QUIET - timedelta(seconds=1)
    assert index.pop_next(now, LATE) == (DUES["A"] + QUIET, "A")
    assert index.pop_next(now, LATE) is None
    assert "B" in index and "C" in index and len(index) == 2


def test_a_lead_whose_due_moved_later_is_not_popped_at_its_old_time() -> None:
    index = TimerIndex(PARAMS)
    index.update(texted("A", T0))
    index.update(texted("A", T0, T0 + timedelta(minutes=3)))  # the thread is not quiet yet
    assert index.pop_next(T0 + QUIET, EARLY) is None  # the old entry is stale, not lost
    assert "A" in index
    assert index.pop_next(T0 + timedelta(minutes=3) + QUIET, EARLY) == (
        T0 + timedelta(minutes=3) + QUIET,
        "A",
    )


def test_a_lead_whose_due_moved_earlier_pops_once_at_its_new_time() -> None:
    lead = Lead("A")
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    remind_at = lead.state.reminder.remind_at
    index = TimerIndex(PARAMS)
    index.update(lead.state)
    lead.send(lead.event("sms.received", timedelta(minutes=1), message_id="m1", body="hi"))
    index.update(lead.state)
    flush_at = lead.clock + QUIET
    assert flush_at < remind_at
    assert index.pop_next(flush_at, EARLY) == (flush_at, "A")
    assert index.pop_next(remind_at, EARLY) is None  # the superseded reminder entry


def test_a_popped_lead_is_forgotten_until_its_next_update() -> None:
    index = TimerIndex(PARAMS)
    state = texted("A", T0)
    index.update(state)
    assert index.pop_next(LATE, LATE) == (T0 + QUIET, "A")
    assert "A" not in index and len(index) == 0
    assert index.pop_next(LATE, LATE) is None
    index.update(state)  # the tick wrote the lead back, rule still pending: due again
    assert index.pop_next(LATE, LATE) == (T0 + QUIET, "A")


@pytest.mark.parametrize("now", [EARLY, LATE], ids=["early stream", "late stream"])
def test_a_wall_clock_deadline_pops_by_wall_now_whatever_the_stream_time(now: datetime) -> None:
    index = TimerIndex(PARAMS)
    index.update(waiting("A", NOW))
    assert index.pop_next(now, NOW + DEADLINE - timedelta(seconds=1)) is None
    assert index.pop_next(now, NOW + DEADLINE) == (NOW + DEADLINE, "A")
    assert "A" not in index


def test_a_passed_deadline_pops_a_lead_whose_event_time_rule_is_not_due() -> None:
    lead = Lead("A")
    lead.created()
    lead.send(lead.call_event(transcript=CALL), now=NOW)
    assert lead.state is not None and lead.state.reminder is not None
    remind_at = lead.state.reminder.remind_at
    index = TimerIndex(PARAMS)
    index.update(lead.state)
    assert index.pop_next(remind_at - timedelta(seconds=1), NOW + DEADLINE) == (
        NOW + DEADLINE,
        "A",
    )
    # The tick that follows runs every rule of the lead; its write re-indexes it.
    assert index.pop_next(remind_at, NOW + DEADLINE) is None


def test_event_time_dues_are_handed_out_before_passed_deadlines() -> None:
    index = TimerIndex(PARAMS)
    index.update(waiting("W", NOW))
    index.update(texted("T", T0))
    assert index.pop_next(LATE, LATE) == (T0 + QUIET, "T")
    assert index.pop_next(LATE, LATE) == (NOW + DEADLINE, "W")


def test_update_with_nothing_pending_removes_the_lead() -> None:
    index = TimerIndex(PARAMS)
    index.update(texted("A", T0))
    assert "A" in index
    index.update(stopped("A"))
    assert "A" not in index and len(index) == 0
    assert index.pop_next(LATE, LATE) is None  # its heap entry is skipped, not handed out
    index.update(LeadState(lead_id="B"))
    assert "B" not in index


def test_a_tick_that_ran_every_rule_leaves_nothing_to_index() -> None:
    """The sweep's loop: pop, apply the tick, update with what the tick wrote."""
    index = TimerIndex(PARAMS)
    state = reminded("A")
    index.update(state)
    popped = index.pop_next(LATE, LATE)
    assert popped is not None
    at, lead_id = popped
    after, effects = apply(state, Tick(lead_id, at), POLICY, PARAMS, NOW)
    assert after is not None and effects.reminders
    index.update(after)
    assert lead_id not in index


def _heap_entries(index: TimerIndex) -> int:
    # Reads the private heaps on purpose: lazy deletion leaves superseded entries in
    # them, and only their size shows whether compaction bounds the memory.
    return len(index._by_due) + len(index._by_deadline)


UPDATES = 10_000


def _one_lead_states(kind: str, count: int = 100) -> list[LeadState]:
    """`count` real states of lead A, each with a different due (or deadline)."""
    lead, states = Lead("A"), []
    for i in range(count):
        at = T0 + timedelta(minutes=i)
        if kind == "event-time due":
            lead.clock = at
            record = lead.event("sms.received", timedelta(0), message_id="m", body="hi")
            state, _ = apply(None, record, POLICY, PARAMS, NOW)
        else:
            state, _ = apply(None, lead.call_event(transcript=CALL), POLICY, PARAMS, at)
        assert state is not None
        states.append(state)
    return states


@pytest.mark.parametrize("kind", ["event-time due", "wall-clock deadline"])
def test_many_updates_of_one_lead_keep_the_heaps_small(kind: str) -> None:
    states = _one_lead_states(kind)
    index = TimerIndex(PARAMS)
    for i in range(UPDATES):  # the due changes on every update (100 states, in turn)
        index.update(states[i % len(states)])
        assert _heap_entries(index) <= 4 * len(index) + 64 + 1  # the compaction bound
    assert len(index) == 1
    final = states[(UPDATES - 1) % len(states)]
    due = next_due(final, PARAMS) if kind == "event-time due" else next_deadline(final)
    assert due is not None
    assert index.pop_next(LATE, LATE) == (due, "A")  # only the newest due survived
    assert index.pop_next(LATE, LATE) is None


def test_compaction_keeps_every_leads_current_due() -> None:
    leads = [f"L{i}" for i in range(200)]
    states = {
        lead_id: [texted(lead_id, T0 + timedelta(minutes=m)) for m in (i, i + 500)]
        for i, lead_id in enumerate(leads)
    }
    index = TimerIndex(PARAMS)
    for round_ in range(25):  # 200 leads x 2 states x 25 rounds: 10,000 updates
        for lead_id in leads:
            for state in states[lead_id]:
                index.update(state)
        assert _heap_entries(index) <= 4 * len(leads) + 64 + 1, round_
    popped = []
    while (due := index.pop_next(LATE, LATE)) is not None:
        popped.append(due)
    expected = [(T0 + timedelta(minutes=i + 500) + QUIET, lead) for i, lead in enumerate(leads)]
    assert popped == expected  # each lead once, at its newest due, in order


def test_rewriting_a_lead_whose_dues_did_not_change_costs_nothing() -> None:
    # The worker updates the index after every write; most writes move no due.
    index = TimerIndex(PARAMS)
    state = texted("A", T0)
    for _ in range(100):
        index.update(state)
    assert _heap_entries(index) == 1


def test_clear_forgets_every_lead() -> None:
    index = TimerIndex(PARAMS)
    index.update(texted("A", T0))
    index.update(waiting("B"))
    index.clear()
    assert len(index) == 0 and "A" not in index and "B" not in index
    assert _heap_entries(index) == 0
    assert index.pop_next(LATE, LATE) is None
    index.update(texted("A", T0))  # still usable: a rebalance re-indexes after clearing
    assert index.pop_next(LATE, LATE) == (T0 + QUIET, "A")


def test_only_lead_ids_are_members() -> None:
    index = TimerIndex(PARAMS)
    index.update(texted("A", T0))
    assert "A" in index
    assert 42 not in index and ("A",) not in index


# --- StreamClock ----------------------------------------------------------------------

H = timedelta(hours=1)


@pytest.mark.parametrize(
    "observed, wall, now",
    [
        ((), NOW, NOW),  # nothing seen: live traffic follows the wall clock
        ((NOW - H,), NOW, NOW),  # events behind the wall clock: the wall clock
        ((NOW + H,), NOW, NOW + H),  # an accelerated stream runs ahead of the wall clock
        ((NOW + 2 * H, NOW + H), NOW, NOW + 2 * H),  # an older event never moves it back
        ((NOW + H, NOW - 5 * H, NOW + H / 2), NOW, NOW + H),
        ((NOW + H,), NOW + 3 * H, NOW + 3 * H),  # the wall clock catches up
    ],
)
def test_stream_time_is_the_later_of_the_wall_clock_and_the_newest_event(
    observed: tuple[datetime, ...], wall: datetime, now: datetime
) -> None:
    clock = StreamClock()
    for at in observed:
        clock.observe(at)
    assert clock.now(wall) == now
    assert clock.now(wall) == now  # reading it changes nothing


def test_stream_time_never_runs_backwards_as_events_arrive_out_of_order() -> None:
    clock = StreamClock()
    seen = []
    for minutes in (10, 3, 25, 24, 1, 30, 29):
        clock.observe(T0 + timedelta(minutes=minutes))
        seen.append(clock.now(EARLY))
    assert seen == sorted(seen)
    assert seen[-1] == T0 + timedelta(minutes=30)


# --- StreamClocks, PartitionedIndex: stream time per partition ------------------------

FAR = NOW + timedelta(days=3650)
"""A far-future but valid event time."""


def test_an_event_moves_the_stream_time_of_its_own_partition_only() -> None:
    clocks = StreamClocks()
    clocks.observe(0, FAR)
    clocks.observe(1, NOW - H)
    clocks.observe(1, NOW - 2 * H)  # older: never moves a clock back
    assert clocks.now(0, NOW) == FAR
    assert clocks.now(1, NOW) == NOW  # behind the wall clock: the wall clock
    assert clocks.now(1, EARLY) == NOW - H
    assert clocks.now(2, NOW) == NOW, "a partition nothing was seen in follows the wall clock"
    assert clocks.newest() == {0: FAR, 1: NOW - H}


def test_each_partitions_leads_are_due_at_that_partitions_time_only() -> None:
    index = PartitionedIndex(PARAMS)
    index.update(texted("A", T0), 0)
    index.update(texted("B", T0), 1)
    index.update(texted("C", T0 + H), 1)
    assert len(index) == 3 and index.partitions() == [0, 1]

    assert index.pop_next(0, LATE, EARLY) == (T0 + QUIET, "A")
    assert index.pop_next(0, LATE, EARLY) is None, "B and C are not partition 0's"
    assert "A" not in index and "B" in index
    assert index.pop_next(1, T0 + QUIET, EARLY) == (T0 + QUIET, "B")
    assert index.pop_next(1, T0 + QUIET, EARLY) is None
    assert index.pop_next(2, LATE, LATE) is None, "a partition with no index has no one due"
    assert index.pop_next(1, LATE, EARLY) == (T0 + H + QUIET, "C")
    assert len(index) == 0


def test_a_lead_filed_under_another_partition_is_due_there_only() -> None:
    index = PartitionedIndex(PARAMS)
    index.update(texted("A", T0), 0)
    index.update(texted("A", T0 + H), 1)
    assert len(index) == 1
    assert index.pop_next(0, LATE, LATE) is None
    assert index.pop_next(1, LATE, LATE) == (T0 + H + QUIET, "A")


def test_a_partitioned_index_forgets_clears_and_drops_leads_with_nothing_pending() -> None:
    index = PartitionedIndex(PARAMS)
    index.update(texted("A", T0), 0)
    index.update(texted("B", T0), 1)
    index.update(stopped("B"), 1)  # nothing pending any more
    index.forget("A")
    index.forget("nobody")
    assert len(index) == 0 and "A" not in index and "B" not in index
    assert index.pop_next(0, LATE, LATE) is None and index.pop_next(1, LATE, LATE) is None

    index.update(texted("A", T0), 3)
    index.clear()
    assert len(index) == 0 and index.partitions() == []
    assert 42 not in index and ("A",) not in index


@pytest.mark.parametrize(
    ("outcome", "kept"),
    [
        ("delivered", True),
        ("accepted", True),
        ("completed", False),
        ("rejected", False),
        ("expired", False),
    ],
)
def test_an_outcome_that_closes_the_decision_drops_its_reminder(outcome: str, kept: bool) -> None:
    """A reminder to carry out a decision the CRM has done, refused or let expire is noise."""
    lead = Lead("R")
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    decision = lead.state.reminder.decision_id
    lead.send(
        lead.event("action.outcome", timedelta(minutes=1), decision_id=decision, outcome=outcome)
    )
    assert (lead.state.reminder is not None) is kept


def test_an_outcome_for_an_older_decision_keeps_the_newer_reminder() -> None:
    lead = Lead("R2")
    lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    older = lead.state.reminder.decision_id
    lead.send(lead.call_event(outcome="no_answer"))
    assert lead.state.reminder is not None and lead.state.reminder.decision_id != older
    newer = lead.state.reminder
    lead.send(
        lead.event("action.outcome", timedelta(minutes=1), decision_id=older, outcome="completed")
    )
    assert lead.state.reminder == newer
