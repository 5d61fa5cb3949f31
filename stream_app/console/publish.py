"""What an operator decides, as events on the topics: outcomes for the worker, reminder acts.

Ids are derived from what was decided (`stable_id`), so a double click or a retried
form sends the same event twice and the worker (and the read model) apply it once.
Every event is validated by the same wire model the worker decodes with before it is
produced, and produced keyed by lead id with acks=all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aiokafka import AIOKafkaProducer

from stream_app.config.settings import Settings
from stream_app.domain.lead.ids import stable_id
from stream_app.domain.messages import ActionOutcome, OutcomeKind
from stream_app.kafka.clients import start_producer
from stream_app.wire.codec import encode
from stream_app.wire.models import OperatorReminder

ReminderAct = Literal["reminder.set", "reminder.snoozed", "reminder.dismissed"]


def outcome_event(
    lead_id: str,
    decision_id: str,
    outcome: OutcomeKind,
    reason: str | None,
    operator: str | None,
    now: datetime,
) -> ActionOutcome:
    """An operator's approval or rejection: one event per (decision, outcome)."""
    return ActionOutcome(
        type="action.outcome",
        event_id=stable_id("op", lead_id, decision_id, outcome.value),
        lead_id=lead_id,
        occurred_at=now,
        decision_id=decision_id,
        outcome=outcome,
        reason=reason or None,
        operator=operator,
    )


def reminder_event(
    act: ReminderAct,
    lead_id: str,
    reminder_id: str | None,
    remind_at: datetime | None,
    note: str | None,
    operator: str | None,
    now: datetime,
) -> OperatorReminder:
    """A reminder set (a new id from its lead, time and note), snoozed or dismissed."""
    at = remind_at.isoformat() if remind_at else ""
    rid = reminder_id or stable_id("rc", lead_id, at, note or "")
    return OperatorReminder(
        type=act,
        event_id=stable_id("ra", lead_id, rid, act, at),
        lead_id=lead_id,
        occurred_at=now,
        reminder_id=rid,
        remind_at=remind_at,
        note=note or None,
        operator=operator,
    )


class Publisher:
    """The console's one producer; started with the server, stopped with it."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self._producer = await start_producer(self._settings)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, event: ActionOutcome | OperatorReminder) -> None:
        """Produce and await the broker's ack (raises on failure: the caller says so)."""
        assert self._producer is not None, "start() first"
        topic = "action-outcomes" if isinstance(event, ActionOutcome) else "operator-reminders"
        await self._producer.send_and_wait(
            self._settings.topic(topic), encode(event), key=event.lead_id.encode()
        )
