"""Bytes to validated events, and failures to dead letters a person can act on."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Literal, TypeVar, get_args

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from stream_app.domain.messages import ExtractionResult, InputEvent
from stream_app.wire.models import INPUT_EVENT, INPUT_TYPES, DeadLetter, LeadTimer


class InvalidEvent(Exception):
    """An input that can never be processed; `error_type` is a stable metric label."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


# Error texts go to logs and to a dead letter's `error`: they name fields and error
# types, never input values (the dead letter keeps the raw payload, by design).
# Pydantic's message is kept where it only describes the schema ("String should have
# at most 200 characters"); these builtin types quote the input, and a custom error
# type may say anything, so those are reported by their type alone.
_QUOTES_INPUT = frozenset({"union_tag_invalid", "value_error", "assertion_error"})
_SCHEMA_ONLY = frozenset(get_args(ErrorType)) - _QUOTES_INPUT
_PLAIN = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def escaped(value: object, limit: int = 64) -> str:
    """A value for a log line or an error text: quoted, control characters escaped,
    at most `limit` characters, so an id with a newline cannot forge a log line."""
    text = str(value)
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _field(part: str | int) -> str:
    """A location segment: a field name or an index (an extra key is shown escaped)."""
    text = str(part)
    return text if isinstance(part, int) or _PLAIN.fullmatch(text) else escaped(text, 32)


def validation_summary(exc: ValidationError) -> str:
    """Which fields failed and why, without the values that failed."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False)[:5]:
        where = ".".join(_field(p) for p in err["loc"]) or "(root)"
        kind = err["type"]
        parts.append(f"{where}: {err['msg'] if kind in _SCHEMA_ONLY else kind}")
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
        # A string type is named (escaped): a misspelt type is the usual cause.
        # Anything else is described by its kind only, never by its contents.
        if isinstance(event_type, str):
            got = f"type {escaped(event_type)} is not accepted"
        elif event_type is None:
            got = "type is missing"
        else:
            got = f"type is a {type(event_type).__name__}, not a string"
        raise InvalidEvent("unknown_type", f"{got}; {topic!r} accepts {list(allowed)}")
    try:
        event = INPUT_EVENT.validate_python(data)
    except ValidationError as exc:
        raise InvalidEvent("validation", validation_summary(exc)) from None
    if key is not None and (text_key := key.decode("utf-8", "replace")) != event.lead_id:
        raise InvalidEvent(
            "key_mismatch",
            f"message key {escaped(text_key)} differs from lead_id {escaped(event.lead_id)}",
        )
    return event


M = TypeVar("M", bound=BaseModel)


def decode_model(model: type[M], raw: bytes | None) -> M:
    """Validate one record of an internal topic; raises InvalidEvent."""
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise InvalidEvent("validation", validation_summary(exc)) from None


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
