"""The Q-learner: the only writer of the Q-table (one partition, one agent).

It is also where the running guard counts (`domain/guard.py`): it sees every
transition, and a transition's arm follows from its lead id, so both arms' totals
are kept here, in the same changelogged table as the Q entries (key `GUARD_KEY`),
and exposed as `stream_app_arm_*` and `stream_app_guard_*`. Every q-update carries
the verdict (`explore`: False while learning is significantly below the priors and
STREAM_APP_GUARD_GREEDY is on), so every worker's Q-table view, and with it every
decision, follows the latest one without a channel of its own. A transition counts
only when it is learned for the first time, so a redelivery counts nothing; a crash
between the entry's write and the totals' write loses that one transition's count
(the totals are a monitor, never learned from).

Transitions are learned in batches (`LearnerBatch`, held as the lead agent holds
its own: `worker/batching.py`): every record the stream has ready, up to
`STREAM_APP_LEAD_BATCH_MAX`, in log order in memory, then one wait for the broker's
acks of every q-update and changelog record, then the store, then the acks. One
wait per record held the learner to one broker round trip per transition (100-200
a second at a 5-10 ms Kafka round trip) where the lead agent, batched, makes ~0.2
transitions per input event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import faust
import orjson

from stream_app.config.params import guard_params
from stream_app.config.settings import LearningMode, Settings
from stream_app.domain.actions import Action
from stream_app.domain.guard import ArmStats, GuardStats, Verdict, judge
from stream_app.domain.lead.policy import arm
from stream_app.domain.learner import Learned, LearnerParams, learn, overlay, step_of
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.wire.codec import (
    EventTimeBounds,
    InvalidEvent,
    decode_transition,
    encode,
    escaped,
    poison,
)
from stream_app.wire.models import QUpdate, entry_key
from stream_app.worker import metrics
from stream_app.worker.batching import Held, drained_on_rebalance, ready
from stream_app.worker.dead_letters import divert, via_topic
from stream_app.worker.tables import Change, send_change, store_acked
from stream_app.worker.topics import Topics, publish

log = logging.getLogger(__name__)


def q_update(state: str, action: str, entry: Learned, explore: bool = True) -> QUpdate:
    return QUpdate(
        state=state,
        action=action,
        q_before=entry.q_before,
        q_after=entry.q,
        visits=entry.visits,
        td_error=entry.td_error,
        transition_id=entry.transition_id,
        q_version=entry.q_version,
        explore=explore,
    )


def dump_learned(entry: Learned) -> bytes:
    """An entry as its table value: orjson writes the dataclass itself, the same bytes
    as through `dataclasses.asdict`, which deep-copied each of its remembered
    transition ids first (52 us an entry of 64 ids against 1.2 us; in a cProfile of
    the heavy `stream-app bench` worker, 196 us of each transition the learner took)."""
    return orjson.dumps(entry)


def load_learned(raw: bytes) -> Learned:
    data = orjson.loads(raw)
    data["recent_ids"] = tuple(data["recent_ids"])
    return Learned(**data)


GUARD_KEY = "guard:arms"
"""The guard's totals in the Q-learner's table; no `state|action` key looks like it."""


def load_guard(raw: bytes) -> GuardStats:
    """Totals from their table value; raises on anything but two arms of numbers."""
    data = orjson.loads(raw)

    def arm_of(totals: dict[str, Any]) -> ArmStats:
        return ArmStats(
            leads=int(totals["leads"]),
            conversions=int(totals["conversions"]),
            return_sum=float(totals["return_sum"]),
        )

    return GuardStats(learning=arm_of(data["learning"]), holdout=arm_of(data["holdout"]))


def read_guard(raw: bytes | None) -> GuardStats:
    """The totals as the recovered table holds them; unreadable ones start over (logged).

    The totals are a monitor, never a reason to stop learning.
    """
    if raw is None:
        return GuardStats()
    try:
        return load_guard(raw)
    except Exception as exc:
        log.error("unreadable guard totals start over: %s", _kind(exc))
        return GuardStats()


def dump_guard(stats: GuardStats) -> bytes:
    return orjson.dumps(stats)


def show_guard(stats: GuardStats, verdict: Verdict) -> None:
    """Set the per-arm gauges from the totals, and the verdict's."""
    for name in ("learning", "holdout"):
        totals = stats.learning if name == "learning" else stats.holdout
        metrics.ARM_LEADS.labels(name).set(totals.leads)
        metrics.ARM_CONVERSIONS.labels(name).set(totals.conversions)
        metrics.ARM_RETURN.labels(name).set(totals.return_sum)
    metrics.GUARD_Z.set(verdict.z)
    metrics.GUARD_EVIDENCE.set(verdict.evidence)
    metrics.GUARD_LEARNING_BELOW.set(int(verdict.below))


@dataclass(frozen=True, slots=True)
class Written:
    """A key's value as the batch left it, and the batch's last record that wrote it
    (the store's write is made in that record's context)."""

    value: bytes
    record: Any


@dataclass
class LearnerBatch:
    """Transitions learned in memory, and what they send and write once they all are.

    `table` is the working table after the batch's transitions (None: none learned
    yet, the agent's serves); `learned` each entry the batch learned, at its newest,
    which the batch's next transition of that key reads instead of the table, and
    `entries` its table value; `totals` the guard's totals with every transition
    counted so far (None: none counted yet), and `counted` the last record that
    counted one. A key learned twice is written once, with its last value, and so
    are the totals.
    """

    events: list[Any] = field(default_factory=list)
    table: QTable | None = None
    learned: dict[str, Learned] = field(default_factory=dict)
    entries: dict[str, Written] = field(default_factory=dict)
    totals: GuardStats | None = None
    counted: Any = None
    verdict: Verdict | None = None
    updates: list[tuple[bytes, bytes]] = field(default_factory=list)
    """Every q-update, keyed `state|action`, in log order (a redelivery's too)."""
    td_errors: list[float] = field(default_factory=list)
    dead: list[tuple[Any, InvalidEvent]] = field(default_factory=list)


def register(
    app: faust.App, settings: Settings, topics: Topics, learned: Any, params: LearnerParams
) -> None:
    working: QTable | None = None
    guard: GuardStats | None = None
    guarding = guard_params(settings)
    bounds = EventTimeBounds.of(settings)
    dead_letters = via_topic(topics.dead_letters)

    def working_table() -> QTable:
        """Priors plus every learned entry, built once from the recovered table.

        An entry that does not read is left out (its priors serve, logged by key);
        a transition for it is then a dead letter (`unreadable_state`), not a stop.
        """
        entries = {}
        for key, raw in learned.items():
            if key == GUARD_KEY:
                continue
            try:
                state, action = key.rsplit("|", 1)
                entries[(state, Action(action))] = load_learned(raw)
            except Exception as exc:  # one unreadable entry stops nothing
                log.error("unreadable q-learner entry %s left out: %s", escaped(key), _kind(exc))
        return overlay(seeded_priors(), entries)

    def guard_totals() -> GuardStats:
        nonlocal guard
        if guard is None:
            guard = read_guard(learned.get(GUARD_KEY))
        return guard

    def stored_entry(batch: LearnerBatch, key: str) -> Learned | None:
        """The entry as the batch left it, else as the table holds it."""
        if key in batch.learned:
            return batch.learned[key]
        raw = learned.get(key)
        try:
            return load_learned(raw) if raw else None
        except Exception as exc:
            raise poison(exc, f"stored entry {escaped(key)}", "unreadable_state") from None

    def apply(batch: LearnerBatch, record: Any) -> None:
        """Decode and learn one transition onto the batch; deterministic, so what raises
        is poison, and leaves the batch as it found it."""
        nonlocal working
        message = record.message
        transition = decode_transition(
            message.key, message.value, now=datetime.now(UTC), bounds=bounds
        )
        key = entry_key(transition.state_before, transition.action)
        stored = stored_entry(batch, key)
        # The log has one partition: its offsets order every update.
        step = step_of(transition, q_version=message.offset + 1)
        if batch.table is None:
            if working is None:
                working = working_table()
            batch.table = working
        table, entry = learn(batch.table, stored, step, params)
        value = None
        if entry is None:
            # Applied before a crash; its q-update may not have been sent.
            if stored is None:
                raise InvalidEvent(
                    "step_error", "the learner skipped a transition it never applied"
                )
            entry = stored
        else:
            value = dump_learned(entry)
        # First application: the transition counts in its arm (a redelivery only re-judges).
        group = arm(transition.lead_id, settings.holdout_share) if value is not None else None
        before = batch.totals if batch.totals is not None else guard_totals()
        totals, verdict, explore = judge(before, transition, group, guarding)
        # Every update carries the verdict; every worker's view decides by the latest.
        # Built (and validated: finite numbers, known state and action) before the write.
        update = encode(q_update(transition.state_before, transition.action, entry, explore))
        # Nothing of the batch changed until here.
        batch.table = table
        if value is not None:
            batch.learned[key] = entry
            batch.entries[key] = Written(value, record)
            batch.totals, batch.counted = totals, record
            batch.td_errors.append(entry.td_error)
        batch.verdict = verdict
        batch.updates.append((key.encode(), update))

    def add(batch: LearnerBatch, record: Any) -> None:
        """Take one record: learned, or noted as a dead letter (sent and acked with the
        batch: an unknown action or a reward of Infinity would stop all learning)."""
        batch.events.append(record)
        try:
            apply(batch, record)
        except InvalidEvent as exc:
            batch.dead.append((record.message, exc))
        except Exception as exc:  # the pure step raising is poison too
            batch.dead.append((record.message, poison(exc, "the Q-learner step", "step_error")))

    async def flush(batch: LearnerBatch) -> None:
        """Send every q-update and changelog record, await every ack once, then store.

        The entries' changelog records, the totals' (once each, their batch's last
        value), the q-updates (in log order) and the dead letters are sent together
        and awaited together, and the table stores the entries and the totals only
        once all are acknowledged (`store_acked`, as the lead agent writes), so a
        broker that does not acknowledge propagates (transient, never a dead letter)
        with nothing stored and the working table as it was: the batch is read
        again. The entry is the transition's dedup marker; the caller acks the
        batch's records only after this returns.
        """
        nonlocal working, guard
        sent: list[Awaitable[Any]] = []
        for update_key, update in batch.updates:
            sent.append(await publish(topics.q_updates, update_key, update))
        for message, error in batch.dead:
            sent.append(
                divert(
                    dead_letters,
                    log,
                    "lead-transitions",
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    error,
                )
            )
        writes = [*batch.entries.items()]
        if batch.totals is not None:
            writes.append((GUARD_KEY, Written(dump_guard(batch.totals), batch.counted)))
        changes: list[Change] = []
        for key, written in writes:
            partition = written.record.message.partition
            changes.append(
                await send_change(learned, written.record, partition, key, written.value)
            )
        if sent:
            await asyncio.gather(*sent)
        await store_acked(changes)
        if batch.table is not None:
            working = batch.table
        if batch.totals is not None:
            guard = batch.totals
        if batch.verdict is not None:
            show_guard(guard_totals(), batch.verdict)
        metrics.Q_UPDATES.inc(len(batch.td_errors))
        for td_error in batch.td_errors:
            metrics.TD_ERROR_ABS.observe(abs(td_error))

    @app.agent(topics.lead_transitions, concurrency=1, name="q-learner")
    async def q_learner(stream: faust.StreamT[bytes]) -> None:
        # Acked by hand once applied and published (see the lead agent for why).
        manual = cast(faust.Stream[bytes], stream).noack()
        more = ready(manual)
        held: Held[LearnerBatch] = Held(
            "q-learner", manual.ack, LearnerBatch(), LearnerBatch, flush, settings.lead_batch_max
        )
        drained_on_rebalance(app, "q-learner", held)
        async for record in manual.events():
            if settings.learning_mode == LearningMode.BATCH:
                await manual.ack(record)
                continue  # batch mode: the log is the product; `stream-app train` learns
            await held.hold(record, more(), add)


def _kind(exc: BaseException) -> str:
    """An exception by its type only: its text may quote the stored values."""
    return type(exc).__name__
