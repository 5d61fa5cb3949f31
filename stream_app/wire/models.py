"""Wire models: every message on every topic, the contract with upstream and CRM systems.

The lead step's own messages live in `stream_app.domain.messages`; this module
adds the records only the shell handles (Q updates, timers, dead letters), which
event types each input topic accepts, and the models the JSON Schemas under
`topics/schemas/` are generated from (a test fails when the files drift).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from pydantic import BaseModel, TypeAdapter

from stream_app.domain.messages import (
    ActionOutcome,
    AttendanceRecorded,
    ExtractionRequest,
    ExtractionResult,
    InputEvent,
    InteractionCompleted,
    LeadConsent,
    LeadCreated,
    LeadErased,
    LeadId,
    LeadMilestone,
    LeadTransition,
    LeadUpdated,
    Message,
    NextBestAction,
    PaymentRecorded,
    Reminder,
    SmsReceived,
    SmsSent,
)

# Which event types each input topic accepts: the catalog names the topic, this
# names its types, so an event on the wrong topic is a clear dead letter.
INPUT_TYPES: dict[str, tuple[str, ...]] = {
    "leads": ("lead.created", "lead.updated", "lead.milestone", "lead.consent", "lead.erased"),
    "interactions": ("interaction.completed",),
    "sms-messages": ("sms.received", "sms.sent"),
    "attendance": ("attendance.recorded",),
    "payments": ("payment.recorded",),
    "action-outcomes": ("action.outcome",),
}

# mypy reads an Annotated union as a value here; the cast keeps the adapter typed.
INPUT_EVENT: TypeAdapter[InputEvent] = TypeAdapter(cast(Any, InputEvent))



# --- records only the shell handles ----------------------------------------------


def entry_key(state: str, action: str) -> str:
    """The compacted `q-updates` key: one record per (state, action) survives compaction."""
    return f"{state}|{action}"


class QUpdate(Message):
    state: str
    action: str
    q_before: float
    q_after: float
    visits: int
    td_error: float
    transition_id: str
    q_version: int


class LeadTimer(Message):
    """A sweep's request to run a lead's due time rules in the lead's own partition.

    `now` is event time (the later of the wall clock and the newest event time the
    worker has seen, so an accelerated simulation's rules fire too); `wall_now`
    times work handed to other agents.
    """

    timer_id: str
    lead_id: LeadId
    now: datetime
    wall_now: datetime


class DeadLetter(Message):
    source_topic: str
    partition: int
    offset: int
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    error: str
    error_type: str
    failed_at: datetime


# Models whose JSON Schema is published under topics/schemas/, by file stem.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "lead.created": LeadCreated,
    "lead.updated": LeadUpdated,
    "lead.milestone": LeadMilestone,
    "lead.consent": LeadConsent,
    "lead.erased": LeadErased,
    "interaction.completed": InteractionCompleted,
    "sms.received": SmsReceived,
    "sms.sent": SmsSent,
    "attendance.recorded": AttendanceRecorded,
    "payment.recorded": PaymentRecorded,
    "action.outcome": ActionOutcome,
    "next-best-action": NextBestAction,
    "lead-transition": LeadTransition,
    "q-update": QUpdate,
    "extraction-request": ExtractionRequest,
    "extraction": ExtractionResult,
    "lead-timer": LeadTimer,
    "reminder": Reminder,
    "dead-letter": DeadLetter,
}
