"""Any bytes on any topic either decode or raise InvalidEvent, never another exception.

The worker dead-letters an `InvalidEvent` and acks; any other exception escapes the
agent loop (or a view's consumer) and stops the partition. So for every topic a
worker reads, and for topic names no worker reads, the decoder a worker uses must
fail only with `InvalidEvent`, and a dead letter must be buildable from whatever
failed. Inputs: arbitrary bytes, arbitrary JSON, and valid records with one field
replaced by any JSON value or by a timestamp anywhere from year 1 to 9999 with any
offset (or none). Deterministic: a fixed seed, no example database.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from stream_app.wire.codec import (
    InvalidEvent,
    dead_letter,
    decode_extraction_request,
    decode_lead_record,
    decode_q_update,
    decode_transition,
    encode,
)
from stream_app.wire.models import INPUT_TYPES, DeadLetter
from tests.chaos.fuzz_cases import _valid

MAX_BYTES = 64 * 1024
NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

Decoder = Callable[[bytes | None, bytes | None], object]


def _lead_topic(topic: str) -> Decoder:
    return lambda key, raw: decode_lead_record(topic, key, raw, MAX_BYTES, now=NOW)


DECODERS: dict[str, Decoder] = {
    **{topic: _lead_topic(topic) for topic in (*INPUT_TYPES, "extractions", "lead-timers")},
    "extraction-requests": lambda key, raw: decode_extraction_request(key, raw, now=NOW),
    "lead-transitions": lambda key, raw: decode_transition(key, raw, now=NOW),
    "q-updates": decode_q_update,
}
"""Every topic a worker reads, with the decoder the worker reads it with."""

FUZZ = settings(
    max_examples=250,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
OFFSETS = st.one_of(
    st.none(),
    st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
    ).map(timezone),
)
TIMES = st.builds(
    lambda at, tz: at.replace(tzinfo=tz).isoformat(),
    st.datetimes(),  # year 1 to 9999
    OFFSETS,
)
KEYS = st.none() | st.binary(max_size=80) | st.text(max_size=70).map(str.encode)
TOPICS = st.sampled_from(sorted(DECODERS))


def dumps(value: Any) -> bytes:
    """JSON text as any producer may write it (integers past 64 bits included)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def decodes_or_invalid(topic: str, key: bytes | None, raw: bytes | None) -> None:
    """The property: decoded, or an InvalidEvent a dead letter can carry."""
    try:
        DECODERS[topic](key, raw)
    except InvalidEvent as exc:
        assert exc.error_type and exc.message
        letter = dead_letter(topic, 0, 0, raw, exc, NOW)
        assert DeadLetter.model_validate_json(encode(letter)) == letter


@seed(20_240_611)
@FUZZ
@given(topic=TOPICS, key=KEYS, raw=st.none() | st.binary(max_size=2_000))
def test_any_bytes(topic: str, key: bytes | None, raw: bytes | None) -> None:
    decodes_or_invalid(topic, key, raw)


@seed(20_240_611)
@FUZZ
@given(topic=TOPICS, key=KEYS, value=JSON)
def test_any_json(topic: str, key: bytes | None, value: Any) -> None:
    decodes_or_invalid(topic, key, dumps(value))


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes | None, bytes]:
    """A valid record of a topic with one field replaced (by any JSON or any time)."""
    topic = draw(TOPICS)
    record = draw(st.sampled_from(_valid(topic, "L1", 1)))
    field = draw(st.sampled_from(sorted(record)))
    record[field] = draw(JSON | TIMES)
    key = draw(st.sampled_from([b"L1", b"new:unreached|warm_follow_up", None]) | KEYS)
    return topic, key, dumps(record)


@seed(20_240_611)
@FUZZ
@given(case=mutated())
def test_valid_records_with_one_field_replaced(case: tuple[str, bytes | None, bytes]) -> None:
    decodes_or_invalid(*case)


@seed(20_240_611)
@FUZZ
@given(topic=st.text(max_size=40).filter(lambda t: t not in DECODERS), raw=JSON)
def test_a_topic_no_worker_reads_is_an_invalid_event(topic: str, raw: Any) -> None:
    try:
        decode_lead_record(topic, b"L1", dumps(raw), MAX_BYTES, now=NOW)
    except InvalidEvent:
        return
    raise AssertionError(f"decoded a record of topic {topic!r}, which no worker reads")
