"""The console's consumer: every topic it shows, into the store, resuming where it left.

It reads as any CRM would, with a plain aiokafka consumer: all partitions of the
topics assigned (no group membership, so no rebalance waits), offsets committed to the
console's own consumer group after each batch is in SQLite. A restart resumes at the
later of the group's commit and the store's own position (written in the batch's
transaction), so a crash between the two commits re-reads nothing; a redelivery that
does happen is ignored by the store (deterministic ids). A store created empty, or
`--rebuild`, reads from the start whatever the group committed.

A record the console cannot read is counted and skipped with one log line naming the
topic, partition, offset and error type: no key, no value, no personal data.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from stream_app.config.settings import Settings
from stream_app.console.projection import CONSOLE_TOPICS, Outcome, Position, Skipped, project
from stream_app.console.store import Store
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import consumer_options

log = logging.getLogger(__name__)

BATCH = 500


def console_group(settings: Settings) -> str:
    """The console's own consumer group: its commits never move the workers'."""
    return f"{settings.app_id}-console"


@dataclass
class FeedStats:
    read: int = 0
    skipped: int = 0
    batches: int = 0
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)


class Feed:
    """Consumes `CONSOLE_TOPICS` into `store` until stopped."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._logical = {settings.topic(name): name for name in CONSOLE_TOPICS}
        self.stats = FeedStats()
        self._consumer: AIOKafkaConsumer | None = None
        self._ends: dict[TopicPartition, int] = {}
        self._next: dict[TopicPartition, int] = {}

    async def start(self, rebuild: bool = False) -> None:
        settings = self._settings
        consumer = AIOKafkaConsumer(
            **consumer_options(settings),
            group_id=console_group(settings),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            metadata_max_age_ms=5_000,
        )
        await consumer.start()
        self._consumer = consumer
        if rebuild:
            self._store.clear()
        await consumer.topics()  # metadata of every topic, so partitions are known
        partitions = [
            TopicPartition(physical, p)
            for physical in self._logical
            for p in sorted(consumer.partitions_for_topic(physical) or ())
        ]
        consumer.assign(partitions)
        known = self._store.positions()
        for tp in partitions:
            logical = self._logical[tp.topic]
            if (logical, tp.partition) not in known:
                # A fresh store (or a partition it never read): from the start, whatever
                # the group committed, or rows before that commit would be missing.
                self._next[tp] = 0
            else:
                committed = await consumer.committed(tp)
                self._next[tp] = max(committed or 0, known[(logical, tp.partition)])
            consumer.seek(tp, self._next[tp])
        self._ends = await end_offsets(consumer, partitions)
        log.info("console feed: %d partitions of %d topics", len(partitions), len(self._logical))

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def poll_once(self, timeout_ms: int = 500) -> int:
        """Read, project and store one batch; commit it to the group. Returns records read."""
        consumer = self._consumer
        assert consumer is not None, "start() first"
        batches = await consumer.getmany(timeout_ms=timeout_ms, max_records=BATCH)
        outcomes: list[Outcome] = []
        reached: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            for record in records:
                outcomes.append(self._project(record))
            if records:
                reached[tp] = self._next[tp] = records[-1].offset + 1
        if outcomes:
            self._store.apply(outcomes)
            await consumer.commit(reached)
            self.stats.batches += 1
        if not self.stats.caught_up.is_set() and all(
            self._next[tp] >= end for tp, end in self._ends.items()
        ):
            self.stats.caught_up.set()
        return len(outcomes)

    def _project(self, record: ConsumerRecord[bytes, bytes]) -> Outcome:
        at = Position(self._logical[record.topic], record.partition, record.offset)
        outcome = project(at, record.key, record.value, self._settings.max_event_bytes)
        self.stats.read += 1
        if isinstance(outcome, Skipped):
            self.stats.skipped += 1
            log.warning(
                "console skipped %s[%d]@%d: %s",
                at.topic,
                at.partition,
                at.offset,
                outcome.error_type,
            )
        return outcome

    async def run(self, stopping: Callable[[], bool] = lambda: False) -> None:
        """Poll until `stopping()`; a broker error is logged and retried, never fatal."""
        while not stopping():
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("console feed: %s; retrying", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def catch_up(self, timeout_s: float) -> None:
        """Read until every partition reached the end it had at start (for `report`)."""
        async with asyncio.timeout(timeout_s):
            while not self.stats.caught_up.is_set():
                await self.poll_once(timeout_ms=200)
