"""Synthetic families with hidden response probabilities, reacting to next-best-actions.

A family has a hidden disposition (one of its seed's `world`), hidden traits drawn
from that disposition's mix (cost worries, a busy schedule, a spouse who must
agree, a reluctant child, hesitation, how responsive it is) and a hidden journey:
it must be reached, have its concerns met one by one, book and attend a trial,
enrol, attend, pay. Each published decision gets a reaction drawn from its
disposition's table of probabilities per (situation, action): the action that answers the
family's current situation moves it forward, pushing too early makes it decline,
waiting lets a hesitant family come back on its own. The system never sees the
table; it sees only what a CRM and the family would send (`events`): calls with
transcripts, unanswered attempts, milestones, attendance, payments and action
outcomes.

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

from stream_app.domain.actions import Action
from stream_app.domain.lifecycle import AttendanceOutcome, ContactOutcome, Milestone
from stream_app.domain.messages import (
    InputEvent,
    InteractionCompleted,
    LeadCreated,
    NextBestAction,
    OutcomeKind,
)
from stream_app.sim.events import CONTACTS, DAY, HOUR, EventWriter
from stream_app.sim.hidden import ENROLLED_STAGES, TERMINAL, Concern, Odds, Stage, Traits
from stream_app.sim.transcripts import Speakers, Topic
from stream_app.sim.world import Disposition, world

_PARENTS = ("Sarah Mitchell", "Maria Lopez", "Tom Baker", "Aisha Khan", "Wei Chen", "Emma Novak")
_CHILDREN = (("Jake", "he"), ("Mia", "she"), ("Leo", "he"), ("Sofia", "she"), ("Noah", "he"))

_MAX_MISSES = 3
"""Missed sessions after enrolling from which a family may withdraw."""
_ANNOYANCE_AFTER = 5
"""Unproductive contacts in a row after which a family may ask to be left alone."""


def family_seed(run_seed: int, index: int, population: int = 0) -> int:
    """A family's own seed: stable across runs, policies and Python versions.

    `population` draws other families from the same world (the seed's
    dispositions): a table learned on population 0 can be judged on population 1.
    """
    key = f"{run_seed}:{index}" if population == 0 else f"{run_seed}:{population}:{index}"
    digest = hashlib.sha256(key.encode()).digest()
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
    """One simulated family: hidden traits, hidden journey, its own random stream.

    The family decides what happens next; `writer` (sharing the same random
    stream) turns each happening into the event the system reads.
    """

    index: int
    disposition: Disposition
    traits: Traits
    rng: random.Random
    speakers: Speakers
    parent_name: str
    writer: EventWriter
    stage: Stage = Stage.UNREACHED
    concerns: list[Concern] = field(default_factory=list)
    steps: int = 0
    misses: int = 0
    fruitless_contacts: int = 0
    rejected: int = 0

    @classmethod
    def create(
        cls, run_seed: int, index: int, lead_id: str, arrives_at: datetime, population: int = 0
    ) -> Family:
        rng = random.Random(family_seed(run_seed, index, population))
        disposition = world(run_seed).pick(rng.random())
        mix = disposition.traits
        traits = Traits(
            cost_worried=rng.random() < mix.cost_worried,
            busy_schedule=rng.random() < mix.busy_schedule,
            needs_spouse=rng.random() < mix.needs_spouse,
            child_reluctant=rng.random() < mix.child_reluctant,
            hesitant=rng.random() < mix.hesitant,
            responsiveness=rng.uniform(*mix.responsiveness),
        )
        concerns = traits.concerns()
        rng.shuffle(concerns)
        child, he = rng.choice(_CHILDREN)
        parent = rng.choice(_PARENTS)
        speakers = Speakers(parent.split()[0], child, he, "him" if he == "he" else "her")
        writer = EventWriter(lead_id, rng, speakers, arrives_at)
        return cls(index, disposition, traits, rng, speakers, parent, writer, concerns=concerns)

    @property
    def lead_id(self) -> str:
        return self.writer.lead_id

    @property
    def clock(self) -> datetime:
        """Event time of the family's latest event."""
        return self.writer.clock

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
        return self.disposition.odds(self.situation, action)

    def created(self) -> LeadCreated:
        return self.writer.created(self.parent_name)

    def react(self, decision: Decision) -> Reaction:
        """The family's (and its CRM's) answer to one decision."""
        if self.done:
            return Reaction((), None)
        self.steps += 1
        before: list[InputEvent] = []
        action = decision.action
        if action is Action.STOP:
            self.stage = Stage.STOPPED
            return Reaction((self.writer.outcome(decision, OutcomeKind.COMPLETED),), None)
        if decision.requires_approval:
            if self.rng.random() < 0.1:
                self.rejected += 1
                before.append(self.writer.outcome(decision, OutcomeKind.REJECTED))
                action = Action.WAIT
            else:
                before.append(self.writer.outcome(decision, OutcomeKind.ACCEPTED))
        event = self._respond(decision, action)
        after: list[InputEvent] = []
        if action is not Action.WAIT or decision.action is Action.WAIT:
            reached = not (
                isinstance(event, InteractionCompleted)
                and event.outcome is not ContactOutcome.COMPLETED
            )
            kind = OutcomeKind.COMPLETED if reached else OutcomeKind.DELIVERED
            after.append(self.writer.outcome(decision, kind))
        return Reaction((*before, event, *after), event.event_id)

    def _respond(self, decision: Decision, action: Action) -> InputEvent:
        if self.stage is Stage.ACTIVE:
            late = self.traits.cost_worried and self.rng.random() < 0.3
            self.stage = Stage.PAID
            return self.writer.payment(decision, late)
        contact = action is not Action.WAIT and decision.channel in CONTACTS
        if contact and not self._answers(decision.channel):
            self.fruitless_contacts += 1
            return self.writer.unanswered(decision)
        forward, backfire = self.odds(action)
        roll = self.rng.random()
        if self.stage is Stage.UNREACHED and contact:
            forward, backfire = 1.0, 0.0
        if contact and self.fruitless_contacts >= _ANNOYANCE_AFTER and self.rng.random() < 0.15:
            self.stage = Stage.OPTED_OUT
            return self.writer.talk(decision, Topic.OPT_OUT, contact)
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
            return self.writer.talk(decision, self._concern_topic(), contact)
        if stage is Stage.ENGAGED and self.concerns:
            resolved = self.concerns.pop(0)
            topic = Topic(f"{resolved.value}_resolved")
            return self.writer.talk(decision, topic, contact)
        if stage is Stage.ENGAGED:
            self.stage = Stage.TRIAL_BOOKED
            return self.writer.milestone(decision, Milestone.TRIAL_BOOKED, timedelta(0), HOUR)
        if stage is Stage.TRIAL_BOOKED:
            self.stage = Stage.TRIAL_DONE
            return self.writer.milestone(decision, Milestone.TRIAL_ATTENDED, DAY, 4 * DAY)
        if stage is Stage.TRIAL_DONE:
            self.stage = Stage.ENROLLED
            return self.writer.milestone(decision, Milestone.ENROLLED, HOUR, 3 * DAY)
        self.stage = Stage.ACTIVE
        return self._attendance(decision, AttendanceOutcome.ATTENDED)

    def _lose(self, decision: Decision, contact: bool) -> InputEvent:
        if self.stage in (Stage.UNREACHED, Stage.ENGAGED):
            opt_out = self.rng.random() < 0.2
            self.stage = Stage.OPTED_OUT if opt_out else Stage.DECLINED
            return self.writer.talk(decision, Topic.OPT_OUT if opt_out else Topic.DECLINE, contact)
        self.stage = Stage.DECLINED
        return self.writer.milestone(decision, Milestone.WITHDRAWN, HOUR, 2 * DAY)

    def _stall(self, decision: Decision, contact: bool) -> InputEvent:
        stage = self.stage
        if stage is Stage.ENROLLED:
            self.misses += 1
            if self.misses >= _MAX_MISSES and self.rng.random() < 0.5:
                self.stage = Stage.DECLINED
                return self.writer.milestone(decision, Milestone.WITHDRAWN, HOUR, 2 * DAY)
            return self._attendance(decision, AttendanceOutcome.MISSED)
        if stage is Stage.TRIAL_BOOKED:
            return self._attendance(decision, AttendanceOutcome.MISSED)
        if stage is Stage.TRIAL_DONE:
            return self.writer.talk(decision, Topic.TRIAL_FEEDBACK, contact)
        if stage is Stage.UNREACHED:
            return self.writer.unanswered(decision)
        topic = self._concern_topic() if self.concerns else Topic.READY
        return self.writer.talk(decision, topic, contact)

    def _attendance(self, decision: Decision, status: AttendanceOutcome) -> InputEvent:
        return self.writer.attendance(decision, status, trial=self.stage is Stage.TRIAL_BOOKED)

    def _concern_topic(self) -> Topic:
        if not self.concerns:
            return Topic.INTRO_READY
        concern = self.concerns[0]
        if concern is Concern.COST and self.rng.random() < 0.5:
            return Topic.COST_QUESTION
        return Topic(concern.value)


__all__ = ["Decision", "Family", "Reaction", "family_seed"]
