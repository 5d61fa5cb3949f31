"""`LeadState`, the one value stored per lead, and `moved_to`, the one way its status moves.

The worker writes the state as JSON and reads it back after a restart or a rebalance,
so a round trip must lose nothing (the dedup marker, a buffered thread, a pending
extraction, a reminder are all in it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import zstandard
from pydantic import ValidationError

from stream_app.domain.lead import LeadState
from stream_app.domain.lead.state import MAX_STATE_BYTES, encode_state, moved_to, read_state
from stream_app.domain.lifecycle import Status
from tests.unit.domain.lead.helpers import CALL, T0, Lead


def _busy() -> LeadState:
    """A lead with something in every part: decisions, a pending extraction, an SMS, a reminder."""
    lead = Lead()
    lead.created(timezone="America/New_York")
    lead.call(outcome="no_answer")
    lead.call(transcript=CALL)
    lead.send(lead.event("sms.received", message_id="m1", body="what ages?"))
    state = lead.state
    assert state is not None
    assert state.decisions and state.pending and state.sms.messages and state.reminder
    assert state.seen_event_ids and state.contact_history.contacts and state.last_nba
    return state


def test_a_state_survives_the_round_trip_through_the_table() -> None:
    state = _busy()
    assert LeadState.model_validate_json(state.model_dump_json()) == state


def _opened(stored: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompress(stored)


def test_the_stored_value_is_a_frame_of_the_json_without_defaults_and_reads_back_whole() -> None:
    state = _busy()
    stored = encode_state(state)
    body = _opened(stored)
    assert body.startswith(b'{"schema_version":2,"lead_id":"L1",')
    assert read_state(stored) == state
    # The frame holds the model's own JSON: the model alone reads it, filling defaults in.
    assert LeadState.model_validate_json(body) == state
    assert b'"opted_out_channels"' not in body and b'"closed":false' not in body
    assert len(body) < len(state.model_dump_json())
    assert len(stored) < len(body) / 2
    blank = LeadState(lead_id="L2")
    assert _opened(encode_state(blank)) == b'{"schema_version":2,"lead_id":"L2"}'
    assert read_state(encode_state(blank)) == blank


def test_unframed_the_stored_value_is_that_json_which_a_release_before_frames_reads() -> None:
    """`STREAM_APP_STATE_ENCODING=json`: the frame's JSON as it is. A release of
    version 1 reads it as a newer version's plain state (the reading this release
    does with a newer one, `test_state_compat`), so pods of both can share a table."""
    state = _busy()
    plain = encode_state(state, compressed=False)
    assert plain == _opened(encode_state(state))
    assert plain.startswith(b'{"schema_version":2,')
    assert read_state(plain) == state


@pytest.mark.parametrize(
    "damage",
    [
        lambda frame: frame[:-3],  # truncated
        lambda frame: frame[:4] + b"\xff" * 12,  # a frame header no codec wrote
        lambda frame: frame[:4],  # the magic alone
    ],
)
def test_a_damaged_frame_raises_a_validation_error(damage: Callable[[bytes], bytes]) -> None:
    with pytest.raises(ValidationError, match="json_invalid"):
        read_state(damage(encode_state(_busy())))


def test_a_frame_that_opens_past_the_bound_is_refused_before_it_is_opened() -> None:
    huge = zstandard.ZstdCompressor().compress(b" " * (MAX_STATE_BYTES + 1))
    with pytest.raises(ValidationError, match="over"):
        read_state(huge)


def test_the_stored_decision_is_the_published_one_without_its_ranking() -> None:
    lead = Lead()
    effects = lead.created()
    [published] = effects.decisions
    assert lead.state is not None and lead.state.last_nba is not None
    kept = lead.state.last_nba
    assert published.candidates and published.filtered_out
    assert (kept.candidates, kept.filtered_out) == ((), {})
    assert kept.model_dump(exclude={"candidates", "filtered_out"}) == published.model_dump(
        exclude={"candidates", "filtered_out"}
    )
    # Empty, not absent: a release that requires the fields still reads the record.
    assert b'"candidates":[],"filtered_out":{}' in _opened(encode_state(lead.state))


def test_a_state_is_immutable_and_ignores_fields_a_newer_release_added() -> None:
    state = _busy()
    with pytest.raises(ValidationError):
        state.status = Status.ACTIVE  # type: ignore[misc]
    assert LeadState.model_validate({"lead_id": "L1", "colour": "blue"}) == LeadState(lead_id="L1")


def test_the_decision_in_force_is_the_newest_one() -> None:
    assert LeadState(lead_id="L1").decision_in_force is None
    state = _busy()
    assert state.last_nba is not None and state.decision_in_force is not None
    assert state.decision_in_force == state.decisions[-1]
    assert state.decision_in_force.decision_id == state.last_nba.decision_id


AT = T0 + timedelta(days=3)


@pytest.mark.parametrize(
    "before, after, at_risk_since, resume",
    [
        (Status.ACTIVE, Status.AT_RISK, AT, None),  # starts the decay clock
        (Status.CONTACTED, Status.OPTED_OUT, None, Status.CONTACTED),  # remembers where it was
        (Status.NEW, Status.CONTACTED, None, None),
    ],
)
def test_moved_to_sets_the_status_and_remembers_when_it_began(
    before: Status, after: Status, at_risk_since: object, resume: Status | None
) -> None:
    lead = LeadState(lead_id="L1", status=before)
    moved = moved_to(lead, after, AT)
    assert moved.status == after
    assert moved.context.at_risk_since == at_risk_since
    assert moved.context.resume_status == resume
    assert lead.status == before  # a new value; the old one is untouched


def test_moving_to_the_same_status_keeps_its_start() -> None:
    at_risk = moved_to(LeadState(lead_id="L1", status=Status.ACTIVE), Status.AT_RISK, AT)
    again = moved_to(at_risk, Status.AT_RISK, AT + timedelta(days=5))
    assert again.context.at_risk_since == AT  # the decay clock does not restart
