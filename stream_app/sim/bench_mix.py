"""The realistic input mix `stream-app bench` drives the pipeline with.

Per lead, in event-time order: a `lead.created`, one or two unanswered calls, and
with some probability an answered call whose transcript needs extraction, an SMS
that asks to book (its keyword flushes the thread at once, so it is extracted),
an attendance and a payment. Leads are interleaved round-robin, as a live CRM
interleaves its families, so a batch of records touches many leads and now and
then the same lead twice.

Which events decide is not guessed here: `expected_triggers` runs the mix through
the in-process pipeline (`offline.pipeline.InProcess`, the worker's own lead step
and rules extractor), and every input event id it decides on is a decision the
live run must publish. All randomness comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ContactChannel,
    ContactOutcome,
    PaymentOutcome,
)
from stream_app.domain.messages import (
    AttendanceRecorded,
    Direction,
    InputEvent,
    InteractionCompleted,
    LeadCreated,
    PaymentRecorded,
    SmsReceived,
)
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.transcripts import Speakers, Topic, transcript

TOPIC_OF: dict[str, str] = {
    "lead.created": "leads",
    "interaction.completed": "interactions",
    "sms.received": "sms-messages",
    "attendance.recorded": "attendance",
    "payment.recorded": "payments",
}
"""The catalog topic each event type of the mix is produced to."""

_TALK_TOPICS = (Topic.INTRO_READY, Topic.COST, Topic.SPOUSE, Topic.SCHEDULE, Topic.HESITANT)
_SMS_BODIES = (
    "Can we book a trial for Saturday?",
    "Could we schedule a visit next week?",
    "Is there an appointment free on Tuesday?",
)
_PARENTS = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey")
_CHILDREN = ("Mia", "Leo", "Ava", "Noah", "Zoe", "Eli")


@dataclass(frozen=True, slots=True)
class Produced:
    """One event of the mix, ready to produce: its catalog topic, key and value."""

    topic: str
    key: bytes
    value: bytes
    event_id: str


def journey(lead_id: str, rng: random.Random, start: datetime) -> list[InputEvent]:
    """One lead's events, in event-time order, a few hours apart."""
    who = Speakers(rng.choice(_PARENTS), rng.choice(_CHILDREN), "she", "her")
    clock = start
    number = 0

    def next_at() -> tuple[str, datetime]:
        nonlocal clock, number
        number += 1
        clock += timedelta(minutes=rng.randint(30, 240))
        return f"{lead_id}-e{number}", clock

    event_id, at = next_at()
    events: list[InputEvent] = [
        LeadCreated(
            type="lead.created",
            event_id=event_id,
            lead_id=lead_id,
            occurred_at=at,
            parent_name=f"{who.parent_first} Bench",
            phone=f"+1555{rng.randrange(10**6, 10**7)}",
            child_name=who.child,
            child_age=rng.randint(5, 14),
            value_tier="premium" if rng.random() < 0.1 else "standard",
            campaign_goal="trial class",
            timezone="America/New_York",
        )
    ]
    for _ in range(rng.randint(1, 2)):
        event_id, at = next_at()
        events.append(_call(lead_id, event_id, at, ContactOutcome.NO_ANSWER, None))
    if rng.random() < 0.5:
        event_id, at = next_at()
        said = transcript(rng.choice(_TALK_TOPICS), rng, who, "Hi, this is the academy.")
        events.append(_call(lead_id, event_id, at, ContactOutcome.COMPLETED, said.text))
    if rng.random() < 0.3:
        event_id, at = next_at()
        events.append(
            SmsReceived(
                type="sms.received",
                event_id=event_id,
                lead_id=lead_id,
                occurred_at=at,
                message_id=event_id,
                body=rng.choice(_SMS_BODIES),
            )
        )
    if rng.random() < 0.3:
        event_id, at = next_at()
        events.append(
            AttendanceRecorded(
                type="attendance.recorded",
                event_id=event_id,
                lead_id=lead_id,
                occurred_at=at,
                session_id=f"s-{event_id}",
                status=AttendanceOutcome.ATTENDED,
                session_at=at,
                program="trial class",
            )
        )
    if rng.random() < 0.3:
        event_id, at = next_at()
        events.append(
            PaymentRecorded(
                type="payment.recorded",
                event_id=event_id,
                lead_id=lead_id,
                occurred_at=at,
                payment_id=f"p-{event_id}",
                status=rng.choice((PaymentOutcome.SUCCEEDED, PaymentOutcome.LATE)),
                amount=120.0,
            )
        )
    return events


def _call(
    lead_id: str, event_id: str, at: datetime, outcome: ContactOutcome, text: str | None
) -> InteractionCompleted:
    return InteractionCompleted(
        type="interaction.completed",
        event_id=event_id,
        lead_id=lead_id,
        occurred_at=at,
        interaction_id=event_id,
        channel=ContactChannel.VOICE,
        direction=Direction.OUTBOUND,
        outcome=outcome,
        transcript=text,
        duration_s=120.0 if text else None,
        agent_id="bench-crm",
    )


def realistic_mix(prefix: str, leads: int, seed: int, start: datetime) -> list[InputEvent]:
    """`leads` journeys interleaved round-robin: event j of every lead before event j + 1."""
    rng = random.Random(seed)
    journeys = [journey(f"{prefix}-{i}", rng, start) for i in range(leads)]
    return list(_round_robin(journeys))


def _round_robin(journeys: Sequence[Sequence[InputEvent]]) -> Iterator[InputEvent]:
    longest = max((len(j) for j in journeys), default=0)
    for step in range(longest):
        for events in journeys:
            if step < len(events):
                yield events[step]


def produced(events: Sequence[InputEvent]) -> list[Produced]:
    """The mix as records: JSON values, keyed by lead id."""
    return [
        Produced(
            TOPIC_OF[event.type],
            event.lead_id.encode(),
            event.model_dump_json().encode(),
            event.event_id,
        )
        for event in events
    ]


def expected_triggers(events: Sequence[InputEvent], settings: Settings) -> set[str]:
    """The input event ids the worker must decide on, by the worker's own lead step.

    Runs the events through `InProcess` (lead step, rules extractor, learner) in
    production order, each in its lead's partition; every decision whose trigger
    is one of these events is one the live pipeline publishes.
    """
    pipeline = InProcess(lead_params(settings), Learner(learner_params(settings)))
    ids = {event.event_id for event in events}
    decided: set[str] = set()
    for event in events:
        partition = partition_for(event.lead_id, settings.partitions)
        for effects in pipeline.feed(event, partition, event.occurred_at):
            decided.update(
                d.trigger_event_id for d in effects.decisions if d.trigger_event_id in ids
            )
    return decided
