"""End offsets on the embedded broker: its ListOffsets flaw, and the reader's way round it.

Tansu answers ListOffsets(latest) with the last batch's base offset + 1, so a batch of
several records leaves the end short; recoveries, export and the Q-table view's
catch-up all read an end. They take it from `kafka.ends.end_offsets` (ListOffsets,
then a Fetch's high watermark), so producers batch everywhere, the tests and
`stream-app dev` included.
"""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import producer_options
from stream_app.offline.export import read_to_end


def _settings(broker: EmbeddedBroker, batch_bytes: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        broker=broker.url,
        kafka_idempotence=False,
        kafka_max_batch_bytes=batch_bytes,
        topic_prefix=f"end-{uuid.uuid4().hex[:8]}-",
    )


async def _burst(settings: Settings, topic: str) -> int:
    """Eight sends in one linger window; the offset after the last."""
    producer = AIOKafkaProducer(**producer_options(settings), linger_ms=100)
    await producer.start()
    try:
        sent = [await producer.send(topic, b"x" * 64, partition=0) for _ in range(8)]
        return 1 + max(metadata.offset for metadata in await asyncio.gather(*sent))
    finally:
        await producer.stop()


async def _ends_after_one_burst(broker: EmbeddedBroker, batch_bytes: int) -> tuple[int, int, int]:
    """(records written, the broker's ListOffsets end, `end_offsets`) after one burst."""
    settings = _settings(broker, batch_bytes)
    topic = settings.topic("leads")
    written = await _burst(settings, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        listed = (await consumer.end_offsets([partition]))[partition]
        return written, listed, (await end_offsets(consumer, [partition]))[partition]
    finally:
        await consumer.stop()


async def test_batches_of_one_record_keep_the_end_offset_right(broker: EmbeddedBroker) -> None:
    written, listed, end = await _ends_after_one_burst(broker, batch_bytes=1)
    assert listed == end == written == 8


async def test_a_batch_of_several_records_leaves_the_end_short(broker: EmbeddedBroker) -> None:
    """The quirk itself: if Tansu is fixed, this fails and `kafka.ends` can go."""
    written, listed, _ = await _ends_after_one_burst(broker, batch_bytes=16_384)
    assert listed < written


async def test_end_offsets_takes_the_true_end_after_a_batch_of_several_records(
    broker: EmbeddedBroker,
) -> None:
    """The fetch's high watermark: what recoveries and every reader to the end use."""
    written, _, end = await _ends_after_one_burst(broker, batch_bytes=16_384)
    assert end == written == 8


async def test_export_reads_to_the_end_of_a_topic_an_upstream_wrote_in_batches(
    broker: EmbeddedBroker,
) -> None:
    """An upstream's client batches whatever we set; the reader takes the fetch's
    high watermark, so `stream-app export` misses nothing."""
    settings = _settings(broker, batch_bytes=16_384)
    written = await _burst(settings, settings.topic("leads"))
    records = await read_to_end(settings, ["leads"])
    assert [r.offset for r in records] == list(range(written)) and written == 8
