"""Bytes to validated events, and failures to dead letters a person can act on.

One rule for every agent (docs/architecture.md, "Reliability contract"): a record
that cannot be applied, for any reason, becomes a bounded dead letter and is acked.
The checks here are the door: size, JSON, schema, key, and event time against the
wall clock; `poison` turns an exception raised by a pure step into the same error.
"""

from __future__ import annotations

import base64
import re
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import TYPE_CHECKING, Final, Literal, TypeVar, get_args

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core.core_schema import ErrorType

from stream_app.domain.messages import (
    ExtractionRequest,
    ExtractionResult,
    InputEvent,
    LeadTransition,
)
from stream_app.wire.models import (
    INPUT_EVENT,
    INPUT_TYPES,
    DeadLetter,
    LeadTimer,
    QUpdate,
    entry_key,
)

if TYPE_CHECKING:
    from stream_app.config.settings import Settings


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


# --- event time at the door ------------------------------------------------------

DEFAULT_MAX_AHEAD: Final = timedelta(days=1)
DEFAULT_FLOOR: Final = datetime(2000, 1, 1, tzinfo=UTC)
INTERNAL_SLACK: Final = timedelta(hours=1)
"""Extra allowance for the times on internal records: another worker's wall clock
dated them (a timer's `now` is up to `max_ahead` past it), and clocks drift."""


@dataclass(frozen=True, slots=True)
class EventTimeBounds:
    """The event times the door accepts: not before `floor`, and at most `max_ahead`
    past the wall clock (`STREAM_APP_EVENT_TIME_FLOOR`, `STREAM_APP_EVENT_MAX_AHEAD_S`).

    One far-future `occurred_at` would otherwise move stream time for every lead of
    its worker, and one near `datetime.max` overflows the time rules' arithmetic.
    """

    max_ahead: timedelta = DEFAULT_MAX_AHEAD
    floor: datetime = DEFAULT_FLOOR

    @classmethod
    def of(cls, settings: Settings) -> EventTimeBounds:
        return cls(timedelta(seconds=settings.event_max_ahead_s), settings.event_time_floor)

    def check(
        self, name: str, at: datetime, now: datetime | None, slack: timedelta = timedelta(0)
    ) -> None:
        """Raise `event_time` for `at` out of bounds. `now` is the wall clock; None (an
        offline tool reading a log, when the record was read is unknown) checks the
        floor only. The text names the bound, never the value."""
        if at < self.floor:
            raise InvalidEvent(
                "event_time",
                f"{name} is before {self.floor.isoformat()} (STREAM_APP_EVENT_TIME_FLOOR)",
            )
        if now is not None and at - now > self.max_ahead + slack:
            raise InvalidEvent(
                "event_time",
                f"{name} is more than {self.max_ahead.total_seconds():g} s ahead of the "
                "wall clock (STREAM_APP_EVENT_MAX_AHEAD_S)",
            )


DEFAULT_BOUNDS: Final = EventTimeBounds()


# --- keys ------------------------------------------------------------------------


def check_key(key: bytes | None, expected: str, what: str, required: bool) -> None:
    """A record's key must be `expected` (its lead id, or a Q entry's `state|action`).

    `required`: a record read from Kafka, where the key chose the partition (or the
    record compaction keeps). HTTP ingest and `stream-app send` pass None and key
    the record themselves.
    """
    if key is None:
        if required:
            raise InvalidEvent(
                "missing_key",
                f"record has no key; it must be keyed by its {what} (murmur2 partitioning, "
                "README 'Partitioner contract'), or it lands in a partition that does not "
                "own it",
            )
        return
    if (text_key := key.decode("utf-8", "replace")) != expected:
        raise InvalidEvent(
            "key_mismatch",
            f"message key {escaped(text_key)} differs from {what} {escaped(expected)}",
        )


# --- decoding --------------------------------------------------------------------


def decode_event(
    topic: str,
    key: bytes | None,
    raw: bytes | None,
    max_bytes: int,
    *,
    now: datetime | None = None,
    bounds: EventTimeBounds = DEFAULT_BOUNDS,
    require_key: bool = False,
) -> InputEvent:
    """Validate one record from an input topic.

    `now` is the wall clock at the door (None: the floor alone is checked, for tools
    that read a log); `require_key` for a record read from Kafka. Raises InvalidEvent
    with an actionable message: the record is a poison message and belongs in
    dead-letters, never in a retry loop.
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
    check_key(key, event.lead_id, "lead_id", require_key)
    bounds.check("occurred_at", event.occurred_at, now)
    _check_planned_dates(event, now, bounds)
    return event


PLAN_HORIZON: Final = timedelta(days=5 * 366)
"""How far ahead of the wall clock (or of `occurred_at`, offline) a date an event
carries may lie (a payment's `due_at`, a session's `session_at`): further than any
plan an academy makes, and far enough from `datetime.max` that no rule overflows."""


def _check_planned_dates(event: InputEvent, now: datetime | None, bounds: EventTimeBounds) -> None:
    """Bound every date an event carries besides `occurred_at`: a `due_at` of
    9999-12-31 is valid JSON and a valid datetime, and overflowed the step's time
    arithmetic after the door had let it in."""
    reference = now or event.occurred_at
    for name, value in event:
        if name == "occurred_at" or not isinstance(value, datetime):
            continue
        if value < bounds.floor:
            raise InvalidEvent(
                "event_time",
                f"{name} is before {bounds.floor.isoformat()} (STREAM_APP_EVENT_TIME_FLOOR)",
            )
        if value - reference > PLAN_HORIZON:
            raise InvalidEvent(
                "event_time", f"{name} is more than {PLAN_HORIZON.days} days ahead of now"
            )


INTERNAL_MAX_BYTES: Final = 256 * 1024
"""Records of internal topics: the largest the app writes is an extraction request,
whose 20,000-character transcript is at most ~120 KB of JSON."""

M = TypeVar("M", bound=BaseModel)


def decode_model(model: type[M], raw: bytes | None, max_bytes: int = INTERNAL_MAX_BYTES) -> M:
    """Validate one record of an internal topic; raises InvalidEvent."""
    if raw is None:
        raise InvalidEvent("empty", "record has no value (tombstone or empty payload)")
    if len(raw) > max_bytes:
        raise InvalidEvent("too_large", f"record is {len(raw)} bytes; the limit is {max_bytes}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors(include_url=False)[0]["type"] == "json_invalid":
            raise InvalidEvent("invalid_json", "value is not UTF-8 JSON") from None
        raise InvalidEvent("validation", validation_summary(exc)) from None


LeadTopicRecord = InputEvent | ExtractionResult | LeadTimer


def decode_lead_record(
    topic: str,
    key: bytes | None,
    raw: bytes | None,
    max_bytes: int,
    *,
    now: datetime | None = None,
    bounds: EventTimeBounds = DEFAULT_BOUNDS,
) -> LeadTopicRecord:
    """Validate one record of any topic the lead agent reads (by its logical name).

    Every one of them is keyed by lead id: the key picked the partition, whose table
    holds the lead, so a record without it (or with another) is a dead letter.
    """
    if topic == "extractions":
        result = decode_model(ExtractionResult, raw)
        check_key(key, result.lead_id, "lead_id", required=True)
        bounds.check("extracted_at", result.extracted_at, now, INTERNAL_SLACK)
        return result
    if topic == "lead-timers":
        timer = decode_model(LeadTimer, raw)
        check_key(key, timer.lead_id, "lead_id", required=True)
        bounds.check("now", timer.now, now, INTERNAL_SLACK)
        bounds.check("wall_now", timer.wall_now, now, INTERNAL_SLACK)
        return timer
    return decode_event(topic, key, raw, max_bytes, now=now, bounds=bounds, require_key=True)


def decode_extraction_request(
    key: bytes | None,
    raw: bytes | None,
    *,
    now: datetime | None = None,
    bounds: EventTimeBounds = DEFAULT_BOUNDS,
) -> ExtractionRequest:
    """An `extraction-requests` record, keyed by its lead id like everything the lead
    agent writes: a record without it was not written by a worker."""
    request = decode_model(ExtractionRequest, raw)
    check_key(key, request.lead_id, "lead_id", required=True)
    bounds.check("requested_at", request.requested_at, now, INTERNAL_SLACK)
    return request


def decode_transition(
    key: bytes | None,
    raw: bytes | None,
    *,
    now: datetime | None = None,
    bounds: EventTimeBounds = DEFAULT_BOUNDS,
) -> LeadTransition:
    """A `lead-transitions` record, keyed by its lead id as the lead agent writes it
    (one partition, so the key picks nothing: a record without it was not ours)."""
    transition = decode_model(LeadTransition, raw)
    check_key(key, transition.lead_id, "lead_id", required=True)
    bounds.check("occurred_at", transition.occurred_at, now, INTERNAL_SLACK)
    return transition


def decode_q_update(key: bytes | None, raw: bytes | None) -> QUpdate:
    """A `q-updates` record: compaction keeps the last record per key, so the key must
    be the entry's `state|action`. The learner never deletes an entry, so a tombstone
    is a dead letter like any other empty value."""
    update = decode_model(QUpdate, raw)
    check_key(key, entry_key(update.state, update.action), "entry key state|action", True)
    return update


def poison(exc: BaseException, what: str, error_type: str) -> InvalidEvent:
    """An exception a pure step raised on a record, as the record's dead-letter error.

    Deterministic: the same record raises again on every retry, so it is poison, not
    a transient failure. The text is the exception's type and where it was raised,
    never its message (which may quote the record's values): a ValidationError gives
    its fields, anything else the innermost frame of the package (file, line,
    function), which is where to look.
    """
    if isinstance(exc, InvalidEvent):
        return exc
    if isinstance(exc, ValidationError):
        return InvalidEvent(error_type, f"{what}: {validation_summary(exc)}")
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "stream_app" in PurePath(f.filename).parts] or frames
    where = ""
    if ours:
        frame = ours[-1]
        parts = PurePath(frame.filename).parts
        path = "/".join(parts[parts.index("stream_app") :] if "stream_app" in parts else parts[-1:])
        where = f" at {path}:{frame.lineno} in {frame.name}"
    return InvalidEvent(error_type, f"{what} raised {type(exc).__name__}{where}")


def encode(message: BaseModel) -> bytes:
    """`model_dump_json()` as UTF-8 bytes, straight from pydantic-core's serializer:
    the same bytes, without making a `str` of them first and encoding it again."""
    return message.__pydantic_serializer__.to_json(message)


# --- dead letters ----------------------------------------------------------------

DEAD_LETTER_RAW_CHARS: Final = 64 * 1024
"""At most this many characters of a payload in a dead letter's `raw` (JSON-escaped,
or base64 for bytes that are not UTF-8); `raw_size` keeps the original size."""
DEAD_LETTER_KEY_BYTES: Final = 256
"""A dead letter is keyed by the original key, cut to this many bytes."""
ERROR_CHARS: Final = 2_000
DEAD_LETTER_MAX_BYTES: Final = 80 * 1024
"""What a dead letter can weigh, key included: far below a producer's max request
size (Faust's 1,000,000 bytes, aiokafka's 1 MiB), so sending one always fits."""


def _text_within(text: str, budget: int) -> str:
    """The longest prefix of `text` whose JSON string body is at most `budget` bytes."""
    cut = text[:budget]  # every character is at least one byte of JSON
    while (size := len(orjson.dumps(cut)) - 2) > budget:
        cut = cut[: min(len(cut) - 1, len(cut) * budget // size)]
    return cut


def bounded_raw(
    payload: bytes, budget: int = DEAD_LETTER_RAW_CHARS
) -> tuple[str, Literal["utf-8", "base64"], bool]:
    """`payload` as a dead letter carries it: text (UTF-8) or base64, at most `budget`
    characters once JSON-escaped, and whether it was cut."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        head = payload[: budget // 4 * 3]
        return base64.b64encode(head).decode("ascii"), "base64", len(head) < len(payload)
    cut = _text_within(text, budget)
    return cut, "utf-8", len(cut) < len(text)


def dead_letter_key(key: bytes | None) -> bytes | None:
    """The dead letter's key: the original one, cut to `DEAD_LETTER_KEY_BYTES`."""
    return key[:DEAD_LETTER_KEY_BYTES] if key is not None else None


def dead_letter(
    topic: str, partition: int, offset: int, raw: bytes | None, error: InvalidEvent, now: datetime
) -> DeadLetter:
    """The dead letter of one record: where it was, why, and its payload, bounded."""
    payload = raw or b""
    text, encoding, truncated = bounded_raw(payload)
    return DeadLetter(
        source_topic=topic[:255],
        partition=partition,
        offset=offset,
        raw=text,
        raw_encoding=encoding,
        raw_size=len(payload),
        truncated=truncated,
        error=error.message[:ERROR_CHARS],
        error_type=error.error_type,
        failed_at=now,
    )
