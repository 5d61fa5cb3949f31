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
_TIME: Final = rx(*TIME)

# After a refusal: "..., but is there ...?" turns it into a question.
_BUT_QUESTION: Final = re.compile(r"\bbut\b.*\?")


def decide(conversation: Conversation, read: Read) -> Intent:
    """The conversation's intent, from the family's sentences and the agent's questions."""
    sentences = read.sentences
    if read.opt_out or _declines(sentences) or _answers_no(conversation, read):
        return Intent.DECLINING
    if hits(_SCHEDULE_REQUEST, sentences):
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
    if any(
        _is_question(s)
        and not _CONSIDER.search(s.text)
        and not _UNCLEAR.search(s.text)
        and not _REDIRECT.search(s.text)
        for s in sentences
    ):
        return Intent.REQUESTING_INFO
    if deferring or hits(_CONSIDER, sentences):
        return Intent.CONSIDERING
    if _answers_when(conversation, read):
        return Intent.SCHEDULING
    if hits(_INTERESTED, sentences):
        return Intent.INTERESTED
    return Intent.UNCLEAR


def _is_question(s: Sentence) -> bool:
    return s.text.endswith("?") or bool(_INFO_REQUEST.search(s.text))


def _declines(sentences: Sequence[Sentence]) -> list[Sentence]:
    """Refusals, except "not interested in X, but is there Y?", which is a question about Y."""
    found: list[Sentence] = []
    for s in sentences:
        match = _DECLINE.search(s.text)
        if match and not _BUT_QUESTION.search(s.text[match.end() :]):
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


def _answers_when(conversation: Conversation, read: Read) -> bool:
    """The family giving days or times in reply to the agent asking when suits them."""
    turns = conversation.turns
    for s in read.sentences:
        previous_agent = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if previous_agent and _AGENT_ASKS_WHEN.search(previous_agent.text) and _TIME.search(s.text):
            return True
    return False
