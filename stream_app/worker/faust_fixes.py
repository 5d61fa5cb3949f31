"""Fixes for faust-streaming 0.15.3 losing or stalling input when a worker with tables restarts.

Upstream `Recovery.on_recovery_completed` resumes the stream partitions *before*
seeking them to the committed offsets. Records fetched in that window are
dropped, and the consumer's gap logic then commits past them: input is lost
(measured: 5–18 of 400 events in 6 of 7 kill/restart runs; docs/runtime-notes.md,
"Fixes to faust-streaming", has every measurement).
Same class as https://github.com/faust-streaming/faust/issues/216 and #217
(fixed upstream only for apps without tables) and #596 (open).

The recovery override below is upstream's method with one change: seek first, then
resume. The others, each with its measurement in its docstring: commit only
contiguous acknowledged offsets, fetch for a snapshot of the active partitions (a
pause mid-fetch made aiokafka fetch every partition), re-read partitions that stall,
raw table keys so web routing finds the owner, and a recovery counter. All are
installed through Faust's own settings (`TableManager`, `Table`, the transport),
not by monkeypatching. Remove each once upstream ships the equivalent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

# The fixes below override private methods of exactly these releases, each one
# measured against them (docs/runtime-notes.md). pyproject.toml pins the same
# versions; moving a pin means re-running the kill tests and updating both.
TESTED_VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def check_versions(installed: Callable[[str], str | None] = _installed) -> None:
    """Refuse to run on a faust-streaming or aiokafka these fixes were not tested with.

    Checked when this module is imported, before it imports Faust's internals, so
    an untested release fails with this message rather than with an import error
    or, worse, with a fix that silently no longer applies (lost or stalled input).
    """
    found_versions = {package: installed(package) for package in TESTED_VERSIONS}
    wrong = {p: v for p, v in found_versions.items() if v != TESTED_VERSIONS[p]}
    if wrong:
        found = ", ".join(f"{p} {v or 'not installed'}" for p, v in wrong.items())
        tested = ", ".join(f"{p}=={v}" for p, v in TESTED_VERSIONS.items())
        raise RuntimeError(
            f"stream_app.worker.faust_fixes is tested with {tested} only, but found {found}: "
            "install the pinned versions (pip install -e .), or re-run the kill tests "
            "against the new release and update TESTED_VERSIONS and the pins in "
            "pyproject.toml together"
        )


check_versions()

import faust  # noqa: E402  (after the version check, on purpose)
from faust.tables.manager import TableManager  # noqa: E402
from faust.tables.recovery import Recovery  # noqa: E402
from faust.transport.drivers import aiokafka as aiokafka_driver  # noqa: E402
from faust.types import TP  # noqa: E402
from faust.types.transports import TransportT  # noqa: E402


class SeekBeforeResumeRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callback_coros = [
            asyncio.ensure_future(
                table.on_recovery_completed(
                    self.actives_for_table[table], self.standbys_for_table[table]
                )
            )
            for table in self.tables.values()
        ]
        if callback_coros:
            await asyncio.wait(callback_coros)
        assignment = consumer.assignment()
        if self.app.consumer_generation_id != generation_id:
            self.log.warning(
                "Recovery rebalancing again app id %s param %s",
                self.app.consumer_generation_id,
                generation_id,
            )
            return
        if assignment:
            self.log.info("Seek stream partitions to committed offsets (before resuming).")
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
            self._warn_unseeked(consumer, assignment)
        consumer.resume_partitions({tp for tp in assignment if not self._is_changelog_tp(tp)})
        self.completed.set()
        self.app.flow_control.resume()
        consumer.resume_flow()
        await cast(Any, self.app)._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")

    def _warn_unseeked(self, consumer: Any, assignment: set[TP]) -> None:
        """Say so when a stream partition's fetch position is not its committed offset.

        That was the cause of the stalls `ContiguousCommitConsumer._getmany` now
        prevents (fetches during recovery moved positions past the seek); this
        warning says so at once if it ever comes back. Diagnostics only.
        """
        try:
            states = consumer._thread._consumer._fetcher._subscriptions.subscription.assignment
        except AttributeError:  # unsubscribed: a new rebalance began, nothing to check
            return
        off = {}
        for tp in assignment:
            committed, state = consumer._committed_offset.get(tp), states.state_value(tp)
            if state is None or not committed or self._is_changelog_tp(tp):
                continue
            if state._position != committed:
                off[tp] = (state._position, committed)
        if off:
            self.log.warning("fetch position != committed offset after the seek: %r", off)


class FixedTableManager(TableManager):
    """Faust's table manager, using the recovery above, counting recoveries.

    `actives_generation` grows each time the active partitions are recovered and
    ready, so code that indexes table contents (the lead sweep) can tell that a
    rebalance brought it partitions it has not seen; `actives_ready` alone goes
    false and true again without saying so.
    """

    actives_generation: int = 0

    def on_actives_ready(self) -> None:
        super().on_actives_ready()
        self.actives_generation += 1

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekBeforeResumeRecovery(
                self.app, self, beacon=self.beacon, loop=self.loop
            )
        return self._recovery


class RawKeyTable(faust.Table[Any, Any]):
    """A table whose string keys reach the changelog as plain UTF-8, like every topic's.

    Faust serializes a `key_type=str` table key as JSON (`"lead-1"` with quotes),
    and `table_route` hashes that serialized key to find the owning worker, while the
    producers upstream hash the raw key. With two workers, `/leads/{id}` was routed
    to the wrong one and answered 404 for 3 of 4 leads (measured). Raw keys make
    both hashes agree and keep changelog keys readable.
    """

    def _serializer_from_type(self, typ: Any) -> Any:
        return "raw" if typ is str else super()._serializer_from_type(typ)


class ContiguousCommitConsumer(aiokafka_driver.Consumer):
    """Commit only offsets every record below which was acknowledged.

    Upstream `_new_offset` commits past records the stream never saw in two ways:
    it fills "gaps" between fetched offsets as if acknowledged (meant for compacted
    or transactional topics), and its head check is off by one and skipped at
    offset 0. Records dropped during a rebalance or a restart (paused partitions,
    a generation change mid-fetch) were then committed unprocessed: a kill test lost
    up to 39 of 252 inputs on a loaded 2-core machine. Our input topics are
    delete-policy and non-transactional, so offsets are contiguous; a missing
    acknowledgement now holds the commit back, and the record is re-read after the
    next seek to the committed offset instead of being lost. Faust #596 tracks the
    same loss upstream.
    """

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
        """
        snapshot = None if active_partitions is None else set(active_partitions)
        return await super()._getmany(snapshot, timeout)

    async def perform_seek(self) -> None:
        """Seek to committed offsets; a partition never committed starts at its log start.

        Upstream leaves such a partition's committed offset unknown, which turns
        the head check in `_new_offset` off exactly where a fresh group begins.
        """
        await super().perform_seek()
        fresh = [tp for tp in self.assignment() if self._committed_offset[tp] is None]
        if fresh:
            for tp, offset in (await self.earliest_offsets(*fresh)).items():
                self._committed_offset[tp] = offset

    # How long the next record to commit may stay unacknowledged while later ones
    # are acknowledged before the partition is re-read from the committed offset.
    heal_after_s: float = 5.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stalled_since: dict[TP, float] = {}
        # tp -> ((committed offset, last delivered offset), since when unchanged)
        self._idle: dict[TP, tuple[tuple[int | None, int | None], float]] = {}

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        acked.sort()
        committed = self._committed_offset[tp]
        if committed is not None and acked[0] != committed:
            self._heal(tp, committed, acked[0])
            return None  # the next record to commit was never acknowledged
        self._stalled_since.pop(tp, None)
        end = acked[0]
        for offset in acked[1:]:
            if offset != end + 1:
                break
            end = offset
        batch = end - acked[0] + 1
        self._acked_index[tp].difference_update(acked[:batch])
        del acked[:batch]
        return end + 1

    def _heal(self, tp: TP, committed: int, first_acked: int) -> None:
        """Re-read a partition whose head record the stream never received.

        Measured: after a restart, records delivered from a position ahead of the
        committed offset made Faust drop the re-read ones below it as already read
        (its `_read_offset` guard), so offsets in between were never processed. A
        seek back to the committed offset delivers them; records already applied
        come again and are ignored by their event ids.
        """
        stalled = self._stalled_since
        now = time.monotonic()
        since = stalled.setdefault(tp, now)
        if now - since < self.heal_after_s:
            return
        stalled[tp] = now
        self.log.warning(
            "%s stalled at offset %d while %d+ are acknowledged; re-reading from %d",
            tp,
            committed,
            first_acked,
            committed,
        )
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        self.add_future(self.seek(tp, committed))

    def verify_event_path(self, now: float, tp: TP) -> None:
        """Faust's livelock logging, then re-reading a partition that stopped delivering.

        A safety net behind `_getmany`: before that fix, in 2 of 17 kill-test runs
        on a loaded 2-core machine, the worker started after a graceful stop never
        delivered another record from partitions with records past their committed
        offset; with nothing acknowledged, the head check in `_new_offset` could not
        notice. Faust calls this every 2.5 commit intervals outside rebalances. A
        stream partition with records past its committed offset, nothing in flight,
        and no delivery or commit for `heal_after_s` is resumed and re-read from the
        committed offset.
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
        self.log.warning(
            "%s delivered nothing for %.0fs with records %d..%d waiting; re-reading from %d",
            tp,
            now - seen[1],
            committed,
            highwater - 1,
            committed,
        )
        self.resume_partitions({tp})
        self.add_future(self.seek(tp, committed))


class FixedTransport(aiokafka_driver.Transport):
    Consumer = ContiguousCommitConsumer


class FixedApp(faust.App):
    """Faust's App with the transport above; the only place that knows about it."""

    def _new_transport(self) -> TransportT:
        return FixedTransport(self.conf.broker_consumer, self)
