"""One topic record to what the read model keeps: decoded and validated, never raised.

Pure (no I/O, no clock): the same record always projects to the same value, which is
what makes the store's writes idempotent under redelivery. A record that cannot be
read is a `Skipped` with the codec's error type, never an exception: the console is a
reader and must never stop on a record (the worker already dead-lettered it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from stream_app.domain.messages import (
    ExtractionResult,
    InputEvent,
    LeadTransition,
    NextBestAction,
    Reminder,
)
from stream_app.wire.codec import (
    InvalidEvent,
    check_key,
    decode_event,
    decode_model,
    decode_q_update,
    decode_transition,
)
from stream_app.wire.models import INPUT_TYPES, OperatorReminder, QUpdate

OUTPUT_TOPICS: Final = (
    "next-best-actions",
    "lead-transitions",
    "extractions",
    "reminders",
    "q-updates",
    "operator-reminders",
)
CONSOLE_TOPICS: Final = (*INPUT_TYPES, *OUTPUT_TOPICS)
"""Every catalog topic the console reads: the outputs it shows and the inputs of the
timeline (`action-outcomes` is one of the inputs)."""

Record = (
    InputEvent
    | NextBestAction
    | LeadTransition
    | ExtractionResult
    | Reminder
    | QUpdate
    | OperatorReminder
)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record was read: its logical topic, partition and offset."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Projected:
    record: Record
    at: Position


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record the console cannot read: counted by `error_type`, no value kept."""

    error_type: str
    at: Position


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A `q-updates` tombstone: compaction removed that entry."""

    key: str
    at: Position


Outcome = Projected | Skipped | Tombstone


def project(at: Position, key: bytes | None, raw: bytes | None, max_bytes: int) -> Outcome:
    """Decode the record at `at` with the same codec and key rules the worker applies."""
    try:
        return _decode(at, key, raw, max_bytes)
    except InvalidEvent as exc:
        return Skipped(exc.error_type, at)
    except Exception as exc:  # the codec raises InvalidEvent only; anything else is a bug
        return Skipped(f"unreadable:{type(exc).__name__}", at)


def _decode(at: Position, key: bytes | None, raw: bytes | None, max_bytes: int) -> Outcome:
    topic = at.topic
    if topic in INPUT_TYPES:
        event = decode_event(topic, key, raw, max_bytes, require_key=True)
        return Projected(event, at)
    if topic == "q-updates":
        if raw is None and key is not None:
            return Tombstone(key.decode("utf-8", "replace"), at)
        return Projected(decode_q_update(key, raw), at)
    if topic == "lead-transitions":
        return Projected(decode_transition(key, raw), at)
    record: NextBestAction | ExtractionResult | Reminder | OperatorReminder
    if topic == "next-best-actions":
        record = decode_model(NextBestAction, raw)
    elif topic == "extractions":
        record = decode_model(ExtractionResult, raw)
    elif topic == "reminders":
        record = decode_model(Reminder, raw)
    elif topic == "operator-reminders":
        record = decode_model(OperatorReminder, raw)
    else:
        raise InvalidEvent("unknown_topic", "the console does not read this topic")
    check_key(key, record.lead_id, "lead_id", required=True)
    return Projected(record, at)
