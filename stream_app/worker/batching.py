"""Batches of stream records: what the lead agent and the Q-learner hold between records.

An agent takes every record its stream has ready into one batch, up to a maximum,
and flushes it (every send, one wait for the broker's acks, the store's writes)
when the stream has no next record ready: it never waits for records to arrive,
so a lone record is applied at once and a stop is as prompt as a per-record loop.
One broker round trip then serves the batch instead of each record.

A rebalance clears the agents' queues, then waits for every record taken to be
acked: a batch held at that moment would wait for a next record that never comes,
and the group would never re-form. So the held batch's `drain` is one of
`FixedApp.drains`, run before that wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar, cast

import faust

from stream_app.worker import metrics
from stream_app.worker.faust_fixes import FixedApp


class Batched(Protocol):
    @property
    def events(self) -> list[Any]:
        """The records taken, in order: acked in this order once the batch is flushed."""
        ...


B = TypeVar("B", bound=Batched)


class Held(Generic[B]):
    """The batch an agent holds between records, and the one way it ends.

    Records join it from the agent's loop; it is flushed and its records acked
    when the stream has no next record ready, when it is full, or when a
    rebalance drains it. The lock keeps a drain from flushing while the loop is
    adding to or flushing the same batch. A flush that raises (a send the broker
    did not acknowledge) leaves its records unacked and propagates.
    """

    def __init__(
        self,
        label: str,
        ack: Callable[[Any], Awaitable[Any]],
        batch: B,
        begin: Callable[[], B],
        flush: Callable[[B], Awaitable[None]],
        limit: int,
    ) -> None:
        self.label = label
        """The agent's `stream_app_processing_seconds` label."""
        self.ack = ack
        self.batch = batch
        self.begin = begin
        self.flush = flush
        self.limit = limit
        self.started = 0.0
        self.lock = asyncio.Lock()

    async def hold(self, record: Any, more: bool, add: Callable[[B, Any], None]) -> None:
        """Add one record (`add` puts it into the batch); flush unless `more` (the next
        is ready) and there is room."""
        async with self.lock:
            if not self.batch.events:
                self.started = time.perf_counter()
            add(self.batch, record)
            if more and len(self.batch.events) < self.limit:
                return
            await self._flush()

    async def drain(self) -> None:
        """Flush what is held: the rebalance waits for these records' acks."""
        async with self.lock:
            if self.batch.events:
                await self._flush()

    async def _flush(self) -> None:
        batch = self.batch
        await self.flush(batch)
        for event in batch.events:
            await self.ack(event)
        per_record = (time.perf_counter() - self.started) / len(batch.events)
        for _ in batch.events:
            metrics.PROCESSING_SECONDS.labels(self.label).observe(per_record)
        self.batch = self.begin()


def ready(stream: faust.StreamT[Any]) -> Callable[[], bool]:
    """Whether the stream has its next record ready (a stream without a queue: never)."""
    queue = getattr(stream.channel, "queue", None)
    if queue is None:
        return lambda: False
    return lambda: not queue.empty()


def drained_on_rebalance(app: faust.App, name: str, held: Held[Any]) -> None:
    """Let a rebalance flush the agent's held batch first; a restarted agent replaces its own."""
    cast(FixedApp, app).drains[name] = held.drain
