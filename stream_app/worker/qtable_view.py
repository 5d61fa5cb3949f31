"""Every worker's read-only copy of the Q-table, built from the `q-updates` topic.

A plain consumer assigned to all partitions (no group): every worker sees every
update, which a Faust GlobalTable does not reliably do with several workers (faust
#283/#212; docs/runtime-notes.md, "Faust behaviour the code relies on"). Serving
reads `table` and never waits on learning; only start-up waits, once, until the
copy has caught up with the topic's end, so a worker that starts late decides from
the same table as the others instead of from the bare priors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.kafka.options import client_options
from stream_app.worker import metrics

log = logging.getLogger(__name__)


class QTableView(Service):
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.table: QTable = seeded_priors()
        self.q_version = 0
        self.applied = 0
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None

    def apply(self, value: bytes) -> None:
        update = orjson.loads(value)
        entry = QEntry(float(update["q_after"]), int(update["visits"]))
        self.table = self.table.with_entry(update["state"], Action(update["action"]), entry)
        self.q_version = max(self.q_version, int(update["q_version"]))
        self.applied += 1
        metrics.Q_VERSION.set(self.q_version)

    async def on_start(self) -> None:
        topic = self.settings.topic("q-updates")
        consumer = AIOKafkaConsumer(
            **client_options(self.settings), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        self._consumer = consumer
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:  # metadata for a topic created a moment ago
            await asyncio.sleep(0.2)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        self._end = await consumer.end_offsets(assigned)
        self.add_future(self._consume(consumer, assigned))

    async def _consume(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        if all(offset == 0 for offset in self._end.values()):
            self.caught_up.set()
        while not self.should_stop:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    if record.value is not None:
                        self.apply(record.value)
            if not self.caught_up.is_set():
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in self._end.items()):
                    log.info(
                        "Q snapshot caught up: %d updates, q_version %d",
                        self.applied,
                        self.q_version,
                    )
                    self.caught_up.set()

    async def on_stop(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
