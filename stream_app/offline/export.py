"""`stream-app export`: the input topics as one JSON-lines log, in event-time order.

The log is what `stream-app replay` runs through the pure core, so analysts can
reproduce, diff and re-score what the workers decided without a broker. Each line
is {"topic", "partition", "offset", "key", "value"}: the logical topic name (no
prefix), where the record sat, and the event itself as a JSON object. Lines are
ordered by the event's `occurred_at`, then topic, partition and offset, so the
order is total and the same export always gives the same file.

Records a worker would dead-letter (not JSON, wrong type for the topic, invalid)
are left out and counted: they never changed a lead, so a replay must not see them.

`read_to_end` is the shared reader: it fixes the end offsets when it starts and
stops there, so an export or a training run reads a well-defined prefix of a
topic that keeps growing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import BaseModel, ConfigDict

from stream_app.config.settings import Settings
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import consumer_options
from stream_app.wire.codec import InvalidEvent, decode_event
from stream_app.wire.models import INPUT_TYPES

INPUT_TOPICS: tuple[str, ...] = tuple(INPUT_TYPES)


@dataclass(frozen=True, slots=True)
class Record:
    """One record as read, under its logical (unprefixed) topic name."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


async def read_to_end(
    settings: Settings, topics: Sequence[str], start: Mapping[tuple[str, int], int] | None = None
) -> list[Record]:
    """Every record of `topics` from `start` (default: the beginning) to the end offsets
    the topics had when this call began. No consumer group: nothing is committed.

    The ends come from `kafka.ends.end_offsets`: the embedded broker answers
    ListOffsets with the last batch's base offset + 1, short of the end whenever a
    producer batched, while its fetch high watermark is right.
    """
    consumer = AIOKafkaConsumer(
        **consumer_options(settings),
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",  # a start below the log's first offset (retention)
    )
    await consumer.start()
    try:
        await consumer.topics()  # loads metadata for every topic
        logical = {settings.topic(t): t for t in topics}
        assigned: list[TopicPartition] = []
        for physical in logical:
            partitions = consumer.partitions_for_topic(physical)
            if not partitions:
                raise LookupError(f"topic {physical!r} does not exist on {settings.broker}")
            assigned += [TopicPartition(physical, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        ends = await end_offsets(consumer, assigned)
        for tp in assigned:
            offset = (start or {}).get((logical[tp.topic], tp.partition), 0)
            consumer.seek(tp, offset)
        records: list[Record] = []
        pending = {tp for tp in assigned if await consumer.position(tp) < ends[tp]}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=500)
            for tp, batch in batches.items():
                records += [
                    Record(logical[tp.topic], tp.partition, r.offset, r.key, r.value)
                    for r in batch
                    if r.offset < ends[tp]
                ]
            pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        return records
    finally:
        await consumer.stop()


class LoggedEvent(BaseModel):
    """One line of an export."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    topic: str
    partition: int
    offset: int
    key: str | None
    value: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ExportReport:
    written: int
    skipped: int
    by_topic: dict[str, int]


def to_lines(records: Iterable[Record], max_event_bytes: int) -> tuple[list[LoggedEvent], int]:
    """Valid input events in log order, and how many records were left out."""
    keyed: list[tuple[Any, LoggedEvent]] = []
    skipped = 0
    for r in records:
        try:
            event = decode_event(r.topic, r.key, r.value, max_event_bytes)
        except InvalidEvent:
            skipped += 1
            continue
        line = LoggedEvent(
            topic=r.topic,
            partition=r.partition,
            offset=r.offset,
            key=r.key.decode("utf-8", "replace") if r.key is not None else None,
            value=orjson.loads(r.value or b"{}"),
        )
        keyed.append(((event.occurred_at, r.topic, r.partition, r.offset), line))
    keyed.sort(key=lambda pair: pair[0])
    return [line for _, line in keyed], skipped


async def export(settings: Settings, out: Path) -> ExportReport:
    """Write the input topics (as they are now) to `out` as JSON lines."""
    records = await read_to_end(settings, INPUT_TOPICS)
    lines, skipped = to_lines(records, settings.max_event_bytes)
    by_topic: dict[str, int] = {}
    with out.open("wb") as f:
        for line in lines:
            f.write(orjson.dumps(line.model_dump()) + b"\n")
            by_topic[line.topic] = by_topic.get(line.topic, 0) + 1
    return ExportReport(len(lines), skipped, by_topic)


def read_log(lines: Iterable[str]) -> Iterator[LoggedEvent]:
    """Parse an export line by line; a bad line names its number."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield LoggedEvent.model_validate_json(line)
        except ValueError as exc:
            raise ValueError(f"line {number}: not an export record: {exc}") from None


__all__ = [
    "INPUT_TOPICS",
    "ExportReport",
    "LoggedEvent",
    "Record",
    "export",
    "read_log",
    "read_to_end",
    "to_lines",
]
