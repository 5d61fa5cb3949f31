"""Every way an input can be bad, and the dead letter a person gets for it."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from stream_app.domain.messages import InteractionCompleted, LeadCreated
from stream_app.wire.codec import InvalidEvent, dead_letter, decode_event

VALID = {
    "type": "lead.created",
    "event_id": "e-1",
    "lead_id": "L1",
    "occurred_at": "2026-11-01T10:00:00+02:00",
    "parent_name": "Ana",
}


def raw(**changes: object) -> bytes:
    return orjson.dumps({**VALID, **changes})


def test_valid_event_decodes_to_its_model() -> None:
    event = decode_event("leads", b"L1", raw(), 10_000)
    assert isinstance(event, LeadCreated)
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize(
    "topic, key, value, error_type, fragment",
    [
        ("leads", b"L1", b"\xff\xfe", "invalid_json", "not UTF-8 JSON"),
        ("leads", b"L1", b"[1, 2]", "invalid_json", "JSON object"),
        ("leads", b"L1", None, "empty", "no value"),
        ("leads", b"L1", raw(type="lead.exploded"), "unknown_type", "lead.exploded"),
        ("interactions", b"L1", raw(), "unknown_type", "interaction.completed"),
        ("leads", b"L1", raw(occurred_at="2026-11-01T10:00:00"), "validation", "timezone"),
        ("leads", b"L1", raw(parent_name=None), "validation", "parent_name"),
        ("leads", b"L1", raw(lead_id="x" * 65), "validation", "lead_id"),
        ("leads", b"L1", raw(value_tier="gold"), "validation", "value_tier"),
        ("leads", b"L1", raw(surprise=1), "validation", "surprise"),
        ("leads", b"L2", raw(), "key_mismatch", "'L2'"),
        ("leads", b"L1", raw(parent_name="x" * 5000), "too_large", "limit"),
    ],
)
def test_poison_inputs_raise_actionable_errors(
    topic: str, key: bytes, value: bytes | None, error_type: str, fragment: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_event(topic, key, value, 2_000)
    assert caught.value.error_type == error_type
    assert fragment in caught.value.message


def test_missing_key_is_allowed() -> None:
    event = decode_event(
        "interactions",
        None,
        orjson.dumps(
            {
                "type": "interaction.completed",
                "event_id": "e-2",
                "lead_id": "L1",
                "occurred_at": "2026-11-01T10:00:00Z",
                "interaction_id": "i-1",
                "channel": "voice",
                "direction": "inbound",
                "outcome": "completed",
            }
        ),
        10_000,
    )
    assert isinstance(event, InteractionCompleted)


def test_dead_letter_keeps_binary_payloads_as_base64() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    letter = dead_letter("leads", 3, 42, b"\xff\x00", InvalidEvent("invalid_json", "bad"), now)
    assert (letter.partition, letter.offset, letter.raw_encoding) == (3, 42, "base64")
    assert letter.raw == "/wA="
    text = dead_letter("leads", 0, 1, b"{oops", InvalidEvent("invalid_json", "bad"), now)
    assert (text.raw, text.raw_encoding) == ("{oops", "utf-8")
