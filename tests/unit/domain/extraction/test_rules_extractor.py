"""RulesExtractor behaviour that the corpus score alone would not pin down."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stream_app.domain.extraction.conversation import Conversation, parse_transcript, sms_thread
from stream_app.domain.extraction.model import (
    Extraction,
    ExtractionStatus,
    Intent,
    Level,
    Sentiment,
)
from stream_app.domain.extraction.rules import RulesExtractor

extract = RulesExtractor().extract_sync


def family_says(text: str) -> Extraction:
    return extract(sms_thread([("inbound", text)]))


@pytest.mark.parametrize(
    "text, intent",
    [
        ("I'm interested!", Intent.INTERESTED),
        ("Not interested.", Intent.DECLINING),
        ("We're not interested, thanks.", Intent.DECLINING),
        ("No longer interested, please stop calling.", Intent.DECLINING),
        ("I'm not sure yet.", Intent.CONSIDERING),
        ("Not interested in hockey, but is there anything for skating?", Intent.REQUESTING_INFO),
        ("im intrested in the camp", Intent.INTERESTED),
        ("i didnt sign up for anything", Intent.UNCLEAR),
        ("Can we book a trial for Saturday?", Intent.SCHEDULING),
        ("How much does it cost?", Intent.REQUESTING_INFO),
        ("It's too far for us.", Intent.OBJECTING),
    ],
)
def test_negation_and_intent(text: str, intent: Intent) -> None:
    assert family_says(text).intent is intent


@pytest.mark.parametrize(
    "text, level",
    [
        ("It's not too expensive, honestly.", Level.NONE),
        ("Cost isn't an issue for us.", Level.NONE),
        ("Money's not a problem.", Level.NONE),
        ("How much does it cost?", Level.LOW),
        ("Any discounts for siblings?", Level.LOW),
        ("Is there a payment plan?", Level.LOW),
        ("It's too expensive.", Level.MODERATE),
        ("Money is tight right now.", Level.MODERATE),
        ("That's out of our budget.", Level.MODERATE),
        ("Do you have any scholarships?", Level.MODERATE),
        ("kinda steep", Level.MODERATE),
        ("We can't afford it.", Level.HIGH),
        ("we cant afford it", Level.HIGH),
        ("I lost my job, so we can't do the fees right now.", Level.HIGH),
        ("There's no way we can pay that.", Level.HIGH),
    ],
)
def test_financial_concern_levels(text: str, level: Level) -> None:
    assert family_says(text).financial.concern_level is level


def test_agent_offering_scholarships_is_not_a_financial_concern() -> None:
    conv = parse_transcript(
        "Agent: We have scholarships and payment plans if cost is a concern. It's $200 a month.\n"
        "Parent: Great, can we book Thursday at 4?",
        "voice",
    )
    result = extract(conv)
    assert result.financial.concern_level is Level.NONE
    assert result.financial.mentions == ()
    assert result.intent is Intent.SCHEDULING


def test_agent_lines_carry_no_signals_objections_or_opt_out() -> None:
    conv = parse_transcript(
        "Agent: Some families find it too far, and some lost their job this year. "
        "My friend said the YMCA is cheaper. Reply STOP to opt out.\n"
        "Parent: Okay.",
        "voice",
    )
    result = extract(conv)
    assert result.objections == ()
    assert result.additional_signals == ()
    assert result.opt_out is False
    assert result.financial.concern_level is Level.NONE


def test_no_family_words_is_no_response() -> None:
    for conv in (
        parse_transcript("Agent: Hi, call us back at 555-0100.", "voice"),
        sms_thread([("outbound", "Still interested?")]),
        Conversation(channel="sms", turns=()),
    ):
        result = extract(conv)
        assert result.intent is Intent.NO_RESPONSE
        assert result.status is ExtractionStatus.OK
        assert result.summary


def test_opt_out_is_declining_and_negative() -> None:
    result = family_says("STOP")
    assert result.opt_out is True
    assert result.intent is Intent.DECLINING
    assert result.sentiment is Sentiment.NEGATIVE


def test_full_conversation_fills_every_dimension() -> None:
    conv = parse_transcript(
        "Agent: Hi, this is Sam from Peak Climbing.\n"
        "Parent: Hi! My neighbor's kids go there and rave about it. I have two boys, Liam is 11 "
        "and Owen is 8. My husband got laid off, so money is tight.\n"
        "Agent: We have groups for both.\n"
        "Parent: It's a 40 minute drive though. I need to talk to my partner. "
        "Do you have anything on Saturday mornings? Is there a sibling discount?",
        "voice",
    )
    result = extract(conv)
    assert result.provider == "rules"
    assert 2 <= result.summary.count(".") <= 4
    assert result.facts
    # Deferring to a partner outweighs the distance objection; the questions then lead.
    assert result.intent is Intent.REQUESTING_INFO
    assert result.open_questions == (
        "Do you have anything on Saturday mornings?",
        "Is there a sibling discount?",
    )
    assert result.financial.concern_level is Level.HIGH
    assert result.scheduling.preferred_times
    assert {"Liam (11)", "Owen (8)"} <= set(result.family.siblings)
    assert result.family.decision_makers == ("partner",)
    assert [o.topic for o in result.objections] == ["distance"]
    signals = {s.signal: s for s in result.additional_signals}
    assert set(signals) == {"job_loss", "referral_source"}
    assert signals["job_loss"].urgency is Level.HIGH
    assert signals["job_loss"].suggested_action == "scholarship_outreach"


def test_answered_questions_are_not_open() -> None:
    conv = parse_transcript(
        "Parent: How much is it?\nAgent: $149 a month.\nParent: Okay. What time on Tuesdays?",
        "voice",
    )
    assert extract(conv).open_questions == ("What time on Tuesdays?",)


def test_declining_escalates_objection_severity() -> None:
    result = family_says("He hated it. He doesn't want to go back, so we're going to pass.")
    assert result.intent is Intent.DECLINING
    assert [(o.topic, o.severity) for o in result.objections] == [("child_reluctant", Level.HIGH)]


def test_scheduling_constraints_and_preferences_are_separated() -> None:
    result = family_says("We can't do weekdays, we work till 6. Saturday mornings are best.")
    assert result.scheduling.constraints == ("We can't do weekdays, we work till 6.",)
    assert result.scheduling.preferred_times == ("Saturday mornings are best.",)


def test_async_extract_matches_sync() -> None:
    import asyncio

    conv = sms_thread([("inbound", "Can we book a tour this week?")])
    assert asyncio.run(RulesExtractor().extract(conv)) == extract(conv)


_speakers = st.sampled_from(["Agent", "Parent", "Coach Ben", "Maria", "Rep", "Dad", ""])


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_raises_on_arbitrary_text(text: str) -> None:
    for conv in (parse_transcript(text, "voice"), sms_thread([("inbound", text)])):
        result = extract(conv)
        assert result.status is ExtractionStatus.OK
        assert Extraction.model_validate(result.model_dump()) == result


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_speakers, st.text(max_size=200)), max_size=12))
def test_never_raises_on_arbitrary_transcripts(lines: list[tuple[str, str]]) -> None:
    text = "\n".join(f"{who}: {said}" if who else said for who, said in lines)
    result = extract(parse_transcript(text, "voice"))
    assert result.status is ExtractionStatus.OK
    assert Extraction.model_validate_json(result.model_dump_json()) == result
