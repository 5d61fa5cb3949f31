"""Time rules: what fires without a new event, when it is due, and who is due next.

Event-time rules (the retention decay, an idle SMS thread's flush, a reminder)
fire when stream time passes them; wall-clock deadlines time work handed to the
extractor. `TimerIndex` is the worker's and replay's memory of who is due when,
so a sweep never reads every lead.

Stream time is kept per input partition (`StreamClocks`), as Kafka Streams keeps
it, and each partition's leads are indexed apart (`PartitionedIndex`): a lead's
rules run on its own partition's stream time, which no record of another
partition moves.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Protocol

from stream_app.domain.lead.decide import decide
from stream_app.domain.lead.effects import Effects
from stream_app.domain.lead.extraction import (
    deadline_result,
    flushed,
    handle_extraction,
    overdue_extractions,
)
from stream_app.domain.lead.ids import rule_trigger_id
from stream_app.domain.lead.policy import Params, Policy
from stream_app.domain.lead.state import LeadState, PendingExtraction, moved_to
from stream_app.domain.lifecycle import Status, decay, decay_due_at
from stream_app.domain.messages import Reminder
from stream_app.domain.sms_window import ThreadBuffer, on_tick
from stream_app.domain.sms_window import due_at as sms_due_at


class Clocks(Protocol):
    """The dates of a lead's context its decay clock runs from."""

    @property
    def last_attendance_at(self) -> datetime | None: ...

    @property
    def at_risk_since(self) -> datetime | None: ...


class Timed(Protocol):
    """What a lead's time rules and the sweep's index read of it: a whole `LeadState`,
    or the re-index's lean `IndexedLead` (state.py), which builds only these fields of
    a stored state, so the rules are the same functions for both."""

    @property
    def lead_id(self) -> str: ...

    @property
    def status(self) -> Status: ...

    @property
    def context(self) -> Clocks: ...

    @property
    def reminder(self) -> Reminder | None: ...

    @property
    def sms(self) -> ThreadBuffer: ...

    @property
    def pending(self) -> Sequence[PendingExtraction]: ...


def next_due(state: Timed, params: Params) -> datetime | None:
    """The earliest event time at which one of the lead's time rules fires, if any."""
    ctx = state.context
    decay_due = decay_due_at(
        state.status, ctx.last_attendance_at, params.lifecycle, at_risk_since=ctx.at_risk_since
    )
    reminder_due = state.reminder.remind_at if state.reminder else None
    dues = [
        d for d in (decay_due, sms_due_at(state.sms, params.sms), reminder_due) if d is not None
    ]
    return min(dues, default=None)


def next_deadline(state: Timed) -> datetime | None:
    """The earliest wall-clock deadline of work handed to another agent."""
    return min((p.deadline for p in state.pending), default=None)


def handle_tick(
    state: LeadState | None,
    now: datetime,
    wall_now: datetime,
    policy: Policy,
    params: Params,
) -> tuple[LeadState | None, Effects]:
    """Run every time rule due by `now` (event time) and every deadline by `wall_now`.

    Each rule decides at its own due time with a rule-derived trigger id, so the
    outcome does not depend on when the sweep happened to run, and a repeated tick
    finds nothing left to do. A tick may decide more than once; each decision books
    its voice call in the calendar the one before it left.
    """
    if state is None:
        return None, Effects()
    effects = Effects()
    for pending in overdue_extractions(state, wall_now):
        state, more = handle_extraction(
            state, deadline_result(state.lead_id, pending, wall_now), policy, params
        )
        effects.extend(more)
        policy = _after(policy, more)
    if state.reminder is not None and state.reminder.remind_at <= now:
        effects.reminders.append(state.reminder)
        state = state.model_copy(update={"reminder": None})
    buffer, flush = on_tick(state.sms, now, params.sms)
    if flush is not None:
        state, more = flushed(state.model_copy(update={"sms": buffer}), flush, params, wall_now)
        effects.extend(more)
    ctx = state.context
    due = decay_due_at(
        state.status, ctx.last_attendance_at, params.lifecycle, at_risk_since=ctx.at_risk_since
    )
    if due is not None and due <= now:
        after = decay(
            state.status,
            ctx.last_attendance_at,
            due,
            params.lifecycle,
            at_risk_since=ctx.at_risk_since,
        )
        effects.decays += after != state.status
        state = moved_to(state, after, due).model_copy(update={"updated_at": due})
        state, more = decide(
            state, rule_trigger_id(state.lead_id, "decay", due), due, None, policy, params
        )
        effects.extend(more)
    return state, effects


def _after(policy: Policy, effects: Effects) -> Policy:
    """The policy for the next decision of the same step: the voice calendar it left."""
    if effects.voice_budget is None:
        return policy
    return replace(policy, voice_budget=effects.voice_budget)


@dataclass(slots=True)
class TimerIndex:
    """Who is due when: each lead's next event-time rule and wall-clock deadline.

    `update` after every write of a lead; `pop_next` hands out the earliest due
    lead (and forgets it until its next update). Heaps with lazy deletion keep
    both O(log n), so a sweep or a replay never scans every lead.
    """

    params: Params
    _dues: dict[str, tuple[datetime | None, datetime | None]] = field(default_factory=dict)
    _by_due: list[tuple[datetime, str]] = field(default_factory=list)
    _by_deadline: list[tuple[datetime, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._dues)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._dues

    def clear(self) -> None:
        self._dues.clear()
        self._by_due.clear()
        self._by_deadline.clear()

    def update(self, state: Timed) -> None:
        """Remember when this lead next needs a tick (nothing, when no rule is pending)."""
        due, deadline = next_due(state, self.params), next_deadline(state)
        lead_id = state.lead_id
        if due is None and deadline is None:
            self._dues.pop(lead_id, None)
            return
        if self._dues.get(lead_id) == (due, deadline):
            return
        self._dues[lead_id] = (due, deadline)
        if due is not None:
            heapq.heappush(self._by_due, (due, lead_id))
        if deadline is not None:
            heapq.heappush(self._by_deadline, (deadline, lead_id))
        if len(self._by_due) + len(self._by_deadline) > 4 * len(self._dues) + 64:
            self._compact()

    def forget(self, lead_id: str) -> None:
        """Drop an erased lead: its heap entries are skipped as superseded, then compacted."""
        self._dues.pop(lead_id, None)

    def _compact(self) -> None:
        """Drop superseded heap entries, so a lead updated often costs no memory."""
        self._by_due = [(d, k) for k, (d, _) in self._dues.items() if d is not None]
        self._by_deadline = [(w, k) for k, (_, w) in self._dues.items() if w is not None]
        heapq.heapify(self._by_due)
        heapq.heapify(self._by_deadline)

    def pop_next(self, now: datetime, wall_now: datetime) -> tuple[datetime, str] | None:
        """The lead whose rule is due by `now` or whose deadline passed by `wall_now`,
        earliest event-time rule first, with the time it was due at."""
        for heap, limit, slot in ((self._by_due, now, 0), (self._by_deadline, wall_now, 1)):
            while heap and heap[0][0] <= limit:
                at, lead_id = heapq.heappop(heap)
                current = self._dues.get(lead_id)
                if current is None or current[slot] != at:
                    continue  # superseded by a later update
                del self._dues[lead_id]
                return at, lead_id
        return None


_DAWN = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class StreamClock:
    """Stream time for time rules: the later of the wall clock and the newest event.

    Live traffic follows the wall clock; an accelerated simulation or a backfill
    follows its events, so its rules fire too.
    """

    newest: datetime = _DAWN

    def observe(self, occurred_at: datetime) -> None:
        self.newest = max(self.newest, occurred_at)

    def now(self, wall_now: datetime) -> datetime:
        return max(wall_now, self.newest)


@dataclass(slots=True)
class StreamClocks:
    """Stream time per input partition: one `StreamClock` each, moved only by the
    events of that partition.

    A far-future (but valid) event time moves its own partition's clock alone, so
    it fires nothing of a lead in another partition. A partition nothing was seen
    in follows the wall clock.
    """

    _clocks: dict[int, StreamClock] = field(default_factory=dict)

    def observe(self, partition: int, occurred_at: datetime) -> None:
        clock = self._clocks.get(partition)
        if clock is None:
            clock = self._clocks[partition] = StreamClock()
        clock.observe(occurred_at)

    def now(self, partition: int, wall_now: datetime) -> datetime:
        """The partition's stream time: the later of `wall_now` and its newest event."""
        clock = self._clocks.get(partition)
        return wall_now if clock is None else clock.now(wall_now)

    def newest(self) -> dict[int, datetime]:
        """Each partition's newest event time seen (partitions with none are left out)."""
        return {partition: clock.newest for partition, clock in sorted(self._clocks.items())}


@dataclass(slots=True)
class PartitionedIndex:
    """One `TimerIndex` per input partition, so each partition's leads are handed out
    at that partition's stream time (`pop_next(partition, ...)`).

    `update` files a lead under the partition it was written in; a lead filed under
    another partition before is dropped there, so it is never due twice.
    """

    params: Params
    _indexes: dict[int, TimerIndex] = field(default_factory=dict)
    _partition_of: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(index) for index in self._indexes.values())

    def __contains__(self, lead_id: object) -> bool:
        partition = self._partition_of.get(lead_id) if isinstance(lead_id, str) else None
        return partition is not None and lead_id in self._indexes[partition]

    def partitions(self) -> list[int]:
        """The partitions with an index, in order (possibly empty ones)."""
        return sorted(self._indexes)

    def clear(self) -> None:
        self._indexes.clear()
        self._partition_of.clear()

    def update(self, state: Timed, partition: int) -> None:
        """Remember when this lead, of `partition`, next needs a tick."""
        lead_id = state.lead_id
        before = self._partition_of.get(lead_id)
        if before is not None and before != partition:
            self._indexes[before].forget(lead_id)
        index = self._indexes.get(partition)
        if index is None:
            index = self._indexes[partition] = TimerIndex(self.params)
        index.update(state)
        if lead_id in index:
            self._partition_of[lead_id] = partition
        else:
            self._partition_of.pop(lead_id, None)

    def forget(self, lead_id: str) -> None:
        partition = self._partition_of.pop(lead_id, None)
        if partition is not None:
            self._indexes[partition].forget(lead_id)

    def pop_next(
        self, partition: int, now: datetime, wall_now: datetime
    ) -> tuple[datetime, str] | None:
        """`TimerIndex.pop_next` among the partition's leads, `now` its stream time."""
        index = self._indexes.get(partition)
        due = None if index is None else index.pop_next(now, wall_now)
        if due is not None:
            self._partition_of.pop(due[1], None)
        return due
