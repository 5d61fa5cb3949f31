"""What the family wants, decided in the order an operator would read a conversation.

Declining, then scheduling, then objecting, then "can't talk now"/wrong number
(unclear), then asking for information, then considering, then plain interest.
Two refinements keep that honest: a decision-maker deferral ("let me talk to my
wife") outweighs a price-only pushback, and an objection the family moved past in
a later turn ("oh, that might be better") no longer defines the conversation.

The family's sentences carry the signals; the agent's turns are read for one
piece of context a reader would also use: whether the family is answering the
agent's question ("are you still interested?", "what day works?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.model import Intent
from stream_app.domain.extraction.rules import phrases_intent as phrases
from stream_app.domain.extraction.rules.dimensions import Read
from stream_app.domain.extraction.rules.phrases_context import TIME
from stream_app.domain.extraction.rules.text import Sentence, hits, rx

_DECLINE: Final = rx(*phrases.DECLINE)
_SCHEDULE_REQUEST: Final = rx(*phrases.SCHEDULE_REQUEST)
_UNCLEAR: Final = rx(*phrases.UNCLEAR)
_LONG_DEFERRAL: Final = rx(*phrases.LONG_DEFERRAL)
_CONSIDER: Final = rx(*phrases.CONSIDER)
_DEFER_TO_DECISION_MAKER: Final = rx(*phrases.DEFER_TO_DECISION_MAKER)
_INTERESTED: Final = rx(*phrases.INTERESTED)
_INFO_REQUEST: Final = rx(*phrases.INFO_REQUEST)
_RESOLVED: Final = rx(*phrases.RESOLVED)
_REDIRECT: Final = rx(*phrases.REDIRECT)
_AGENT_ASKS_INTEREST: Final = rx(*phrases.AGENT_ASKS_INTEREST)
_BARE_NO: Final = re.compile(phrases.BARE_NO, re.IGNORECASE)
_AGENT_ASKS_WHEN: Final = rx(*phrases.AGENT_ASKS_WHEN)
_CONFIRM_REQUEST: Final = rx(*phrases.CONFIRM_REQUEST)
_CONFIRM_REPLY: Final = re.compile(phrases.CONFIRM_REPLY, re.IGNORECASE)
_DAY_SHORT: Final = re.compile(phrases.DAY_SHORT, re.IGNORECASE)
_BUT_NOT_NOW: Final = rx(*phrases.BUT_NOT_NOW)
_TIME: Final = rx(*TIME)
_DESIRE: Final = rx(
    r"\b(?:(?:would|'d)\s+(?:love|like)|want(?:s|ed)?)\s+to\s+"
    r"(?:do|book|come|start|join|try|take|bring|get\s+(?:him|her|them)\s+in)\b"
)
_CLOCK_OR_DAY: Final = rx(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
    r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b",
    r"\bat\s+\d{1,2}(?::\d{2})?\b",
)
_SHORT_QUESTION_WORDS: Final = 5
_WH_QUESTION: Final = re.compile(
    r"^\W*(?:what|when|which|how|where|who|is|are|do|does|any|anything)\b", re.IGNORECASE
)


def decide(conversation: Conversation, read: Read) -> Intent:
    """The conversation's intent, from the family's sentences and the agent's questions."""
    sentences = read.sentences
    if read.opt_out or _declines(sentences) or _answers_no(conversation, read):
        return Intent.DECLINING
    if (
        hits(_SCHEDULE_REQUEST, sentences)
        or _proposes_time(sentences)
        or _confirms(conversation, read)
        or _wants_a_time(sentences)
    ):
        return Intent.SCHEDULING
    deferring = bool(hits(_DEFER_TO_DECISION_MAKER, sentences))
    moved_on = (
        bool(read.objection_turns)
        and read.last_turn not in read.objection_turns
        and bool(hits(_RESOLVED, [s for s in sentences if s.turn == read.last_turn]))
    )
    if read.objection_turns and not moved_on and not deferring:
        return Intent.OBJECTING
    if hits(_LONG_DEFERRAL, sentences):
        return Intent.CONSIDERING
    if hits(_UNCLEAR, sentences):
        return Intent.UNCLEAR
    soft = _latest_stance(conversation, read, deferring)
    if soft is not None:
        return soft
    return Intent.UNCLEAR


def _latest_stance(conversation: Conversation, read: Read, deferring: bool) -> Intent | None:
    """Asking, still deciding, or keen: the stance of the family's last turn that has one.

    A question the agent has since answered no longer speaks for the family when a
    later turn takes a stance ("Is the kitchen nut free?" ... "Okay, she'd love it"),
    so turns are read from the last back and the first one with a stance decides.
    Within a turn the order is asking, then deciding, then answering "when", then keen.
    """
    by_turn: dict[int, list[Sentence]] = {}
    for s in read.sentences:
        by_turn.setdefault(s.turn, []).append(s)
    for turn in sorted(by_turn, reverse=True):
        found = by_turn[turn]
        if any(
            _is_question(s)
            and not _CONSIDER.search(s.text)
            and not _UNCLEAR.search(s.text)
            and not _REDIRECT.search(s.text)
            for s in found
        ):
            return Intent.REQUESTING_INFO
        if hits(_DEFER_TO_DECISION_MAKER, found) or hits(_CONSIDER, found):
            return Intent.CONSIDERING
        if _answers_when(conversation, read, turn):
            return Intent.SCHEDULING
        if hits(_INTERESTED, found):
            return Intent.CONSIDERING if deferring else Intent.INTERESTED
    return Intent.CONSIDERING if deferring else None


def _proposes_time(sentences: Sequence[Sentence]) -> bool:
    """A short question that names a day or time ("next sat?", "thurs?"): a slot offered."""
    return any(
        s.text.endswith("?")
        and not _WH_QUESTION.match(s.text)
        and len(s.text.split()) <= _SHORT_QUESTION_WORDS
        and (_DAY_SHORT.search(s.text) or _TIME.search(s.text))
        for s in sentences
    )


def _wants_a_time(sentences: Sequence[Sentence]) -> bool:
    """Wanting a named day or hour in one breath ("would love to do the Monday class at 4")."""
    return any(
        (d := _DESIRE.search(s.text)) and _CLOCK_OR_DAY.search(s.text[d.end() :]) for s in sentences
    )


def _confirms(conversation: Conversation, read: Read) -> bool:
    """A bare "yes"/"C" right after the agent asked the family to confirm a booking."""
    turns = conversation.turns
    for s in read.sentences:
        previous = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if (
            previous is not None
            and _CONFIRM_REQUEST.search(previous.text)
            and _CONFIRM_REPLY.match(s.text)
        ):
            return True
    return False


def _is_question(s: Sentence) -> bool:
    return s.text.endswith("?") or bool(_INFO_REQUEST.search(s.text))


def _declines(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Refusals, except "not interested in X, but is there Y?", which is a question about Y."""
    found: list[Sentence] = []
    for s in sentences:
        match = _DECLINE.search(s.text)
        if match and not _BUT_NOT_NOW.search(s.text[match.end() :]):
            found.append(s)
    return found


def _answers_no(conversation: Conversation, read: Read) -> bool:
    """A bare "no" / "not really" to the agent asking whether the family still wants this."""
    turns = conversation.turns
    for s in read.sentences:
        previous = turns[s.turn - 1] if s.turn > 0 else None
        if (
            previous is not None
            and previous.role == "agent"
            and previous.text.rstrip().endswith("?")
            and _AGENT_ASKS_INTEREST.search(previous.text)
            and _BARE_NO.match(s.text)
        ):
            return True
    return False


def _answers_when(conversation: Conversation, read: Read, turn: int) -> bool:
    """The family giving days or times, in this turn, to the agent asking when suits them."""
    turns = conversation.turns
    for s in read.sentences:
        if s.turn != turn:
            continue
        previous_agent = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if previous_agent and _AGENT_ASKS_WHEN.search(previous_agent.text) and _TIME.search(s.text):
            return True
    return False
