"""Transcript and SMS parsing: which words are the family's."""

from __future__ import annotations

import pytest

from stream_app.domain.extraction.conversation import (
    Turn,
    family_text,
    parse_transcript,
    sms_thread,
    speaker_role,
)


@pytest.mark.parametrize(
    "speaker, role",
    [
        ("Agent", "agent"),
        ("Rep", "agent"),
        ("Coach", "agent"),
        ("Coach Ben", "agent"),
        ("Staff", "agent"),
        ("Operator", "agent"),
        ("Advisor", "agent"),
        ("Counselor", "agent"),
        ("Admissions", "agent"),
        ("Agent 2", "agent"),
        ("agent", "agent"),
        ("Parent", "family"),
        ("Mom", "family"),
        ("Dad", "family"),
        ("Grandma", "family"),
        ("Maria", "family"),
        ("Maria Lopez", "family"),
    ],
)
def test_speaker_role(speaker: str, role: str) -> None:
    assert speaker_role(speaker) == role


def test_named_agents_are_the_academy_side() -> None:
    assert speaker_role("Dana", agent_names={"dana"}) == "agent"
    assert speaker_role("Dana Smith", agent_names={"Dana"}) == "agent"
    assert speaker_role("Maria", agent_names={"Dana"}) == "family"


def test_parse_labelled_transcript() -> None:
    conv = parse_transcript(
        "Agent: Hi, this is Dana.\nParent: Hi Dana.\nMaria: I'm the aunt.", "voice"
    )
    assert conv.channel == "voice"
    assert conv.turns == (
        Turn("Agent", "agent", "Hi, this is Dana."),
        Turn("Parent", "family", "Hi Dana."),
        Turn("Maria", "family", "I'm the aunt."),
    )


def test_unprefixed_lines_continue_the_previous_turn() -> None:
    conv = parse_transcript(
        "Parent: Mei enjoyed it, but\nshe said it was too fast.\n\nAgent: We have a slower group.",
        "voice",
    )
    assert [t.text for t in conv.turns] == [
        "Mei enjoyed it, but she said it was too fast.",
        "We have a slower group.",
    ]


def test_times_inside_a_turn_are_not_speaker_labels() -> None:
    conv = parse_transcript("Parent: Thursday works.\n4:30 is best for us.", "voice")
    assert conv.turns == (Turn("Parent", "family", "Thursday works. 4:30 is best for us."),)


def test_unlabelled_transcript_is_family_words() -> None:
    conv = parse_transcript("Hello,\nCould you send the schedule?\nThanks, Rachel", "email")
    assert [t.role for t in conv.turns] == ["family"]
    assert family_text(conv) == "Hello, Could you send the schedule? Thanks, Rachel"


def test_empty_transcript_has_no_turns() -> None:
    assert parse_transcript("  \n\n", "voice").turns == ()
    assert parse_transcript("Agent:\nParent:", "voice").turns == ()


def test_family_text_excludes_agent_lines() -> None:
    conv = parse_transcript(
        "Agent: Reply STOP to opt out.\nParent: Sounds good.\nAgent: Bye.\nDad: Bye!", "voice"
    )
    assert family_text(conv) == "Sounds good.\nBye!"


def test_sms_thread_roles_follow_direction() -> None:
    conv = sms_thread([("outbound", "Want a spot?"), ("inbound", " yes! "), ("inbound", "  ")])
    assert conv.channel == "sms"
    assert conv.turns == (Turn("Agent", "agent", "Want a spot?"), Turn("Family", "family", "yes!"))
    assert family_text(conv) == "yes!"
