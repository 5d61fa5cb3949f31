"""What the family wants, decided in the order an operator would read a conversation.

Declining, then scheduling, then objecting, then "can't talk now"/wrong number
(unclear), then asking for information, then considering, then plain interest.
Refinements keep that honest, all about when a barrier is an objection: a
decision-maker deferral ("let me talk to my wife") outweighs a price-only pushback;
an objection the family moved past in a later turn ("oh, that might be better") no
longer defines the conversation; a worry the family asks about in the same turn
("worried it's too advanced. Do you have a beginner group?") is a question, not an
objection; and a barrier given with a later time ("can't afford it, maybe next
year") is a not-yet. A refusal softened to "for now" still refuses when nothing
else in the conversation takes a stance.

The family's sentences carry the signals; the agent's turns are read for one
piece of context a reader would also use: whether the family is answering the
agent's question ("are you still interested?", "what day works?").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.model import Evidence, Intent
from stream_app.domain.extraction.rules import phrases_intent as phrases
from stream_app.domain.extraction.rules.dimensions import Read
from stream_app.domain.extraction.rules.phrases_context import TIME
from stream_app.domain.extraction.rules.text import (
    NEGATORS,
    Sentence,
    hits,
    matches,
    quotes,
    rx,
    whole,
)

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
_AGENT_OFFERS_BOOKING: Final = rx(*phrases.AGENT_OFFERS_BOOKING)
_NONE_OF_THEM: Final = re.compile(phrases.NONE_OF_THEM, re.IGNORECASE)
_THWARTED: Final = re.compile(phrases.THWARTED, re.IGNORECASE)
_UNDECIDED: Final = re.compile(phrases.UNDECIDED, re.IGNORECASE)
_BOOKING_VERB: Final = re.compile(phrases.BOOKING_VERB, re.IGNORECASE)
_HEDGED: Final = re.compile(phrases.HEDGED_BOOKING, re.IGNORECASE)
_YES: Final = re.compile(phrases.YES, re.IGNORECASE)
_QUESTION_OPENER: Final = re.compile(phrases.QUESTION_OPENER, re.IGNORECASE)
_RHETORICAL: Final = rx(*phrases.RHETORICAL)
_ASK_UNMARKED: Final = rx(*phrases.ASK_UNMARKED)
_HEDGE: Final = rx(*phrases.HEDGE)
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
_LAST_CLAUSE: Final = re.compile(r"(?:[,;]|\bbut\b)\s*([^,;]*)$", re.IGNORECASE)
_WORD: Final = re.compile(r"\w")
_BUT: Final = re.compile(r"\bbut\b", re.IGNORECASE)
_CLOCK: Final = re.compile(r"\b\d{1,2}:\d{2}\b")


def decide(conversation: Conversation, read: Read) -> tuple[Intent, tuple[Evidence, ...]]:
    """The conversation's intent and the family's words that decided it.

    Read from the family's sentences and the agent's questions. `unclear` reached
    because nothing else applied has no quote: it is the absence of a signal.
    """
    sentences = read.sentences
    if read.opt_out:
        return Intent.DECLINING, read.opt_out_evidence
    firm, softened = _declines(sentences)
    if found := firm or _answers_no(conversation, read):
        return Intent.DECLINING, quotes(found)
    deferring = matches(_DEFER_TO_DECISION_MAKER, sentences)
    if hedged := _hedged_bookings(sentences):
        return Intent.CONSIDERING, quotes(hedged)
    if found := (
        _booking_requests(sentences)
        or _proposes_time(sentences)
        or _confirms(conversation, read)
        or ([] if deferring else _wants_a_time(sentences))
        or _accepts_booking(conversation, read)
        or _picks_a_slot(conversation, read)
    ):
        return Intent.SCHEDULING, quotes(found)
    if found := _turns_down_the_slots(conversation, read) or _thwarted(sentences):
        return Intent.OBJECTING, quotes(found)
    objecting = _objecting_turns(read)
    moved_on = (
        bool(objecting)
        and read.last_turn not in objecting
        and bool(hits(_RESOLVED, [s for s in sentences if s.turn == read.last_turn]))
    )
    if objecting and not moved_on and not deferring:
        if later := matches(_LONG_DEFERRAL, [s for s in sentences if s.turn in objecting]):
            return Intent.CONSIDERING, quotes(later)
        raised = [e for o in read.objections for e in o.evidence if e.turn in objecting]
        raised += [whole(b) for b in read.blockers if b.turn in objecting]
        return Intent.OBJECTING, tuple(dict.fromkeys(raised))
    if found := matches(_LONG_DEFERRAL, sentences):
        return Intent.CONSIDERING, quotes(found)
    if found := matches(_UNCLEAR, sentences):
        return Intent.UNCLEAR, quotes(found)
    soft = _latest_stance(conversation, read, deferring)
    if soft is not None:
        return soft
    if softened:
        return Intent.DECLINING, quotes(softened)
    return Intent.UNCLEAR, ()


Found = list[tuple[Sentence, re.Match[str]]]
_ANY: Final = re.compile(r".+", re.DOTALL)


def _whole(sentences: Sequence[Sentence]) -> Found:
    """Sentences that count as a whole (a question, a bare "C"), as matches of themselves."""
    return [(s, m) for s in sentences if (m := _ANY.match(s.text))]


def _latest_stance(
    conversation: Conversation, read: Read, deferring: Found
) -> tuple[Intent, tuple[Evidence, ...]] | None:
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
        asked = [
            s
            for s in found
            if _is_question(s)
            and not _CONSIDER.search(s.text)
            and not _UNCLEAR.search(s.text)
            and not _REDIRECT.search(s.text)
        ]
        if asked:
            return Intent.REQUESTING_INFO, quotes(_whole(asked))
        if deciding := matches(_DEFER_TO_DECISION_MAKER, found) + matches(_CONSIDER, found):
            return Intent.CONSIDERING, quotes(deciding)
        if answered := _answers_when(conversation, read, turn):
            return Intent.SCHEDULING, quotes(answered)
        if keen := matches(_INTERESTED, found):
            if deferring:
                return Intent.CONSIDERING, quotes(deferring)
            if hedged := [(s, m) for s, m in keen if _HEDGE.search(s.text[m.end() :])]:
                return Intent.CONSIDERING, quotes(_whole([s for s, _ in hedged]))
            return Intent.INTERESTED, quotes(keen)
    return (Intent.CONSIDERING, quotes(deferring)) if deferring else None


def _booking_requests(sentences: Sequence[Sentence]) -> Found:
    """Asks to book, except a plan told in the past and taken back ("we were gonna sign
    up, but ...") or one still to be decided ("we'll call if we decide to sign up")."""
    return [
        (s, m)
        for s, m in matches(_SCHEDULE_REQUEST, sentences)
        if not _undone(s.text, m) and not _UNDECIDED.search(s.text[: m.start()])
    ]


def _hedged_bookings(sentences: Sequence[Sentence]) -> Found:
    """A booking said with a "probably" or "maybe" before it ("we'll probably sign up
    next week"), when no sentence books outright: the family is still deciding."""
    found = [(s, m) for s, m in matches(_SCHEDULE_REQUEST, sentences) if not _undone(s.text, m)]
    hedged = [(s, m) for s, m in found if _HEDGED.search(s.text[: m.start()])]
    return hedged if len(hedged) == len(found) else []


def _undone(text: str, booking: re.Match[str]) -> bool:
    """A booking phrase inside a past plan that a later "but" takes back."""
    return bool(_THWARTED.search(text[: booking.start()])) and bool(
        _BUT.search(text, booking.end())
    )


def _thwarted(sentences: Sequence[Sentence]) -> Found:
    """A plan told in the past and undone by a "but": the reason after it is a barrier."""
    return _whole(
        [s for s in sentences if (b := _BOOKING_VERB.search(s.text)) and _undone(s.text, b)]
    )


def _proposes_time(sentences: Sequence[Sentence]) -> Found:
    """A short question that names a day or time ("next sat?", "thurs?"): a slot offered.

    The question may close a longer sentence that first rules a time out ("5 is a
    little early, 5:30?", "sat we have a party but sunday?"): its last clause offers.
    """
    return _whole(
        [
            s
            for s in sentences
            if s.text.endswith("?")
            and not _WH_QUESTION.match(s.text)
            and any(
                len(offer.split()) <= _SHORT_QUESTION_WORDS
                and (_DAY_SHORT.search(offer) or _TIME.search(offer) or _CLOCK.search(offer))
                for offer in (s.text, _last_clause(s.text))
            )
        ]
    )


def _last_clause(text: str) -> str:
    m = _LAST_CLAUSE.search(text)
    return m.group(1) if m else text


def _wants_a_time(sentences: Sequence[Sentence]) -> Found:
    """Wanting a named day or hour in one breath ("would love to do the Monday class at 4")."""
    return _whole(
        [
            s
            for s in sentences
            if (d := _DESIRE.search(s.text)) and _CLOCK_OR_DAY.search(s.text[d.end() :])
        ]
    )


def _confirms(conversation: Conversation, read: Read) -> Found:
    """A bare "yes"/"C" right after the agent asked the family to confirm a booking."""
    turns = conversation.turns
    confirmed = []
    for s in read.sentences:
        previous = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if (
            previous is not None
            and _CONFIRM_REQUEST.search(previous.text)
            and _CONFIRM_REPLY.match(s.text)
        ):
            confirmed.append(s)
    return _whole(confirmed)


def _is_question(s: Sentence) -> bool:
    """A question in form or in words; a bare "??" asks nothing a reader could answer."""
    return (
        (s.text.endswith("?") and bool(_WORD.search(s.text)))
        or bool(_INFO_REQUEST.search(s.text))
        or bool(_ASK_UNMARKED.search(s.text))
    )


def _declines(sentences: Sequence[Sentence]) -> tuple[Found, Found]:
    """Refusals, and refusals softened by what follows them.

    "Not interested in X, but is there Y?" is a question about Y and "not
    interested right now" may be a not-yet, so those are set apart as softened: they
    decide only when nothing else in the conversation does ("we'll pass for now 🙂").
    """
    firm: Found = []
    softened: Found = []
    for s in sentences:
        match = _DECLINE.search(s.text)
        if match:
            soft = _BUT_NOT_NOW.search(s.text[match.end() :])
            (softened if soft else firm).append((s, match))
    return firm, softened


def _objecting_turns(read: Read) -> frozenset[int]:
    """The turns that raise a barrier and do not also ask past it.

    A family that names a worry and asks about it in the same turn ("she's never
    been on a boat. Do you have a beginner group?", "Is there aid? Things have been
    tight.") is asking; only a barrier stated without a real question objects.
    """
    if not read.objection_turns:
        return read.objection_turns
    asking = {s.turn for s in read.sentences if s.turn in read.objection_turns and _asks(s)}
    return frozenset(t for t in read.objection_turns if t not in asking)


def _asks(s: Sentence) -> bool:
    """A real question: a question's form or an ask for information, not a jab.

    "Four hundred for the semester?" and "the fee went up again?" repeat a figure
    in disbelief, and "why is it so much?" argues; neither asks for anything. The
    question may open the sentence's last clause ("she's 4, is that too young?").
    """
    if _RHETORICAL.search(s.text):
        return False
    if s.text.endswith("?"):
        return bool(
            _QUESTION_OPENER.match(s.text)
            or _QUESTION_OPENER.match(_last_clause(s.text))
            or _INFO_REQUEST.search(s.text)
        )
    return bool(_ASK_UNMARKED.search(s.text))


def _accepts_booking(conversation: Conversation, read: Read) -> Found:
    """A "yes" that opens the family's reply to the agent offering to book ("want to book ...?")."""
    turns = conversation.turns
    openers = {s.turn: s for s in reversed(read.sentences)}
    for s in openers.values():
        if not (m := _YES.match(s.text)):
            continue
        previous = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if previous is not None and _AGENT_OFFERS_BOOKING.search(previous.text):
            return [(s, m)]
    return []


def _picks_a_slot(conversation: Conversation, read: Read) -> Found:
    """A short reply naming a day or time the agent just offered ("sat 11 pls")."""
    turns = conversation.turns
    picked: list[Sentence] = []
    for s in read.sentences:
        previous = turns[s.turn - 1] if s.turn > 0 else None
        if (
            not s.text.endswith("?")
            and len(words := s.text.lower().split()) <= _SHORT_QUESTION_WORDS
            and not NEGATORS.intersection(words)
            and _DAY_SHORT.search(s.text)
            and previous is not None
            and previous.role == "agent"
            and _CLOCK_OR_DAY.search(previous.text)
        ):
            picked.append(s)
    return _whole(picked)


def _turns_down_the_slots(conversation: Conversation, read: Read) -> Found:
    """A "neither" or "none of those" right after the agent offered days or times: a barrier."""
    turns = conversation.turns
    return [
        (s, m)
        for s in read.sentences
        if (m := _NONE_OF_THEM.match(s.text))
        and s.turn > 0
        and turns[s.turn - 1].role == "agent"
        and _CLOCK_OR_DAY.search(turns[s.turn - 1].text)
    ]


def _answers_no(conversation: Conversation, read: Read) -> Found:
    """A bare "no" / "not really" to the agent asking whether the family still wants this."""
    turns = conversation.turns
    for s in read.sentences:
        previous = turns[s.turn - 1] if s.turn > 0 else None
        if (
            previous is not None
            and previous.role == "agent"
            and previous.text.rstrip().endswith("?")
            and _AGENT_ASKS_INTEREST.search(previous.text)
            and (m := _BARE_NO.match(s.text))
        ):
            return [(s, m)]
    return []


def _answers_when(conversation: Conversation, read: Read, turn: int) -> Found:
    """The family giving days or times, in this turn, to the agent asking when suits them."""
    turns = conversation.turns
    for s in read.sentences:
        if s.turn != turn:
            continue
        previous_agent = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if previous_agent and _AGENT_ASKS_WHEN.search(previous_agent.text):
            found = matches(_TIME, [s], negatable=False)
            if found:
                return found
    return []
