"""The messages the lead step reads and writes: input events and the records it emits.

They are the domain's own types, so the pure core needs nothing of the wire
layer; `stream_app.wire.models` publishes them as the topic contract (with the
records only the shell handles) and generates the JSON Schemas from them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from stream_app.domain.actions import Action
from stream_app.domain.briefs import ActionBrief
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.frozen import Stored
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ConsentChannel,
    ContactChannel,
    ContactOutcome,
    Milestone,
    PaymentOutcome,
)
from stream_app.domain.risk import ValueTier
from stream_app.domain.state_model import STATES


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


EventId = Annotated[str, Field(min_length=1, max_length=128)]
LeadId = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=20_000)]
RecordId = Annotated[str, Field(max_length=128)]
"""An id the app derives (`t-...`, `x-...`, `tm-...`, a decision's or a trigger's)."""
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
# JSON `Infinity`/`NaN` parse as floats in pydantic: an internal record carrying one
# would poison the Q-table of every worker, so numbers on internal topics are finite.

_ACTIONS = frozenset(a.value for a in Action)


def _known_action(value: str) -> str:
    if value not in _ACTIONS:
        raise PydanticCustomError("unknown_action", "not an action of the catalog")
    return value


def _known_state(value: str) -> str:
    if value not in STATES:
        raise PydanticCustomError("unknown_state", "not a status:bucket[+flags] state")
    return value


KnownAction = Annotated[str, AfterValidator(_known_action)]
"""An action of the catalog (`domain/actions.py`), carried as its string."""
RlState = Annotated[str, AfterValidator(_known_state)]
"""An RL state, `status:bucket` or a compound `status:bucket+flags` (`domain/state_model`)."""


class Message(BaseModel):
    """Input events and internal records: validated at the door, an unknown field is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StoredMessage(Stored):
    """An output record the lead's state also keeps (`last_nba`, `reminder`).

    Read back from a state another release wrote, it must tolerate a field that
    release added (`frozen.Stored`). We produce these records ourselves, so a
    consumer reading them loses nothing by the tolerance.
    """


class _Event(Message):
    """Fields every input event carries."""

    event_id: EventId
    lead_id: LeadId
    occurred_at: AwareDatetime


# --- leads ----------------------------------------------------------------------


class _LeadProfileFields(Message):
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


class LeadErased(_Event):
    """Forget the lead: the family asked for erasure (or its data is past retention).

    The lead step drops the lead's whole state and decides nothing. `reason` is for
    the upstream audit trail only: it is never stored or logged here, and it stays on
    the `leads` topic until retention, so it must not carry personal data.
    """

    type: Literal["lead.erased"]
    reason: ShortText | None = None


# --- interactions ---------------------------------------------------------------


class InteractionCompleted(_Event):
    type: Literal["interaction.completed"]
    interaction_id: Annotated[str, Field(min_length=1, max_length=128)]
    channel: ContactChannel
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
    LeadCreated | LeadUpdated | LeadMilestone | LeadConsent | LeadErased,
    Field(discriminator="type"),
]
SmsEvent = Annotated[SmsReceived | SmsSent, Field(discriminator="type")]
InputEvent = Annotated[
    LeadCreated
    | LeadUpdated
    | LeadMilestone
    | LeadConsent
    | LeadErased
    | InteractionCompleted
    | SmsReceived
    | SmsSent
    | AttendanceRecorded
    | PaymentRecorded
    | ActionOutcome,
    Field(discriminator="type"),
]

# --- what the lead step emits ----------------------------------------------------


class Candidate(StoredMessage):
    action: str
    q: float
    visits: int
    score: float


class NextBestAction(StoredMessage):
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


class LeadTransition(Message):
    transition_id: RecordId
    lead_id: LeadId
    occurred_at: AwareDatetime
    state_before: RlState
    action: KnownAction
    decision_id: RecordId
    # A step of the reward table is at most a few units; the bound keeps one record
    # from flooding the Q-table with a value no reward can undo.
    reward: Annotated[float, Field(allow_inf_nan=False, ge=-1_000, le=1_000)]
    state_after: RlState
    cause_event_id: RecordId
    # The actions the filter allowed in state_after (the next decision's candidates),
    # so the learner's next-state max never counts an action the lead could not take.
    # None (older records, rejections): every action of state_after's status.
    next_actions: Annotated[tuple[KnownAction, ...], Field(max_length=32)] | None = None


class ExtractionRequest(Message):
    extraction_id: RecordId
    lead_id: LeadId
    requested_at: AwareDatetime
    channel: ContactChannel
    transcript: LongText
    source_event_ids: Annotated[tuple[EventId, ...], Field(max_length=256)]


class ExtractionResult(Message):
    extraction_id: RecordId
    lead_id: LeadId
    extracted_at: AwareDatetime
    source_event_ids: Annotated[tuple[EventId, ...], Field(max_length=256)]
    extraction: Extraction


class Reminder(StoredMessage):
    reminder_id: str
    lead_id: LeadId
    decision_id: str
    remind_at: datetime
    action: str
    note: str
