"""Changelogged state: one value per lead, one per learned Q-table entry.

Also the lead agent's write-through cache of decoded states (`LeadCache`), and its
writes: sent to the changelog in the partition of the record they belong to, and
stored once acknowledged (`send_change`, `store_acked`).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any

import faust
from faust.streams import _current_event

from stream_app.config.settings import Settings
from stream_app.domain.lead import LeadState
from stream_app.domain.lead.state import IndexedLead, read_indexed, read_state
from stream_app.worker.topics import publish

log = logging.getLogger(__name__)


def lead_table(app: faust.App, settings: Settings) -> Any:
    """lead_id -> LeadState JSON; co-partitioned with every lead-keyed topic."""
    return app.Table(
        "leads", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_table(app: faust.App, settings: Settings) -> Any:
    """ "voice-calendar:p<N>" -> that partition's voice calendar; written only from partition N."""
    return app.Table(
        "budgets", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_key(partition: int) -> str:
    """The budgets-table key of a partition's voice calendar (written only from it).

    A new key, not the old `voice:p<N>`: records under the old key hold the old
    single-hour budget (`{hour_start, used}`), which must never be read as a
    calendar. The old key is no longer read (its records stay in the changelog,
    harmless); a partition's calendar starts empty on the first deploy.
    """
    return f"voice-calendar:p{partition}"


def learner_table(app: faust.App) -> Any:
    """ "state|action" -> learned entry JSON; one partition, like lead-transitions."""
    return app.Table("q-learner", default=None, partitions=1, key_type=str, value_type=bytes)


def load_lead(leads: Any, lead_id: str) -> LeadState | None:
    """The stored state of a lead this worker owns, or None for a lead never seen.

    Read with `read_state`: migrated from an older release's version, and readable
    when a newer release wrote it (its unknown fields ignored, which is noted once
    per version and process: during a rolling update or after a rollback).
    """
    raw = leads.get(lead_id)
    return read_lead(raw) if raw else None


def read_lead(raw: bytes) -> LeadState:
    """A `leads` table value as a state; what `load_lead` and the sweep's re-index read."""
    return read_state(raw, on_newer=_note_newer)


def read_indexed_lead(raw: bytes) -> IndexedLead | LeadState:
    """What the sweep's re-index reads of a `leads` table value: the lean view of a
    state this code's version wrote (`read_indexed`), else the whole state as
    `read_lead` reads it (an older release's migrated, a newer one's noted)."""
    indexed = read_indexed(raw)
    return read_lead(raw) if indexed is None else indexed


_newer_seen: set[int] = set()


def _note_newer(version: int) -> None:
    """Log, once per version, that a newer release's states are read (no lead, no values)."""
    if version not in _newer_seen:
        _newer_seen.add(version)
        log.warning(
            "reading lead states of schema version %d with version %d: fields this "
            "release does not know are ignored and dropped when the lead is written",
            version,
            LeadState.SCHEMA_VERSION,
        )


class LeadCache:
    """Decoded lead states, written through: what the table holds, without parsing it.

    A state enters only once it was written to the table (or read from it), so the
    cache never holds what the table does not. Bounded: the least recently used
    lead goes first. Entries are filed under the lead's partition, and a revoked
    partition's entries are dropped: another worker may write those leads before
    the partition comes back here. `size` 0 keeps nothing.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._states: OrderedDict[str, tuple[int, LeadState]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.epoch = 0
        """Counts revokes: a batch begun in an older epoch may have applied records of
        a partition revoked since, so what it wrote must not enter the cache."""

    def __len__(self) -> int:
        return len(self._states)

    def get(self, lead_id: str) -> LeadState | None:
        found = self._states.get(lead_id)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._states.move_to_end(lead_id)
        return found[1]

    def put(self, lead_id: str, partition: int, state: LeadState) -> None:
        if self.size <= 0:
            return
        self._states[lead_id] = (partition, state)
        self._states.move_to_end(lead_id)
        while len(self._states) > self.size:
            self._states.popitem(last=False)

    def drop(self, lead_id: str) -> None:
        self._states.pop(lead_id, None)

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        self.epoch += 1
        gone = set(partitions)
        for lead_id in [k for k, (p, _) in self._states.items() if p in gone]:
            del self._states[lead_id]

    def clear(self) -> None:
        self.epoch += 1
        self._states.clear()


@dataclass(frozen=True)
class Change:
    """A table write whose changelog record is sent; the store takes it after the ack."""

    table: Any
    event: Any
    key: str
    value: bytes | None
    acked: Awaitable[Any]


async def send_change(
    table: Any, event: Any, partition: int, key: str, value: bytes | None
) -> Change:
    """Send the changelog record of `table[key] = value` (None: a tombstone) in
    `partition`, that of `event`, the record the write belongs to; nothing is stored yet.

    Faust's own `table[key] = value` stores at once and hands the changelog record
    to its producer buffer, and its commit flushes that buffer with a timeout that
    can return while records are still pending, so an input's offset could be
    committed before its state reached the changelog. Past 100 buffered records it
    also stops every stream until the buffer drains ("producer buffer full": 33
    times in a 90 s bench). Sent as an output is, and awaited (`store_acked`) before
    the batch is acked, the write is on the changelog before its input's offset can
    be committed. The partition is the event's: Faust takes a write's changelog
    partition, and a RocksDB store its partition database, from the event being
    processed, and a batched agent writes after its batch: `store_acked` makes
    `event` the current one for the store's write. The key is raw UTF-8, as
    `RawKeyTable` writes it; values are the table's bytes.
    """
    acked = await publish(table.changelog_topic, key.encode(), value, partition)
    return Change(table, event, key, value, acked)


async def store_acked(changes: list[Change]) -> None:
    """Await every change's changelog ack, then store each one, in order.

    Stored only once acknowledged: a failed send propagates before any store
    changed, so the batch is read again from what the table held. A RocksDB
    store then records the changelog offset it holds data up to (what Faust's
    own send callback does), after the value, so a restart never skips a
    record the store does not have.
    """
    acks = await asyncio.gather(*(change.acked for change in changes))
    for change, metadata in zip(changes, acks, strict=True):
        data = change.table.data
        token = _current_event.set(weakref.ref(change.event))
        try:
            if change.value is None:
                del data[change.key]
            else:
                data[change.key] = change.value
        finally:
            _current_event.reset(token)
        data.set_persisted_offset(metadata.topic_partition, metadata.offset)
