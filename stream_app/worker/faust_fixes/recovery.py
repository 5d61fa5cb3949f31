"""Recovery that seeks before it resumes, and a table manager that counts recoveries."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Set
from typing import Any, cast

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.types import TP
from faust.types.transports import ConsumerT


def start_offset(recorded: int | None) -> int:
    """Where reading a changelog partition starts, from Faust's recorded offset: None
    (not built yet) and -1 (nothing read) both mean the beginning."""
    return recorded if recorded is not None and recorded >= 0 else 0


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

    async def _seek_offsets(
        self, consumer: ConsumerT, tps: Set[TP], offsets: Counter[TP], title: str
    ) -> None:
        """Seek each changelog partition to where its reading starts.

        Faust's own turns -1 ("nothing read") into 0 but passes None through, and a
        partition assigned while a recovery runs has None until that recovery's
        offsets are built (`Recovery._add`): aiokafka raised `ValueError('Offset must
        be a positive integer')` and the recovery crashed (found by the chaos suite, a
        rebalance landing as a recovery finished). None reads from the start, like -1.
        """
        await consumer.seek_wait({tp: start_offset(offsets.get(tp)) for tp in tps})

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
