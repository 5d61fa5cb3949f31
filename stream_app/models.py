"""Wire models: every message on every topic (DESIGN section 2).

These are the contract with upstream systems and CRM consumers. The JSON Schemas
under `topics/schemas/` are generated from them (`stream-app topics schemas`), and
a test fails when the files drift from the models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from stream_app.domain.briefs import ActionBrief
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ConsentChannel,
    ContactOutcome,
    Milestone,
    PaymentOutcome,
)
from stream_app.domain.lifecycle import ContactChannel as Channel
from stream_app.domain.risk import ValueTier


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


EventId = Annotated[str, Field(min_length=1, max_length=128)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=20_000)]


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Event(_Message):
    """Fields every input event carries."""

    event_id: EventId
    lead_id: LeadId
    occurred_at: AwareDatetime


# --- leads ----------------------------------------------------------------------


class _LeadProfileFields(_Message):
    phone: Annotated[str, Field(max_length=32)] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    child_name: ShortText | None = None
    child_age: Annotated[int, Field(ge=0, le=30)] | None = None
    campaign_goal: ShortText | None = None
    segment: ShortText | None = None
    value_tier: ValueTier | None = None
    owner: ShortText | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None


class LeadCreated(_Event, _LeadProfileFields):
    type: Literal["lead.created"]
    parent_name: Annotated[str, Field(min_length=1, max_length=200)]


class LeadUpdated(_Event, _LeadProfileFields):
    type: Literal["lead.updated"]
    parent_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class LeadMilestone(_Event):
    type: Literal["lead.milestone"]
    milestone: Milestone


class LeadConsent(_Event):
    type: Literal["lead.consent"]
    channel: ConsentChannel
    granted: bool


# --- interactions ---------------------------------------------------------------


class InteractionCompleted(_Event):
    type: Literal["interaction.completed"]
    interaction_id: Annotated[str, Field(min_length=1, max_length=128)]
    channel: Channel
    direction: Direction
    outcome: ContactOutcome
    transcript: LongText | None = None
    duration_s: Annotated[float, Field(ge=0, le=86_400)] | None = None
    agent_id: ShortText | None = None
    decision_id: Annotated[str, Field(max_length=128)] | None = None


# --- sms, attendance, payments, outcomes ----------------------------------------


class _SmsFields(_Event):
    message_id: Annotated[str, Field(min_length=1, max_length=128)]
    body: Annotated[str, Field(max_length=2_000)]


class SmsReceived(_SmsFields):
    type: Literal["sms.received"]


class SmsSent(_SmsFields):
    type: Literal["sms.sent"]


class AttendanceRecorded(_Event):
    type: Literal["attendance.recorded"]
    session_id: Annotated[str, Field(min_length=1, max_length=128)]
    status: AttendanceOutcome
    session_at: AwareDatetime | None = None
    program: ShortText | None = None


class PaymentRecorded(_Event):
    type: Literal["payment.recorded"]
    payment_id: Annotated[str, Field(min_length=1, max_length=128)]
    status: PaymentOutcome
    amount: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    due_at: AwareDatetime | None = None


class OutcomeKind(StrEnum):
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    EXPIRED = "expired"


class ActionOutcome(_Event):
    type: Literal["action.outcome"]
    decision_id: Annotated[str, Field(min_length=1, max_length=128)]
    outcome: OutcomeKind
    reason: Annotated[str, Field(max_length=500)] | None = None
    operator: ShortText | None = None


LeadEvent = Annotated[
    LeadCreated | LeadUpdated | LeadMilestone | LeadConsent, Field(discriminator="type")
]
SmsEvent = Annotated[SmsReceived | SmsSent, Field(discriminator="type")]
InputEvent = Annotated[
    LeadCreated
    | LeadUpdated
    | LeadMilestone
    | LeadConsent
    | InteractionCompleted
    | SmsReceived
    | SmsSent
    | AttendanceRecorded
    | PaymentRecorded
    | ActionOutcome,
    Field(discriminator="type"),
]

# Which event types each input topic accepts: the catalog names the topic, this
# names its types, so an event on the wrong topic is a clear dead letter.
INPUT_TYPES: dict[str, tuple[str, ...]] = {
    "leads": ("lead.created", "lead.updated", "lead.milestone", "lead.consent"),
    "interactions": ("interaction.completed",),
    "sms-messages": ("sms.received", "sms.sent"),
    "attendance": ("attendance.recorded",),
    "payments": ("payment.recorded",),
    "action-outcomes": ("action.outcome",),
}

# mypy reads an Annotated union as a value here; the cast keeps the adapter typed.
INPUT_EVENT: TypeAdapter[InputEvent] = TypeAdapter(cast(Any, InputEvent))


# --- outputs and internal topics -------------------------------------------------


class Candidate(_Message):
    action: str
    q: float
    visits: int
    score: float


class NextBestAction(_Message):
    decision_id: str
    lead_id: LeadId
    decided_at: datetime
    trigger_event_id: str
    action: str
    channel: str
    rl_state: str
    q_value: float
    score: float
    candidates: tuple[Candidate, ...]
    filtered_out: dict[str, str]
    override: str | None
    brief: ActionBrief
    risk_segment: str
    urgency: str
    requires_approval: bool
    policy_version: str
    q_version: int
    propensity: float | None = None
    arm: Literal["learning", "holdout"] = "learning"


class LeadTransition(_Message):
    transition_id: str
    lead_id: LeadId
    occurred_at: datetime
    state_before: str
    action: str
    decision_id: str
    reward: float
    state_after: str
    cause_event_id: str


class QUpdate(_Message):
    state: str
    action: str
    q_before: float
    q_after: float
    visits: int
    td_error: float
    transition_id: str
    q_version: int


class ExtractionRequest(_Message):
    extraction_id: str
    lead_id: LeadId
    requested_at: datetime
    channel: Channel
    transcript: LongText
    source_event_ids: tuple[str, ...]


class ExtractionResult(_Message):
    extraction_id: str
    lead_id: LeadId
    extracted_at: datetime
    source_event_ids: tuple[str, ...]
    extraction: Extraction


class LeadTimer(_Message):
    """A sweep's request to run a lead's due time rules in the lead's own partition.

    `now` is event time (the later of the wall clock and the newest event time the
    worker has seen, so an accelerated simulation's rules fire too); `wall_now`
    times work handed to other agents.
    """

    timer_id: str
    lead_id: LeadId
    now: datetime
    wall_now: datetime


class Reminder(_Message):
    reminder_id: str
    lead_id: LeadId
    decision_id: str
    remind_at: datetime
    action: str
    note: str


class DeadLetter(_Message):
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
