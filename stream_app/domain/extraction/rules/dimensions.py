"""The per-dimension readings: money, objections, life events, timing, family, tone.

Each function reads the family's sentences for one dimension of an `Extraction`
and knows nothing of the others, except where one reading is evidence for
another: lost income raises the financial concern, a money blocker or a refusal
turns a competitor mention into an objection, and the decided intent weighs on
the tone. `read_sentences` runs them once per conversation into a `Read`, which
intent, sentiment and the summary then share instead of matching again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from stream_app.domain.extraction.model import (
    QUOTES,
    AdditionalSignal,
    Evidence,
    FamilyContext,
    Intent,
    Level,
    Objection,
    SchedulingSignals,
    Sentiment,
)
from stream_app.domain.extraction.rules import phrases_concerns as concerns
from stream_app.domain.extraction.rules import phrases_context as context
from stream_app.domain.extraction.rules.phrases_concerns import ObjectionTopic, SignalRule
from stream_app.domain.extraction.rules.phrases_intent import DECLINE
from stream_app.domain.extraction.rules.text import (
    Phrases,
    Sentence,
    detail,
    hits,
    matches,
    negated,
    quote,
    quotes,
    rx,
    unique,
    whole,
)

_FIN_NO_CONCERN: Final = rx(*concerns.FIN_NO_CONCERN)
_FIN_HIGH: Final = rx(*concerns.FIN_HIGH)
_FIN_MODERATE_BLOCKER: Final = rx(*concerns.FIN_MODERATE_BLOCKER)
_FIN_MODERATE: Final = rx(*concerns.FIN_MODERATE)
_FIN_LOW: Final = rx(*concerns.FIN_LOW)
_FIN_STRAIN: Final = rx(*concerns.FIN_STRAIN)
_MONEY_CONTEXT: Final = rx(*concerns.MONEY_CONTEXT)
# A worry softened in the same breath ("pricey, but you get what you pay for") is a
# concern, not a reason it won't work.
_CONCESSION: Final = rx(r"\bbut\b[^.?!]*\b(?:worth|get\s+what\s+you\s+pay\s+for|i\s+guess)\b")
_OBJECTIONS: Final[tuple[tuple[ObjectionTopic, Phrases], ...]] = tuple(
    (topic, rx(*topic.phrases)) for topic in concerns.OBJECTIONS
)
_COMPETITOR: Final = rx(*concerns.COMPETITOR)
_DECLINE: Final = rx(*DECLINE)
_SIGNALS: Final[tuple[tuple[SignalRule, Phrases], ...]] = tuple(
    (rule, rx(*rule.phrases)) for rule in concerns.SIGNALS
)
_JOB_LOSS: Final = next(pattern for rule, pattern in _SIGNALS if rule.signal == "job_loss")
_TIME: Final = rx(*context.TIME)
_RELATIVE: Final = rx(*context.RELATIVE)
_BOOKABLE: Final = rx(*context.BOOKABLE)
_CONSTRAINT_CUE: Final = rx(*context.CONSTRAINT_CUE)
_SIBLING: Final = rx(*context.SIBLING)
_DECISION_MAKER: Final = rx(*context.DECISION_MAKER)
_WHO: Final = re.compile(context.WHO, re.IGNORECASE)
_FAMILY_NOTE: Final = rx(*context.FAMILY_NOTE)
_POSITIVE: Final = rx(*context.POSITIVE)
_NEGATIVE: Final = rx(*context.NEGATIVE)
_SOFTENER: Final = rx(*context.SOFTENER)
_SARCASM: Final = rx(*context.SARCASM)

# "Maya is 7", "Leo, 9", "Sam's 5", "Ava (6)": a capitalised name and an age, so
# case-sensitive; not a time, a duration or a price ("Monday, 5 pm", "Soccer is 30
# minutes", "Tuition is 90 a month").
_NAMED_AGE: Final = re.compile(
    r"\b([A-Z][a-z]+)(?:\s+is|,|'s|\s+\()\s*(?:only\s+|just\s+)?(\d{1,2})\b(?!\s*(?:am|pm|:|minutes?|a\s+month))"
)


@dataclass(frozen=True, slots=True)
class Read:
    """Everything found in one conversation, before it is shaped into an Extraction."""

    sentences: tuple[Sentence, ...]
    last_turn: int
    financial: Level
    financial_mentions: tuple[str, ...]
    financial_evidence: tuple[Evidence, ...]
    blockers: tuple[Sentence, ...]
    strained: tuple[Sentence, ...]
    objections: tuple[Objection, ...]
    objection_turns: frozenset[int]
    signals: tuple[AdditionalSignal, ...]
    scheduling: SchedulingSignals
    family: FamilyContext
    opt_out: bool
    opt_out_evidence: tuple[Evidence, ...] = ()


def read_sentences(
    sentences: tuple[Sentence, ...],
    last_turn: int,
    opt_out: bool,
    opt_out_evidence: tuple[Evidence, ...] = (),
) -> Read:
    """Every dimension of the family's sentences; `last_turn` is the family's last turn."""
    signals = _signals(sentences)
    strained_in = _strained(sentences)
    financial, mentions, blockers, money_quotes = _financial(sentences, signals, strained_in)
    strained = tuple(s for s in sentences if s in strained_in)
    objections, objection_turns = _objections(sentences, blockers)
    return Read(
        sentences=sentences,
        last_turn=last_turn,
        financial=financial,
        financial_mentions=mentions,
        financial_evidence=money_quotes,
        blockers=blockers,
        strained=strained,
        objections=objections,
        objection_turns=objection_turns,
        signals=signals,
        scheduling=_scheduling(sentences),
        family=_family(sentences),
        opt_out=opt_out,
        opt_out_evidence=opt_out_evidence,
    )


def _financial(
    sentences: Sequence[Sentence], signals: Sequence[AdditionalSignal], strained: set[Sentence]
) -> tuple[Level, tuple[str, ...], tuple[Sentence, ...], tuple[Evidence, ...]]:
    """The concern level, the sentences that carry it, the blockers among them, and quotes.

    "Blockers" are worries stated as a reason it won't work; they make the intent
    objecting. Asking for aid is a worry, not a blocker; lost income said in the
    same sentence as the worry is one ("money's tight since I got laid off, so we'll
    have to wait"); `strained` is `_strained(sentences)`. The quotes are the matches
    at the level reached, so the evidence shows why it is that level and not lower.
    """
    level = Level.NONE
    mentions: list[str] = []
    blockers: list[Sentence] = []
    at_level: dict[Level, list[Evidence]] = {}
    lost = [sig for sig in signals if sig.signal == "job_loss"]
    for s in sentences:
        if _FIN_NO_CONCERN.search(s.text):
            continue
        found, evidence, blocks = _money_level(s, strained)
        blocks = blocks or (bool(lost) and bool(hits(_JOB_LOSS, [s])))
        if blocks and not _CONCESSION.search(s.text):
            blockers.append(s)
        if found is not Level.NONE:
            mentions.append(detail(s))
            at_level.setdefault(found, []).extend(evidence)
            level = max(level, found, key=lambda lv: lv.rank)
    if lost:
        # Lost income is the strongest money signal there is, whatever words carry it.
        level = Level.HIGH
        at_level.setdefault(Level.HIGH, []).extend(e for sig in lost for e in sig.evidence)
    return level, unique(mentions), tuple(blockers), tuple(at_level.get(level, ()))[:QUOTES]


def _money_level(s: Sentence, strained: set[Sentence]) -> tuple[Level, tuple[Evidence, ...], bool]:
    """One sentence's money level, the matches that set it, and whether it is a blocker.

    Read in one pass, since the blocker tables are the level's tables: a sentence
    that can't afford it, states a money barrier or strains beside a price blocks.
    """
    if found := matches(_FIN_HIGH, [s], negatable=False):
        return Level.HIGH, quotes(found), True
    blocking = matches(_FIN_MODERATE_BLOCKER, [s])
    if found := blocking + matches(_FIN_MODERATE, [s]):
        return Level.MODERATE, quotes(found), bool(blocking) or s in strained
    if s in strained:
        return Level.MODERATE, quotes(matches(_FIN_STRAIN, [s])), True
    if found := matches(_FIN_LOW, [s], negatable=False):
        return Level.LOW, quotes(found), False
    return Level.NONE, (), False


def _strained(sentences: Sequence[Sentence]) -> set[Sentence]:
    """Strain words ("that's a lot", "you're kidding me") in or after a money sentence.

    Cost worries often carry no money word of their own: "Four hundred for the
    semester? For a club that meets once a week? That's a lot." The money may be in
    the sentence or in an earlier one of the same turn.
    """
    found: set[Sentence] = set()
    money_turns: set[int] = set()
    for s in sentences:
        if _MONEY_CONTEXT.search(s.text):
            money_turns.add(s.turn)
        if s.turn in money_turns and hits(_FIN_STRAIN, [s]):
            found.add(s)
    return found


def _objections(
    sentences: Sequence[Sentence], blockers: Sequence[Sentence]
) -> tuple[tuple[Objection, ...], frozenset[int]]:
    """The objections raised, by topic, and the turns that raised them (blockers included)."""
    found: list[Objection] = []
    turns: set[int] = set()
    for topic, pattern in _OBJECTIONS:
        topic_hits = matches(pattern, sentences)
        if topic_hits:
            found.append(
                Objection(
                    topic=topic.topic,
                    detail=detail(topic_hits[0][0]),
                    severity=topic.severity,
                    evidence=quotes(topic_hits)[:QUOTES],
                )
            )
            turns.update(s.turn for s, _ in topic_hits)
    competitor = matches(_COMPETITOR, sentences)
    pushback = bool(blockers) or bool(hits(_DECLINE, sentences))
    if competitor and pushback:
        found.append(
            Objection(
                topic="competitor",
                detail=detail(competitor[0][0]),
                severity=Level.MODERATE,
                evidence=quotes(competitor)[:QUOTES],
            )
        )
        turns.update(s.turn for s, _ in competitor)
    turns.update(b.turn for b in blockers)
    return tuple(found), frozenset(turns)


def _signals(sentences: Sequence[Sentence]) -> tuple[AdditionalSignal, ...]:
    """Life events worth acting on, plus any competitor on the table."""
    found = [
        AdditionalSignal(
            signal=rule.signal,
            detail=detail(rule_hits[0][0]),
            urgency=rule.urgency,
            suggested_action=rule.suggested_action,
            evidence=quotes(rule_hits)[:QUOTES],
        )
        for rule, pattern in _SIGNALS
        if (rule_hits := matches(pattern, sentences))
    ]
    competitor = matches(_COMPETITOR, sentences)
    if competitor:
        found.append(
            AdditionalSignal(
                signal="competitor_offer",
                detail=detail(competitor[0][0]),
                urgency=Level.MODERATE,
                suggested_action="objection_address",
                evidence=quotes(competitor)[:QUOTES],
            )
        )
    return tuple(found)


def _scheduling(sentences: Sequence[Sentence]) -> SchedulingSignals:
    """Timed sentences, split into constraints and preferred times."""
    constraints: list[str] = []
    preferred: list[str] = []
    evidence: list[Evidence] = []
    for s in sentences:
        timed = matches(_TIME, [s])
        if not timed and _RELATIVE.search(s.text) and _BOOKABLE.search(s.text):
            timed = matches(_RELATIVE, [s], negatable=False)
        if not timed:
            continue
        (constraints if _CONSTRAINT_CUE.search(s.text) else preferred).append(detail(s))
        evidence.extend(quotes(timed))
    return SchedulingSignals(
        constraints=unique(constraints),
        preferred_times=unique(preferred),
        evidence=tuple(evidence[:QUOTES]),
    )


def _family(sentences: Sequence[Sentence]) -> FamilyContext:
    """Siblings (by name and age where given), who else decides, and household notes."""
    siblings: list[str] = []
    makers: list[str] = []
    notes: list[str] = []
    evidence: list[Evidence] = []
    for s in sentences:
        if sibling := matches(_SIBLING, [s], negatable=False):
            named = [f"{name} ({age})" for name, age in _NAMED_AGE.findall(s.text)]
            siblings.extend(named or [detail(s)])
            evidence.extend(quotes(sibling))
        for m in _DECISION_MAKER.finditer(s.text):
            makers.extend(w.lower() for w in _WHO.findall(m.group(0))[-1:])
            evidence.append(quote(s, m.start(), m.end()))
        if note := matches(_FAMILY_NOTE, [s], negatable=False):
            notes.append(detail(s))
            evidence.extend(quotes(note))
    return FamilyContext(
        siblings=unique(siblings),
        decision_makers=unique(makers),
        notes=unique(notes),
        evidence=tuple(evidence[:QUOTES]),
    )


def sentiment(
    read: Read, intent: Intent, intent_quotes: Sequence[Evidence]
) -> tuple[Sentiment, tuple[Evidence, ...]]:
    """The family's tone: positive and negative words counted, then the intent applied.

    The quotes are the words on the winning side (for a tone set by the intent, the
    intent's own quotes); a neutral tone has none.
    """
    up: list[Evidence] = []
    down: list[Evidence] = []
    for s in read.sentences:
        if sarcastic := matches(_SARCASM, [s], negatable=False):
            down.extend(quotes(sarcastic) * 2)
            continue
        for m in _POSITIVE.finditer(s.text):
            (down if negated(s.text, m.start()) else up).append(quote(s, m.start(), m.end()))
        down.extend(quotes(matches(_NEGATIVE, [s])))
    exclaimed = [s for s in read.sentences if "!" in s.text]
    if exclaimed and not down:
        up.append(whole(exclaimed[0]))
    if intent is Intent.DECLINING:
        # A polite refusal is still a refusal: warmth only softens it to neutral.
        up = []
        if not any(_SOFTENER.search(s.text) for s in read.sentences):
            down.extend(intent_quotes[:1])
    if read.opt_out:
        down.extend(intent_quotes[:1])
    if intent is Intent.INTERESTED:
        # Saying they want it is warm even in plain words ("I am interested for my son").
        up.extend(intent_quotes[:1])
    if read.strained:
        # "That's a lot", "you're kidding me": pushback on price is said with an edge.
        down.extend(whole(s) for s in read.strained[:1])
    positive, negative = len(up), len(down)
    if positive > negative:
        return Sentiment.POSITIVE, _distinct(up)
    if negative > positive:
        return Sentiment.NEGATIVE, _distinct(down)
    return Sentiment.NEUTRAL, ()


def _distinct(evidence: Sequence[Evidence]) -> tuple[Evidence, ...]:
    return tuple(dict.fromkeys(evidence))[:QUOTES]
