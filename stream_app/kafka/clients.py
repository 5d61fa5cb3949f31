"""Plain Kafka clients for people and scripts: `stream-app send` and `stream-app tail`."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import BrokerResponseError

from stream_app.config.settings import Settings
from stream_app.kafka.options import consumer_options, producer_options
from stream_app.wire.catalog import load_catalog
from stream_app.wire.codec import EventTimeBounds, InvalidEvent, decode_event
from stream_app.wire.models import INPUT_TYPES


async def start_producer(settings: Settings, **options: Any) -> AIOKafkaProducer:
    """A started producer with `producer_options` (acks=all, idempotence per Settings).

    An idempotent producer asks the broker for a producer id first; a broker that
    refuses (the embedded one answers InitProducerId with an unknown error) ends the
    command with what to set, instead of aiokafka's bare error.
    """
    producer = AIOKafkaProducer(**producer_options(settings), **options)
    try:
        await producer.start()
    except BrokerResponseError as exc:
        await producer.stop()
        if not settings.kafka_idempotence:
            raise
        raise SystemExit(
            f"the broker refused an idempotent producer ({type(exc).__name__}): the embedded "
            "broker cannot do it, set STREAM_APP_KAFKA_IDEMPOTENCE=false; a Kafka cluster "
            "older than 2.8 also needs the IdempotentWrite ACL for this principal"
        ) from None
    except BaseException:
        await producer.stop()
        raise
    return producer


@dataclass
class SendReport:
    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


async def send_lines(settings: Settings, topic: str, lines: Iterable[str]) -> SendReport:
    """Validate each JSON line exactly as the worker will, and produce only valid ones.

    Validating here means a typo is reported to the person who made it, with its
    line number, instead of surfacing later as a dead letter.
    """
    if topic not in INPUT_TYPES:
        raise SystemExit(f"{topic!r} is not an input topic; use one of {sorted(INPUT_TYPES)}")
    report = SendReport()
    bounds = EventTimeBounds.of(settings)
    producer = await start_producer(settings, linger_ms=5)
    try:
        for line_no, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            raw = line.strip().encode("utf-8")
            try:
                event = decode_event(
                    topic, None, raw, settings.max_event_bytes, now=datetime.now(UTC), bounds=bounds
                )
            except InvalidEvent as exc:
                report.rejected.append((line_no, f"{exc.error_type}: {exc.message}"))
                continue
            await producer.send(settings.topic(topic), raw, key=event.lead_id.encode())
            report.sent += 1
        await producer.flush()
    finally:
        await producer.stop()
    return report


async def tail_topic(settings: Settings, topic: str, from_beginning: bool, limit: int) -> None:
    load_catalog()[topic]  # a clear KeyError for a name that is not in the catalog
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        **consumer_options(settings),
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    try:
        async for record in consumer:
            sys.stdout.write((record.value or b"").decode("utf-8", "replace") + "\n")
            sys.stdout.flush()
            seen += 1
            if limit and seen >= limit:
                return
    finally:
        await consumer.stop()
