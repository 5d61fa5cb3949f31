"""What one lead step asks the shell to publish, store or count."""

from __future__ import annotations

from dataclasses import dataclass, field

from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import (
    ExtractionRequest,
    LeadTransition,
    NextBestAction,
    Reminder,
)
from stream_app.domain.scheduling import VoiceCalendar
from stream_app.domain.sms_window import Flush


@dataclass(frozen=True, slots=True)
class StatusMove:
    """The funnel movement one transition rewards, typed for the shell's counters.

    `before` is the status at the credited decision, `after` the status now.
    """

    before: Status
    after: Status
    reward: float


@dataclass(slots=True)
class Effects:
    decisions: list[NextBestAction] = field(default_factory=list)
    transitions: list[LeadTransition] = field(default_factory=list)
    extraction_requests: list[ExtractionRequest] = field(default_factory=list)
    sms_flushes: list[Flush] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    # What the shell only counts or stores: one move per transition (same order),
    # status changes made by a time rule, the partition's voice calendar after these
    # decisions, guardrail reasons that changed a decision, (action, outcome) pairs.
    moves: list[StatusMove] = field(default_factory=list)
    decays: int = 0
    voice_budget: VoiceCalendar | None = None
    guardrail_changes: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)
    # The lead was erased: the shell deletes its stored state (a tombstone on the
    # changelog) and forgets it in every index; the step returns no state with it.
    erased: bool = False

    def __bool__(self) -> bool:
        return bool(
            self.decisions or self.transitions or self.extraction_requests or self.reminders
        )

    def learn(self, transition: LeadTransition, move: StatusMove) -> None:
        """Record a transition with the typed move it rewards."""
        self.transitions.append(transition)
        self.moves.append(move)

    def extend(self, other: Effects) -> Effects:
        self.decisions += other.decisions
        self.transitions += other.transitions
        self.extraction_requests += other.extraction_requests
        self.sms_flushes += other.sms_flushes
        self.reminders += other.reminders
        self.moves += other.moves
        self.decays += other.decays
        self.voice_budget = other.voice_budget or self.voice_budget
        self.guardrail_changes += other.guardrail_changes
        self.outcomes += other.outcomes
        self.erased = self.erased or other.erased
        return self
