"""Numbered input events of every type for many leads, produced as upstream systems would.

Each lead follows a seeded script of about 24 events: created, updated, milestones,
consent withdrawn and granted per channel, calls with and without transcripts, SMS
threads (sent and received, ended by quiet, by a keyword or by the message cap),
attendance, payments and CRM outcomes (delivered, rejected, completed) naming
decisions the lead really got. Event ids are `<lead>-e<NN>`.

A lead's next event is produced only once the worker applied the previous one (it
is in the lead's state on the `leads` changelog), so each lead's events are applied
in the order they were produced and dated, which is also the order `replay` sorts
them in. Many leads run at once, so many events are in flight on every partition
when a worker dies. `occurred_at` is the wall clock at production (strictly
increasing per lead), so the SMS quiet window (2 s in the harness) passes in real
time, as it does live.

No script closes a lead (no opt-out, no decline, no withdrawal): a closed lead's
SMS threads are not extracted, and the verifier expects every thread extracted.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from stream_app.domain.lead.ids import decision_id
from tests.integration.harness import Upstream

TRANSCRIPTS = (
    "Agent: Hi, this is Maya from the academy, following up on the enquiry.\n"
    "Parent: Oh hi! Yes, we'd love to book a trial class. Is Saturday morning free?\n"
    "Agent: Saturday at ten works.\n"
    "Parent: Perfect, let's schedule that.",
    "Agent: Hello, calling about the robotics club.\n"
    "Parent: It sounds great but money is tight this month. Do you have any scholarships?\n"
    "Agent: We do, I can send details.\n"
    "Parent: Thanks, that would help a lot.",
    "Agent: Hi, checking in about the coding course.\n"
    "Parent: Can you send me more information about the schedule and the price?\n"
    "Agent: Of course.",
    "Agent: Hi there, following up.\n"
    "Parent: My husband and I need to talk it over. His sister's kids go to another club.\n"
    "Agent: No problem.",
)
RECEIVED = (
    "Hi! Got your text about the robotics club",
    "What ages is it for?",
    "Jake is 9",
    "ok thanks",
    "sounds good!",
    "what time on saturday?",
    "Great, see you then",
)
SENT = ("Hi, this is the academy. Reply any time.", "Sessions run Saturdays 10-12.")
KEYWORD_ENDINGS = ("can we book a visit?", "I want to sign up")


@dataclass(frozen=True, slots=True)
class Sent:
    """One produced input event."""

    topic: str
    event: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])

    @property
    def lead_id(self) -> str:
        return str(self.event["lead_id"])

    @property
    def type(self) -> str:
        return str(self.event["type"])


Step = tuple[str, dict[str, Any]]
"""(topic, event fields without event_id, lead_id and occurred_at)."""


def lead_script(lead_id: str, rng: random.Random) -> list[Step]:
    """One lead's events, in order; outcomes name decisions of earlier events."""
    steps: list[Step] = []
    immediate: list[int] = []  # indexes of steps that decide at once

    def add(topic: str, fields: dict[str, Any], decides_now: bool = False) -> None:
        if decides_now:
            immediate.append(len(steps))
        steps.append((topic, fields))

    def last_decision() -> str:
        return decision_id(lead_id, event_id(lead_id, immediate[-1]))

    def sms_thread(size: int, ending: str) -> None:
        for n in range(size):
            last = n == size - 1
            if last and ending == "keyword":
                add("sms-messages", sms("sms.received", rng.choice(KEYWORD_ENDINGS)))
            elif n % 3 == 1:
                add("sms-messages", sms("sms.sent", rng.choice(SENT)))
            else:
                add("sms-messages", sms("sms.received", rng.choice(RECEIVED)))

    def sms(type_: str, body: str) -> dict[str, Any]:
        return {"type": type_, "message_id": f"m-{len(steps)}", "body": body}

    def call(outcome: str, transcript: str | None, **fields: Any) -> dict[str, Any]:
        event = {
            "type": "interaction.completed",
            "interaction_id": f"c-{len(steps)}",
            "channel": "voice",
            "direction": "outbound",
            "outcome": outcome,
            **fields,
        }
        if transcript is not None:
            event["transcript"] = transcript
        return event

    add(
        "leads",
        {
            "type": "lead.created",
            "parent_name": "Sarah Mitchell",
            "child_name": "Jake",
            "child_age": rng.randint(6, 14),
            "value_tier": rng.choice(["standard", "premium"]),
        },
        decides_now=True,
    )
    add("interactions", call(rng.choice(["no_answer", "voicemail", "busy"]), None), True)
    sms_thread(rng.randint(2, 4), rng.choice(["quiet", "keyword"]))
    add("interactions", call("completed", rng.choice(TRANSCRIPTS), decision_id=last_decision()))
    add("leads", {"type": "lead.updated", "phone": f"+1555{rng.randint(1000000, 9999999)}"}, True)
    channel = rng.choice(["sms", "email", "voice"])
    add("leads", {"type": "lead.consent", "channel": channel, "granted": False}, True)
    add("action-outcomes", outcome(last_decision(), "delivered"))
    add("leads", {"type": "lead.milestone", "milestone": "trial_booked"}, True)
    add("interactions", call("completed", None, channel="email", direction="inbound"), True)
    add("action-outcomes", outcome(last_decision(), "rejected", reason="not now"))
    add("leads", {"type": "lead.milestone", "milestone": "enrolled"}, True)
    add("attendance", attendance("attended"), True)
    add("payments", payment("succeeded"), True)
    add("attendance", attendance("missed"), True)
    add("payments", payment(rng.choice(["late", "missed"])), True)
    # The message cap (6 in the harness) or a short thread left to go quiet.
    sms_thread(6 if rng.random() < 0.5 else 2, "quiet")
    add("attendance", attendance("attended"), True)
    add("leads", {"type": "lead.consent", "channel": channel, "granted": True}, True)
    add(
        "interactions",
        call("completed", rng.choice(TRANSCRIPTS), channel="sms", direction="inbound"),
    )
    add("action-outcomes", outcome(last_decision(), "completed"))
    add("payments", payment("succeeded"), True)
    # Steps name their own ids in sessions, payments and messages: make them unique.
    for index, (_, fields) in enumerate(steps):
        for id_field in ("message_id", "interaction_id", "session_id", "payment_id"):
            if id_field in fields:
                fields[id_field] = f"{lead_id}-{id_field[:3]}-{index}"
    return steps


def outcome(decision: str, kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": "action.outcome", "decision_id": decision, "outcome": kind, **fields}


def attendance(status: str) -> dict[str, Any]:
    return {"type": "attendance.recorded", "session_id": "s", "status": status}


def payment(status: str) -> dict[str, Any]:
    return {"type": "payment.recorded", "payment_id": "p", "status": status, "amount": 120.0}


def event_id(lead_id: str, index: int) -> str:
    return f"{lead_id}-e{index + 1:02d}"


@dataclass
class Workload:
    """Produces every lead's script, each lead gated on its previous event's application.

    `limit` is how many events per lead may be produced so far; the chaos loop raises
    it cycle by cycle, so every cycle's kill lands while events are in flight.
    """

    upstream: Upstream
    prefix: str
    scripts: dict[str, list[Step]]
    wait_applied: Callable[[str, str, float], Any]
    rng: random.Random
    sent: list[Sent] = field(default_factory=list)
    never_applied: list[Sent] = field(default_factory=list)
    limit: int = 0
    _raised: asyncio.Event = field(default_factory=asyncio.Event)
    _clock: dict[str, datetime] = field(default_factory=dict)
    by_lead: dict[str, list[Sent]] = field(default_factory=lambda: defaultdict(list))

    @property
    def events_per_lead(self) -> int:
        return max(len(s) for s in self.scripts.values())

    @property
    def total(self) -> int:
        return sum(len(s) for s in self.scripts.values())

    def allow(self, limit: int) -> None:
        self.limit = max(self.limit, limit)
        self._raised.set()

    def stamp(self, lead_id: str) -> str:
        """The wall clock, strictly after the lead's previous event."""
        now = datetime.now(UTC)
        previous = self._clock.get(lead_id)
        if previous is not None and now <= previous:
            now = previous + timedelta(milliseconds=1)
        self._clock[lead_id] = now
        return now.isoformat()

    async def run(self) -> None:
        await asyncio.gather(*(self._lead(lead_id) for lead_id in self.scripts))

    async def _lead(self, lead_id: str) -> None:
        for index, (topic, fields) in enumerate(self.scripts[lead_id]):
            while index >= self.limit:
                self._raised.clear()
                await self._raised.wait()
            event = {
                **fields,
                "event_id": event_id(lead_id, index),
                "lead_id": lead_id,
                "occurred_at": self.stamp(lead_id),
            }
            record = Sent(topic, event)
            await self.upstream.send(self.prefix + topic, event)
            self.sent.append(record)
            self.by_lead[lead_id].append(record)
            try:
                await self.wait_applied(lead_id, record.event_id, 150.0)
            except AssertionError:
                self.never_applied.append(record)  # the verifier reports it
            # Pacing, a chaos input: spreads the stream so kills land mid-stream.
            await asyncio.sleep(self.rng.uniform(0.0, 0.03))
