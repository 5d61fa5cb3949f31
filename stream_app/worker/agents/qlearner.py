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
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
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
    return orjson.dumps(dataclasses.asdict(stats))


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
class Applied:
    """One transition learned in memory: the new table, and what to write and send."""

    table: QTable
    key: str
    stored: bytes | None
    """The entry's new table value; None when the transition was applied before."""
    entry: Learned
    update: bytes
    guard: GuardStats | None
    """The guard's totals with this transition; None when it was applied before."""
    verdict: Verdict


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

    def apply(table: QTable, message: Any) -> Applied:
        """Decode and learn one transition; deterministic, so what raises is poison."""
        transition = decode_transition(
            message.key, message.value, now=datetime.now(UTC), bounds=bounds
        )
        key = entry_key(transition.state_before, transition.action)
        raw = learned.get(key)
        try:
            stored = load_learned(raw) if raw else None
        except Exception as exc:
            raise poison(exc, f"stored entry {escaped(key)}", "unreadable_state") from None
        # The log has one partition: its offsets order every update.
        step = step_of(transition, q_version=message.offset + 1)
        table, entry = learn(table, stored, step, params)
        value = None
        if entry is None:
            # Applied before a crash; its q-update may not have been sent.
            if stored is None:
                raise InvalidEvent(
                    "step_error", "the learner skipped a transition it never applied"
                )
            entry = stored
        else:
            value = orjson.dumps(dataclasses.asdict(entry))
        # First application: the transition counts in its arm (a redelivery only re-judges).
        group = arm(transition.lead_id, settings.holdout_share) if value is not None else None
        totals, verdict, explore = judge(guard_totals(), transition, group, guarding)
        counted = totals if value is not None else None
        # Every update carries the verdict; every worker's view decides by the latest.
        # Built (and validated: finite numbers, known state and action) before the write.
        update = encode(q_update(transition.state_before, transition.action, entry, explore))
        return Applied(table, key, value, entry, update, counted, verdict)

    def guard_totals() -> GuardStats:
        nonlocal guard
        if guard is None:
            guard = read_guard(learned.get(GUARD_KEY))
        return guard

    async def written(applied: Applied, record: Any) -> None:
        """Publish the q-update, and write a first-time entry and its totals; all acked.

        The entry's changelog record, the totals' and the q-update are sent together
        and awaited together, and the table stores the entry and the totals once the
        changelog has them (`store_acked`, as the lead agent writes), so the
        transition is acked only once all three are on the broker. The entry is the
        transition's dedup marker: should the q-update fail after the entry is
        stored, the redelivery finds the entry applied and republishes it.
        """
        nonlocal guard
        partition = record.message.partition
        changes: list[Change] = []
        if applied.stored is not None:
            changes.append(
                await send_change(learned, record, partition, applied.key, applied.stored)
            )
        if applied.guard is not None:
            totals = dump_guard(applied.guard)
            changes.append(await send_change(learned, record, partition, GUARD_KEY, totals))
        update = await publish(topics.q_updates, applied.key.encode(), applied.update)
        await store_acked(changes)
        await update
        if applied.guard is not None:
            guard = applied.guard
        show_guard(guard_totals(), applied.verdict)

    @app.agent(topics.lead_transitions, concurrency=1, name="q-learner")
    async def q_learner(stream: faust.StreamT[bytes]) -> None:
        nonlocal working
        # Acked by hand once applied and published (see the lead agent for why).
        manual = cast(faust.Stream[bytes], stream).noack()
        async for record in manual.events():
            if settings.learning_mode == LearningMode.BATCH:
                await manual.ack(record)
                continue  # batch mode: the log is the product; `stream-app train` learns
            started = time.perf_counter()
            message = record.message
            if working is None:
                working = working_table()
            error: InvalidEvent | None = None
            try:
                applied = apply(working, message)
            except InvalidEvent as exc:
                error = exc
            except Exception as exc:  # the pure step raising is poison too
                error = poison(exc, "the Q-learner step", "step_error")
            if error is not None:
                # An unknown action or a reward of Infinity would stop all learning:
                # dead-lettered and acked. A dead letter the broker does not
                # acknowledge raises (transient): the transition is read again.
                await divert(
                    dead_letters,
                    log,
                    "lead-transitions",
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    error,
                )
                await manual.ack(record)
                continue
            working = applied.table
            # Transient, not poison: a send that fails propagates (never a dead letter);
            # the transition stays unacked, and its redelivery republishes the entry.
            await written(applied, record)
            if applied.stored is not None:
                metrics.Q_UPDATES.inc()
                metrics.TD_ERROR_ABS.observe(abs(applied.entry.td_error))
            await manual.ack(record)
            metrics.PROCESSING_SECONDS.labels("q-learner").observe(time.perf_counter() - started)


def _kind(exc: BaseException) -> str:
    """An exception by its type only: its text may quote the stored values."""
    return type(exc).__name__
