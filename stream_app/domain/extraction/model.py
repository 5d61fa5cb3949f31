"""The structured result of reading one conversation (docs/architecture.md, "Extraction").

Pydantic models, frozen, because the same shape travels on the `extractions`
topic, is validated from LLM JSON output, and is folded into lead state.

Every string and list is bounded, so no extraction (and none of the lead context
folded from it) can approach Kafka's 1 MB record limit, whatever a model replies: the
largest possible extraction is about 76,000 characters of JSON. The bounds
truncate rather than reject: a long LLM summary is still a useful summary, and a
record stored before the bounds existed still validates. Validation, not the
producer, applies them, so every provider gets them. Truncation is no constraint,
so the published JSON Schemas (`topics/schemas/`) do not list the new bounds.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Final

from pydantic import BeforeValidator, Field

from stream_app.domain.frozen import Frozen, Stored

SUMMARY_CHARS: Final = 1000
"""The summary: the prompt asks for 2-3 sentences, the rules write well under 600."""
ITEM_CHARS: Final = 300
"""One fact, question, mention, time, constraint or family note (rules: under 200)."""
DETAIL_CHARS: Final = 500
"""An objection's or signal's detail; also a failure's error."""
NAME_CHARS: Final = 64
"""Snake_case names: objection topics, signal names, suggested actions, providers."""
LIST_ITEMS: Final = 20
"""Items per list (lead state keeps at most 20 facts and 10 of anything else)."""
QUOTES: Final = 5
"""Quotes kept as evidence for one signal: enough to show it, bounded like every list."""


def _clip(limit: int) -> BeforeValidator:
    def clip(value: object) -> object:
        return value[:limit] if isinstance(value, str) else value

    return BeforeValidator(clip)


def _cap(limit: int) -> BeforeValidator:
    def cap(value: object) -> object:
        return value[:limit] if isinstance(value, list | tuple) else value

    return BeforeValidator(cap)


Item = Annotated[str, _clip(ITEM_CHARS)]
Items = Annotated[tuple[Item, ...], _cap(LIST_ITEMS)]


class Intent(StrEnum):
    INTERESTED = "interested"
    CONSIDERING = "considering"
    OBJECTING = "objecting"
    SCHEDULING = "scheduling"
    REQUESTING_INFO = "requesting_info"
    DECLINING = "declining"
    NO_RESPONSE = "no_response"
    UNCLEAR = "unclear"


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class Level(StrEnum):
    """Ordered severity scale shared by financial concern, objections and signals."""

    NONE = "none"
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.NONE: 0, Level.LOW: 1, Level.MODERATE: 2, Level.HIGH: 3}


class ExtractionStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


class Evidence(Stored):
    """The family's words a signal came from: a verbatim quote and where it is.

    `turn` indexes the conversation's turns (the same `Conversation` the provider
    read), `start`/`end` are character offsets into that turn's text, so
    `turns[turn].text[start:end] == quote`. An LLM is asked for the quote only;
    `evidence.ground` finds it in the family's lines and fills the span, or drops
    it as a hallucination. A record without evidence (written before it existed)
    still decodes: every evidence field defaults to empty. Unknown keys (a model's
    "speaker", a newer release's field) are ignored: a quote loses nothing by them.
    """

    quote: Annotated[str, _clip(ITEM_CHARS)] = Field(min_length=1)
    turn: int | None = Field(default=None, ge=0)
    start: int | None = Field(default=None, ge=0)
    end: int | None = Field(default=None, ge=0)


Quotes = Annotated[tuple[Evidence, ...], _cap(QUOTES)]


class FinancialSignals(Frozen):
    concern_level: Level = Level.NONE
    mentions: Items = ()
    evidence: Quotes = ()


class SchedulingSignals(Frozen):
    constraints: Items = ()
    preferred_times: Items = ()
    evidence: Quotes = ()


class FamilyContext(Frozen):
    siblings: Items = ()
    decision_makers: Items = ()
    notes: Items = ()
    evidence: Quotes = ()


class Objection(Frozen):
    topic: Annotated[str, _clip(NAME_CHARS)] = Field(min_length=1, max_length=NAME_CHARS)
    detail: Annotated[str, _clip(DETAIL_CHARS)] = Field(default="", max_length=DETAIL_CHARS)
    severity: Level = Level.LOW
    evidence: Quotes = ()


class AdditionalSignal(Frozen):
    signal: Annotated[str, _clip(NAME_CHARS)] = Field(min_length=1, max_length=NAME_CHARS)
    detail: Annotated[str, _clip(DETAIL_CHARS)] = Field(default="", max_length=DETAIL_CHARS)
    urgency: Level = Level.LOW
    suggested_action: Annotated[str, _clip(NAME_CHARS)] | None = None
    evidence: Quotes = ()


class Extraction(Frozen):
    """All ten dimensions of one extraction, plus how it was produced."""

    status: ExtractionStatus = ExtractionStatus.OK
    provider: Annotated[str, _clip(NAME_CHARS)] = "rules"
    summary: Annotated[str, _clip(SUMMARY_CHARS)] = ""
    facts: Items = ()
    intent: Intent = Intent.UNCLEAR
    intent_evidence: Quotes = ()
    sentiment: Sentiment = Sentiment.NEUTRAL
    sentiment_evidence: Quotes = ()
    open_questions: Items = ()
    financial: FinancialSignals = FinancialSignals()
    scheduling: SchedulingSignals = SchedulingSignals()
    family: FamilyContext = FamilyContext()
    objections: Annotated[tuple[Objection, ...], _cap(LIST_ITEMS)] = ()
    additional_signals: Annotated[tuple[AdditionalSignal, ...], _cap(LIST_ITEMS)] = ()
    opt_out: bool = False
    unverified_quotes: int = Field(default=0, ge=0)
    """Quotes the provider gave that are not the family's words, dropped by `ground`."""
    error: Annotated[str, _clip(DETAIL_CHARS)] | None = None

    @classmethod
    def failed(cls, provider: str, error: str) -> Extraction:
        """A placeholder that lets a decision be made from what is already known."""
        return cls(status=ExtractionStatus.FAILED, provider=provider, error=error)
