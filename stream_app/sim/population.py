"""Synthetic families with hidden response probabilities, reacting to next-best-actions.

A family has hidden traits (cost worries, a busy schedule, a spouse who must agree,
a reluctant child, hesitation, how responsive it is) and a hidden journey: it
must be reached, have its concerns met one by one, book and attend a trial,
enrol, attend, pay. Each published decision gets a reaction drawn from a table of
probabilities per (situation, action): the action that answers the family's
current situation moves it forward, pushing too early makes it decline, waiting
lets a hesitant family come back on its own. The system never sees the table;
it sees only what a CRM and the family would send: calls with transcripts,
unanswered attempts, milestones, attendance, payments and action outcomes.

Everything random comes from one `random.Random` per family, seeded from the run
seed and the family's index, and event time advances by the decision's
`scheduled_for` plus a response delay: a run is reproducible and weeks of
journeys take no wall time at all.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

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
    InputEvent,
    InteractionCompleted,
    LeadCreated,
    LeadMilestone,
    NextBestAction,
    OutcomeKind,
    PaymentRecorded,
)
from stream_app.sim.transcripts import Speakers, Topic, transcript


class Concern(StrEnum):
    """What holds a family back until the right action answers it."""

    COST = "cost"
    SPOUSE = "spouse"
    CHILD = "child"
    SCHEDULE = "schedule"
    HESITANT = "hesitant"


class Stage(StrEnum):
    """Where the family truly is, whatever the system believes."""

    UNREACHED = "unreached"
    ENGAGED = "engaged"
    TRIAL_BOOKED = "trial_booked"
    TRIAL_DONE = "trial_done"
    ENROLLED = "enrolled"
    ACTIVE = "active"
    PAID = "paid"
    DECLINED = "declined"
    OPTED_OUT = "opted_out"
    STOPPED = "stopped"


TERMINAL: frozenset[Stage] = frozenset({Stage.PAID, Stage.DECLINED, Stage.OPTED_OUT, Stage.STOPPED})
ENROLLED_STAGES: frozenset[Stage] = frozenset({Stage.ENROLLED, Stage.ACTIVE, Stage.PAID})


@dataclass(frozen=True, slots=True)
class Traits:
    cost_worried: bool
    busy_schedule: bool
    needs_spouse: bool
    child_reluctant: bool
    hesitant: bool
    responsiveness: float
    """Chance of answering a call; replies to texts come a little more readily."""

    def concerns(self) -> list[Concern]:
        flags = (
            (self.cost_worried, Concern.COST),
            (self.needs_spouse, Concern.SPOUSE),
            (self.child_reluctant, Concern.CHILD),
            (self.busy_schedule, Concern.SCHEDULE),
            (self.hesitant, Concern.HESITANT),
        )
        return [c for on, c in flags if on]


# --- the hidden response table ---------------------------------------------------

_A = Action
Odds = tuple[float, float]
"""(forward, backfire): the chance this action moves the family on, or loses it."""

_CONTACT_DEFAULT: Odds = (0.08, 0.04)

# Situation -> action -> odds, for a family that was reached (or, for `wait`, that
# acts on its own). Unlisted actions get the situation's default.
RESPONSES: dict[str, dict[Action, Odds]] = {
    Concern.COST: {
        _A.SCHOLARSHIP_OUTREACH: (0.75, 0.0),
        _A.INFO_SEND: (0.25, 0.02),
        _A.OBJECTION_ADDRESS: (0.2, 0.03),
        _A.SCHEDULING_PUSH: (0.02, 0.3),
        _A.WAIT: (0.05, 0.08),
    },
    Concern.SPOUSE: {
        _A.FAMILY_ENGAGE: (0.7, 0.0),
        _A.INFO_SEND: (0.3, 0.01),
        _A.WAIT: (0.2, 0.03),
        _A.SCHEDULING_PUSH: (0.05, 0.2),
    },
    Concern.CHILD: {
        _A.LOW_COMMITMENT_INVITE: (0.55, 0.0),
        _A.OBJECTION_ADDRESS: (0.5, 0.0),
        _A.SOCIAL_PROOF: (0.45, 0.0),
        _A.SCHEDULING_PUSH: (0.05, 0.25),
    },
    Concern.SCHEDULE: {
        _A.OBJECTION_ADDRESS: (0.5, 0.0),
        _A.SCHEDULING_PUSH: (0.4, 0.05),
        _A.INFO_SEND: (0.2, 0.0),
        _A.WARM_FOLLOW_UP: (0.15, 0.05),
    },
    Concern.HESITANT: {
        _A.WAIT: (0.55, 0.0),
        _A.SOCIAL_PROOF: (0.4, 0.0),
        _A.LOW_COMMITMENT_INVITE: (0.35, 0.0),
        _A.INFO_SEND: (0.3, 0.0),
        _A.SCHEDULING_PUSH: (0.02, 0.35),
        _A.WARM_FOLLOW_UP: (0.05, 0.1),
        _A.GENTLE_NUDGE: (0.05, 0.1),
    },
    "ready": {
        _A.SCHEDULING_PUSH: (0.75, 0.0),
        _A.WARM_FOLLOW_UP: (0.35, 0.0),
        _A.LOW_COMMITMENT_INVITE: (0.35, 0.0),
        _A.SOCIAL_PROOF: (0.25, 0.0),
        _A.INFO_SEND: (0.2, 0.0),
        _A.WAIT: (0.05, 0.05),
    },
    Stage.TRIAL_BOOKED: {
        _A.GENTLE_NUDGE: (0.9, 0.0),
        _A.WARM_FOLLOW_UP: (0.85, 0.0),
        _A.SCHEDULING_PUSH: (0.8, 0.0),
        _A.WAIT: (0.6, 0.05),
    },
    Stage.TRIAL_DONE: {
        _A.SCHEDULING_PUSH: (0.6, 0.02),
        _A.WARM_FOLLOW_UP: (0.45, 0.0),
        _A.SOCIAL_PROOF: (0.45, 0.0),
        _A.WAIT: (0.15, 0.05),
    },
    Stage.ENROLLED: {
        _A.FIRST_SESSION_REMINDER: (0.9, 0.0),
        _A.RESCHEDULE_OFFER: (0.85, 0.0),
        _A.WELCOME_ONBOARD: (0.8, 0.0),
        _A.GENTLE_NUDGE: (0.7, 0.0),
        _A.WAIT: (0.5, 0.02),
    },
}
_DEFAULTS: dict[str, Odds] = {
    Stage.TRIAL_BOOKED: (0.7, 0.02),
    Stage.TRIAL_DONE: (0.2, 0.03),
    Stage.ENROLLED: (0.6, 0.02),
}

_VOICE_LINES: dict[Action, str] = {
    _A.WARM_FOLLOW_UP: "Hi {parent}, just following up to see how {child} is doing.",
    _A.SCHEDULING_PUSH: "Hi {parent}, I'd love to get {child} booked in for a trial class.",
    _A.FAMILY_ENGAGE: "Hi {parent}, happy to walk the whole family through the program.",
    _A.RETENTION_CHECK_IN: "Hi {parent}, checking in on how {child} is enjoying classes.",
    _A.BARRIER_INVESTIGATION: "Hi {parent}, is anything making it hard to come along?",
    _A.WIN_BACK_OFFER: "Hi {parent}, we'd love to welcome {child} back.",
    _A.WAIT: "Hi {parent}, just a quick check-in from the academy.",
}
_DEFAULT_VOICE_LINE = "Hi {parent}, this is the academy calling about {child}."
_INBOUND = "Thanks for getting in touch with the academy, {parent}."

_PARENTS = ("Sarah Mitchell", "Maria Lopez", "Tom Baker", "Aisha Khan", "Wei Chen", "Emma Novak")
_CHILDREN = (("Jake", "he"), ("Mia", "she"), ("Leo", "he"), ("Sofia", "she"), ("Noah", "he"))

CONTACTS: frozenset[str] = frozenset({"voice", "sms", "email"})
_MAX_MISSES = 3
_ANNOYANCE_AFTER = 5
"""Unproductive contacts in a row after which a family may ask to be left alone."""


def family_seed(run_seed: int, index: int) -> int:
    """A family's own seed: stable across runs, policies and Python versions."""
    digest = hashlib.sha256(f"{run_seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@dataclass(frozen=True, slots=True)
class Decision:
    """What a family and its CRM need of a published next-best-action."""

    decision_id: str
    action: Action
    channel: str
    decided_at: datetime
    scheduled_for: datetime
    requires_approval: bool = False
    message: str | None = None

    @classmethod
    def of(cls, nba: NextBestAction) -> Decision:
        return cls(
            decision_id=nba.decision_id,
            action=Action(nba.action),
            channel=nba.channel,
            decided_at=nba.decided_at,
            scheduled_for=nba.brief.scheduled_for,
            requires_approval=nba.requires_approval,
            message=nba.brief.message_draft,
        )


@dataclass(frozen=True, slots=True)
class Reaction:
    """The events that follow one decision, in order.

    Exactly one of them (the last) makes the system decide again, so the driver
    knows which decision to answer next; `deciding_event_id` is None once the
    family is done.
    """

    events: tuple[InputEvent, ...]
    deciding_event_id: str | None


@dataclass
class Family:
    """One simulated family: hidden traits, hidden journey, its own random stream."""

    index: int
    lead_id: str
    traits: Traits
    rng: random.Random
    clock: datetime
    speakers: Speakers
    parent_name: str
    stage: Stage = Stage.UNREACHED
    concerns: list[Concern] = field(default_factory=list)
    steps: int = 0
    misses: int = 0
    fruitless_contacts: int = 0
    rejected: int = 0
    _event_no: int = 0

    @classmethod
    def create(cls, run_seed: int, index: int, lead_id: str, arrives_at: datetime) -> Family:
        rng = random.Random(family_seed(run_seed, index))
        traits = Traits(
            cost_worried=rng.random() < 0.35,
            busy_schedule=rng.random() < 0.3,
            needs_spouse=rng.random() < 0.25,
            child_reluctant=rng.random() < 0.2,
            hesitant=rng.random() < 0.3,
            responsiveness=rng.uniform(0.45, 0.95),
        )
        concerns = traits.concerns()
        rng.shuffle(concerns)
        child, he = rng.choice(_CHILDREN)
        parent = rng.choice(_PARENTS)
        speakers = Speakers(parent.split()[0], child, he, "him" if he == "he" else "her")
        return cls(index, lead_id, traits, rng, arrives_at, speakers, parent, concerns=concerns)

    @property
    def done(self) -> bool:
        return self.stage in TERMINAL

    @property
    def enrolled(self) -> bool:
        return self.stage in ENROLLED_STAGES

    @property
    def situation(self) -> str:
        """The key of the hidden response table the family is in now."""
        if self.stage is Stage.ENGAGED:
            return self.concerns[0].value if self.concerns else "ready"
        return self.stage.value

    def odds(self, action: Action) -> Odds:
        """Hidden (forward, backfire) chances of `action` in the current situation."""
        situation = self.situation
        default = _DEFAULTS.get(situation, _CONTACT_DEFAULT)
        return RESPONSES.get(situation, {}).get(action, default)

    # --- events ----------------------------------------------------------------

    def _next_id(self) -> str:
        self._event_no += 1
        return f"{self.lead_id}-e{self._event_no}"

    def _at(self, base: datetime, low: timedelta, high: timedelta) -> datetime:
        span = (high - low).total_seconds()
        self.clock = max(self.clock, base) + low + timedelta(seconds=self.rng.uniform(0, span))
        return self.clock

    def created(self) -> LeadCreated:
        return LeadCreated(
            type="lead.created",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=self.clock,
            parent_name=self.parent_name,
            phone=f"+1555{self.rng.randrange(10**6, 10**7)}",
            child_name=self.speakers.child,
            child_age=self.rng.randint(5, 14),
            value_tier="premium" if self.rng.random() < 0.1 else "standard",
            campaign_goal="trial class",
        )

    def react(self, decision: Decision) -> Reaction:
        """The family's (and its CRM's) answer to one decision."""
        if self.done:
            return Reaction((), None)
        self.steps += 1
        before: list[InputEvent] = []
        action = decision.action
        if action is Action.STOP:
            self.stage = Stage.STOPPED
            return Reaction((self._outcome(decision, OutcomeKind.COMPLETED),), None)
        if decision.requires_approval:
            if self.rng.random() < 0.1:
                self.rejected += 1
                before.append(self._outcome(decision, OutcomeKind.REJECTED))
                action = Action.WAIT
            else:
                before.append(self._outcome(decision, OutcomeKind.ACCEPTED))
        event = self._respond(decision, action)
        after: list[InputEvent] = []
        if action is not Action.WAIT or decision.action is Action.WAIT:
            reached = not (
                isinstance(event, InteractionCompleted)
                and event.outcome is not ContactOutcome.COMPLETED
            )
            kind = OutcomeKind.COMPLETED if reached else OutcomeKind.DELIVERED
            after.append(self._outcome(decision, kind))
        return Reaction((*before, event, *after), event.event_id)

    def _respond(self, decision: Decision, action: Action) -> InputEvent:
        if self.stage is Stage.ACTIVE:
            return self._payment(decision)
        contact = action is not Action.WAIT and decision.channel in CONTACTS
        if contact and not self._answers(decision.channel):
            self.fruitless_contacts += 1
            return self._unanswered(decision)
        forward, backfire = self.odds(action)
        roll = self.rng.random()
        if self.stage is Stage.UNREACHED and contact:
            forward, backfire = 1.0, 0.0
        if contact and self.fruitless_contacts >= _ANNOYANCE_AFTER and self.rng.random() < 0.15:
            self.stage = Stage.OPTED_OUT
            return self._talk(decision, Topic.OPT_OUT, contact)
        if roll < forward:
            self.fruitless_contacts = 0
            return self._advance(decision, contact)
        if roll < forward + backfire:
            return self._lose(decision, contact)
        self.fruitless_contacts += 1 if contact else 0
        return self._stall(decision, contact)

    def _answers(self, channel: str) -> bool:
        chance = self.traits.responsiveness
        if channel == "voice" and self.traits.busy_schedule:
            chance *= 0.55
        elif channel != "voice":
            chance = min(1.0, chance + 0.15)
        return self.rng.random() < chance

    def _advance(self, decision: Decision, contact: bool) -> InputEvent:
        stage = self.stage
        if stage is Stage.UNREACHED:
            self.stage = Stage.ENGAGED
            return self._talk(decision, self._concern_topic(), contact)
        if stage is Stage.ENGAGED and self.concerns:
            resolved = self.concerns.pop(0)
            topic = Topic(f"{resolved.value}_resolved")
            return self._talk(decision, topic, contact)
        if stage is Stage.ENGAGED:
            self.stage = Stage.TRIAL_BOOKED
            return self._milestone(decision, Milestone.TRIAL_BOOKED, timedelta(0), _HOUR)
        if stage is Stage.TRIAL_BOOKED:
            self.stage = Stage.TRIAL_DONE
            return self._milestone(decision, Milestone.TRIAL_ATTENDED, _DAY, 4 * _DAY)
        if stage is Stage.TRIAL_DONE:
            self.stage = Stage.ENROLLED
            return self._milestone(decision, Milestone.ENROLLED, _HOUR, 3 * _DAY)
        self.stage = Stage.ACTIVE
        return self._attendance(decision, AttendanceOutcome.ATTENDED)

    def _lose(self, decision: Decision, contact: bool) -> InputEvent:
        if self.stage in (Stage.UNREACHED, Stage.ENGAGED):
            opt_out = self.rng.random() < 0.2
            self.stage = Stage.OPTED_OUT if opt_out else Stage.DECLINED
            return self._talk(decision, Topic.OPT_OUT if opt_out else Topic.DECLINE, contact)
        self.stage = Stage.DECLINED
        return self._milestone(decision, Milestone.WITHDRAWN, _HOUR, 2 * _DAY)

    def _stall(self, decision: Decision, contact: bool) -> InputEvent:
        stage = self.stage
        if stage is Stage.ENROLLED:
            self.misses += 1
            if self.misses >= _MAX_MISSES and self.rng.random() < 0.5:
                self.stage = Stage.DECLINED
                return self._milestone(decision, Milestone.WITHDRAWN, _HOUR, 2 * _DAY)
            return self._attendance(decision, AttendanceOutcome.MISSED)
        if stage is Stage.TRIAL_BOOKED:
            return self._attendance(decision, AttendanceOutcome.MISSED)
        if stage is Stage.TRIAL_DONE:
            return self._talk(decision, Topic.TRIAL_FEEDBACK, contact)
        if stage is Stage.UNREACHED:
            return self._unanswered(decision)
        topic = self._concern_topic() if self.concerns else Topic.READY
        return self._talk(decision, topic, contact)

    def _concern_topic(self) -> Topic:
        if not self.concerns:
            return Topic.INTRO_READY
        concern = self.concerns[0]
        if concern is Concern.COST and self.rng.random() < 0.5:
            return Topic.COST_QUESTION
        return Topic(concern.value)

    def _talk(self, decision: Decision, topic: Topic, contact: bool) -> InteractionCompleted:
        """A conversation: the contact the decision asked for, or the family reaching out."""
        if contact:
            channel = ContactChannel(decision.channel)
            base, low, high = decision.scheduled_for, _MINUTE, 3 * _HOUR
        else:
            channel = self.rng.choice((ContactChannel.SMS, ContactChannel.VOICE))
            base, low, high = decision.scheduled_for, _HOUR, 2 * _DAY
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

    def _unanswered(self, decision: Decision) -> InteractionCompleted:
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
            occurred_at=self._at(decision.scheduled_for, _MINUTE, 6 * _HOUR),
            interaction_id=event_id,
            channel=channel,
            direction=Direction.OUTBOUND,
            outcome=outcome,
            agent_id="sim-crm",
            decision_id=decision.decision_id,
        )

    def _milestone(
        self, decision: Decision, milestone: Milestone, low: timedelta, high: timedelta
    ) -> LeadMilestone:
        return LeadMilestone(
            type="lead.milestone",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=self._at(decision.scheduled_for, low, high),
            milestone=milestone,
        )

    def _attendance(self, decision: Decision, status: AttendanceOutcome) -> AttendanceRecorded:
        at = self._at(decision.scheduled_for, _DAY, 5 * _DAY)
        event_id = self._next_id()
        return AttendanceRecorded(
            type="attendance.recorded",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=at,
            session_id=f"session-{event_id}",
            status=status,
            session_at=at,
            program="trial class" if self.stage is Stage.TRIAL_BOOKED else "weekly program",
        )

    def _payment(self, decision: Decision) -> PaymentRecorded:
        late = self.traits.cost_worried and self.rng.random() < 0.3
        self.stage = Stage.PAID
        event_id = self._next_id()
        return PaymentRecorded(
            type="payment.recorded",
            event_id=event_id,
            lead_id=self.lead_id,
            occurred_at=self._at(decision.scheduled_for, _DAY, 7 * _DAY),
            payment_id=f"pay-{event_id}",
            status=PaymentOutcome.LATE if late else PaymentOutcome.SUCCEEDED,
            amount=120.0,
        )

    def _outcome(self, decision: Decision, kind: OutcomeKind) -> ActionOutcome:
        return ActionOutcome(
            type="action.outcome",
            event_id=self._next_id(),
            lead_id=self.lead_id,
            occurred_at=max(self.clock, decision.decided_at),
            decision_id=decision.decision_id,
            outcome=kind,
            operator="sim-crm",
        )


_MINUTE, _HOUR, _DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)

__all__ = [
    "RESPONSES",
    "TERMINAL",
    "Concern",
    "Decision",
    "Family",
    "Reaction",
    "Stage",
    "Traits",
    "family_seed",
]
