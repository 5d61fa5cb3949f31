"""The embedded broker's end offsets are right for what our producers write.

Tansu answers ListOffsets(latest) with the last batch's base offset + 1, so a batch of
several records leaves the end short; recoveries, export and the Q-table view's
catch-up all read that end. Every producer takes its batch size from
`STREAM_APP_KAFKA_MAX_BATCH_BYTES`, which the tests (like `stream-app dev`) set to 1.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.kafka.options import producer_options


async def _end_after_one_burst(broker: EmbeddedBroker, batch_bytes: int) -> tuple[int, int]:
    """(records written, the broker's end offset) after 8 sends in one linger window."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        broker=broker.url,
        kafka_idempotence=False,
        kafka_max_batch_bytes=batch_bytes,
    )
    topic = f"end-offsets-{uuid.uuid4().hex[:8]}"
    producer = AIOKafkaProducer(**producer_options(settings), linger_ms=100)
    await producer.start()
    try:
        sent = [await producer.send(topic, b"x" * 64, partition=0) for _ in range(8)]
        last = max(metadata.offset for metadata in await asyncio.gather(*sent))
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        return last + 1, (await consumer.end_offsets([partition]))[partition]
    finally:
        await consumer.stop()


async def test_batches_of_one_record_keep_the_end_offset_right(broker: EmbeddedBroker) -> None:
    written, end = await _end_after_one_burst(broker, batch_bytes=1)
    assert end == written == 8


async def test_a_batch_of_several_records_leaves_the_end_short(broker: EmbeddedBroker) -> None:
    """The quirk itself: if Tansu is fixed, this fails and the setting can go."""
    written, end = await _end_after_one_burst(broker, batch_bytes=16_384)
    assert end < written
