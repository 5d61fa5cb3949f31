"""The context pack an operator or a voice agent reads before a call.

The pack is built from the lead's state, so these tests reach that state the way
the worker does (events through the lead's rule book, extractions folded in) and
check what an operator would rely on: who the family is, what was said, what was
decided, and that the pack stays small however long the history grows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from pydantic import TypeAdapter

from stream_app.domain.context import DEFAULT_LIMITS
from stream_app.domain.context_pack import child_info, context_pack, minimal_pack
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Extraction,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    Objection,
    SchedulingSignals,
    Sentiment,
)
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    Profile,
    handle_event,
    handle_extraction,
    handle_tick,
    next_due,
)
from stream_app.domain.messages import ExtractionRequest, ExtractionResult, InputEvent
from stream_app.domain.qlearning import seeded_priors

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = Policy(seeded_priors(), 1)
PARAMS = Params()
# mypy reads the annotated union as a value, not a type; pydantic accepts it as one.
EVENTS: TypeAdapter[InputEvent] = TypeAdapter(cast(Any, InputEvent))

PACK_KEYS = {
    "lead_id",
    "lead_name",
    "phone",
    "child_info",
    "campaign_goal",
    "current_status",
    "latest_summary",
    "known_facts",
    "open_questions",
    "financial_signals",
    "scheduling_constraints",
    "family_context",
    "objections",
    "additional_signals",
    "latest_intent",
    "latest_sentiment",
    "evidence",
    "recent_interactions",
    "current_nba",
}
"""What the /leads/{id}/context-pack endpoint promises its callers."""

COST_CALL = (
    "Agent: Hi Sarah, following up about the robotics program for Jake.\n"
    "Parent: He'd love it, but money is tight and I need to ask my husband first."
)
COST_EXTRACTION = Extraction(
    summary="Keen, but cost is a worry and the father decides too.",
    facts=("Jake is 9", "Jake loves building things"),
    intent=Intent.CONSIDERING,
    sentiment=Sentiment.POSITIVE,
    open_questions=("Is there a sibling discount?",),
    financial=FinancialSignals(concern_level=Level.MODERATE, mentions=("money is tight",)),
    scheduling=SchedulingSignals(constraints=("no Mondays",), preferred_times=("Saturday am",)),
    family=FamilyContext(siblings=("Mia",), decision_makers=("husband",), notes=("two kids",)),
    objections=(Objection(topic="cost", detail="money is tight", severity=Level.MODERATE),),
    additional_signals=(AdditionalSignal(signal="sibling_interest", urgency=Level.LOW),),
)


class Lead:
    """Feeds events to the lead's rule book and keeps the state between them."""

    def __init__(self, lead_id: str = "L1") -> None:
        self.lead_id = lead_id
        self.state: LeadState | None = None
        self.n = 0
        self.clock = T0

    def send(self, type_: str, gap: timedelta = timedelta(hours=5), **fields: Any) -> Effects:
        self.n += 1
        self.clock += gap
        event = EVENTS.validate_python(
            {
                "type": type_,
                "event_id": f"{self.lead_id}-e{self.n}",
                "lead_id": self.lead_id,
                "occurred_at": self.clock.isoformat(),
                **fields,
            }
        )
        self.state, effects = handle_event(self.state, event, POLICY, PARAMS, NOW)
        return effects

    def created(self, **fields: Any) -> Effects:
        defaults = {
            "parent_name": "Sarah Mitchell",
            "child_name": "Jake",
            "child_age": 9,
            "phone": "+15550100",
            "campaign_goal": "trial class",
        }
        return self.send("lead.created", timedelta(0), **{**defaults, **fields})

    def call(self, transcript: str | None = None, outcome: str = "completed") -> Effects:
        fields: dict[str, Any] = {
            "interaction_id": f"i{self.n}",
            "channel": "voice",
            "direction": "outbound",
            "outcome": outcome,
        }
        if transcript is not None:
            fields["transcript"] = transcript
        return self.send("interaction.completed", **fields)

    def extracted(self, request: ExtractionRequest, extraction: Extraction) -> Effects:
        result = ExtractionResult(
            extraction_id=request.extraction_id,
            lead_id=self.lead_id,
            extracted_at=NOW,
            source_event_ids=request.source_event_ids,
            extraction=extraction,
        )
        self.state, effects = handle_extraction(self.state, result, POLICY, PARAMS)
        return effects

    def pack(self) -> dict[str, Any]:
        assert self.state is not None
        return context_pack(self.state)


@pytest.mark.parametrize(
    ("name", "age", "expected"),
    [
        ("Jake", 9, "Jake (age 9)"),
        ("Jake", 0, "Jake (age 0)"),  # an age of 0 is an age, not a missing one
        ("Jake", None, "Jake"),
        (None, 9, None),  # an age without a name tells a caller nothing to say
        ("", 9, None),
    ],
)
def test_child_info(name: str | None, age: int | None, expected: str | None) -> None:
    state = LeadState(lead_id="L1", profile=Profile(child_name=name, child_age=age))
    assert child_info(state) == expected


def test_a_bare_state_packs_every_key_with_empty_values() -> None:
    """A lead the worker knows nothing about yet still yields a complete pack."""
    pack = context_pack(LeadState(lead_id="L9"))
    assert set(pack) == PACK_KEYS
    assert pack["lead_id"] == "L9"
    assert pack["current_status"] == "new"
    assert pack["child_info"] is None and pack["current_nba"] is None
    assert pack["financial_signals"] == {
        "concern_level": "none",
        "mentions": [],
        "payment_concern": False,
        "evidence": None,
    }
    for key in ("known_facts", "open_questions", "objections", "recent_interactions", "evidence"):
        assert pack[key] == []


def test_a_new_lead_packs_its_profile_and_first_decision() -> None:
    lead = Lead()
    [decision] = lead.created().decisions
    pack = lead.pack()
    assert set(pack) == PACK_KEYS
    assert (pack["lead_name"], pack["phone"], pack["child_info"]) == (
        "Sarah Mitchell",
        "+15550100",
        "Jake (age 9)",
    )
    assert pack["campaign_goal"] == "trial class"
    assert pack["current_status"] == "new"
    assert pack["latest_summary"] == "" and pack["known_facts"] == []
    nba = pack["current_nba"]
    assert nba["decision_id"] == decision.decision_id
    assert (nba["action"], nba["channel"]) == (decision.action, decision.channel)
    assert nba["action_brief"] == decision.brief.model_dump(mode="json")
    assert nba["requires_approval"] == decision.requires_approval
    assert nba["risk_segment"] == decision.risk_segment


def test_an_extraction_shows_in_every_section_it_feeds() -> None:
    lead = Lead()
    lead.created()
    [request] = lead.call(COST_CALL).extraction_requests
    [decision] = lead.extracted(request, COST_EXTRACTION).decisions
    pack = lead.pack()
    assert pack["latest_summary"] == COST_EXTRACTION.summary
    assert pack["known_facts"] == ["Jake is 9", "Jake loves building things"]
    assert pack["open_questions"] == ["Is there a sibling discount?"]
    assert pack["financial_signals"] == {
        "concern_level": "moderate",
        "mentions": ["money is tight"],
        "payment_concern": False,
        "evidence": None,  # this extraction carries no quotes (written before evidence)
    }
    assert pack["scheduling_constraints"] == {
        "constraints": ["no Mondays"],
        "preferred_times": ["Saturday am"],
        "evidence": None,
    }
    assert pack["family_context"] == {
        "siblings": ["Mia"],
        "decision_makers": ["husband"],
        "notes": ["two kids"],
        "evidence": None,
    }
    [objection] = pack["objections"]
    assert (objection["topic"], objection["severity"]) == ("cost", "moderate")
    [signal] = pack["additional_signals"]
    assert signal["signal"] == "sibling_interest"
    [call] = pack["recent_interactions"]
    assert (call["channel"], call["direction"], call["outcome"]) == (
        "voice",
        "outbound",
        "completed",
    )
    assert call["excerpt"] == COST_CALL
    # The pack shows the decision taken after reading the call, not the one before it.
    assert pack["current_nba"]["decision_id"] == decision.decision_id


def test_an_sms_thread_shows_its_messages_and_then_what_was_read_from_them() -> None:
    lead = Lead()
    lead.created()
    bodies = ("Hi, got your message", "how much is it per month? money is tight")
    for body in bodies:
        lead.send("sms.received", timedelta(minutes=1), message_id=f"m{lead.n}", body=body)
    pack = lead.pack()
    notes = pack["recent_interactions"]
    assert [n["excerpt"] for n in notes] == list(bodies)
    assert {(n["channel"], n["direction"], n["outcome"]) for n in notes} == {
        ("sms", "inbound", "received")
    }
    assert pack["latest_summary"] == ""  # nothing is read until the thread goes quiet

    assert lead.state is not None
    due = next_due(lead.state, PARAMS)
    assert due is not None
    lead.state, flushed = handle_tick(lead.state, due, NOW, POLICY, PARAMS)
    [request] = flushed.extraction_requests
    read = RulesExtractor().extract_sync(parse_transcript(request.transcript, "sms"))
    lead.extracted(request, read)
    pack = lead.pack()
    assert pack["latest_summary"] == read.summary != ""
    assert pack["financial_signals"]["concern_level"] == read.financial.concern_level.value
    assert read.financial.concern_level is not Level.NONE
    assert [n["excerpt"] for n in pack["recent_interactions"]] == list(bodies)


def test_sizes_stay_bounded_however_long_the_history() -> None:
    """An operator reads the pack in seconds and the endpoint serves it on every call."""
    lead = Lead()
    lead.created()
    long_call = "Agent: Hi Sarah.\nParent: " + "We are thinking about it. " * 100
    size_when_full = 0
    for i in range(30):
        [request] = lead.call(long_call).extraction_requests
        many = COST_EXTRACTION.model_copy(
            update={
                "summary": f"call {i}",
                "facts": tuple(f"fact {i}-{k}" for k in range(5)),
                "open_questions": tuple(f"question {i}-{k}" for k in range(5)),
                "objections": (Objection(topic=f"topic {i}"),),
                "additional_signals": (AdditionalSignal(signal=f"signal {i}"),),
            }
        )
        lead.extracted(request, many)
        if i == 9:  # every cap below is reached by the tenth call
            size_when_full = len(json.dumps(lead.pack()))
    pack = lead.pack()
    notes = pack["recent_interactions"]
    assert len(notes) == PARAMS.recent_interactions
    assert [n["event_id"] for n in notes] == [f"L1-e{k}" for k in range(27, 32)]  # newest
    assert all(len(n["excerpt"]) <= 280 for n in notes) and len(long_call) > 280
    assert len(pack["known_facts"]) == DEFAULT_LIMITS.facts
    assert pack["known_facts"][-1] == "fact 29-4"  # the newest are kept
    assert len(pack["open_questions"]) == DEFAULT_LIMITS.open_questions
    assert len(pack["objections"]) == DEFAULT_LIMITS.objections
    assert len(pack["additional_signals"]) == DEFAULT_LIMITS.signals
    assert pack["latest_summary"] == "call 29"
    # Twenty more calls add nothing but longer numbers to the pack.
    assert len(json.dumps(pack)) <= size_when_full * 1.05
    assert len(json.dumps(pack)) < 16_000


@pytest.mark.parametrize(
    ("lead_id", "name", "phone"),
    [("L1", "Sarah Mitchell", "+15550100"), ("L2", None, None), ("L3", "", None)],
)
def test_the_minimal_pack_says_it_is_degraded(
    lead_id: str, name: str | None, phone: str | None
) -> None:
    """When the state cannot be read, a caller still gets who to call and a warning."""
    pack = minimal_pack(lead_id, name, phone)
    assert pack == {"lead_id": lead_id, "lead_name": name, "phone": phone, "degraded": True}
    assert set(pack) - {"degraded"} <= PACK_KEYS  # same names as the full pack's
    assert "degraded" not in context_pack(LeadState(lead_id=lead_id))


def test_evidence_runs_from_the_transcript_to_the_decision_and_the_pack() -> None:
    """The chain an operator checks: family's span -> signal -> state -> action -> brief."""
    lead = Lead()
    lead.created()
    call = (
        "Agent: Hi Sarah, following up about robotics for Jake.\n"
        "Parent: He'd love it, but honestly we cant afford it right now.\n"
        "Agent: We have scholarships.\n"
        "Parent: Also the drive is 40 minutes each way, and I need to ask my husband."
    )
    [request] = lead.call(call).extraction_requests
    conversation = parse_transcript(request.transcript, "voice")
    read = RulesExtractor().extract_sync(conversation)
    [decision] = lead.extracted(request, read).decisions
    by_signal = {d.signal: d.evidence for d in decision.brief.content_directives}
    money = by_signal["financial_concern:high"]
    assert money is not None and money.quote == "cant afford"
    assert by_signal["objection:distance"] is not None
    assert by_signal["decision_makers"] is not None
    assert by_signal["campaign_goal"] is None  # not from the family's words
    for quote in (q for q in by_signal.values() if q is not None):
        assert quote.extraction_id == request.extraction_id
        turn = conversation.turns[quote.turn]
        assert turn.role == "family" and turn.text[quote.start : quote.end] == quote.quote
    pack = lead.pack()
    assert pack["financial_signals"]["evidence"]["quote"] == "cant afford"
    assert pack["latest_intent"]["intent"] == read.intent.value
    assert pack["latest_intent"]["evidence"]["quote"]
    assert {q["signal"] for q in pack["evidence"]} >= {"financial", "objection:distance", "family"}
    directives = pack["current_nba"]["action_brief"]["content_directives"]
    assert any(d["evidence"] and d["evidence"]["quote"] == "cant afford" for d in directives)


def test_a_later_extraction_replaces_the_latest_only_quotes() -> None:
    """Intent, tone and concern are the latest extraction's; an objection's quote stays."""
    lead = Lead()
    lead.created()
    [first] = lead.call("Parent: It's too far and we cant afford it.").extraction_requests
    lead.extracted(
        first, RulesExtractor().extract_sync(parse_transcript(first.transcript, "voice"))
    )
    [second] = lead.call("Parent: Can we book a trial for Saturday at 10am?").extraction_requests
    lead.extracted(
        second, RulesExtractor().extract_sync(parse_transcript(second.transcript, "voice"))
    )
    assert lead.state is not None
    quotes = {q.signal: q for q in lead.state.context.evidence}
    assert "financial" not in quotes  # the latest call raised no money worry
    assert quotes["intent"].value == "scheduling"
    assert quotes["intent"].extraction_id == second.extraction_id
    assert quotes["objection:distance"].extraction_id == first.extraction_id
