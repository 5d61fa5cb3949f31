"""Every record of the topics a verifier reads, with where it sat, as the broker has them.

`harness.TopicWatcher` keeps values only; the chaos verifier also needs each record's
partition and offset (committed offsets are compared with what was applied) and reads
the tables' changelogs (`<app id>-leads-changelog`), so it keeps whole records here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.kafka.ends import end_offsets


@dataclass(frozen=True, slots=True)
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int = 0

    @property
    def wall(self) -> str:
        """The record's timestamp (the producer's clock) as HH:MM:SS.mmm UTC."""
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]

    @property
    def json(self) -> Any:
        """The value as JSON, or None for a tombstone or a value that is not JSON."""
        if self.value is None:
            return None
        try:
            return orjson.loads(self.value)
        except orjson.JSONDecodeError:
            return None

    @property
    def text_key(self) -> str | None:
        return self.key.decode("utf-8", "replace") if self.key is not None else None


class TopicLog:
    """Consumes `topics` from the beginning (no group) and keeps every record.

    `on_record` callbacks see each record once, in partition order, as it arrives;
    `wait` awaits a condition over what was read, with a deadline.
    """

    def __init__(self, bootstrap: str, topics: Iterable[str]) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self.records: dict[str, list[Rec]] = defaultdict(list)
        self.positions: dict[tuple[str, int], int] = {}
        self.on_record: list[Callable[[Rec], None]] = []
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=1000,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        await self._assign()
        self._task = asyncio.create_task(self._run())

    async def _assign(self) -> None:
        """Assign every partition of every topic explicitly, so none is missed."""
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            await self._consumer.topics()
            found = {t: self._consumer.partitions_for_topic(t) for t in self.topics}
            if all(found.values()):
                break
            if asyncio.get_running_loop().time() > deadline:
                missing = [t for t, parts in found.items() if not parts]
                raise AssertionError(f"topics never appeared: {missing}")
            await asyncio.sleep(0.2)
        assigned = [TopicPartition(t, p) for t, parts in found.items() for p in sorted(parts or ())]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            for tp, batch in batches.items():
                for r in batch:
                    rec = Rec(tp.topic, tp.partition, r.offset, r.key, r.value, r.timestamp)
                    self.records[tp.topic].append(rec)
                    self.positions[(tp.topic, tp.partition)] = r.offset + 1
                    for callback in self.on_record:
                        callback(rec)
            if batches:
                async with self._changed:
                    self._changed.notify_all()

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        """The log end offset of every partition read, now.

        `kafka.ends.end_offsets`, not ListOffsets alone: the embedded broker's
        ListOffsets(latest) stays short of the log end after multi-record batches
        (measured: 800 records from 40 concurrent senders left 6 of 8 partitions' end
        offsets 1-7 short, for good, while Fetch delivered every record and reported
        the right high watermark).
        """
        ends = await end_offsets(self._consumer, self._consumer.assignment())
        return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}

    async def wait(self, what: str, check: Callable[[], bool], timeout_s: float) -> None:
        """Await `check()` over the records read so far; fail naming `what`."""

        async def _until() -> None:
            async with self._changed:
                await self._changed.wait_for(check)

        try:
            await asyncio.wait_for(_until(), timeout_s)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}") from None

    async def caught_up(self, timeout_s: float = 30.0) -> None:
        """Await having read every partition up to the end offsets it has now."""
        ends = await self.end_offsets()

        def done() -> bool:
            return all(self.positions.get(tp, 0) >= end for tp, end in ends.items() if end > 0)

        if not done():
            await self.wait("the log reader to reach the end offsets", done, timeout_s)
