"""The lead agent: the one writer of lead state, and the sweep that runs its time rules.

Thin by design: decode the record, load the lead, run the pure lead step
(`stream_app.domain.lead.apply`), publish its effects, write the state back,
ack. Every `if` about leads lives in the domain.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
from stream_app.domain.lead.timers import (
    PartitionedIndex,
    StreamClocks,
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
from stream_app.worker.dead_letters import divert, via_topic
from stream_app.worker.faust_fixes import FixedTableManager
from stream_app.worker.qtable_view import QTableView
from stream_app.worker.tables import budget_key, load_lead, read_lead
from stream_app.worker.topics import Topics

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


Output = tuple[Any, bytes, bytes]
"""A record to publish: the Faust topic, its key and its encoded value."""


@dataclass(frozen=True, slots=True)
class Step:
    """One record applied in memory: everything the shell sends and writes for it."""

    lead_id: str
    policy: Policy
    state: LeadState | None
    effects: Effects
    outputs: list[Output]
    stored: bytes | None
    """The state's table value (None: nothing to write)."""


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
    `facts` holds each lead's status and buffered SMS count behind the gauges.
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
    facts: dict[str, tuple[Status, int]] = field(default_factory=dict)
    indexed_generation: int = 0

    def __post_init__(self) -> None:
        self.index = PartitionedIndex(self.params)

    def policy(self, partition: int) -> Policy:
        raw = self.budgets.get(budget_key(partition))
        budget = VoiceCalendar.model_validate_json(raw) if raw else None
        return Policy(self.q_view.table, self.q_view.q_version, voice_budget=budget)

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

    async def handle(self, message: Any, topic: str) -> None:
        """Apply one record. One that cannot be applied, for any reason, goes to
        dead-letters (and is acked by the caller); the worker goes on.

        Poison and transient failures are told apart by where they happen. `step`
        is deterministic: decoding, the stored state, the pure step and building
        every value to send and write; what raises there raises again on every
        retry, so the record is a dead letter. The sends and writes after it are the
        shell: a broker that does not acknowledge is transient, so that exception
        propagates (the record stays unacked and is read again, as before) and is
        never dead-lettered.
        """
        try:
            step = self.step(message, topic)
        except InvalidEvent as exc:
            await self.dead(message, topic, exc)
            return
        except Exception as exc:  # any other failure of the pure step is poison too
            await self.dead(message, topic, poison(exc, "the lead step", "step_error"))
            return
        state, effects, policy = step.state, step.effects, step.policy
        await self.publish(step.outputs, effects)
        if effects.erased:
            self.forget(step.lead_id)
        elif state is not None and step.stored is not None:
            self.leads[state.lead_id] = step.stored
            self.remember(state, message.partition)
        if effects.voice_budget is not None and effects.voice_budget != policy.voice_budget:
            key = budget_key(message.partition)
            self.budgets[key] = effects.voice_budget.model_dump_json().encode()

    def step(self, message: Any, topic: str) -> Step:
        """Decode, load, apply, and build what `handle` sends and writes; raises on poison."""
        record, clock = self.record_of(topic, message)
        try:
            policy = self.policy(message.partition)
            stored = load_lead(self.leads, record.lead_id)
        except Exception as exc:
            # The text names the lead (escaped) and the fields: a stored state holds
            # names and phone numbers, which pydantic's own text would repeat.
            what = f"stored state of lead {escaped(record.lead_id)}"
            raise poison(exc, what, "unreadable_state") from None
        state, effects = apply(stored, record, policy, self.params, clock)
        value = None
        if state is not None and not effects.erased:
            value = state.model_dump_json().encode()
            # The sweep's index must take the state too: a time rule that overflows
            # (an SMS thread dated near datetime.max) would raise after the write.
            next_due(state, self.params)
            next_deadline(state)
        return Step(record.lead_id, policy, state, effects, self.outputs(effects), value)

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

    async def publish(self, outputs: list[Output], effects: Effects) -> None:
        """Publish and wait for the broker's ack before the state write that follows.

        The state carries the event's dedup marker. Were it to reach the changelog
        while an output was still in the producer's buffer, a crash would lose the
        output for good: the redelivered event is then a duplicate and emits nothing
        (measured: 1-8 of 252 decisions lost in a kill test without this wait).
        """
        sent: list[Awaitable[Any]] = []
        for topic, key, value in outputs:
            sent.append(await topic.send(key=key, value=value))
        if sent:
            await asyncio.gather(*sent)
        _count(effects)

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

    def remember(self, state: LeadState, partition: int) -> None:
        """Index a lead written in `partition` (the record's), so its rules run on that
        partition's stream time."""
        self.facts[state.lead_id] = (state.status, len(state.sms.messages))
        self.index.update(state, partition)

    def forget(self, lead_id: str) -> None:
        """Erase a lead: delete its row (a tombstone on the changelog) and its index entries.

        Only a present key is deleted: Faust sends the tombstone before it looks the
        key up, so deleting a missing one would send a tombstone and then raise.
        """
        if lead_id in self.leads:
            del self.leads[lead_id]
        self.facts.pop(lead_id, None)
        self.index.forget(lead_id)
        metrics.LEAD_ERASURES.inc()

    def reindex(self) -> None:
        """Rebuild the sweep's memory from the table: the leads this worker owns now.

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
        """
        self.index.clear()
        self.facts.clear()
        unreadable: Counter[str] = Counter()
        for raw in list(self.leads.values()):
            try:
                state = read_lead(raw)
                partition = partition_for(state.lead_id, self.settings.partitions)
                if state.updated_at is not None:
                    self.clock.observe(partition, state.updated_at)
                self.remember(state, partition)
            except (ValueError, OverflowError) as exc:  # pydantic's errors are ValueErrors
                unreadable[type(exc).__name__] += 1
        for error_type, count in unreadable.items():
            log.warning("re-index skipped %d unreadable lead states (%s)", count, error_type)

    async def sweep(self, generation: int | None) -> None:
        """Ask each lead whose time rules are due to run them, in its own partition.

        The sweep never writes the table itself (that needs the partition's stream
        context); the lead agent applies the timer in order with everything else.
        `generation` counts the table recoveries so far, None while one is under way.
        """
        if generation is not None and generation != self.indexed_generation:
            # Measured: a worker that indexed only its first assignment never flushed an
            # SMS thread buffered on a partition a later rebalance handed it.
            self.reindex()
            self.indexed_generation = generation
        wall_now = utcnow()
        for partition in self.index.partitions():
            # Each partition's leads at that partition's stream time: a far-future
            # event in one partition fires nothing of another's leads.
            now = self.clock.now(partition, wall_now)
            while (due := self.index.pop_next(partition, now, wall_now)) is not None:
                lead_id = due[1]
                timer = LeadTimer(
                    timer_id=stable_id("tm", lead_id, now.isoformat()),
                    lead_id=lead_id,
                    now=now,
                    wall_now=wall_now,
                )
                await self.topics.lead_timers.send(key=lead_id.encode(), value=encode(timer))
        self.report()

    def report(self) -> None:
        metrics.TABLE_KEYS.labels("leads").set(len(self.leads))
        by_status = Counter(status for status, _ in self.facts.values())
        for status in Status:
            metrics.LEADS_BY_STATUS.labels(status.value).set(by_status.get(status, 0))
        buffered = [size for _, size in self.facts.values()]
        metrics.SMS_BUFFERED_MESSAGES.set(sum(buffered))
        metrics.SMS_THREADS_OPEN.set(sum(1 for size in buffered if size))


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
        async for record in manual.events():
            started = time.perf_counter()
            message = record.message
            await agent.handle(message, topics.logical.get(message.topic, message.topic))
            await manual.ack(record)
            metrics.PROCESSING_SECONDS.labels("lead").observe(time.perf_counter() - started)

    @app.timer(interval=settings.sweep_interval_s, name="lead-timer-sweep")
    async def sweep() -> None:
        ready = tables.actives_ready and not app.rebalancing
        await agent.sweep(tables.actives_generation if ready else None)
