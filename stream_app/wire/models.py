"""Wire models: every message on every topic, the contract with upstream and CRM systems.

The lead step's own messages live in `stream_app.domain.messages`; this module
adds the records only the shell handles (Q updates, timers, dead letters), which
event types each input topic accepts, and the models the JSON Schemas under
`topics/schemas/` are generated from (a test fails when the files drift).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter

from stream_app.domain.messages import (
    ActionOutcome,
    AttendanceRecorded,
    ExtractionRequest,
    ExtractionResult,
    FiniteFloat,
    InputEvent,
    InteractionCompleted,
    KnownAction,
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
    RecordId,
    Reminder,
    RlState,
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
    """One Q-table entry's new value. Validated like an input on every worker's view:
    a state or action the table does not know, or a number that is not finite, would
    otherwise stop every worker that replays the compacted topic."""

    state: RlState
    action: KnownAction
    q_before: FiniteFloat
    q_after: FiniteFloat
    visits: Annotated[int, Field(ge=0)]
    td_error: FiniteFloat
    transition_id: RecordId
    q_version: Annotated[int, Field(ge=0)]
    # The running guard's verdict when the learner published this update: False
    # while learning is significantly below the priors and STREAM_APP_GUARD_GREEDY
    # is on; every worker's decisions follow the latest one (default: explore).
    explore: bool = True


class LeadTimer(Message):
    """A sweep's request to run a lead's due time rules in the lead's own partition.

    `now` is the lead's partition's stream time (the later of the wall clock and the
    newest event time seen in that partition, so an accelerated simulation's rules
    fire too); `wall_now` times work handed to other agents.
    """

    timer_id: RecordId
    lead_id: LeadId
    now: AwareDatetime
    wall_now: AwareDatetime


class DeadLetter(Message):
    """A record that could not be applied: where it was, why, and its payload.

    `raw` is cut to a bound (`wire.codec.DEAD_LETTER_RAW_CHARS`, `truncated` says
    so) so a dead letter always fits the producer's max request size; `raw_size` is
    the original payload's size in bytes. `error` names fields and error types, never
    input values; `error_type` is the metric's label.
    """

    source_topic: str
    partition: int
    offset: int
    raw: str
    raw_encoding: Literal["utf-8", "base64"]
    raw_size: int
    truncated: bool
    error: str
    error_type: str
    failed_at: AwareDatetime


class OperatorReminder(Message):
    """An operator's reminder on a lead, from the console (`operator-reminders`).

    The worker publishes a reminder on `reminders` when a decision's follow-up comes
    due; nothing in the lead step lets a person set, move or close one, so the console
    keeps those acts on a topic of their own: the read model replays them like any other
    record, and `--rebuild` loses none. `reminder_id` names the reminder acted on (the
    worker's `r-...` id, or a new one for `reminder.set`); `remind_at` is required to
    set or snooze.
    """

    type: Literal["reminder.set", "reminder.snoozed", "reminder.dismissed"]
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    lead_id: LeadId
    occurred_at: AwareDatetime
    reminder_id: RecordId
    remind_at: AwareDatetime | None = None
    decision_id: RecordId | None = None
    note: Annotated[str, Field(max_length=500)] | None = None
    operator: Annotated[str, Field(max_length=200)] | None = None


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
    "operator-reminder": OperatorReminder,
    "dead-letter": DeadLetter,
}
