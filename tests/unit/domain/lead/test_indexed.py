"""The sweep's lean read (`read_indexed`, `IndexedLead`) against the whole state.

The re-index builds its timer index and gauges from `IndexedLead` instead of the whole
`LeadState`, through the same rule functions (`next_due`, `next_deadline`, `Timed`).
That is only right if, for every state the lead step leaves and every form it is
stored in, the lean view gives exactly what the whole state gives, and if every
state it cannot read right (another version) is left to `read_state`.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard
from pydantic import ValidationError

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.context import LeadContext
from stream_app.domain.lead import LeadState, next_deadline, next_due
from stream_app.domain.lead.state import (
    IndexedClocks,
    IndexedLead,
    encode_state,
    read_indexed,
    read_state,
)
from stream_app.domain.lead.timers import Timed
from stream_app.domain.lifecycle import Status
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.bench_mix import realistic_mix
from tests.unit.domain.lead.helpers import CALL, NOW, PARAMS, Lead

DATA = Path(__file__).parents[3] / "data"


def bench_states() -> list[LeadState]:
    """Every state the worker's lead step leaves along the bench mix (as
    `bench/state_scale.py` builds its stored leads), after each of its records, so
    leads mid-way (a thread buffered, an extraction pending) are among them."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    pipeline = InProcess(lead_params(settings), Learner(learner_params(settings)))
    start = datetime(2026, 11, 2, tzinfo=UTC)
    states = []
    for event in realistic_mix("idx", 150, 11, start):
        for _ in pipeline.feed(event, partition_for(event.lead_id, 8), event.occurred_at):
            pass
        state = pipeline.states.get(event.lead_id)
        if state is not None:
            states.append(state)
    return states


def by_hand() -> dict[str, LeadState]:
    """The edge cases, each driven by events to the shape it names."""
    cases: dict[str, LeadState] = {"blank": LeadState(lead_id="B1")}
    pending = Lead("P1")
    pending.send(pending.call_event(transcript=CALL), now=NOW)
    reminded = Lead("R1")
    reminded.created()
    texting = Lead("S1")
    texting.created()
    for i in range(3):
        texting.send(
            texting.event("sms.received", timedelta(minutes=1), message_id=f"m{i}", body="ages?")
        )
    at_risk = Lead("A1")
    at_risk.created()
    at_risk.to_at_risk()
    for name, lead in (("pending", pending), ("reminder", reminded)):
        assert lead.state is not None
        cases[name] = lead.state
    assert texting.state is not None and at_risk.state is not None
    cases["sms thread"] = texting.state
    cases["at risk"] = at_risk.state
    # Erased to the defaults: every field `encode_state` leaves out but the id and
    # the status, which the lean read must fill back in as the whole state does.
    cases["at defaults"] = LeadState(lead_id="D1", status=Status.INTERESTED)
    return cases


HAND = by_hand()
BENCH = bench_states()


def seen(view: Timed, updated_at: datetime | None) -> dict[str, Any]:
    """Everything the re-index takes of a lead."""
    return {
        "lead_id": view.lead_id,
        "status": view.status,
        "buffered": len(view.sms.messages),
        "updated_at": updated_at,
        "due": next_due(view, PARAMS),
        "deadline": next_deadline(view),
    }


def test_the_states_cover_every_rule_the_index_reads() -> None:
    states = [*BENCH, *HAND.values()]
    kinds = Counter(
        kind
        for s in states
        for kind, present in (
            ("pending", bool(s.pending)),
            ("reminder", s.reminder is not None),
            ("sms", bool(s.sms.messages)),
            ("at_risk", s.status == Status.AT_RISK and s.context.at_risk_since is not None),
            ("attended", s.context.last_attendance_at is not None),
            ("nothing due", next_due(s, PARAMS) is None and next_deadline(s) is None),
        )
        if present
    )
    assert set(kinds) == {"pending", "reminder", "sms", "at_risk", "attended", "nothing due"}
    assert len(BENCH) > 500


@pytest.mark.parametrize("compressed", [True, False], ids=["zstd frame", "plain json"])
def test_the_lean_view_of_every_state_is_what_the_whole_state_gives(compressed: bool) -> None:
    for state in [*BENCH, *HAND.values()]:
        raw = encode_state(state, compressed)
        whole = read_state(raw)
        view = read_indexed(raw)
        assert view is not None, "this code's version is read lean"
        assert seen(view, view.updated_at) == seen(whole, whole.updated_at), state.lead_id


@pytest.mark.parametrize("case", sorted(HAND))
def test_each_edge_case_reads_the_same_lean(case: str) -> None:
    raw = encode_state(HAND[case])
    view = read_indexed(raw)
    assert view is not None
    assert seen(view, view.updated_at) == seen(read_state(raw), HAND[case].updated_at)


def test_the_edge_cases_have_the_dues_they_name() -> None:
    views = {name: read_indexed(encode_state(state)) for name, state in HAND.items()}
    assert all(v is not None for v in views.values())
    due = {name: (next_due(v, PARAMS), next_deadline(v)) for name, v in views.items() if v}
    assert due["blank"] == due["at defaults"] == (None, None)
    assert due["pending"][1] is not None
    assert due["reminder"][0] is not None
    sms = views["sms thread"]
    assert sms is not None and len(sms.sms.messages) == 3
    at_risk = views["at risk"]
    assert at_risk is not None and at_risk.status == Status.AT_RISK
    assert at_risk.context.at_risk_since is not None and due["at risk"][0] is not None


def test_every_field_read_lean_is_the_whole_states_field() -> None:
    """Same type, default and constraints: a value reads the same in both."""
    whole = LeadState.model_fields
    for name, info in IndexedLead.model_fields.items():
        if name == "context":
            continue
        mine = whole[name]
        assert (info.annotation, info.default, info.metadata) == (
            mine.annotation,
            mine.default,
            mine.metadata,  # the version's strict int and its bound among them
        ), name
    for name, info in IndexedClocks.model_fields.items():
        mine = LeadContext.model_fields[name]
        assert (info.annotation, info.default) == (mine.annotation, mine.default), name


# --- other versions are left to read_state ------------------------------------------------


def test_a_state_of_an_older_version_is_left_to_the_whole_read() -> None:
    v0 = (DATA / "lead_state_v0.json").read_bytes()
    v1 = (DATA / "lead_state_v1.json").read_bytes()
    assert read_indexed(v0) is None and read_indexed(v1) is None
    assert read_indexed(v0.decode()) is None
    assert read_indexed((DATA / "lead_state_v2.zst").read_bytes()) is not None


def newer(state: LeadState, version: int) -> dict[str, Any]:
    """A state as a newer release might write it: its version, and fields unknown here."""
    raw: dict[str, Any] = json.loads(encode_state(state, compressed=False))
    raw["schema_version"] = version
    raw["loyalty"] = {"tier": "gold"}
    raw["context"] = {**raw.get("context", {}), "mood": "sunny"}
    return raw


@pytest.mark.parametrize("frame", [True, False], ids=["zstd frame", "plain json"])
def test_a_state_of_a_newer_version_is_left_to_the_whole_read(frame: bool) -> None:
    raw = orjson.dumps(newer(HAND["sms thread"], 3))
    stored = zstandard.ZstdCompressor().compress(raw) if frame else raw
    assert read_indexed(stored) is None
    assert read_state(stored).sms == HAND["sms thread"].sms


# --- unreadable ----------------------------------------------------------------------------


def damaged() -> dict[str, bytes]:
    good = encode_state(HAND["reminder"])
    plain = encode_state(HAND["reminder"], compressed=False)
    bad_status = {**json.loads(plain), "status": "promoted"}
    return {
        "truncated frame": good[:-20],
        "frame of more than the bound": zstandard.ZstdCompressor().compress(b" " * (2 << 20)),
        "truncated json": plain[:-30],
        "unknown status": orjson.dumps(bad_status),
        "invalid profile": plain.replace(b'"parent_name":', b'"parent_name":7,"x":'),
        "not an object": b'{"schema_version":2,"lead_id":["L1"]}',
    }


@pytest.mark.parametrize("case", sorted(damaged()))
def test_what_the_whole_read_cannot_read_the_lean_read_cannot_either(case: str) -> None:
    raw = damaged()[case]
    with pytest.raises(ValidationError):
        read_state(raw)
    with pytest.raises(ValidationError):
        read_indexed(raw)


def test_a_value_invalid_only_in_the_records_left_out_reads_lean() -> None:
    """The documented limit: the decision records are not validated by the lean read."""
    lead = Lead("X1")
    lead.created()
    assert lead.state is not None and lead.state.decisions
    raw: dict[str, Any] = json.loads(encode_state(lead.state, compressed=False))
    raw["decisions"][0]["action"] = "teleport"
    stored = orjson.dumps(raw)
    with pytest.raises(ValidationError):
        read_state(stored)
    view = read_indexed(stored)
    assert view is not None and next_due(view, PARAMS) == next_due(lead.state, PARAMS)
