"""Evidence: every signal tied to the family's own words, and checked against them.

An operator can only trust a signal they can check. Every signal an extraction
carries (intent, sentiment, financial concern, each objection, family context,
scheduling, each additional signal) holds `Evidence`: a quote, its turn and its
character span in that turn. The rules provider records the spans of its matches;
an LLM is asked for verbatim quotes, and `ground` finds each one in the family's
lines. A quote that is not there (or is in the agent's lines, which are never
evidence) is dropped and counted in `unverified_quotes`, and the signal it
supported is downgraded:

- a signal that lost some quotes but kept one goes one level down (a financial
  concern, an objection's severity, a signal's urgency): its provider overstated it;
- a signal left with no quote at all is dropped to what nothing supports: intent
  `unclear`, sentiment `neutral`, concern `none`, the objection or signal removed,
  family context or scheduling cleared.

So after `ground`, every signal of every extraction has evidence that occurs in
the transcript, which is what `missing_evidence` checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydantic import Field

from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.model import (
    Evidence,
    Extraction,
    ExtractionStatus,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    SchedulingSignals,
    Sentiment,
)
from stream_app.domain.frozen import Stored


class SignalEvidence(Stored):
    """One signal the lead's state holds, and the family's words it came from.

    Kept in the lead's context (one per signal, the latest extraction's quote) so a
    decision's brief and the context pack can show each directive's quote, and
    `extraction_id` names the conversation the turn and span point into.
    """

    signal: str
    """"intent", "sentiment", "financial", "family", "scheduling",
    "objection:<topic>" or "signal:<name>"."""
    value: str = ""
    """The signal's value when it has one: the intent, the tone, the concern level."""
    quote: str
    turn: int = Field(ge=0)
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    extraction_id: str = ""


_LOWER = {Level.HIGH: Level.MODERATE, Level.MODERATE: Level.LOW, Level.LOW: Level.LOW}


def _held(level: Level, grounded: _Grounded) -> Level:
    """A level some of whose quotes were not in the family's lines: one step down."""
    return _LOWER.get(level, level) if grounded.dropped else level


_APOSTROPHES = "'\u2018\u2019`"


def verified(evidence: Evidence, conversation: Conversation) -> bool:
    """Whether the quote is exactly the family's words at the recorded turn and span."""
    turn, start, end = evidence.turn, evidence.start, evidence.end
    if turn is None or start is None or end is None or not 0 <= turn < len(conversation.turns):
        return False
    said = conversation.turns[turn]
    return said.role == "family" and said.text[start:end] == evidence.quote


def locate(quote: str, conversation: Conversation) -> Evidence | None:
    """The quote found in a family turn, as the turn has it (case, spacing and
    apostrophes may differ, as models retype them), or None when it is not there."""
    words = quote.strip().strip("\"'\u201c\u201d").split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(_word(w) for w in words), re.IGNORECASE)
    for i, turn in enumerate(conversation.turns):
        if turn.role != "family":
            continue
        if m := pattern.search(turn.text):
            return Evidence(quote=m.group(0), turn=i, start=m.start(), end=m.end())
    return None


def _word(word: str) -> str:
    return "".join(f"[{_APOSTROPHES}]" if c in _APOSTROPHES else re.escape(c) for c in word)


@dataclass(frozen=True, slots=True)
class _Grounded:
    evidence: tuple[Evidence, ...]
    dropped: int


def _ground_all(quotes: Sequence[Evidence], conversation: Conversation) -> _Grounded:
    kept: dict[tuple[int | None, int | None, int | None], Evidence] = {}
    dropped = 0
    for e in quotes:
        found = e if verified(e, conversation) else locate(e.quote, conversation)
        if found is None:
            dropped += 1
        else:
            kept.setdefault((found.turn, found.start, found.end), found)
    return _Grounded(tuple(kept.values()), dropped)


def ground(extraction: Extraction, conversation: Conversation) -> Extraction:
    """The extraction with every quote checked against the conversation (module docstring)."""
    if extraction.status is not ExtractionStatus.OK:
        return extraction
    dropped = 0

    def check(quotes: Sequence[Evidence]) -> _Grounded:
        nonlocal dropped
        g = _ground_all(quotes, conversation)
        dropped += g.dropped
        return g

    e = extraction
    intent_g = check(e.intent_evidence)
    intent = e.intent if intent_g.evidence or e.intent is Intent.NO_RESPONSE else Intent.UNCLEAR
    tone_g = check(e.sentiment_evidence)
    tone = e.sentiment if tone_g.evidence else Sentiment.NEUTRAL
    money_g = check(e.financial.evidence)
    level = _held(e.financial.concern_level, money_g) if money_g.evidence else Level.NONE
    objections = []
    for o in e.objections:
        g = check(o.evidence)
        if g.evidence:
            update = {"evidence": g.evidence, "severity": _held(o.severity, g)}
            objections.append(o.model_copy(update=update))
    signals = []
    for sig in e.additional_signals:
        g = check(sig.evidence)
        if g.evidence:
            update = {"evidence": g.evidence, "urgency": _held(sig.urgency, g)}
            signals.append(sig.model_copy(update=update))
    family_g = check(e.family.evidence)
    family = (
        e.family.model_copy(update={"evidence": family_g.evidence})
        if family_g.evidence
        else FamilyContext()
    )
    timing_g = check(e.scheduling.evidence)
    timing = (
        e.scheduling.model_copy(update={"evidence": timing_g.evidence})
        if timing_g.evidence
        else SchedulingSignals()
    )
    return e.model_copy(
        update={
            "intent": intent,
            "intent_evidence": intent_g.evidence if intent is e.intent else (),
            "sentiment": tone,
            "sentiment_evidence": tone_g.evidence,
            "financial": FinancialSignals(
                concern_level=level,
                mentions=e.financial.mentions if level is not Level.NONE else (),
                evidence=money_g.evidence if level is not Level.NONE else (),
            ),
            "objections": tuple(objections),
            "additional_signals": tuple(signals),
            "family": family,
            "scheduling": timing,
            "unverified_quotes": e.unverified_quotes + dropped,
        }
    )


def signal_evidence(extraction: Extraction) -> Iterator[tuple[str, tuple[Evidence, ...]]]:
    """Every signal the extraction asserts, by name ("intent:scheduling",
    "objection:distance", ...), with its evidence. A default value (intent unclear or
    no_response, neutral tone, no concern, no family or timing) asserts nothing."""
    e = extraction
    if e.intent not in (Intent.UNCLEAR, Intent.NO_RESPONSE):
        yield f"intent:{e.intent.value}", e.intent_evidence
    if e.sentiment is not Sentiment.NEUTRAL:
        yield f"sentiment:{e.sentiment.value}", e.sentiment_evidence
    if e.financial.concern_level is not Level.NONE:
        yield f"financial:{e.financial.concern_level.value}", e.financial.evidence
    for o in e.objections:
        yield f"objection:{o.topic}", o.evidence
    for sig in e.additional_signals:
        yield f"signal:{sig.signal}", sig.evidence
    if e.family.siblings or e.family.decision_makers or e.family.notes:
        yield "family", e.family.evidence
    if e.scheduling.constraints or e.scheduling.preferred_times:
        yield "scheduling", e.scheduling.evidence


def signal_quotes(extraction: Extraction, extraction_id: str) -> list[SignalEvidence]:
    """The first grounded quote of every signal the extraction asserts, for lead state."""
    out = []
    for name, quotes in signal_evidence(extraction):
        kind, _, value = name.partition(":")
        key, value = (name, "") if kind in ("objection", "signal") else (kind, value)
        first = next((q for q in quotes if q.turn is not None), None)
        if first is not None and first.start is not None and first.end is not None:
            out.append(
                SignalEvidence(
                    signal=key,
                    value=value,
                    quote=first.quote,
                    turn=first.turn,
                    start=first.start,
                    end=first.end,
                    extraction_id=extraction_id,
                )
            )
    return out


def missing_evidence(extraction: Extraction, conversation: Conversation) -> list[str]:
    """The signals with no quote, or with a quote that is not the family's words there."""
    return [
        name
        for name, quotes in signal_evidence(extraction)
        if not quotes or not all(verified(q, conversation) for q in quotes)
    ]


__all__ = [
    "SignalEvidence",
    "ground",
    "locate",
    "missing_evidence",
    "signal_evidence",
    "signal_quotes",
    "verified",
]
