"""A fix for faust-streaming 0.15.3 losing input records when a worker with tables restarts.

Upstream `Recovery.on_recovery_completed` resumes the stream partitions *before*
seeking them to the committed offsets. Records fetched in that window are
dropped, and the consumer's gap logic then commits past them: input is lost
(measured: 5–18 of 400 events in 6 of 7 kill/restart runs; notes/RUNTIME.md).
Same class as https://github.com/faust-streaming/faust/issues/216 and #217
(fixed upstream only for apps without tables) and #596 (open).

The override below is upstream's method with one change: seek first, then resume.
It is installed through Faust's own `TableManager` setting, not by monkeypatching.
Remove it once upstream ships the reorder.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery


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


class FixedTableManager(TableManager):
    """Faust's table manager, using the recovery above."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekBeforeResumeRecovery(
                self.app, self, beacon=self.beacon, loop=self.loop
            )
        return self._recovery
