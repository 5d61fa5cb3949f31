"""The input events one family's journey produces, as its CRM would send them.

The journey (`population`) decides *what* happened: a conversation on some topic,
an unanswered call, a milestone, an attendance, a payment, an action's outcome.
This module turns that into the event the worker reads: numbered ids, the
channel and wording, and an event time that advances from the decision's
`scheduled_for` by a random delay. All randomness comes from the family's own
`random.Random`, drawn in a fixed order, so a seed still names one run exactly.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from stream_app.domain.actions import Action
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ContactChannel,
    ContactOutcome,
    Milestone,
    PaymentOutcome,
)
from stream_app.domain.messages import (
    ActionOutcome,
    AttendanceRecorded,
    Direction,
    InteractionCompleted,
    LeadCreated,
    LeadMilestone,
    OutcomeKind,
    PaymentRecorded,
)
from stream_app.sim.transcripts import Speakers, Topic, transcript

COACHES = ("Coach Dana", "Coach Luis", "Coach Priya")
"""The outreach staff simulated leads are assigned to, as a CRM's owner field is."""

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

CONTACTS: frozenset[str] = frozenset({"voice", "sms", "email"})
"""Channels on which a decision reaches out; any other (`none`) waits."""

_VOICE_LINES: dict[Action, str] = {
    Action.WARM_FOLLOW_UP: "Hi {parent}, just following up to see how {child} is doing.",
    Action.SCHEDULING_PUSH: "Hi {parent}, I'd love to get {child} booked in for a trial class.",
    Action.FAMILY_ENGAGE: "Hi {parent}, happy to walk the whole family through the program.",
    Action.RETENTION_CHECK_IN: "Hi {parent}, checking in on how {child} is enjoying classes.",
    Action.BARRIER_INVESTIGATION: "Hi {parent}, is anything making it hard to come along?",
    Action.WIN_BACK_OFFER: "Hi {parent}, we'd love to welcome {child} back.",
    Action.WAIT: "Hi {parent}, just a quick check-in from the academy.",
}
_DEFAULT_VOICE_LINE = "Hi {parent}, this is the academy calling about {child}."
_INBOUND = "Thanks for getting in touch with the academy, {parent}."


class Published(Protocol):
    """What the events need of a published decision (`population.Decision` is one)."""

    @property
    def decision_id(self) -> str: ...
    @property
    def action(self) -> Action: ...
    @property
    def channel(self) -> str: ...
    @property
    def decided_at(self) -> datetime: ...
    @property
    def scheduled_for(self) -> datetime: ...
    @property
    def message(self) -> str | None: ...


@dataclass
class EventWriter:
    """Numbers one family's events and moves its event time forward.

    Event time never goes back: each event happens a random delay after the later
    of the previous event and the decision's `scheduled_for`.
    """

    lead_id: str
    rng: random.Random
    speakers: Speakers
    clock: datetime
    _event_no: int = 0

    def _next_id(self) -> str:
        self._event_no += 1
        return f"{self.lead_id}-e{self._event_no}"

    def _at(self, base: datetime, low: timedelta, high: timedelta) -> datetime:
        span = (high - low).total_seconds()
        self.clock = max(self.clock, base) + low + timedelta(seconds=self.rng.uniform(0, span))
        return self.clock

    def created(self, parent_name: str) -> LeadCreated:
        # The owner follows from the lead id, not the run's random stream, so adding it
        # changed no family's draws (and no result measured before it).
        owner = COACHES[zlib.crc32(self.lead_id.encode()) % len(COACHES)]
        return LeadCreated(
            type="lead.created",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=self.clock,
            parent_name=parent_name,
            phone=f"+1555{self.rng.randrange(10**6, 10**7)}",
            child_name=self.speakers.child,
            child_age=self.rng.randint(5, 14),
            value_tier="premium" if self.rng.random() < 0.1 else "standard",
            campaign_goal="trial class",
            owner=owner,
        )

    def talk(self, decision: Published, topic: Topic, contact: bool) -> InteractionCompleted:
        """A conversation: the contact the decision asked for, or the family reaching out."""
        if contact:
            channel = ContactChannel(decision.channel)
            base, low, high = decision.scheduled_for, MINUTE, 3 * HOUR
        else:
            channel = self.rng.choice((ContactChannel.SMS, ContactChannel.VOICE))
            base, low, high = decision.scheduled_for, HOUR, 2 * DAY
        if contact and channel is not ContactChannel.VOICE and decision.message:
            agent = decision.message
        else:
            line = _VOICE_LINES.get(decision.action, _DEFAULT_VOICE_LINE) if contact else _INBOUND
            agent = line.format(parent=self.speakers.parent_first, child=self.speakers.child)
        said = transcript(topic, self.rng, self.speakers, agent)
        event_id = self._next_id()
        return InteractionCompleted(
            type="interaction.completed",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=self._at(base, low, high),
            interaction_id=event_id,
            channel=channel,
            direction=Direction.OUTBOUND if contact else Direction.INBOUND,
            outcome=ContactOutcome.COMPLETED,
            transcript=said.text,
            duration_s=round(self.rng.uniform(60, 600), 1) if channel == "voice" else None,
            agent_id="sim-crm",
            decision_id=decision.decision_id if contact else None,
        )

    def unanswered(self, decision: Published) -> InteractionCompleted:
        """A call nobody picked up, or a text nobody answered (the CRM's own follow-up
        when the decision was to wait)."""
        channel = ContactChannel(decision.channel if decision.channel in CONTACTS else "voice")
        outcome = (
            self.rng.choice((ContactOutcome.NO_ANSWER, ContactOutcome.VOICEMAIL))
            if channel is ContactChannel.VOICE
            else ContactOutcome.NO_ANSWER
        )
        event_id = self._next_id()
        return InteractionCompleted(
            type="interaction.completed",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=self._at(decision.scheduled_for, MINUTE, 6 * HOUR),
            interaction_id=event_id,
            channel=channel,
            direction=Direction.OUTBOUND,
            outcome=outcome,
            agent_id="sim-crm",
            decision_id=decision.decision_id,
        )

    def milestone(
        self, decision: Published, milestone: Milestone, low: timedelta, high: timedelta
    ) -> LeadMilestone:
        return LeadMilestone(
            type="lead.milestone",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=self._at(decision.scheduled_for, low, high),
            milestone=milestone,
        )

    def attendance(
        self, decision: Published, status: AttendanceOutcome, trial: bool
    ) -> AttendanceRecorded:
        """A session attended or missed: the trial class, or one of the weekly program."""
        at = self._at(decision.scheduled_for, DAY, 5 * DAY)
        event_id = self._next_id()
        return AttendanceRecorded(
            type="attendance.recorded",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=at,
            session_id=f"session-{event_id}",
            status=status,
            session_at=at,
            program="trial class" if trial else "weekly program",
        )

    def payment(self, decision: Published, late: bool) -> PaymentRecorded:
        event_id = self._next_id()
        return PaymentRecorded(
            type="payment.recorded",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=self._at(decision.scheduled_for, DAY, 7 * DAY),
            payment_id=f"pay-{event_id}",
            status=PaymentOutcome.LATE if late else PaymentOutcome.SUCCEEDED,
            amount=120.0,
        )

    def outcome(self, decision: Published, kind: OutcomeKind) -> ActionOutcome:
        """What the operator or CRM did with the decision; never moves event time."""
        return ActionOutcome(
            type="action.outcome",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=max(self.clock, decision.decided_at),
            decision_id=decision.decision_id,
            outcome=kind,
            operator="sim-crm",
        )


__all__ = ["CONTACTS", "DAY", "HOUR", "MINUTE", "EventWriter", "Published"]
