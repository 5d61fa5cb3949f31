"""The brief's models and knobs: what a brief is, whom it addresses, how it is timed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

from stream_app.domain.actions import Action
from stream_app.domain.extraction.evidence import SignalEvidence
from stream_app.domain.extraction.model import Level
from stream_app.domain.frozen import Stored


class Directive(Stored):
    """One talking point, the signal it answers, and the family's words behind that signal.

    `evidence` is the quote (with its extraction, turn and span) the signal was
    extracted from, so an operator can check why the directive is there; it is None
    for signals no conversation produced (a campaign goal, a missed payment).
    """

    directive: str
    signal: str
    evidence: SignalEvidence | None = None


class ActionBrief(Stored):
    """How to carry out the chosen action: directives, tone, preparation, timing, a draft."""

    content_directives: tuple[Directive, ...]
    overall_tone: str
    info_to_prepare: tuple[str, ...]
    things_to_avoid: tuple[str, ...]
    timing_rationale: str
    message_draft: str | None
    scheduled_for: datetime


@dataclass(frozen=True, slots=True)
class Schedule:
    """When the brief's contact may happen (`scheduled_for`) and the reason for it."""

    at: datetime
    rationale: str


_H, _D = timedelta(hours=1), timedelta(days=1)

DEFAULT_DELAYS: Mapping[Action, timedelta] = MappingProxyType(
    {
        Action.WARM_FOLLOW_UP: _D,
        Action.SCHEDULING_PUSH: 2 * _H,
        Action.SCHOLARSHIP_OUTREACH: 4 * _H,
        Action.INFO_SEND: _H,
        Action.GENTLE_NUDGE: 2 * _D,
        Action.OBJECTION_ADDRESS: _D,
        Action.WELCOME_ONBOARD: _H,
        Action.RETENTION_CHECK_IN: 2 * _D,
        Action.FAMILY_ENGAGE: 2 * _D,
        Action.CHANNEL_SWITCH: _D,
        Action.WAIT: 3 * _D,
        Action.STOP: timedelta(0),
        Action.FIRST_SESSION_REMINDER: _D,
        Action.RESCHEDULE_OFFER: 4 * _H,
        Action.BARRIER_INVESTIGATION: _D,
        Action.SOCIAL_PROOF: 3 * _D,
        Action.LOW_COMMITMENT_INVITE: 2 * _D,
        Action.WIN_BACK_OFFER: _D,
    }
)


@dataclass(frozen=True, slots=True)
class BriefParams:
    """Timing and size knobs of the brief builder."""

    delays: Mapping[Action, timedelta] = field(default_factory=lambda: DEFAULT_DELAYS)
    first_session_lead: timedelta = _D
    open_questions: int = 3
    facts: int = 3
    financial_from: Level = Level.LOW
    empathetic_from: Level = Level.MODERATE


DEFAULT_BRIEFS = BriefParams()


@lru_cache(maxsize=8192)
def make_directive(text: str, signal: str, evidence: SignalEvidence | None = None) -> Directive:
    """Directives repeat across decisions (same lead, same template); build each once."""
    return Directive(directive=text, signal=signal, evidence=evidence)
