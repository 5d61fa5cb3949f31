"""The structured result of reading one conversation (docs/architecture.md, "Extraction").

Pydantic models, frozen, because the same shape travels on the `extractions`
topic, is validated from LLM JSON output, and is folded into lead state.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from stream_app.domain.frozen import Frozen


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


class FinancialSignals(Frozen):
    concern_level: Level = Level.NONE
    mentions: tuple[str, ...] = ()


class SchedulingSignals(Frozen):
    constraints: tuple[str, ...] = ()
    preferred_times: tuple[str, ...] = ()


class FamilyContext(Frozen):
    siblings: tuple[str, ...] = ()
    decision_makers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


class Objection(Frozen):
    topic: str = Field(min_length=1, max_length=64)
    detail: str = Field(default="", max_length=500)
    severity: Level = Level.LOW


class AdditionalSignal(Frozen):
    signal: str = Field(min_length=1, max_length=64)
    detail: str = Field(default="", max_length=500)
    urgency: Level = Level.LOW
    suggested_action: str | None = None


class Extraction(Frozen):
    """All ten dimensions of one extraction, plus how it was produced."""

    status: ExtractionStatus = ExtractionStatus.OK
    provider: str = "rules"
    summary: str = ""
    facts: tuple[str, ...] = ()
    intent: Intent = Intent.UNCLEAR
    sentiment: Sentiment = Sentiment.NEUTRAL
    open_questions: tuple[str, ...] = ()
    financial: FinancialSignals = FinancialSignals()
    scheduling: SchedulingSignals = SchedulingSignals()
    family: FamilyContext = FamilyContext()
    objections: tuple[Objection, ...] = ()
    additional_signals: tuple[AdditionalSignal, ...] = ()
    opt_out: bool = False
    error: str | None = None

    @classmethod
    def failed(cls, provider: str, error: str) -> Extraction:
        """A placeholder that lets a decision be made from what is already known."""
        return cls(status=ExtractionStatus.FAILED, provider=provider, error=error[:500])
