"""Versioned Q-table snapshots: train a candidate in batch, keep it, promote or roll back.

Files live under `STREAM_APP_DATA_DIR/snapshots/`: `q-<version>.json` per snapshot
(version, created_at, parent_version, entries, and how it was made) and
`checkpoint.json` with the next `lead-transitions` offset to train from. Snapshots
are never deleted, so any of them can be promoted again.

Promotion needs no restart: every worker's Q snapshot follows the compacted
`q-updates` topic (`stream_app.worker.qtable_view`), so publishing every entry of a snapshot
there, under a `q_version` above any seen so far, switches each worker to it within
one poll. A promoted table is the whole table: entries the active table has but
the snapshot lacks are reset to their seeded prior (or zero), so a rollback leaves
nothing learned later behind.

A promotion may serve the table for exploitation (`TrainOptions`): `trust_visits`
puts every entry with fewer real visits back at its seeded prior
(`domain.training.trusted`), and `exploit` publishes it with exploration off, so
every worker decides greedily over it (the `explore` flag of each q-update, which
in batch mode no learner overwrites). `simulate --report` judges its `frozen`
table promoted this way (`sim.report.PROMOTION`).

Order of a training run, and what a crash at each point leaves:
1. read q-updates (active table, highest q_version) and lead-transitions from the
   checkpoint to its end;
2. train and validate (`stream_app.domain.training`); a rejected candidate changes
   nothing and the next run reads the same transitions again;
3. write the snapshot file, then the checkpoint; then publish. A crash before the
   publish leaves a kept snapshot that `stream-app train --rollback VERSION`
   promotes (it republishes any kept snapshot under a new version).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.learner import LearnerParams
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.domain.training import Validation, steps_of, train, trusted, validate
from stream_app.kafka.clients import start_producer
from stream_app.offline.export import read_to_end
from stream_app.wire.codec import encode
from stream_app.wire.models import QUpdate, entry_key


class _File(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SnapshotEntry(_File):
    state: str
    action: Action
    q: float
    visits: int


class TrainedOn(_File):
    """Where a trained snapshot came from, so a run can be explained and repeated."""

    from_offset: int
    next_offset: int
    transitions: int
    epochs: int
    seed: int
    alpha: float
    gamma: float
    mean_abs_td_errors: tuple[float, ...]
    trust_visits: int = 0
    exploit: bool = False


class Snapshot(_File):
    version: int
    created_at: datetime
    parent_version: int
    entries: tuple[SnapshotEntry, ...]
    trained_on: TrainedOn | None = None
    rollback_of: int | None = None

    def table(self) -> QTable:
        return QTable.from_entries(
            ((e.state, e.action), QEntry(e.q, e.visits)) for e in self.entries
        )


def entries_of(table: QTable) -> tuple[SnapshotEntry, ...]:
    """Every entry, sorted, so the same table always writes the same file."""
    return tuple(
        SnapshotEntry(state=s, action=a, q=e.q, visits=e.visits)
        for (s, a), e in sorted(table.items(), key=lambda kv: (kv[0][0], kv[0][1].value))
    )


class _Checkpoint(_File):
    next_offset: int


class SnapshotStore:
    """The snapshot files and the training checkpoint under one directory."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "snapshots"

    def path(self, version: int) -> Path:
        return self.root / f"q-{version}.json"

    def versions(self) -> list[int]:
        if not self.root.is_dir():
            return []
        return sorted(
            int(p.stem.removeprefix("q-"))
            for p in self.root.glob("q-*.json")
            if p.stem[2:].isdigit()
        )

    def load(self, version: int) -> Snapshot:
        path = self.path(version)
        if not path.exists():
            kept = ", ".join(map(str, self.versions())) or "none"
            raise LookupError(f"no snapshot {version} in {self.root} (kept: {kept})")
        return Snapshot.model_validate_json(path.read_bytes())

    def save(self, snapshot: Snapshot) -> Path:
        path = self.path(snapshot.version)
        _write_atomically(path, snapshot.model_dump_json(indent=1).encode())
        return path

    def checkpoint(self) -> int:
        """The next lead-transitions offset to train from (0 before the first run)."""
        path = self.root / "checkpoint.json"
        if not path.exists():
            return 0
        return _Checkpoint.model_validate_json(path.read_bytes()).next_offset

    def save_checkpoint(self, next_offset: int) -> None:
        checkpoint = _Checkpoint(next_offset=next_offset)
        _write_atomically(self.root / "checkpoint.json", checkpoint.model_dump_json().encode())


def _write_atomically(path: Path, data: bytes) -> None:
    """Write-then-rename: a crash leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# --- the active table, from q-updates ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Active:
    """What the workers serve now: priors overlaid with every q-update, last one wins."""

    table: QTable
    q_version: int


def active_from(updates: Iterable[QUpdate]) -> Active:
    table, version = seeded_priors(), 0
    for u in updates:
        table = table.with_entry(u.state, Action(u.action), QEntry(u.q_after, u.visits))
        version = max(version, u.q_version)
    return Active(table, version)


async def read_active(settings: Settings) -> Active:
    records = await read_to_end(settings, ["q-updates"])
    return active_from(QUpdate.model_validate_json(r.value) for r in records if r.value)


# --- training and promotion -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrainReport:
    from_offset: int
    next_offset: int
    transitions: int
    unreadable: int
    epochs: int
    mean_abs_td_errors: tuple[float, ...]
    validation: Validation | None
    """None when there was nothing to train on."""
    promoted: Snapshot | None


@dataclass(frozen=True, slots=True)
class TrainOptions:
    """`epochs` 0 promotes the active table without replay (an online fleet's, which
    learned every transition already); `trust_visits` and `exploit`: module docstring."""

    epochs: int = 10
    seed: int = 1
    max_drift: float = 2.0
    trust_visits: int = 0
    exploit: bool = False


async def train_and_promote(
    settings: Settings,
    store: SnapshotStore,
    options: TrainOptions,
    params: LearnerParams,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainReport:
    """One batch-training run: read, train, validate, keep, promote (module docstring)."""
    active = await read_active(settings)
    start = store.checkpoint()
    records = await read_to_end(settings, ["lead-transitions"], {("lead-transitions", 0): start})
    transitions: list[LeadTransition] = []
    for record in records:
        try:
            transitions.append(LeadTransition.model_validate_json(record.value or b""))
        except ValidationError:
            continue  # the online learner skips it too; counted in the report
    next_offset = records[-1].offset + 1 if records else start
    steps = steps_of(transitions)
    if not steps:
        return TrainReport(
            start, next_offset, 0, len(records) - len(transitions), 0, (), None, None
        )
    trained = train(
        active.table, steps, options.epochs, random.Random(options.seed), params, on_epoch
    )
    candidate = trusted(trained.table, options.trust_visits)
    validation = validate(candidate, active.table, options.max_drift)
    promoted = None
    if validation.ok:
        snapshot = Snapshot(
            version=_next_version(store, active),
            created_at=datetime.now(UTC),
            parent_version=active.q_version,
            entries=entries_of(candidate),
            trained_on=TrainedOn(
                from_offset=start,
                next_offset=next_offset,
                transitions=len(steps),
                epochs=options.epochs,
                seed=options.seed,
                alpha=params.alpha,
                gamma=params.gamma,
                mean_abs_td_errors=trained.mean_abs_td_errors,
                trust_visits=options.trust_visits,
                exploit=options.exploit,
            ),
        )
        store.save(snapshot)
        store.save_checkpoint(next_offset)
        await publish(settings, snapshot, active, explore=not options.exploit)
        promoted = snapshot
    return TrainReport(
        start,
        next_offset,
        len(steps),
        len(records) - len(transitions),
        options.epochs,
        trained.mean_abs_td_errors,
        validation,
        promoted,
    )


async def rollback(settings: Settings, store: SnapshotStore, version: int) -> Snapshot:
    """Promote kept snapshot `version` again, as a new snapshot with a higher version."""
    old = store.load(version)
    active = await read_active(settings)
    table = _whole(old.table(), active.table)
    snapshot = Snapshot(
        version=_next_version(store, active),
        created_at=datetime.now(UTC),
        parent_version=active.q_version,
        entries=entries_of(table),
        rollback_of=version,
    )
    store.save(snapshot)
    await publish(settings, snapshot, active)
    return snapshot


def _whole(table: QTable, active: QTable) -> QTable:
    """`table` plus a reset (prior, else zero) for every pair only the active table has."""
    priors = seeded_priors()
    for state, action in active:
        if (state, action) not in table:
            table = table.with_entry(state, action, priors.entry(state, action))
    return table


def _next_version(store: SnapshotStore, active: Active) -> int:
    """Above every q_version workers have seen and every snapshot kept."""
    return max([active.q_version, *store.versions()]) + 1


async def publish(
    settings: Settings, snapshot: Snapshot, active: Active, explore: bool = True
) -> None:
    """Every entry to q-updates under the snapshot's version; waits for every ack.

    A promotion is not a TD step, so `td_error` is 0 and `transition_id` names the
    snapshot (`snapshot:<version>`). `explore` False serves it greedily on every worker.
    """
    producer = await start_producer(settings, linger_ms=5)
    try:
        topic = settings.topic("q-updates")
        sent = []
        for e in snapshot.entries:
            update = QUpdate(
                state=e.state,
                action=e.action.value,
                q_before=active.table.entry(e.state, e.action).q,
                q_after=e.q,
                visits=e.visits,
                td_error=0.0,
                transition_id=f"snapshot:{snapshot.version}",
                q_version=snapshot.version,
                explore=explore,
            )
            key = entry_key(e.state, e.action).encode()
            sent.append(await producer.send(topic, encode(update), key=key))
        await asyncio.gather(*sent)  # raises if any entry was not acknowledged
    finally:
        await producer.stop()


__all__ = [
    "Active",
    "Snapshot",
    "SnapshotEntry",
    "SnapshotStore",
    "TrainOptions",
    "TrainReport",
    "TrainedOn",
    "active_from",
    "entries_of",
    "publish",
    "read_active",
    "rollback",
    "train_and_promote",
]
