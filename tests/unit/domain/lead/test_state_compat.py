"""Stored state across releases: a lead's record stays readable by the release before
and the release after the one that wrote it.

During a rolling update an older pod takes over partitions a newer one wrote, and a
rollback makes every pod read what the newer release wrote. So a stored state
ignores the fields it does not know, wherever they are nested, and carries the
version of the code that wrote it (`read_state`, `migrate`). Input events keep
rejecting unknown fields: they are validated at the door.

`tests/data/lead_state_v0.json` is a state captured from the code before the version
existed (every part of it filled), kept as it was written then. `lead_state_v1.json`
is the same state as the release of version 1 wrote it (plain JSON, defaults left
out), and `lead_state_v2.zst` as this release writes it (a zstd frame of that JSON).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import zstandard
from pydantic import ValidationError

from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.lead import LeadState
from stream_app.domain.lead.state import encode_state, migrate, read_state
from stream_app.wire.models import INPUT_EVENT, INPUT_TYPES
from tests.unit.domain.lead.helpers import CALL, Lead

DATA = Path(__file__).parents[3] / "data"
V0 = DATA / "lead_state_v0.json"
V1 = DATA / "lead_state_v1.json"
V2 = DATA / "lead_state_v2.zst"


def v0_raw() -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(V0.read_text())
    return raw


def v0_state() -> LeadState:
    return read_state(V0.read_bytes())


def test_the_fixture_predates_the_version_and_fills_every_part() -> None:
    raw = v0_raw()
    assert "schema_version" not in raw
    empty = {k for k, v in raw.items() if v in (None, [], {}, "")}
    assert not empty, f"the fixture should exercise every part of the state: {empty}"


def test_a_state_written_before_the_version_reads_as_this_version() -> None:
    raw = v0_raw()
    state = read_state(V0.read_bytes())
    assert state.schema_version == LeadState.SCHEMA_VERSION == 2
    # nothing of it is lost: what it reads as is what was written, plus the version
    # and the defaults of the fields added since (a decision's credit marks, the
    # evidence of objections, signals, the context and the brief's directives)
    marks = {"closed": False, "first": False}
    decisions = [{**marks, **d} for d in raw["decisions"]]
    context = {
        **raw["context"],
        "evidence": [],
        **{
            k: [{"evidence": [], **item} for item in raw["context"][k]]
            for k in ("objections", "signals")
        },
    }
    brief = raw["last_nba"]["brief"]
    directives = [{"evidence": None, **d} for d in brief["content_directives"]]
    last_nba = {**raw["last_nba"], "brief": {**brief, "content_directives": directives}}
    assert state.model_dump(mode="json") == {
        **raw,
        "context": context,
        "decisions": decisions,
        "last_nba": last_nba,
        "schema_version": 2,
    }
    assert json.loads(state.model_dump_json())["schema_version"] == 2


def test_every_version_written_reads_as_the_same_state() -> None:
    """Version 1 (plain JSON) and 2 (its zstd frame) hold the same fields: reading
    either loses nothing, and what this release writes is the version 2 fixture."""
    state = v0_state()
    assert V1.read_bytes().startswith(b'{"schema_version":1,"lead_id":"L-fixture",')
    assert V2.read_bytes().startswith(b"\x28\xb5\x2f\xfd")
    assert read_state(V1.read_bytes()) == state
    assert read_state(V2.read_bytes()) == state
    assert read_state(V1.read_bytes().decode()) == state  # a str, as a test or tool passes
    assert encode_state(state) == V2.read_bytes()


def test_every_state_is_written_with_its_version() -> None:
    assert json.loads(LeadState(lead_id="L1").model_dump_json())["schema_version"] == 2
    lead = Lead()
    lead.created()
    lead.call(transcript=CALL)
    assert lead.state is not None
    assert json.loads(lead.state.model_dump_json())["schema_version"] == 2
    assert read_state(encode_state(lead.state)) == lead.state


def _with_extras(raw: dict[str, Any]) -> dict[str, Any]:
    """`raw` as a newer release might write it: a field it added at every level."""
    raw = json.loads(json.dumps(raw))  # a deep copy
    raw["added_top_level"] = {"any": ["shape"]}
    nested = [
        raw["profile"],
        raw["context"],
        raw["context"]["objections"][0],  # an extraction's own (strict) record
        raw["context"]["signals"][0],
        raw["sms"],
        raw["sms"]["messages"][0],
        raw["last_nba"],
        raw["last_nba"]["candidates"][0],
        raw["last_nba"]["brief"],
        raw["last_nba"]["brief"]["content_directives"][0],
        raw["contact_history"],
        raw["contact_history"]["contacts"][0],
        raw["decisions"][0],
        raw["pending"][0],
        raw["recent_interactions"][0],
        raw["reminder"],
    ]
    for i, record in enumerate(nested):
        record[f"added_{i}"] = i
    return raw


def test_unknown_fields_at_every_level_are_ignored() -> None:
    state = v0_state()
    newer = _with_extras(state.model_dump(mode="json"))

    read = read_state(json.dumps(newer))

    assert read == state
    assert "added" not in read.model_dump_json()  # dropped when written back


def test_a_state_of_a_newer_version_reads_and_is_written_back_as_this_version() -> None:
    state = v0_state()
    newer = {**_with_extras(state.model_dump(mode="json")), "schema_version": 7}
    seen: list[int] = []

    read = read_state(json.dumps(newer).encode(), on_newer=seen.append)

    assert seen == [7]
    assert read == state
    assert read.schema_version == 2
    assert json.loads(read.model_dump_json())["schema_version"] == 2


def test_a_frame_of_a_newer_version_reads_as_what_this_release_knows() -> None:
    """A newer release's frame holds JSON of its version: opened, then read as a newer
    plain state is (a later version may keep the frame and change the JSON)."""
    state = v0_state()
    newer = {**_with_extras(state.model_dump(mode="json")), "schema_version": 3}
    frame = zstandard.ZstdCompressor().compress(json.dumps(newer).encode())
    seen: list[int] = []

    assert read_state(frame, on_newer=seen.append) == state
    assert seen == [3]


def test_a_state_of_this_version_is_not_reported_as_newer() -> None:
    seen: list[int] = []
    state = v0_state()
    assert read_state(state.model_dump_json(), on_newer=seen.append) == state
    assert seen == []


def test_migrate_fills_the_version_of_older_states_and_leaves_the_rest() -> None:
    assert migrate({"lead_id": "L1"}) == {"lead_id": "L1", "schema_version": 2}
    assert migrate({"lead_id": "L1", "schema_version": 0})["schema_version"] == 2
    assert migrate({"lead_id": "L1", "schema_version": 1}) == {"lead_id": "L1", "schema_version": 2}
    for raw in (
        {"lead_id": "L1", "schema_version": 2},
        {"lead_id": "L1", "schema_version": 9, "new": True},
        {"lead_id": "L1", "schema_version": "1"},  # not a version: validation rejects it
    ):
        assert migrate(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{not json",
        b"[]",
        b'{"schema_version": 1}',  # no lead_id
        b'{"lead_id": "L1", "schema_version": "1"}',
        b'{"lead_id": "L1", "schema_version": -1}',
        b'{"lead_id": "L1", "schema_version": true}',
        b'{"lead_id": "L1", "profile": {"child_age": "nine"}}',  # a known field, bad value
    ],
)
def test_an_unreadable_state_still_raises_a_validation_error(raw: bytes) -> None:
    # the lead agent turns it into a LeadStepError that names the fields, not the values
    with pytest.raises(ValidationError):
        read_state(raw)


def test_the_extraction_itself_still_rejects_unknown_fields() -> None:
    """Only the copy folded into the stored context is tolerant: the extraction stays
    strict where it is validated (the `extractions` topic, an LLM's reply)."""
    objection = {"topic": "cost", "severity": "high", "added": 1}
    with pytest.raises(ValidationError, match="extra_forbidden"):
        Extraction.model_validate({"objections": [objection]})
    [kept] = LeadContext.model_validate({"objections": [objection]}).objections
    assert kept.topic == "cost" and "added" not in kept.model_dump()


def test_the_workers_reader_notes_a_newer_version_once_without_the_lead(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from stream_app.worker.tables import load_lead

    state = v0_state()
    newer = {**state.model_dump(mode="json"), "schema_version": 5, "added": "x"}
    leads = {"L-fixture": json.dumps(newer).encode(), "V0": V0.read_bytes()}
    with caplog.at_level(logging.WARNING, logger="stream_app.worker.tables"):
        assert load_lead(leads, "L-fixture") == state
        assert load_lead(leads, "L-fixture") == state
        v0 = load_lead(leads, "V0")
    assert load_lead(leads, "unknown") is None
    assert v0 is not None and v0.schema_version == LeadState.SCHEMA_VERSION
    [record] = caplog.records
    line = record.getMessage()
    assert "version 5" in line
    assert "L-fixture" not in line and state.profile.parent_name not in line


# --- input events: validated at the door ------------------------------------------

_MINIMAL: dict[str, dict[str, Any]] = {
    "lead.created": {"parent_name": "Ana"},
    "lead.updated": {},
    "lead.milestone": {"milestone": "enrolled"},
    "lead.consent": {"channel": "sms", "granted": False},
    "lead.erased": {},
    "interaction.completed": {
        "interaction_id": "i1",
        "channel": "voice",
        "direction": "outbound",
        "outcome": "completed",
    },
    "sms.received": {"message_id": "m1", "body": "ok"},
    "sms.sent": {"message_id": "m1", "body": "ok"},
    "attendance.recorded": {"session_id": "s1", "status": "attended"},
    "payment.recorded": {"payment_id": "p1", "status": "succeeded"},
    "action.outcome": {"decision_id": "d-1", "outcome": "delivered"},
}
EVENT_TYPES = sorted({t for types in INPUT_TYPES.values() for t in types})


def _event(type_: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "event_id": "e1",
        "lead_id": "L1",
        "occurred_at": "2026-11-03T16:20:00Z",
        **_MINIMAL[type_],
        **extra,
    }


def test_every_input_event_type_has_a_minimal_event() -> None:
    assert sorted(_MINIMAL) == EVENT_TYPES


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_input_events_still_reject_unknown_fields(type_: str) -> None:
    assert INPUT_EVENT.validate_python(_event(type_)).type == type_
    with pytest.raises(ValidationError, match="extra_forbidden"):
        INPUT_EVENT.validate_python(_event(type_, added_field="x"))
    with pytest.raises(ValidationError, match="extra_forbidden"):
        INPUT_EVENT.validate_json(json.dumps(_event(type_, added_field="x")))


def test_the_lead_views_show_the_same_from_either_version() -> None:
    """What `/leads/{id}`, `/leads/{id}/nba` and the context pack serve, read through the
    worker's reader from the release before's plain JSON and from this release's
    frame: the same, but for the version the lead reads as (this code's, either way)."""
    from stream_app.domain.context_pack import context_pack
    from stream_app.worker.tables import load_lead

    lead = Lead()
    lead.created(timezone="America/New_York")
    lead.call(transcript=CALL)
    assert lead.state is not None and lead.state.last_nba is not None
    body = zstandard.ZstdDecompressor().decompress(encode_state(lead.state))
    as_v1 = body.replace(b'{"schema_version":2,', b'{"schema_version":1,', 1)
    for plain, frame in ((V1.read_bytes(), V2.read_bytes()), (as_v1, encode_state(lead.state))):
        older, newer = load_lead({"L": plain}, "L"), load_lead({"L": frame}, "L")
        assert older is not None and newer is not None
        assert older.last_nba is not None and newer.last_nba is not None
        assert older.model_dump(mode="json") == newer.model_dump(mode="json")
        assert older.last_nba.model_dump(mode="json") == newer.last_nba.model_dump(mode="json")
        assert context_pack(older) == context_pack(newer)
