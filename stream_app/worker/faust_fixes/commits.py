"""Commits that follow acknowledged records across offset gaps, and the stall healer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from aiokafka import TopicPartition
from aiokafka.consumer.fetcher import FetchResult
from aiokafka.consumer.group_coordinator import GroupCoordinator
from aiokafka.errors import ConsumerStoppedError
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP

from stream_app.kafka.ends import end_offsets


def next_commit(
    committed: int,
    acked: Container[int],
    after: Mapping[int, int],
    holes: Mapping[int, int],
) -> int:
    """The offset to commit: from `committed`, past every acknowledged record and hole.

    Offsets have gaps: transaction markers and aborted batches of an exactly-once
    producer, records compacted away, records deleted below a lagging group's offset.
    So the walk follows what the fetch returned, not `offset + 1`: `after[o]` is the
    offset fetched next after record `o` (the next record, or where that fetch ended),
    and `holes[s]` the first offset a fetch that began at `s` found when nothing is at
    `s` itself. It stops at the first record not acknowledged: the head the commit
    waits for. An acknowledged record no fetch described falls back to `offset + 1`,
    which never skips an offset that may exist; at worst the commit waits there.
    """
    offset = committed
    while True:
        if offset in holes:
            following = holes[offset]
        elif offset in acked:
            following = after.get(offset, offset + 1)
        else:
            return offset
        if following <= offset:  # inconsistent bookkeeping: stop rather than loop
            return offset
        offset = following


@dataclass
class FetchedOffsets:
    """What fetches showed of one partition's log from its committed offset on.

    Facts about the log, not about a position: offsets never come back, so a seek
    back (the stall healer, a restart) leaves them true.
    """

    after: dict[int, int] = field(default_factory=dict)
    holes: dict[int, int] = field(default_factory=dict)

    def record(self, start: int, offsets: Sequence[int], end: int) -> None:
        """A fetch read the log from `start` to `end` and found exactly `offsets`."""
        points = [*offsets, end]
        if end <= start or (offsets and offsets[0] < start):
            return  # not one ordered span (never seen): learn nothing, fall back to +1
        if any(b <= a for a, b in pairwise(points)):
            return
        first = offsets[0] if offsets else end
        if first > start:
            self.holes[start] = first
        for offset, following in pairwise(points):
            self.after[offset] = following

    def forget_below(self, offset: int) -> None:
        for known in (self.after, self.holes):
            for key in [k for k in known if k < offset]:
                del known[key]


class FetchedRecords(dict[TP, list[Any]]):
    """One fetch's records, with where each partition's read began and ended."""

    def __init__(
        self, records: Mapping[TP, list[Any]], spans: Mapping[TP, tuple[int, int]]
    ) -> None:
        super().__init__(records)
        self.spans = dict(spans)


class StayingCoordinator(GroupCoordinator):  # type: ignore[misc]  # aiokafka is untyped
    """aiokafka's group coordinator, closing without a LeaveGroup.

    Tansu 0.6.0 (the embedded broker) removes a member that leaves while its group is
    forming but keeps it as the group's leader; every other member then waits for a
    SyncGroup from a leader that is gone, and rejoins the same generation forever
    (chaos suite: two workers stopped six seconds apart and restarted, both "joined"
    generation 8 every 8 s for 150 s). Upstream's own "missed heartbeat" path clears
    the leadership of a member that stopped talking, so a member that just stops is
    dropped, and the group re-forms, one session timeout later.
    """

    async def _maybe_leave_group(self) -> None:
        self.reset_generation()


class SpanReportingConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread, saying where each partition's read began and ended.

    aiokafka moves a partition's fetch position past what it skips (control batches,
    aborted batches, the offsets a compacted batch no longer holds) but returns only
    records; the gaps are visible in the positions alone. Each round below notes the
    offset every buffered fetch result will resume from, drains them without waiting
    (`fetched_records(timeout=0)`, synchronous: no new result comes in between), and
    reports `(began, ended)` for every result that moved, so `ContiguousCommitConsumer`
    knows that nothing but the returned records exists in between. Both numbers are
    the result's own (`PartitionRecords.next_fetch_offset`), not the partition's
    position, so a seek from Faust's main thread meanwhile cannot make them wrong; a
    result not noted before it was drained reports nothing, and its records fall back
    to `offset + 1`. The wait for more data is upstream's: a fetch waiter, up to
    `timeout`.
    """

    async def on_start(self) -> None:
        await super().on_start()
        consumer = self._consumer
        coordinator = consumer._coordinator if consumer is not None else None
        leaves = getattr(self.app, "leaves_group_on_stop", True)
        if type(coordinator) is GroupCoordinator and not leaves:
            # aiokafka builds its coordinator inside `start()`, with no way to pass a class.
            coordinator.__class__ = StayingCoordinator

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        """The end of each partition's log, right after multi-record batches too.

        Faust's recovery reads each changelog partition up to this end. Upstream asks
        ListOffsets alone, which the embedded broker answers short after a batch of
        several records: a restarted worker stopped recovering early (a lead's state
        went back, a Q entry lost a visit) or failed its consistency check, a RocksDB
        store's offset being "past" that end. In a transaction the last stable
        offset stays upstream's answer.
        """
        if self.consumer.in_transaction:
            return await super()._highwaters(partitions)
        wanted = [TopicPartition(tp.topic, tp.partition) for tp in partitions]
        ends = await end_offsets(self._ensure_consumer(), wanted)
        return {TP(tp.topic, tp.partition): end for tp, end in ends.items()}

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        if not self.consumer.flow_active:
            return {}
        fetcher = consumer._fetcher
        if consumer._closed or fetcher._closed:
            raise ConsumerStoppedError()
        subscriptions = fetcher._subscriptions
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or 0.0)
        with subscriptions.fetch_context():
            while True:
                if subscriptions.reassignment_in_progress:
                    await subscriptions.wait_for_assignment()
                unread = {
                    tp: (result._partition_records, result._partition_records.next_fetch_offset)
                    for tp, result in list(fetcher._records.items())
                    if type(result) is FetchResult and result._partition_records is not None
                }
                records = await fetcher.fetched_records(
                    active_partitions, timeout=0, max_records=max_records
                )
                spans = {
                    tp: (began, partition.next_fetch_offset)
                    for tp, (partition, began) in unread.items()
                    if partition.next_fetch_offset != began
                }
                remaining = deadline - loop.time()
                if records or spans or remaining <= 0:
                    return FetchedRecords(records, spans)
                waiter = fetcher._create_fetch_waiter()
                done, _ = await asyncio.wait([waiter], timeout=remaining)
                if not done or fetcher._closed:
                    waiter.cancel()
                    return FetchedRecords({}, {})
                waiter.result()  # raises what the fetch raised (authorization errors)


class ContiguousCommitConsumer(aiokafka_driver.Consumer):
    """Commit only offsets every record below which was acknowledged, across offset gaps.

    Upstream `_new_offset` commits past records the stream never saw in two ways:
    it fills "gaps" between delivered offsets as if acknowledged (meant for compacted
    or transactional topics, but a record dropped during a rebalance or a restart is
    such a gap too), and its head check is off by one and skipped at offset 0. Those
    records were committed unprocessed: a kill test lost up to 39 of 252 inputs on a
    loaded 2-core machine. Faust #596 tracks the same loss upstream.

    Here a missing acknowledgement holds the commit back, and the record is re-read
    after the next seek to the committed offset. Which offsets exist comes from the
    fetch itself (`SpanReportingConsumerThread`, `next_commit`), not from `offset + 1`:
    with that arithmetic the first gap (a transaction marker or aborted batch of an
    exactly-once producer upstream, compaction, retention deleting records below a
    lagging offset) stopped commits for good, and the stall healer re-read the
    partition every 5 s.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fetched: dict[TP, FetchedOffsets] = {}
        self._stalled_since: dict[TP, float] = {}
        # tp -> ((committed offset, last delivered offset), since when unchanged)
        self._idle: dict[TP, tuple[tuple[int | None, int | None], float]] = {}
        # tp -> (first, last) offset of the batch the drain loop is handing to the streams
        self._handing: dict[TP, tuple[int, int]] = {}

    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return SpanReportingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def _offsets(self, tp: TP) -> FetchedOffsets:
        known = self._fetched.get(tp)
        if known is None:
            known = self._fetched[tp] = FetchedOffsets()
        return known

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        """Fetch for a snapshot of the active partitions, never Faust's live set.

        Faust hands its own active-partition set to the consumer thread and pauses
        partitions by removing them from that same set. A pause during a fetch (the
        end of changelog recovery pauses every changelog partition) empties it, and
        aiokafka reads an empty set as "every partition": the call returned stream
        records from partitions still paused for recovery, moving their fetch
        positions past the committed offsets (measured: after most restarts in the
        kill test, e.g. position 122 for committed 93). Records taken that way were
        later missing from the stream.

        Also notes, for partitions whose records are acknowledged, which offsets the
        fetch found between where it began and ended (see `next_commit`).
        """
        snapshot = None if active_partitions is None else set(active_partitions)
        records = await super()._getmany(snapshot, timeout)
        # Faust asks for the next batch only once it handed (or dropped) the last one.
        self._handing = {
            tp: (batch[0].offset, batch[-1].offset) for tp, batch in records.items() if batch
        }
        acks_enabled_for = self.app.topics.acks_enabled_for
        for tp, (began, ended) in getattr(records, "spans", {}).items():
            if acks_enabled_for(tp.topic):  # changelogs are never committed
                offsets = [record.offset for record in records.get(tp, ())]
                self._offsets(tp).record(began, offsets, ended)
                self._acked[tp]  # a key, so the commit visits a partition with holes only
        return records

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Nothing: upstream's gap tree is what `_new_offset` no longer trusts.

        Faust notes every jump between delivered offsets as a gap to commit over,
        including records it dropped itself; `_new_offset` below never reads it,
        so it is not kept (it would only grow).
        """

    async def perform_seek(self) -> None:
        """Seek to committed offsets; a partition never committed starts at its log start.

        Upstream leaves such a partition's committed offset unknown, which turns
        the head check in `_new_offset` off exactly where a fresh group begins. A
        committed offset below the log start (retention deleted records the group
        had not read) is a hole up to it: aiokafka resets the fetch there, and the
        commit follows.
        """
        await super().perform_seek()
        acks_enabled_for = self.app.topics.acks_enabled_for
        assigned = self.assignment()
        fresh = [tp for tp in assigned if self._committed_offset[tp] is None]
        wanted = {*fresh, *(tp for tp in assigned if acks_enabled_for(tp.topic))}
        if not wanted:
            return
        try:
            starts = await self.earliest_offsets(*wanted)
        except Exception as exc:
            if fresh:
                raise
            # Only the log-start check failed: `_reread` makes it again if a stall shows.
            self.log.warning("log start offsets unknown after the seek: %r", exc)
            return
        for tp, start in starts.items():
            committed = self._committed_offset[tp]
            if committed is None:
                self._committed_offset[tp] = start
            elif start > committed and acks_enabled_for(tp.topic):
                self._offsets(tp).holes[committed] = start

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._fetched.pop(tp, None)
            self._stalled_since.pop(tp, None)
            self._idle.pop(tp, None)
            self._handing.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    # How long the next record to commit may stay unacknowledged, and not in flight,
    # while later ones are acknowledged before the partition is re-read.
    heal_after_s: float = 5.0

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked_index[tp]
        committed = self._committed_offset[tp]
        if committed is None:  # never committed, before `perform_seek` (upstream: no check)
            if not acked:
                return None
            committed = min(acked)
        known = self._fetched.get(tp) or FetchedOffsets()
        head = next_commit(committed, acked, known.after, known.holes)
        if head > committed:
            self._stalled_since.pop(tp, None)
            self._forget_below(tp, head)
            return head
        if any(offset > head for offset in acked):
            self._heal(tp, head)  # the head record was never acknowledged
        else:
            self._stalled_since.pop(tp, None)
        return None

    def _forget_below(self, tp: TP, offset: int) -> None:
        acked, index = self._acked[tp], self._acked_index[tp]
        acked[:] = [o for o in acked if o >= offset]
        index.difference_update([o for o in index if o < offset])
        known = self._fetched.get(tp)
        if known is not None:
            known.forget_below(offset)

    def _in_flight(self, tp: TP, offset: int) -> bool:
        """The record at `offset` was delivered and is still being processed.

        Faust tracks every record it hands to a stream (`_unacked_messages`) until
        its final ack; a record dropped before delivery was never tracked, and one
        dropped after it is garbage-collected out of that weak set.
        """
        return any(
            m.tp == tp and m.offset == offset and not m.acked for m in list(self._unacked_messages)
        )

    def _held(self, tp: TP) -> int | None:
        """The lowest offset of `tp` that Faust or aiokafka holds for the streams, if any.

        Records wait in three places before a stream takes (and tracks) them: an
        agent's stream buffer (one queue per agent, shared by all its partitions), the
        batch Faust's drain loop is handing over (it blocks on a full stream buffer or
        a full producer buffer), and aiokafka's fetch buffer, which serves one
        partition's fetched records after another's (`Fetcher.fetched_records` takes
        them in the order they were fetched, up to `max_poll_records`). Under a backlog
        a partition's records sat there for far more than `heal_after_s` (measured in
        `stream-app bench`: small partitions with a result in aiokafka's buffer, Faust
        fetching them, nothing delivered for 6-8 s). A held record is on its way, not
        lost; records of a partition Faust does not fetch are not counted, except one
        that flow control held back while its stream buffer drains (Faust resumes it
        then), so a partition left paused with records in aiokafka's buffer still heals.
        """
        offsets: list[int] = []
        queued = False
        conductor: Any = self.app.topics
        for channel in list(conductor._tp_index.get(tp, ())):
            queue = getattr(channel, "_queue", None)
            items = list(queue._queue) if queue is not None else []
            queued = queued or bool(items)
            for item in items:
                message = getattr(item, "message", None)
                if message is not None and message.tp == tp:
                    offsets.append(message.offset)
        buffered = tp in self._buffered_partitions and queued
        if tp in (self._active_partitions or ()) or buffered:
            handing, read = self._handing.get(tp), self._read_offset.get(tp)
            if handing is not None and (read is None or read < handing[1]):
                offsets.append(handing[0] if read is None else max(handing[0], read + 1))
            fetched = self._fetch_buffered(tp)
            if fetched is not None:
                offsets.append(fetched)
        return min(offsets, default=None)

    def _fetch_buffered(self, tp: TP) -> int | None:
        """Where aiokafka's buffered records of `tp` begin: fetched, not yet returned."""
        consumer = getattr(self._thread, "_consumer", None)
        fetcher = getattr(consumer, "_fetcher", None)
        result: Any = fetcher._records.get(tp) if fetcher is not None else None
        if type(result) is not FetchResult or result._partition_records is None:
            return None
        return int(result._partition_records.next_fetch_offset)

    def _heal(self, tp: TP, committed: int) -> None:
        """Re-read a partition whose head record the stream never received.

        Measured: after a restart, records delivered from a position ahead of the
        committed offset made Faust drop the re-read ones below it as already read
        (its `_read_offset` guard), so offsets in between were never processed. A
        seek back to the committed offset delivers them; records already applied
        come again and are ignored by their event ids.

        A head record still in flight is slow, not lost, and is left alone however
        long it takes: an agent with concurrency > 1 (the extractor) acknowledges
        later records around one slow LLM call, and re-reading then sent every later
        request in the partition, and the slow one, to the LLM again every 5 s
        (measured: tests/integration/test_slow_extraction.py). The commit waits for
        it instead; a crash meanwhile re-delivers the later ones (at-least-once).
        So is a head record still held on its way (`_held`): after a re-read, the
        records the stream buffer still held from before it are acknowledged ahead of
        the re-fetched head, which then waited behind them for longer than 5 s.
        """
        stalled = self._stalled_since
        in_flight = self._in_flight(tp, committed)
        held = None if in_flight else self._held(tp)
        if in_flight or (held is not None and held <= committed):
            stalled.pop(tp, None)
            return
        now = time.monotonic()
        since = stalled.setdefault(tp, now)
        if now - since < self.heal_after_s:
            return
        stalled[tp] = now
        reason = f"stalled at offset {committed} while later ones are acknowledged"
        self.add_future(self._reread(tp, committed, reason))

    async def _reread(self, tp: TP, committed: int, reason: str) -> None:
        """Seek `tp` back to `committed`, unless retention deleted records from there.

        Below the log start there is nothing to re-read: aiokafka already reset the
        fetch to the log start, so the missing offsets are a hole the commit passes.
        """
        try:
            start = (await self.earliest_offsets(tp)).get(tp)
        except Exception as exc:  # re-read anyway: the safe default
            self.log.warning("%s: log start unknown (%r); re-reading", tp, exc)
            start = None
        if start is not None and start > committed:
            self.log.warning(
                "%s %s: records %d..%d were deleted (log start %d); committing past them",
                tp,
                reason,
                committed,
                start - 1,
                start,
            )
            self._offsets(tp).holes[committed] = start
            return
        self.log.warning("%s %s; re-reading from %d", tp, reason, committed)
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        # In the consumer's thread: `seek` from this one deletes aiokafka's buffered
        # result while that thread iterates them (KeyError in `fetched_records`, and
        # the worker exited: measured once in a bench run with 455 re-reads).
        await self.seek_wait({tp: committed})

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's livelock logging, then re-reading a partition that stopped delivering.

        A safety net behind `_getmany`: before that fix, in 2 of 17 kill-test runs
        on a loaded 2-core machine, the worker started after a graceful stop never
        delivered another record from partitions with records past their committed
        offset; with nothing acknowledged, the head check in `_new_offset` could not
        notice. Faust calls this every 2.5 commit intervals outside rebalances. A
        stream partition with records past its committed offset, nothing in flight
        (no record delivered and unacknowledged, none acknowledged and uncommitted),
        none held on the way (`_held`), and no delivery or commit for `heal_after_s`
        is resumed and re-read from the committed offset. Without the `_held` check a
        backlogged partition was taken for a stalled one: 95 and 126 re-reads in two
        `stream-app bench` runs, every one from a partition whose records waited in
        aiokafka's buffer behind other partitions'; each re-read put its records back
        at the end of that buffer, so small partitions (`extraction-requests`,
        `lead-timers`) were re-read every 6-8 s and delivered nothing for minutes.
        """
        super().verify_event_path(now, tp)
        if tp.topic in self.app.tables.changelog_topics:
            return
        committed, highwater = self._committed_offset.get(tp), self.highwater(tp)
        busy = self._acked[tp] or any(m.tp == tp for m in self._unacked_messages)
        if committed is None or highwater is None or highwater <= committed or busy:
            self._idle.pop(tp, None)
            return
        marker = (committed, self._read_offset.get(tp))
        seen = self._idle.get(tp)
        if seen is None or seen[0] != marker:
            self._idle[tp] = (marker, now)
            return
        if now - seen[1] < self.heal_after_s:
            return
        self._idle[tp] = (marker, now)
        if self._held(tp) is not None:  # backlogged: its records wait in a buffer
            return
        reason = (
            f"delivered nothing for {now - seen[1]:.0f}s with records "
            f"{committed}..{highwater - 1} waiting"
        )
        self.resume_partitions({tp})
        self.add_future(self._reread(tp, committed, reason))
