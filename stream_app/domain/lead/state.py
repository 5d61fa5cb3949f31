"""What the worker remembers about one lead, written back to the table as one value."""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.actions import Action
from stream_app.domain.context import LeadContext, with_status
from stream_app.domain.frozen import Frozen
from stream_app.domain.guardrails import ContactHistory
from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import NextBestAction, Reminder
from stream_app.domain.profile import Profile
from stream_app.domain.sms_window import ThreadBuffer


class DecisionRecord(Frozen):
    """What the learner needs of a past decision to credit it later."""

    decision_id: str
    action: Action
    rl_state: str
    status: Status
    decided_at: datetime
    trigger_event_id: str
    outcomes: tuple[str, ...] = ()


class PendingExtraction(Frozen):
    """Work handed to the extractor; the lead owns it until the result or the deadline."""

    extraction_id: str
    trigger_event_id: str
    trigger_at: datetime
    deadline: datetime
    credit_decision_id: str | None = None


class InteractionNote(Frozen):
    event_id: str
    occurred_at: datetime
    channel: str
    direction: str
    outcome: str
    excerpt: str = ""


class LeadState(Frozen):
    """Everything the worker remembers about one lead, written back as one value.

    The remembered event ids live in the same value as the state they guard, so
    the dedup marker and the change it marks reach the changelog atomically.
    """

    lead_id: str
    profile: Profile = Profile()
    status: Status = Status.NEW
    context: LeadContext = LeadContext()
    opted_out_channels: tuple[str, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    pending: tuple[PendingExtraction, ...] = ()
    last_nba: NextBestAction | None = None
    recent_interactions: tuple[InteractionNote, ...] = ()
    sms: ThreadBuffer = ThreadBuffer()
    contact_history: ContactHistory = ContactHistory()
    reminder: Reminder | None = None
    updated_at: datetime | None = None

    @property
    def decision_in_force(self) -> DecisionRecord | None:
        return self.decisions[-1] if self.decisions else None


def moved_to(lead: LeadState, status: Status, at: datetime) -> LeadState:
    """The lead in `status` since `at`; its context remembers when each status began."""
    ctx = with_status(lead.context, lead.status, status, at)
    return lead.model_copy(update={"status": status, "context": ctx})
