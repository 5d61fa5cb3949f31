"""Who said what: the one shape every extractor reads.

Transcripts arrive as speaker-labelled text and SMS threads as directed messages;
both become a `Conversation` so that every rule can ask the one question that
matters for extraction: which words are the family's? Signals come only from the
family; the agent's lines are context (an agent offering scholarships is not a
financial concern).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

Role = Literal["family", "agent"]
Channel = Literal["voice", "sms", "email"]
Direction = Literal["inbound", "outbound"]

AGENT_ROLE_WORDS = frozenset(
    {
        "agent",
        "rep",
        "representative",
        "coach",
        "staff",
        "operator",
        "advisor",
        "adviser",
        "counselor",
        "counsellor",
        "admissions",
        "assistant",
        "academy",
    }
)
"""Words that mark a speaker label as the academy's side ("Coach Ben", "Agent 2")."""

FAMILY_SPEAKER = "Family"
AGENT_SPEAKER = "Agent"

# A label is a short name at the start of a line: up to four words, starting with a
# letter, so "10:30 works" or "Note the time: 5pm" in the middle of a turn stay text.
_LABEL = re.compile(r"^\s*([A-Za-z][\w.'()\-]*(?:[ \t]+[\w.'()\-]+){0,3})[ \t]*:[ \t]*(.*)$")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class Turn:
    speaker: str
    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class Conversation:
    channel: Channel
    turns: tuple[Turn, ...]


def speaker_role(speaker: str, agent_names: Collection[str] = ()) -> Role:
    """Everyone who is not recognisably the academy is treated as family.

    Erring towards family means an unknown label ("Grandma", "Maria") is heard,
    which is what an operator would want; the agent names let a deployment name
    its reps so "Dana:" is not mistaken for a parent.
    """
    lowered = speaker.strip().lower()
    names = {n.strip().lower() for n in agent_names}
    words = _WORD.findall(lowered)
    if lowered in names or (words and words[0] in names):
        return "agent"
    return "agent" if any(w in AGENT_ROLE_WORDS for w in words) else "family"


def parse_transcript(
    text: str, channel: Channel, agent_names: Collection[str] = ()
) -> Conversation:
    """Split a speaker-labelled transcript into turns.

    Lines without a label continue the previous turn (speech-to-text wraps long
    turns). Text before the first label, or a transcript with no labels at all,
    is counted as the family's words: an unlabelled voicemail or email body is
    almost always the family speaking.
    """
    turns: list[Turn] = []
    speaker: str = FAMILY_SPEAKER
    role: Role = "family"
    lines: list[str] = []
    for raw in text.splitlines():
        match = _LABEL.match(raw)
        if match:
            if lines:
                turns.append(Turn(speaker, role, " ".join(lines)))
            speaker = match.group(1).strip()
            role = speaker_role(speaker, agent_names)
            lines = [match.group(2).strip()] if match.group(2).strip() else []
        elif raw.strip():
            lines.append(raw.strip())
    if lines:
        turns.append(Turn(speaker, role, " ".join(lines)))
    return Conversation(channel=channel, turns=tuple(t for t in turns if t.text))


def sms_thread(messages: Sequence[tuple[Direction, str]]) -> Conversation:
    """Inbound messages are the family's; outbound ones are the academy's."""
    turns = tuple(
        Turn(FAMILY_SPEAKER, "family", body.strip())
        if direction == "inbound"
        else Turn(AGENT_SPEAKER, "agent", body.strip())
        for direction, body in messages
        if body.strip()
    )
    return Conversation(channel="sms", turns=turns)


def family_turns(conversation: Conversation) -> tuple[Turn, ...]:
    return tuple(t for t in conversation.turns if t.role == "family")


def family_text(conversation: Conversation) -> str:
    return "\n".join(t.text for t in family_turns(conversation))


def render(conversation: Conversation) -> str:
    """A transcript with normalised labels, so an LLM sees the same roles the rules see."""
    return "\n".join(
        f"{'Family' if t.role == 'family' else 'Agent'} ({t.speaker}): {t.text}"
        for t in conversation.turns
    )
