"""Every worker's read-only copy of the Q-table, built from the `q-updates` topic.

A plain consumer assigned to all partitions (no group): every worker sees every
update, which a Faust GlobalTable does not reliably do with several workers (faust
#283/#212; docs/runtime-notes.md, "Faust behaviour the code relies on"). Serving
reads `table` and never waits on learning; only start-up waits, once, until the
copy has caught up with the topic's end, so a worker that starts late decides from
the same table as the others instead of from the bare priors.

A record that does not validate (not JSON, an unknown state or action, a number
that is not finite, a key that is not its `state|action`) is skipped: the topic is
compacted and replayed from offset 0 at every start, so one such record would
otherwise stop every worker of the fleet, at every start. Skipped records are
logged and counted in `stream_app_dead_letters_total{topic="q-updates"}` on every
worker that reads them. The dead letter itself is sent only for a record that
arrives while the view runs (at or past the end offsets it saw at start): each
running worker sends one, all with the same (source_topic, partition, offset),
which is the key to dedupe them by; a record replayed at start was dead-lettered
when it arrived and is only counted again, until a tombstone for its key (or a
valid update under it) compacts it away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from mode import Service

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import consumer_options, producer_options
from stream_app.wire.codec import (
    InvalidEvent,
    dead_letter,
    dead_letter_key,
    decode_q_update,
    encode,
    poison,
)
from stream_app.worker import metrics

log = logging.getLogger(__name__)

TOPIC = "q-updates"


class QTableView(Service):
    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.table: QTable = seeded_priors()
        self.q_version = 0
        self.applied = 0
        self.skipped = 0
        self.caught_up = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._end: dict[TopicPartition, int] = {}

    def apply(self, value: bytes, key: bytes | None) -> None:
        """Apply one update; raises InvalidEvent for one that does not validate."""
        update = decode_q_update(key, value)
        entry = QEntry(update.q_after, update.visits)
        table = self.table.with_entry(update.state, Action(update.action), entry)
        self.table = table.exploring(update.explore)  # the learner's latest guard verdict
        self.q_version = max(self.q_version, update.q_version)
        self.applied += 1
        metrics.Q_VERSION.set(self.q_version)

    async def read(self, record: Any) -> None:
        """Apply one consumed record, or skip it as poison (never raises for one)."""
        try:
            self.apply(record.value, record.key)
        except InvalidEvent as error:
            await self._skip(record, error)
        except Exception as exc:  # applying a validated update raising: poison too
            await self._skip(record, poison(exc, "the Q-table view", "step_error"))

    async def _skip(self, record: Any, error: InvalidEvent) -> None:
        self.skipped += 1
        live = record.offset >= self._end.get(TopicPartition(record.topic, record.partition), 0)
        # error.message names fields and error types, never values (wire.codec).
        log.warning(
            "q-update skipped %s[%d]@%d %s: %s%s",
            TOPIC,
            record.partition,
            record.offset,
            error.error_type,
            error.message,
            "" if live else " (read again at start: dead-lettered when it arrived)",
        )
        metrics.DEAD_LETTERS.labels(TOPIC, error.error_type).inc()
        if live:
            letter = dead_letter(
                TOPIC, record.partition, record.offset, record.value, error, datetime.now(UTC)
            )
            await self._send_dead_letter(dead_letter_key(record.key), encode(letter))

    async def _send_dead_letter(self, key: bytes | None, value: bytes) -> None:
        """Send and await the ack. A broker that does not acknowledge is transient:
        retried with backoff (the view waits; it never drops the letter silently)."""
        delay = 0.5
        while True:
            try:
                if self._producer is None:
                    producer = AIOKafkaProducer(**producer_options(self.settings))
                    await producer.start()
                    self._producer = producer
                await self._producer.send_and_wait(
                    self.settings.topic("dead-letters"), value, key=key
                )
                return
            except Exception as exc:
                if self.should_stop:
                    raise
                log.warning(
                    "q-updates dead letter not acknowledged (%s); retrying in %.1fs",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def on_start(self) -> None:
        topic = self.settings.topic(TOPIC)
        consumer = AIOKafkaConsumer(
            **consumer_options(self.settings), enable_auto_commit=False, group_id=None
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
        self._end = await end_offsets(consumer, assigned)
        self.add_future(self._consume(consumer, assigned))

    async def _consume(self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> None:
        if all(offset == 0 for offset in self._end.values()):
            self.caught_up.set()
        while not self.should_stop:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await self.read(record)
            if not self.caught_up.is_set():
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in self._end.items()):
                    log.info(
                        "Q snapshot caught up: %d updates, q_version %d, %d skipped",
                        self.applied,
                        self.q_version,
                        self.skipped,
                    )
                    self.caught_up.set()

    async def on_stop(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.stop()
