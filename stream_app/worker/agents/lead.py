"""The lead agent: the one writer of lead state, and the sweep that runs its time rules.

Thin by design: decode the record, load the lead, run the pure lead step
(`stream_app.domain.lead.apply`), publish its effects, write the state back,
ack. Every `if` about leads lives in the domain.

Records are applied in batches (`Batch`): every record the stream has ready, up to
`STREAM_APP_LEAD_BATCH_MAX`, is applied in order in memory (a lead touched twice is
loaded once and carries its new state to its next record), then every output is
sent and the broker's acks are awaited once, then each touched lead's state and
each touched partition's voice calendar is sent to its changelog once, in its own
partition, the store takes them once those acks are in, and only then is the
batch acked. A batch never waits for records to arrive: it
ends when the stream has none ready, so a lone record is applied at once and
shutdown is as prompt as the per-record loop was. A record seen ready can still
vanish before the agent takes it: a rebalance clears the agents' queues and then
waits for every record taken to be acked, so the held batch is flushed from that
wait (`HeldBatch.drain`, one of `FixedApp.drains`), or the
group would never re-form (the chaos suite: both workers stuck "starting").
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, cast

import faust

from stream_app.config.settings import Settings
from stream_app.domain.lead import (
    Effects,
    LeadRecord,
    LeadState,
    Params,
    Policy,
    Tick,
    apply,
    stable_id,
)
from stream_app.domain.lead.state import encode_state
from stream_app.domain.lead.timers import (
    PartitionedIndex,
    StreamClocks,
    Timed,
    next_deadline,
    next_due,
)
from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import ExtractionResult
from stream_app.domain.scheduling import VoiceCalendar
from stream_app.kafka.partitioner import partition_for
from stream_app.wire.codec import (
    EventTimeBounds,
    InvalidEvent,
    decode_lead_record,
    encode,
    escaped,
    poison,
)
from stream_app.wire.models import LeadTimer
from stream_app.worker import metrics
from stream_app.worker.batching import Held, drained_on_rebalance, ready
from stream_app.worker.dead_letters import divert, via_topic
from stream_app.worker.faust_fixes import FixedTableManager
from stream_app.worker.qtable_view import QTableView
from stream_app.worker.tables import (
    Change,
    LeadCache,
    budget_key,
    read_indexed_lead,
    read_lead,
    send_change,
    store_acked,
)
from stream_app.worker.topics import Topics, publish

log = logging.getLogger(__name__)


REINDEX_SLICE_ROWS = 200
"""Rows a re-index decodes before it lets the loop run: a row costs ~90-140 us of
CPU read lean (`bench/state_scale.py`, RocksDB; ~160-300 us read whole), so the lead
agent, the web server and Faust's own tasks wait ~20-30 ms at most (a full garbage
collection aside), where a whole pass held them 18 s at 100k leads. The yield itself
is ~10 us, noise against a slice."""

REINDEX_KEYS_SLICE = 5_000
"""Keys a re-index lists before it lets the loop run: ~25 ms at ~5 us a key (`_keys`)."""

SWEEP_TIMERS_MAX = 1_000
"""Timers one sweep sends at most. A timer costs ~65 us to send (53,500 in 3.45 s of
CPU after a re-index at 100k leads, `bench/state_scale.py`), so a sweep holds the
loop ~70 ms, not seconds, after downtime; at the default 5 s sweep interval that
is still 200 timers/s, more than the lead agent applies on 2 cores (each timer is
a lead step)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


Output = tuple[Any, bytes, bytes]
"""A record to publish: the Faust topic, its key and its encoded value."""


@dataclass
class Touched:
    """A lead as a batch left it: its state (None: erased), and the batch's last
    record of it, whose partition its write goes to."""

    state: LeadState | None
    event: Any
    partition: int
    records: list[tuple[Any, str]] = field(default_factory=list)
    """The batch's messages of the lead, with their logical topic names."""


@dataclass
class Batch:
    """Records applied in memory, and what they send and write once they all are.

    `leads` holds each touched lead's newest state, `calendars` each touched
    partition's voice calendar (with the last record of that partition); `outputs`
    is every record to publish, in the order the steps made them.
    """

    leads: dict[str, Touched] = field(default_factory=dict)
    calendars: dict[int, tuple[VoiceCalendar | None, Any]] = field(default_factory=dict)
    outputs: list[tuple[str, Output]] = field(default_factory=list)
    effects: list[Effects] = field(default_factory=list)
    dead: list[tuple[Any, str, InvalidEvent]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    epoch: int = 0
    """The cache's epoch when the batch began (`LeadCache.epoch`)."""


@dataclass
class Facts:
    """Each lead's status, buffered SMS count and partition behind the gauges, and
    their totals, kept as leads are remembered and forgotten.

    A report reads the totals, so it costs the same at any number of leads. It
    walked every lead and counted the table's keys, which Faust's RocksDB store
    does by scanning every partition, on every sweep: 18.8 ms of CPU at 10k
    RocksDB leads, 108 ms at 100k, 538 ms at 1M in memory (`bench/state_scale.py`),
    against 0.07 ms from the totals.

    A lead's entry holds the status's string, not the enum member: a tuple of only
    strings and ints is one the garbage collector stops tracking, and with the
    member every entry stayed tracked, one object per stored lead that every full
    collection walks (a million at 1M leads, where the re-index's longest pause was
    a 2.9 s full collection).
    """

    _of: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    by_status: Counter[str] = field(default_factory=Counter)
    """Leads per status's value."""
    buffered: int = 0
    threads_open: int = 0
    unreadable: int = 0
    """Rows the last re-index could not read: keys of the table all the same."""

    def __len__(self) -> int:
        return len(self._of)

    def __contains__(self, lead_id: object) -> bool:
        return lead_id in self._of

    def __iter__(self) -> Iterator[str]:
        return iter(self._of)

    def put(self, lead_id: str, status: Status, buffered: int, partition: int) -> None:
        self.pop(lead_id)
        self._of[lead_id] = (status._value_, buffered, partition)
        self._count(status._value_, buffered, 1)

    def pop(self, lead_id: str) -> None:
        before = self._of.pop(lead_id, None)
        if before is not None:
            self._count(before[0], before[1], -1)

    def drop_partitions(self, partitions: set[int]) -> None:
        """Forget the leads of partitions this worker no longer owns (the gauges count
        owned leads only); the next re-index reads the table again anyway."""
        for lead_id in [k for k, (_, _, p) in self._of.items() if p in partitions]:
            self.pop(lead_id)

    def clear(self) -> None:
        self._of.clear()
        self.by_status.clear()
        self.buffered = self.threads_open = self.unreadable = 0

    def _count(self, status: str, buffered: int, sign: int) -> None:
        self.by_status[status] += sign
        self.buffered += sign * buffered
        self.threads_open += sign * (buffered > 0)


@dataclass
class LeadAgent:
    """The lead agent's state: tables, the Q-table view, and the sweep's memory.

    `index` remembers when each lead this worker wrote next needs a tick, filed
    under the lead's input partition; `clock` keeps stream time per input
    partition (the later of the wall clock and the newest event time seen in
    that partition), so a record moves time rules of its own partition's leads
    only. The sweep rebuilds both from the table after every recovery (a
    restart or a rebalance that brings partitions), so no pending rule of a lead
    this worker now owns is forgotten and stream time survives a restart.
    `facts` holds each lead's status and buffered SMS count behind the gauges,
    and their totals.
    An erased lead is deleted from the table (Faust writes a tombstone to its
    changelog) and forgotten by both.
    """

    settings: Settings
    topics: Topics
    leads: Any
    budgets: Any
    q_view: QTableView
    params: Params
    index: PartitionedIndex = field(init=False)
    clock: StreamClocks = field(default_factory=StreamClocks)
    facts: Facts = field(default_factory=Facts)
    indexed_generation: int = 0
    complete: bool = True
    """The index holds every owned lead: False while a re-index is part-way or was
    cut short by a rebalance (the sweep fires nothing from it then)."""
    sweep_from: int = 0
    """The partition the next sweep begins with: the one after where the last ran out of
    budget."""
    cache: LeadCache = field(init=False)
    compressed: bool = field(init=False)
    """States are written as zstd frames (`STREAM_APP_STATE_ENCODING`)."""
    calendars: dict[int, VoiceCalendar | None] = field(default_factory=dict)
    """Each partition's voice calendar as last written or read (written through)."""

    def __post_init__(self) -> None:
        self.index = PartitionedIndex(self.params)
        self.cache = LeadCache(self.settings.lead_cache_size)
        self.compressed = self.settings.state_encoding == "zstd"

    def calendar(self, partition: int, batch: Batch) -> VoiceCalendar | None:
        """The partition's voice calendar: the batch's, else the cached, else the table's."""
        if partition in batch.calendars:
            return batch.calendars[partition][0]
        if partition not in self.calendars:
            raw = self.budgets.get(budget_key(partition))
            self.calendars[partition] = VoiceCalendar.model_validate_json(raw) if raw else None
        return self.calendars[partition]

    def load(self, lead_id: str, batch: Batch) -> LeadState | None:
        """The lead's newest state: the batch's, else the cache's, else the table's."""
        touched = batch.leads.get(lead_id)
        if touched is not None:
            return touched.state
        cached = self.cache.get(lead_id)
        if cached is not None:
            return cached
        raw = self.leads.get(lead_id)
        return read_lead(raw) if raw else None

    def revoked(self, partitions: set[int]) -> None:
        """Forget what this worker cached of partitions it no longer owns.

        Another worker may write those leads and calendars before the partitions
        come back here, and then the table is what holds them.
        """
        self.cache.drop_partitions(partitions)
        self.facts.drop_partitions(partitions)
        for partition in partitions:
            self.calendars.pop(partition, None)

    def record_of(self, topic: str, message: Any) -> tuple[LeadRecord, datetime]:
        """The domain record a message carries, and the wall clock to apply it at.

        The door: size, JSON, schema, the key (required: it chose the partition that
        owns the lead) and event time against the wall clock (STREAM_APP_EVENT_*).
        """
        decoded = decode_lead_record(
            topic,
            message.key,
            message.value,
            self.settings.max_event_bytes,
            now=utcnow(),
            bounds=EventTimeBounds.of(self.settings),
        )
        if isinstance(decoded, LeadTimer):
            return Tick(decoded.lead_id, decoded.now), decoded.wall_now
        if not isinstance(decoded, ExtractionResult):
            metrics.EVENTS_IN.labels(topic, decoded.type).inc()
            self.observe(message.partition, decoded.occurred_at)
        return decoded, utcnow()

    def batch(self) -> Batch:
        return Batch(epoch=self.cache.epoch)

    async def handle(self, message: Any, topic: str) -> None:
        """Apply one record on its own: a batch of one (tests and tools use it)."""
        batch = self.batch()
        self.add(batch, message, message, topic)
        await self.flush(batch)

    def add(self, batch: Batch, event: Any, message: Any, topic: str) -> None:
        """Apply one record in memory, onto what the batch holds so far.

        A record that cannot be applied, for any reason, is noted as a dead letter
        (sent with the batch's outputs, acked with the batch); the worker goes on.
        Poison and transient failures are told apart by where they happen: this
        part is deterministic (decoding, the stored state, the pure step, every
        value to send), so what raises here raises again on every retry. The
        sends and writes of `flush` are the shell: a broker that does not
        acknowledge is transient, propagates, and the batch is read again.
        """
        batch.events.append(event)
        try:
            self.apply(batch, event, message, topic)
        except InvalidEvent as exc:
            batch.dead.append((message, topic, exc))
        except Exception as exc:  # any other failure of the pure step is poison too
            batch.dead.append((message, topic, poison(exc, "the lead step", "step_error")))

    def apply(self, batch: Batch, event: Any, message: Any, topic: str) -> None:
        """Decode, load, apply, and fold the result into the batch; raises on poison."""
        record, clock = self.record_of(topic, message)
        partition = message.partition
        try:
            calendar = self.calendar(partition, batch)
            stored = self.load(record.lead_id, batch)
        except Exception as exc:
            # The text names the lead (escaped) and the fields: a stored state holds
            # names and phone numbers, which pydantic's own text would repeat.
            what = f"stored state of lead {escaped(record.lead_id)}"
            raise poison(exc, what, "unreadable_state") from None
        policy = Policy(self.q_view.table, self.q_view.q_version, voice_budget=calendar)
        state, effects = apply(stored, record, policy, self.params, clock)
        if state is not None and not effects.erased:
            # The sweep's index must take the state too: a time rule that overflows
            # (an SMS thread dated near datetime.max) would raise after the write.
            next_due(state, self.params)
            next_deadline(state)
        outputs = self.outputs(effects)
        # Nothing of the batch changed until here: a record that raised above is a
        # dead letter and leaves the batch as it found it.
        if effects.erased:
            batch.leads[record.lead_id] = Touched(None, event, partition)
        elif state is not None:
            touched = batch.leads.setdefault(record.lead_id, Touched(state, event, partition))
            touched.state, touched.event, touched.partition = state, event, partition
        if record.lead_id in batch.leads:
            batch.leads[record.lead_id].records.append((message, topic))
        if effects.voice_budget is not None and effects.voice_budget != calendar:
            batch.calendars[partition] = (effects.voice_budget, event)
        batch.outputs.extend((record.lead_id, output) for output in outputs)
        batch.effects.append(effects)

    async def flush(self, batch: Batch) -> None:
        """Send everything, await every ack once, then write each lead and calendar once.

        The states carry the events' dedup markers. Were one to reach the changelog
        while an output was still in the producer's buffer, a crash would lose the
        output for good: the redelivered event is then a duplicate and emits nothing
        (measured: 1-8 of 252 decisions lost in a kill test without this wait). So
        no state is written before every output of the batch is acknowledged, and
        the caller acks the batch's records only after the writes.
        """
        values, poisoned = self.encoded(batch)
        sent: list[Awaitable[Any]] = []
        for lead_id, (topic, key, output) in batch.outputs:
            if lead_id not in poisoned:
                sent.append(await publish(topic, key, output))
        for message, topic_name, exc in batch.dead:
            sent.append(self.dead(message, topic_name, exc))
        if sent:
            await asyncio.gather(*sent)
        for effects in batch.effects:
            _count(effects)
        await self.write(batch, values)

    async def write(self, batch: Batch, values: dict[str, bytes | None]) -> None:
        """Write each touched lead and calendar once, on the changelog first.

        Every changelog record is sent, then all acks are awaited at once, then the
        table stores them (`store_acked`), so the caller acks the batch's records
        only once their state is on the changelog.
        """
        changes: list[Change] = []
        for lead_id, value in values.items():
            touched = batch.leads[lead_id]
            # Only a present row gets a tombstone; an erased lead never stored has none.
            if value is not None or lead_id in self.leads:
                changes.append(
                    await send_change(self.leads, touched.event, touched.partition, lead_id, value)
                )
        for partition, (calendar, event) in batch.calendars.items():
            assert calendar is not None
            raw = calendar.model_dump_json().encode()
            key = budget_key(partition)
            changes.append(await send_change(self.budgets, event, partition, key, raw))
        await store_acked(changes)
        # A revoke since the batch began: its partitions' rows are another worker's
        # now, so nothing this batch wrote is cached (the next read is the table's).
        cache = batch.epoch == self.cache.epoch
        for lead_id, touched in batch.leads.items():
            if lead_id not in values:
                continue
            if touched.state is None:
                self.forget(lead_id)
                continue
            if cache:
                self.cache.put(lead_id, touched.partition, touched.state)
            self.remember(touched.state, touched.partition)
        for partition, (calendar, _) in batch.calendars.items():
            if cache:
                self.calendars[partition] = calendar

    def encoded(self, batch: Batch) -> tuple[dict[str, bytes | None], set[str]]:
        """Each touched lead's table value (None: erased), encoded once per batch, and
        the leads whose state could not be encoded.

        Such a state is poison for every record of the batch that touched its lead:
        those become dead letters, and their outputs and the lead's write are left
        out, so the stored lead stays as it was.
        """
        values: dict[str, bytes | None] = {}
        poisoned: set[str] = set()
        for lead_id, touched in batch.leads.items():
            if touched.state is None:
                values[lead_id] = None
                continue
            try:
                values[lead_id] = encode_state(touched.state, self.compressed)
            except Exception as exc:
                poisoned.add(lead_id)
                error = poison(exc, f"state of lead {escaped(lead_id)}", "unencodable_state")
                for message, topic in touched.records:
                    batch.dead.append((message, topic, error))
        return values, poisoned

    def outputs(self, effects: Effects) -> list[Output]:
        """Every record the effects publish, encoded, in the order they are sent."""
        topics = self.topics
        groups: list[tuple[Any, list[Any]]] = [
            (topics.extraction_requests, list(effects.extraction_requests)),
            (topics.lead_transitions, list(effects.transitions)),
            (topics.next_best_actions, list(effects.decisions)),
            (topics.reminders, list(effects.reminders)),
        ]
        return [
            (topic, cast(str, message.lead_id).encode(), encode(message))
            for topic, messages in groups
            for message in messages
        ]

    async def dead(self, message: Any, topic: str, exc: InvalidEvent) -> None:
        """The record's dead letter, awaited to the broker's ack (a failure propagates:
        transient, the record is read again), logged and counted."""
        await divert(
            via_topic(self.topics.dead_letters),
            log,
            topic,
            message.partition,
            message.offset,
            message.key,
            message.value,
            exc,
        )

    def observe(self, partition: int, occurred_at: datetime) -> None:
        """An input event's time moves the stream time of its partition only."""
        self.clock.observe(partition, occurred_at)

    def remember(self, state: Timed, partition: int) -> None:
        """Index a lead written in `partition` (the record's), so its rules run on that
        partition's stream time."""
        self.facts.put(state.lead_id, state.status, len(state.sms.messages), partition)
        self.index.update(state, partition)

    def forget(self, lead_id: str) -> None:
        """Forget an erased lead (its row is deleted, a tombstone on the changelog, by
        `write`): its cache, index and gauge entries."""
        self.cache.drop(lead_id)
        self.facts.pop(lead_id)
        self.index.forget(lead_id)
        metrics.LEAD_ERASURES.inc()

    async def reindex(self, generation: Callable[[], int | None]) -> int | None:
        """Rebuild the sweep's memory from the table: the leads this worker owns now.

        Returns the recovery generation it indexed, or None when a recovery began
        before it finished (the index is then partial, `complete` is False, and the
        next sweep of a settled generation starts over). A generation that moves
        on mid-way starts it over at once: the rows it read may be of partitions
        this worker no longer owns, and it has not read those it gained.

        With no message at hand, a lead's partition is `partition_for(lead_id,
        STREAM_APP_PARTITIONS)`: producers must partition by murmur2 of the key, as
        Kafka's clients do. Stream time is restored from the same rows: each lead's
        `updated_at` (the event time of the newest event applied to it) is observed
        into its partition's clock, so after a restart a partition's stream time is
        the newest event time its stored leads have seen, never later than before
        the restart, rather than the wall clock alone. A clock never moves back: a
        partition this worker kept keeps what it observed.

        An unreadable row is skipped, logged by type and counted once per rebuild (no
        lead id, no values): the lead agent dead-letters that lead's records anyway,
        and one bad row must not stop the sweep of every other lead.

        A row of this code's version is read lean (`read_indexed_lead`: only what the
        index, the gauges and the clock take, ~25 us against ~105 us for the whole
        state, `bench/state_scale.py`); any other version is read whole. A row whose
        only invalid value is in what the lean read leaves out is indexed, and the
        lead agent dead-letters the timer it is sent, as it would any record of it.
        """
        while (began := generation()) is not None:
            if await self._rebuild(began, generation):
                self.indexed_generation, self.complete = began, True
                return began
        self.complete = False
        return None

    async def _rebuild(self, began: int, generation: Callable[[], int | None]) -> bool:
        """One pass over the table in slices of `REINDEX_SLICE_ROWS`, letting the loop
        run between them; False if the generation moved on before the last slice.

        The lead agent keeps running meanwhile, and its view is never older than
        the table's row: it stores a row, then remembers (or forgets) the lead in
        the same turn of the loop. So the keys are taken first (`_keys`), and each
        row is read as it is when its slice runs, not as it was when the pass
        began. A lead written since is read at its newest or remembered again by
        its write; an erased one has no row left and stays forgotten; one created
        since was remembered by its write.
        """
        self.complete = False
        self.index.clear()
        self.facts.clear()
        unreadable: Counter[str] = Counter()
        keys = await self._keys(began, generation)
        if keys is None:
            return False
        for start in range(0, len(keys), REINDEX_SLICE_ROWS):
            await asyncio.sleep(0)
            if generation() != began:
                return False
            for lead_id in keys[start : start + REINDEX_SLICE_ROWS]:
                raw = self.leads.get(lead_id)
                if raw is None:
                    continue  # erased since the keys were taken
                try:
                    state = read_indexed_lead(raw)
                    partition = partition_for(state.lead_id, self.settings.partitions)
                    if state.updated_at is not None:
                        self.clock.observe(partition, state.updated_at)
                    self.remember(state, partition)
                except (ValueError, OverflowError) as exc:  # pydantic's errors are ValueErrors
                    unreadable[type(exc).__name__] += 1
        for error_type, count in unreadable.items():
            log.warning("re-index skipped %d unreadable lead states (%s)", count, error_type)
        self.facts.unreadable = sum(unreadable.values())
        return True

    async def _keys(self, began: int, generation: Callable[[], int | None]) -> list[str] | None:
        """The table's keys, listed `REINDEX_KEYS_SLICE` at a time with the loop run
        between; None if the generation moved on meanwhile.

        Listing is Python work per key through Faust's store (~5 us a key at 100k
        RocksDB leads, 0.5 s in one go, `bench/state_scale.py`). A RocksDB iterator
        sees the database as it was when it began, whatever is written since, and
        is never resumed once a rebalance began (the check after each yield), so
        never after a revoke closed its database. A memory store's dict raises
        once its size changed between two slices; its keys are then listed at
        once, which is cheap for a dict already in memory.
        """
        keys: list[str] = []
        listed = iter(self.leads.keys())
        try:
            while chunk := list(islice(listed, REINDEX_KEYS_SLICE)):
                keys.extend(chunk)
                await asyncio.sleep(0)
                if generation() != began:
                    return None
        except RuntimeError:  # "dictionary changed size during iteration"
            keys = list(self.leads.keys())
        return keys

    async def sweep(self, generation: Callable[[], int | None]) -> None:
        """Ask each lead whose time rules are due to run them, in its own partition.

        The sweep never writes the table itself (that needs the partition's stream
        context); the lead agent applies the timer in order with everything else.
        `generation` reads the count of table recoveries so far, None while one is
        under way.

        Nothing fires from a partial index (a re-index a rebalance cut short): its
        unread leads are missing, and a partition's due leads would go out in an
        order that depends on where the pass stopped. Firing waits for the next
        complete pass; a due rule runs one sweep later, as after any downtime.
        At most `SWEEP_TIMERS_MAX` timers go out per call; the rest stay due in the
        index. Each partition's leads still go out in due order, and the next call
        begins with the partition after the one this call stopped in, so a backlog
        in one partition holds another's due leads back by a call, not by all of it.
        """
        current = generation()
        if current is not None and current != self.indexed_generation:
            # Measured: a worker that indexed only its first assignment never flushed an
            # SMS thread buffered on a partition a later rebalance handed it.
            await self.reindex(generation)
        if not self.complete:
            self.report()
            return
        wall_now = utcnow()
        budget = SWEEP_TIMERS_MAX
        acks: list[Awaitable[Any]] = []
        partitions = self.index.partitions()
        resume = [p for p in partitions if p >= self.sweep_from]
        for partition in resume + [p for p in partitions if p < self.sweep_from]:
            # Each partition's leads at that partition's stream time: a far-future
            # event in one partition fires nothing of another's leads.
            now = self.clock.now(partition, wall_now)
            while budget and (due := self.index.pop_next(partition, now, wall_now)) is not None:
                budget -= 1
                lead_id = due[1]
                timer = LeadTimer(
                    timer_id=stable_id("tm", lead_id, now.isoformat()),
                    lead_id=lead_id,
                    now=now,
                    wall_now=wall_now,
                )
                acks.append(await publish(self.topics.lead_timers, lead_id.encode(), encode(timer)))
            if not budget:
                self.sweep_from = partition + 1
                break
        else:
            self.sweep_from = 0
        # Straight to the producer, as the lead agent's outputs, not through Faust's
        # `Topic.send` (a pending message, a promise and three loop turns a timer);
        # one wait for all their acks, and a refused one raises as a refused output does.
        await asyncio.gather(*acks)
        self.report()

    def report(self) -> None:
        """The gauges from the kept totals: the table's keys are the leads remembered
        (every write remembers, every erasure forgets) and the rows unreadable."""
        facts = self.facts
        metrics.TABLE_KEYS.labels("leads").set(len(facts) + facts.unreadable)
        for status in Status:
            value = status._value_
            metrics.LEADS_BY_STATUS.labels(value).set(facts.by_status.get(value, 0))
        metrics.SMS_BUFFERED_MESSAGES.set(facts.buffered)
        metrics.SMS_THREADS_OPEN.set(facts.threads_open)


def _count(effects: Effects) -> None:
    """The counters behind the dashboards: typed facts from the step, no parsing."""
    for decision in effects.decisions:
        metrics.DECISIONS.labels(decision.action, decision.override or "none").inc()
    metrics.REMINDERS.inc(len(effects.reminders))
    for move in effects.moves:
        metrics.TRANSITIONS.labels(move.before.value, move.after.value).inc()
        metrics.REWARD.observe(move.reward)
    metrics.DECAY_TRANSITIONS.inc(effects.decays)
    for reason in effects.guardrail_changes:
        metrics.GUARDRAIL_BLOCKS.labels(reason).inc()
    for action, outcome in effects.outcomes:
        metrics.ACTION_OUTCOMES.labels(action, outcome).inc()
    for flush in effects.sms_flushes:
        metrics.SMS_FLUSHES.labels(flush.trigger.value).inc()
        metrics.SMS_THREAD_SIZE.observe(len(flush.messages))
        metrics.SMS_BUFFER_AGE_SECONDS.observe(flush.age.total_seconds())


class HeldBatch(Held[Batch]):
    """The lead agent's held batch (`batching.Held`): records join it with their
    logical topic names."""

    def __init__(
        self, agent: LeadAgent, ack: Callable[[Any], Awaitable[Any]], batch: Batch
    ) -> None:
        super().__init__(
            "lead", ack, batch, agent.batch, agent.flush, agent.settings.lead_batch_max
        )
        self.agent = agent

    async def take(self, record: Any, topic: str, more: bool) -> None:
        """Add one record; flush unless `more` (the next is ready) and there is room."""
        await self.hold(record, more, lambda batch, r: self.agent.add(batch, r, r.message, topic))


def register(app: faust.App, agent: LeadAgent) -> None:
    """Wire the lead agent and its sweep into the Faust app."""
    topics, settings = agent.topics, agent.settings
    tables = cast(FixedTableManager, app.tables)

    @app.agent(topics.inputs, concurrency=1, name="lead-agent")
    async def lead_agent(stream: faust.StreamT[bytes]) -> None:
        # A worker that starts late first catches up with q-updates, so its first
        # decision comes from the same Q-table as everybody else's.
        await agent.q_view.caught_up.wait()
        # Manual acks: Faust acks an event when the loop body exits, even when it exits
        # by cancellation (a graceful stop) or an exception, and that offset is then
        # committed unprocessed. Here an event is acked only once it is fully applied.
        manual = cast(faust.Stream[bytes], stream).noack()
        more = ready(manual)
        held = HeldBatch(agent, manual.ack, agent.batch())
        drained_on_rebalance(app, "lead-agent", held)
        async for record in manual.events():
            topic = record.message.topic
            # The stream has the next record ready: take it into this batch.
            await held.take(record, topics.logical.get(topic, topic), more())

    inputs = set(topics.inputs.topics)

    async def _revoked(sender: Any, *args: Any, signal: Any, **_: Any) -> None:
        revoked: set[Any] = args[0]
        agent.revoked({tp.partition for tp in revoked if tp.topic in inputs})

    app.on_partitions_revoked.connect(cast(Any, _revoked))

    def generation() -> int | None:
        """The recoveries so far, None while one is under way: read again by a re-index
        between its slices."""
        ready = tables.actives_ready and not app.rebalancing
        return tables.actives_generation if ready else None

    @app.timer(interval=settings.sweep_interval_s, name="lead-timer-sweep")
    async def sweep() -> None:
        await agent.sweep(generation)
