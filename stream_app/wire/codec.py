"""Bytes to validated events, and failures to dead letters a person can act on."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Literal, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from stream_app.domain.messages import ExtractionResult, InputEvent
from stream_app.wire.models import INPUT_EVENT, INPUT_TYPES, DeadLetter, LeadTimer


class InvalidEvent(Exception):
    """An input that can never be processed; `error_type` is a stable metric label."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def decode_event(topic: str, key: bytes | None, raw: bytes | None, max_bytes: int) -> InputEvent:
    """Validate one record from an input topic.

    Raises InvalidEvent with an actionable message: the record is a poison message
    and belongs in dead-letters, never in a retry loop.
    """
    if raw is None:
        raise InvalidEvent("empty", "record has no value (tombstone or empty payload)")
    if len(raw) > max_bytes:
        raise InvalidEvent("too_large", f"record is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidEvent("invalid_json", f"value is not UTF-8 JSON: {exc}") from None
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InvalidEvent("invalid_json", f"value must be a JSON object, got {kind}")
    allowed = INPUT_TYPES.get(topic)
    if allowed is None:
        raise InvalidEvent("unknown_topic", f"{topic!r} is not an input topic")
    event_type = data.get("type")
    if event_type not in allowed:
        raise InvalidEvent(
            "unknown_type",
            f"type {event_type!r} is not accepted on {topic!r}; expected one of {list(allowed)}",
        )
    try:
        event = INPUT_EVENT.validate_python(data)
    except ValidationError as exc:
        raise InvalidEvent("validation", _validation_message(exc)) from None
    if key is not None and (text_key := key.decode("utf-8", "replace")) != event.lead_id:
        raise InvalidEvent(
            "key_mismatch", f"message key {text_key!r} differs from lead_id {event.lead_id!r}"
        )
    return event


M = TypeVar("M", bound=BaseModel)


def decode_model(model: type[M], raw: bytes | None) -> M:
    """Validate one record of an internal topic; raises InvalidEvent."""
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise InvalidEvent("validation", _validation_message(exc)) from None


LeadTopicRecord = InputEvent | ExtractionResult | LeadTimer


def decode_lead_record(
    topic: str, key: bytes | None, raw: bytes | None, max_bytes: int
) -> LeadTopicRecord:
    """Validate one record of any topic the lead agent reads (by its logical name)."""
    if topic == "extractions":
        return decode_model(ExtractionResult, raw)
    if topic == "lead-timers":
        return decode_model(LeadTimer, raw)
    return decode_event(topic, key, raw, max_bytes)


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json().encode("utf-8")


def dead_letter(
    topic: str, partition: int, offset: int, raw: bytes | None, error: InvalidEvent, now: datetime
) -> DeadLetter:
    payload = raw or b""
    try:
        text = payload.decode("utf-8")
        encoding: Literal["utf-8", "base64"] = "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(payload).decode("ascii"), "base64"
    return DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        raw=text,
        raw_encoding=encoding,
        error=error.message,
        error_type=error.error_type,
        failed_at=now,
    )
