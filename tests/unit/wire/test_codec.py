"""Every way an input can be bad, and the dead letter a person gets for it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from stream_app.config.settings import Settings
from stream_app.domain.lead import Params, Policy, apply
from stream_app.domain.messages import InteractionCompleted, LeadCreated
from stream_app.domain.qlearning import seeded_priors
from stream_app.wire.codec import (
    DEAD_LETTER_MAX_BYTES,
    INTERNAL_MAX_BYTES,
    EventTimeBounds,
    InvalidEvent,
    dead_letter,
    dead_letter_key,
    decode_event,
    decode_extraction_request,
    decode_lead_record,
    decode_q_update,
    decode_transition,
    encode,
    poison,
)
from stream_app.wire.models import INPUT_EVENT

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


# --- the door: keys and event time -------------------------------------------------

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_record_read_from_kafka_needs_its_key() -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_event("leads", None, raw(), 10_000, now=NOW, require_key=True)
    assert caught.value.error_type == "missing_key"
    assert "murmur2" in caught.value.message
    # HTTP ingest and `stream-app send` key the record themselves.
    assert isinstance(decode_event("leads", None, raw(), 10_000, now=NOW), LeadCreated)


@pytest.mark.parametrize(
    "occurred_at, accepted",
    [
        ("2026-11-02T11:59:00Z", True),  # within a day ahead of the wall clock
        ("2026-11-02T12:00:01Z", False),  # just past it
        ("9999-12-31T23:50:00Z", False),  # near datetime.max: overflowed the time rules
        ("2999-01-01T00:00:00Z", False),
        ("2000-01-01T00:00:00Z", True),  # the floor itself
        ("1999-12-31T23:59:59Z", False),
    ],
)
def test_event_time_is_bounded_at_the_door(occurred_at: str, accepted: bool) -> None:
    value = raw(occurred_at=occurred_at)
    if accepted:
        decode_event("leads", b"L1", value, 10_000, now=NOW)
        return
    with pytest.raises(InvalidEvent) as caught:
        decode_event("leads", b"L1", value, 10_000, now=NOW)
    assert caught.value.error_type == "event_time"
    assert occurred_at[:4] not in caught.value.message, "names the bound, not the value"


PAYMENT = {
    "type": "payment.recorded",
    "event_id": "p-1",
    "lead_id": "L1",
    "occurred_at": "2026-11-01T10:00:00Z",
    "payment_id": "inv-1",
    "status": "late",
}


@pytest.mark.parametrize(
    "topic, field, value, accepted",
    [
        ("payments", "due_at", "2027-11-01T00:00:00Z", True),  # a year ahead: a plan
        ("payments", "due_at", "9999-12-31T23:59:59Z", False),  # overflowed the step
        ("payments", "due_at", "1999-01-01T00:00:00Z", False),
        ("attendance", "session_at", "9999-12-31T23:59:59Z", False),
        ("attendance", "session_at", "2026-10-30T17:00:00Z", True),
    ],
)
def test_every_date_an_event_carries_is_bounded(
    topic: str, field: str, value: str, accepted: bool
) -> None:
    base = PAYMENT
    if topic == "attendance":
        base = {**PAYMENT, "type": "attendance.recorded", "session_id": "s-1", "status": "attended"}
        del base["payment_id"]
    record = orjson.dumps({**base, field: value})
    for now in (NOW, None):  # at the door, and offline (against occurred_at)
        if accepted:
            decode_event(topic, b"L1", record, 10_000, now=now)
            continue
        with pytest.raises(InvalidEvent) as caught:
            decode_event(topic, b"L1", record, 10_000, now=now)
        assert caught.value.error_type == "event_time"
        assert field in caught.value.message and value[:4] not in caught.value.message


def test_bounds_come_from_settings_and_without_a_clock_only_the_floor_applies() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        event_max_ahead_s=3600,
        event_time_floor=datetime(2020, 1, 1, tzinfo=UTC),
    )
    bounds = EventTimeBounds.of(settings)
    assert bounds == EventTimeBounds(timedelta(hours=1), datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidEvent, match="STREAM_APP_EVENT_MAX_AHEAD_S"):
        decode_event(
            "leads", b"L1", raw(occurred_at="2026-11-01T14:00:00Z"), 10_000, now=NOW, bounds=bounds
        )
    # An offline tool reading a log (no wall clock): the floor only.
    decode_event("leads", b"L1", raw(occurred_at="2999-01-01T00:00:00Z"), 10_000, bounds=bounds)
    with pytest.raises(InvalidEvent, match="STREAM_APP_EVENT_TIME_FLOOR"):
        decode_event("leads", b"L1", raw(occurred_at="2019-12-31T00:00:00Z"), 10_000, bounds=bounds)


# --- internal topics -------------------------------------------------------------


def timer(**changes: object) -> bytes:
    return orjson.dumps(
        {
            "timer_id": "tm-1",
            "lead_id": "L1",
            "now": "2026-11-01T12:00:00Z",
            "wall_now": "2026-11-01T12:00:00Z",
            **changes,
        }
    )


def extraction(**changes: object) -> bytes:
    return orjson.dumps(
        {
            "extraction_id": "x-1",
            "lead_id": "L1",
            "extracted_at": "2026-11-01T12:00:00Z",
            "source_event_ids": ["e-1"],
            "extraction": {},
            **changes,
        }
    )


def request(**changes: object) -> bytes:
    return orjson.dumps(
        {
            "extraction_id": "x-1",
            "lead_id": "L1",
            "requested_at": "2026-11-01T12:00:00Z",
            "channel": "sms",
            "transcript": "Parent: is there a sibling discount?",
            "source_event_ids": ["e-1"],
            **changes,
        }
    )


def transition(**changes: object) -> bytes:
    return orjson.dumps(
        {
            "transition_id": "t-1",
            "lead_id": "L1",
            "occurred_at": "2026-11-01T12:00:00Z",
            "state_before": "contacted:neutral",
            "action": "warm_follow_up",
            "decision_id": "d-1",
            "reward": 0.4,
            "state_after": "interested:neutral",
            "cause_event_id": "e-2",
            **changes,
        }
    )


def q_update(**changes: object) -> bytes:
    return orjson.dumps(
        {
            "state": "contacted:neutral",
            "action": "warm_follow_up",
            "q_before": 0.1,
            "q_after": 0.2,
            "visits": 1,
            "td_error": 0.1,
            "transition_id": "t-1",
            "q_version": 3,
            **changes,
        }
    )


Q_KEY = b"contacted:neutral|warm_follow_up"


@pytest.mark.parametrize(
    "decode, error_type",
    [
        (
            lambda: decode_lead_record("lead-timers", b"L1", timer(now="2026-11-01T12:00:00"), 1),
            "validation",
        ),
        (lambda: decode_lead_record("lead-timers", None, timer(), 1), "missing_key"),
        (lambda: decode_lead_record("lead-timers", b"L2", timer(), 1, now=NOW), "key_mismatch"),
        (
            lambda: decode_lead_record(
                "lead-timers", b"L1", timer(now="2999-01-01T00:00:00Z"), 1, now=NOW
            ),
            "event_time",
        ),
        (
            lambda: decode_lead_record(
                "extractions", b"L1", extraction(extracted_at="2026-11-01T12:00:00"), 1
            ),
            "validation",
        ),
        (lambda: decode_lead_record("extractions", None, extraction(), 1), "missing_key"),
        (lambda: decode_lead_record("extractions", b"L1", b"{oops", 1), "invalid_json"),
        (
            lambda: decode_lead_record(
                "extractions", b"L1", extraction(source_event_ids=["e"] * 300), 1
            ),
            "validation",
        ),
        (lambda: decode_transition(None, transition(action="teleport")), "validation"),
        (lambda: decode_transition(None, transition(state_before="mars:neutral")), "validation"),
        (
            lambda: decode_transition(None, transition(occurred_at="2026-11-01T12:00:00")),
            "validation",
        ),
        (lambda: decode_transition(None, transition(reward=1e300)), "validation"),
        # the next state's allowed actions: only catalog actions, a bounded list
        (lambda: decode_transition(None, transition(next_actions=["teleport"])), "validation"),
        (lambda: decode_transition(None, transition(next_actions=["wait"] * 33)), "validation"),
        (lambda: decode_transition(None, transition(next_actions="wait")), "validation"),
        (lambda: decode_transition(None, transition()[:-1] + b', "x": 1}'), "validation"),
        (lambda: decode_transition(b"L2", transition()), "key_mismatch"),
        (lambda: decode_q_update(Q_KEY, q_update(action="teleport")), "validation"),
        (lambda: decode_q_update(Q_KEY, b"not json"), "invalid_json"),
        (lambda: decode_q_update(None, q_update()), "missing_key"),
        (lambda: decode_q_update(b"new:neutral|wait", q_update()), "key_mismatch"),
        (lambda: decode_q_update(Q_KEY, q_update(visits=-1)), "validation"),
        (
            lambda: decode_extraction_request(None, b"{" + b" " * INTERNAL_MAX_BYTES + b"}"),
            "too_large",
        ),
    ],
)
def test_internal_records_are_validated_like_inputs(
    decode: Callable[[], object], error_type: str
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode()
    assert caught.value.error_type == error_type


@pytest.mark.parametrize("literal", [b"Infinity", b"-Infinity", b"NaN", b"1e999"])
def test_numbers_on_internal_topics_are_finite(literal: bytes) -> None:
    """pydantic's JSON parser reads these as floats; the models refuse them."""
    reward = transition().replace(b'"reward":0.4', b'"reward":' + literal)
    assert literal in reward
    with pytest.raises(InvalidEvent) as caught:
        decode_transition(None, reward)
    assert (caught.value.error_type, "reward" in caught.value.message) == ("validation", True)
    update = q_update().replace(b'"q_after":0.2', b'"q_after":' + literal)
    with pytest.raises(InvalidEvent, match="q_after"):
        decode_q_update(Q_KEY, update)


def test_records_the_lead_agent_writes_need_their_key_and_q_updates_a_value() -> None:
    """The worker keys every transition and request by lead id, and never deletes a Q
    entry: a record without a key, or a tombstone, was not written by a worker."""
    with pytest.raises(InvalidEvent, match="no key") as caught:
        decode_transition(None, transition())
    assert caught.value.error_type == "missing_key"
    with pytest.raises(InvalidEvent) as caught:
        decode_extraction_request(None, request())
    assert caught.value.error_type == "missing_key"
    assert decode_extraction_request(b"L1", request(), now=NOW).lead_id == "L1"
    with pytest.raises(InvalidEvent) as caught:
        decode_q_update(Q_KEY, None)
    assert caught.value.error_type == "empty"


def test_valid_internal_records_decode() -> None:
    assert decode_transition(b"L1", transition()).reward == 0.4
    assert decode_q_update(Q_KEY, q_update()).q_version == 3
    assert decode_lead_record("lead-timers", b"L1", timer(), 1, now=NOW).lead_id == "L1"
    assert decode_lead_record("extractions", b"L1", extraction(), 1, now=NOW).lead_id == "L1"


# --- dead letters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        bytes(range(256)) * 4096,  # 1 MiB that is not UTF-8
        b"\x01" * 800_000,  # control characters: six bytes each once JSON-escaped
        "\U0001f600".encode() * 200_000,  # 4-byte characters
        b'"' * 500_000,
        b"x" * 10,
    ],
)
def test_a_dead_letter_always_fits_a_request(payload: bytes) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    error = InvalidEvent("too_large", "e" * 50_000)
    letter = dead_letter("leads", 0, 7, payload, error, now)
    encoded = encode(letter)
    assert len(encoded) <= DEAD_LETTER_MAX_BYTES
    assert letter.raw_size == len(payload)
    assert letter.truncated == (len(payload) > 10)
    assert len(letter.error) <= 2_000
    kept = base64.b64decode(letter.raw) if letter.raw_encoding == "base64" else letter.raw.encode()
    assert payload.startswith(kept), "the raw payload is a prefix of the original"
    assert len(dead_letter_key(b"k" * 10_000) or b"") == 256


def test_poison_names_the_exception_and_where_never_its_text() -> None:
    def step() -> None:
        raise ValueError("Sarah Mitchell +15550100")

    try:
        step()
    except ValueError as exc:
        error = poison(exc, "the lead step", "step_error")
    assert error.error_type == "step_error"
    assert error.message.startswith("the lead step raised ValueError at ")
    assert "Sarah" not in error.message


def test_encode_is_model_dump_json_as_utf8() -> None:
    """The records the lead step publishes, non-ASCII text and zoned times included."""
    created = INPUT_EVENT.validate_python(
        {**VALID, "parent_name": "Zoë Ñúñez 日本", "child_name": "Léo", "timezone": "Asia/Tokyo"}
    )
    state, effects = apply(None, created, Policy(seeded_priors(), 1), Params(), datetime.now(UTC))
    assert state is not None and effects.decisions
    messages = [*effects.decisions, *effects.reminders, *effects.transitions, created, state]
    for message in messages:
        assert encode(message) == message.model_dump_json().encode("utf-8")
