"""Erasure: `lead.erased` drops the lead's whole state and publishes nothing about it.

Driven through `apply`, the one step every caller uses, so the agent, replay and the
simulator see the same rule.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from stream_app.domain.extraction.model import Extraction, Intent
from stream_app.domain.lead import Effects, LeadState, Params, Policy, Tick, TimerIndex, apply
from stream_app.domain.messages import ExtractionResult, InputEvent, LeadErased
from stream_app.domain.qlearning import seeded_priors
from stream_app.wire.codec import InvalidEvent, decode_event
from stream_app.wire.models import INPUT_EVENT

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # processing time
POLICY = Policy(seeded_priors(), 7)
PARAMS = Params()
CALL = "Agent: Hi Sarah!\nParent: Yes we're really interested, when can Jake start?"


class Lead:
    """One lead fed record by record through `apply`, keeping its state between them."""

    def __init__(self, lead_id: str = "L1") -> None:
        self.lead_id = lead_id
        self.state: LeadState | None = None
        self.clock = T0
        self._ids = itertools.count(1)

    def event(self, type_: str, gap: timedelta = timedelta(minutes=1), **fields: Any) -> InputEvent:
        self.clock += gap
        return INPUT_EVENT.validate_python(
            {
                "type": type_,
                "event_id": f"{self.lead_id}-e{next(self._ids)}",
                "lead_id": self.lead_id,
                "occurred_at": self.clock.isoformat(),
                **fields,
            }
        )

    def send(self, record: InputEvent | ExtractionResult | Tick) -> Effects:
        self.state, effects = apply(self.state, record, POLICY, PARAMS, NOW)
        return effects

    def created(self) -> Effects:
        return self.send(
            self.event(
                "lead.created",
                parent_name="Sarah Mitchell",
                child_name="Jake",
                phone="+15550100",
                email="sarah@example.com",
            )
        )

    def sms(self, body: str) -> Effects:
        n = next(self._ids)
        return self.send(self.event("sms.received", message_id=f"m{n}", body=body))

    def erasure(self, **fields: Any) -> LeadErased:
        event = self.event("lead.erased", **fields)
        assert isinstance(event, LeadErased)
        return event


def nothing_published(effects: Effects) -> bool:
    return not (
        effects
        or effects.sms_flushes
        or effects.moves
        or effects.outcomes
        or effects.guardrail_changes
        or effects.decays
        or effects.voice_budget
    )


def test_erasure_drops_the_state_and_publishes_nothing() -> None:
    lead = Lead()
    lead.created()
    assert lead.state is not None

    effects = lead.send(lead.erasure(reason="parent request"))

    assert lead.state is None
    assert effects.erased
    assert nothing_published(effects)


def test_buffered_sms_go_with_the_state_and_never_flush() -> None:
    lead = Lead()
    lead.created()
    lead.sms("Hi! Is there a trial class?")
    lead.sms("Jake is 9")
    assert lead.state is not None and len(lead.state.sms.messages) == 2

    lead.send(lead.erasure())

    # Long past every SMS window: a tick (a timer already in flight) finds nothing.
    effects = lead.send(Tick(lead.lead_id, lead.clock + timedelta(days=1)))
    assert lead.state is None
    assert not effects.sms_flushes and not effects.extraction_requests
    assert nothing_published(effects)


def test_an_extraction_still_running_at_erasure_brings_nothing_back() -> None:
    lead = Lead()
    lead.created()
    [request] = lead.send(
        lead.event(
            "interaction.completed",
            interaction_id="i1",
            channel="voice",
            direction="outbound",
            outcome="completed",
            transcript=CALL,
        )
    ).extraction_requests
    lead.send(lead.erasure())

    result = ExtractionResult(
        extraction_id=request.extraction_id,
        lead_id=request.lead_id,
        extracted_at=NOW,
        source_event_ids=request.source_event_ids,
        extraction=Extraction(provider="rules", intent=Intent.INTERESTED),
    )
    effects = lead.send(result)
    assert lead.state is None, "a late result must not write a blank lead"
    assert not effects.decisions and not effects.transitions
    assert nothing_published(effects) and not effects.erased


def test_a_redelivered_erasure_is_a_no_op() -> None:
    lead = Lead()
    lead.created()
    erasure = lead.erasure()
    assert lead.send(erasure).erased

    again = lead.send(erasure)

    assert lead.state is None
    assert not again.erased, "nothing left to erase: the shell deletes nothing, counts nothing"
    assert nothing_published(again)


def test_erasing_a_lead_never_seen_is_a_no_op() -> None:
    lead = Lead("never-seen")
    effects = lead.send(lead.erasure())
    assert lead.state is None
    assert not effects.erased and nothing_published(effects)


def test_erasure_wins_whatever_its_event_time() -> None:
    """An erasure request is not ordered against the lead's events: it always erases."""
    lead = Lead()
    lead.created()
    lead.sms("hello")
    early = LeadErased(
        type="lead.erased",
        event_id="early-erasure",
        lead_id="L1",
        occurred_at=T0 - timedelta(days=9),
    )
    assert lead.send(early).erased
    assert lead.state is None


def test_a_later_event_starts_a_new_lead_with_none_of_the_erased_data() -> None:
    """The documented choice: no marker is kept, so the id can come back, empty."""
    lead = Lead()
    lead.created()
    lead.sms("We'd love a trial but money is tight")
    lead.send(lead.erasure())

    effects = lead.send(lead.event("lead.updated", owner="crm-7"))

    assert not effects.transitions, "no erased decision is credited"
    state = lead.state
    assert state is not None
    assert state.profile.parent_name == ""
    assert (state.profile.phone, state.profile.email, state.profile.child_name) == (None,) * 3
    assert state.profile.owner == "crm-7"
    assert state.sms.messages == () and state.recent_interactions == ()
    assert [d.trigger_event_id for d in state.decisions] == ["L1-e5"]
    assert state.seen_event_ids == ("L1-e5",)


def test_effects_extend_keeps_the_erased_flag() -> None:
    assert Effects().extend(Effects(erased=True)).erased
    assert Effects(erased=True).extend(Effects()).erased


def test_the_timer_index_forgets_an_erased_lead() -> None:
    lead = Lead()
    lead.created()
    lead.sms("Hi!")
    assert lead.state is not None
    index = TimerIndex(PARAMS)
    index.update(lead.state)
    other = Lead("L2")
    other.created()
    other.sms("Hello")
    assert other.state is not None
    index.update(other.state)
    assert "L1" in index and len(index) == 2

    index.forget("L1")
    index.forget("L1")  # forgetting twice (a redelivered erasure) is harmless

    later = lead.clock + timedelta(days=1)
    assert "L1" not in index
    assert index.pop_next(later, later) == (other.state.sms.messages[0].at + PARAMS.sms.quiet, "L2")
    assert index.pop_next(later, later) is None


# --- the wire --------------------------------------------------------------------


def raw(**fields: Any) -> bytes:
    event = {
        "type": "lead.erased",
        "event_id": "e9",
        "lead_id": "L1",
        "occurred_at": "2026-11-05T10:00:00Z",
        **fields,
    }
    return orjson.dumps(event)


def test_lead_erased_is_a_leads_topic_event() -> None:
    event = decode_event("leads", b"L1", raw(reason="parent request"), 10_000)
    assert isinstance(event, LeadErased)
    assert event.reason == "parent request"
    assert isinstance(decode_event("leads", b"L1", raw(), 10_000), LeadErased)


@pytest.mark.parametrize(
    "topic, value, error_type",
    [
        ("sms-messages", raw(), "unknown_type"),
        ("leads", raw(reason="x" * 201), "validation"),
        ("leads", raw(phone="+15550100"), "validation"),  # carries no profile
        ("leads", raw(lead_id=None), "validation"),
    ],
)
def test_a_malformed_erasure_is_a_dead_letter(topic: str, value: bytes, error_type: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_event(topic, None, value, 10_000)
    assert caught.value.error_type == error_type
    assert "+15550100" not in caught.value.message
