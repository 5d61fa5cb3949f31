"""How each input event changes a lead, and which of them decide at once.

Every business rule uses the event's own `occurred_at`; `now` (processing time)
only dates the deadline of work handed to the extractor.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.actions import Action, Channel
from stream_app.domain.context import with_attendance, with_interaction, with_payment
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.keywords import is_opt_out, opt_out_in
from stream_app.domain.guardrails import is_outreach, record_outreach, record_rejection
from stream_app.domain.lead.credit import rejection_transition
from stream_app.domain.lead.decide import decide
from stream_app.domain.lead.effects import Effects
from stream_app.domain.lead.extraction import flushed, request_extraction
from stream_app.domain.lead.policy import Params, Policy
from stream_app.domain.lead.state import InteractionNote, LeadState, moved_to
from stream_app.domain.lifecycle import (
    AttendanceOutcome,
    ConsentChannel,
    ContactChannel,
    ContactOutcome,
    Status,
    on_attendance,
    on_consent,
    on_interaction,
    on_milestone,
    on_opt_out,
    on_payment,
)
from stream_app.domain.messages import (
    ActionOutcome,
    AttendanceRecorded,
    Direction,
    InputEvent,
    InteractionCompleted,
    LeadConsent,
    LeadCreated,
    LeadErased,
    LeadMilestone,
    LeadUpdated,
    OutcomeKind,
    PaymentRecorded,
    SmsReceived,
    SmsSent,
)
from stream_app.domain.profile import Profile
from stream_app.domain.sms_window import BufferedMessage, on_message, on_tick

PassiveEvent = (
    LeadCreated | LeadUpdated | LeadMilestone | LeadConsent | AttendanceRecorded | PaymentRecorded
)


def handle_event(
    state: LeadState | None, event: InputEvent, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState | None, Effects]:
    """Apply one input event and decide, unless it needs an extraction first.

    A redelivered event (its id is remembered) changes nothing and emits nothing.
    An erasure returns no state at all (see `erase`).
    """
    if isinstance(event, LeadErased):
        return erase(state)
    current = state or LeadState(lead_id=event.lead_id)
    if event.event_id in current.seen_event_ids:
        return current, Effects()
    seen = (*current.seen_event_ids, event.event_id)[-params.remembered_event_ids :]
    lead = current.model_copy(update={"seen_event_ids": seen, "updated_at": event.occurred_at})
    if isinstance(event, InteractionCompleted):
        return _interaction(lead, event, policy, params, now)
    if isinstance(event, SmsReceived | SmsSent):
        return _sms(lead, event, policy, params, now)
    if isinstance(event, ActionOutcome):
        return _outcome(lead, event, params)
    lead = _apply_passive(lead, event, params)
    return decide(lead, event.event_id, event.occurred_at, None, policy, params)


def erase(state: LeadState | None) -> tuple[None, Effects]:
    """Forget the lead: no state comes back, nothing is decided, nothing is published.

    Everything kept about a lead is its one state value (profile, context, buffered
    SMS, pending extractions, reminder, decisions), so dropping it drops them all;
    an extraction result or a timer still in flight for it then finds no state and
    changes nothing. `erased` tells the shell to delete the stored value, and is set
    only when there was one: an erasure redelivered after the value went (or for a
    lead never seen) is a no-op.

    No marker of the erased lead is kept, so a later event with the same lead id
    starts a new lead from that event alone; none of the erased data comes back.
    """
    return None, Effects(erased=state is not None)


def _apply_passive(lead: LeadState, event: PassiveEvent, params: Params) -> LeadState:
    """Events that change the lead without a conversation to read."""
    ctx = lead.context
    if ctx.first_seen_at is None:
        ctx = ctx.model_copy(update={"first_seen_at": event.occurred_at})
    status = lead.status
    updates: dict[str, object] = {}
    if isinstance(event, LeadCreated | LeadUpdated):
        fields = event.model_dump(include=set(Profile.model_fields), exclude_none=True)
        updates["profile"] = lead.profile.model_copy(update=fields)
    elif isinstance(event, LeadMilestone):
        status = on_milestone(status, event.milestone)
        attended = ctx.last_attendance_at
        if status == Status.ENROLLED and attended is not None and attended >= event.occurred_at:
            # The attendance arrived first (another topic) but happened after the
            # enrolment: apply it now, as if the two had arrived in event-time order.
            status = on_attendance(status, AttendanceOutcome.ATTENDED, 0, True, params.lifecycle)
    elif isinstance(event, LeadConsent):
        status = on_consent(status, event.channel, event.granted, ctx.resume_status)
        updates["opted_out_channels"] = _consent_channels(
            lead.opted_out_channels, event.channel, event.granted
        )
    elif isinstance(event, AttendanceRecorded):
        ctx = with_attendance(ctx, event.status, event.occurred_at, event.session_at)
        status = on_attendance(
            status, event.status, ctx.consecutive_misses, ctx.attended_ever, params.lifecycle
        )
    else:
        ctx = with_payment(ctx, event.status, event.occurred_at)
        status = on_payment(status, event.status)
    lead = lead.model_copy(update={**updates, "context": ctx})
    return moved_to(lead, status, event.occurred_at)


def _consent_channels(
    current: tuple[str, ...], channel: ConsentChannel, granted: bool
) -> tuple[str, ...]:
    channels = ("sms", "voice", "email") if channel == ConsentChannel.ALL else (channel.value,)
    if granted:
        return tuple(c for c in current if c not in channels)
    return tuple(sorted({*current, *channels}))


def _interaction(
    lead: LeadState, event: InteractionCompleted, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """A call or message: an opt-out in the family's words acts at once, a conversation
    waits for its extraction, anything else decides now."""
    at = event.occurred_at
    ctx = with_interaction(lead.context, event.outcome, at, event.channel)
    note = InteractionNote(
        event_id=event.event_id,
        occurred_at=at,
        channel=event.channel._value_,
        direction=event.direction._value_,
        outcome=event.outcome._value_,
        excerpt=(event.transcript or "")[:280],
    )
    notes = (*lead.recent_interactions, note)[-params.recent_interactions :]
    lead = lead.model_copy(update={"context": ctx, "recent_interactions": notes})
    if event.direction == Direction.OUTBOUND:
        lead = _contacted(lead, at, event.channel, event.decision_id)
    lead = moved_to(lead, on_interaction(lead.status, event.outcome), at)
    transcript = (event.transcript or "").strip()
    conversation = parse_transcript(transcript, event.channel.value) if transcript else None
    if conversation is not None and opt_out_in(conversation, params.sms.keywords):
        lead = moved_to(lead, on_opt_out(lead.status), at)
        return decide(lead, event.event_id, at, event.decision_id, policy, params)
    if event.outcome == ContactOutcome.COMPLETED and conversation is not None:
        return request_extraction(
            lead,
            trigger_event_id=event.event_id,
            trigger_at=at,
            channel=event.channel,
            transcript=transcript,
            sources=(event.event_id,),
            credit=event.decision_id,
            params=params,
            now=now,
        )
    return decide(lead, event.event_id, at, event.decision_id, policy, params)


def _sms(
    lead: LeadState, event: SmsReceived | SmsSent, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """Store the message in the lead's thread at once; extract once per thread.

    An inbound opt-out acts immediately (stop decision, nothing extracted). A thread
    that went quiet before this message is flushed first, so a late reply starts a
    new thread instead of joining a stale one.
    """
    inbound = isinstance(event, SmsReceived)
    at = event.occurred_at
    note = InteractionNote(
        event_id=event.event_id,
        occurred_at=at,
        channel="sms",
        direction="inbound" if inbound else "outbound",
        outcome="received" if inbound else "sent",
        excerpt=event.body[:280],
    )
    notes = (*lead.recent_interactions, note)[-params.recent_interactions :]
    lead = lead.model_copy(update={"recent_interactions": notes})
    if inbound:
        ctx = with_interaction(lead.context, ContactOutcome.COMPLETED, at, ContactChannel.SMS)
        status = on_interaction(lead.status, ContactOutcome.COMPLETED)
        lead = moved_to(lead.model_copy(update={"context": ctx}), status, at)
    else:
        lead = _contacted(lead, at, ContactChannel.SMS, None)
    message = BufferedMessage.from_event(event)
    buffer, stale = on_tick(lead.sms, message.at, params.sms)
    buffer, flush = on_message(buffer, message, message.at, params.sms)
    lead = lead.model_copy(update={"sms": buffer})
    effects = Effects()
    for done in (stale, flush):
        if done is not None:
            lead, more = flushed(lead, done, params, now)
            effects.extend(more)
    if inbound and is_opt_out(event.body, params.sms.keywords):
        lead = moved_to(lead, on_opt_out(lead.status), at)
        lead, more = decide(lead, event.event_id, at, None, policy, params)
        effects.extend(more)
    return lead, effects


_CHANNEL_ACTION = {
    ContactChannel.VOICE: Action.WARM_FOLLOW_UP,
    ContactChannel.SMS: Action.GENTLE_NUDGE,
    ContactChannel.EMAIL: Action.INFO_SEND,
}


def _contacted(
    lead: LeadState, at: datetime, channel: ContactChannel, decision: str | None
) -> LeadState:
    """Count an outreach that happened (cooldown and caps count contacts, not plans).

    The action is the decision the contact carried out when known, else the one in
    force, else the plainest outreach on that channel.
    """
    named = next((d for d in lead.decisions if d.decision_id == decision), None)
    record = named or lead.decision_in_force
    action = record.action if record and is_outreach(record.action) else _CHANNEL_ACTION[channel]
    history = record_outreach(lead.contact_history, at, Channel(channel.value), action)
    return lead.model_copy(update={"contact_history": history})


_CLOSING = frozenset({OutcomeKind.COMPLETED, OutcomeKind.REJECTED, OutcomeKind.EXPIRED})


def _outcome(lead: LeadState, event: ActionOutcome, params: Params) -> tuple[LeadState, Effects]:
    """Record CRM feedback on the decision it names; a rejection teaches once.

    Expired teaches nothing; an outcome for a decision the lead no longer
    remembers changes nothing. An outcome that closes the decision (done, refused,
    expired) drops its pending reminder: nobody needs telling to do what is over.
    """
    decision = next((d for d in lead.decisions if d.decision_id == event.decision_id), None)
    if decision is None:
        return lead, Effects()
    outcome = event.outcome.value
    updated = decision.model_copy(update={"outcomes": (*decision.outcomes, outcome)[-10:]})
    decisions = tuple(updated if d is decision else d for d in lead.decisions)
    reminder = lead.reminder
    if event.outcome in _CLOSING and reminder and reminder.decision_id == decision.decision_id:
        reminder = None
    lead = lead.model_copy(update={"decisions": decisions, "reminder": reminder})
    effects = Effects(outcomes=[(decision.action.value, outcome)])
    if event.outcome == OutcomeKind.REJECTED and "rejected" not in decision.outcomes:
        history = record_rejection(lead.contact_history, decision.action)
        lead = lead.model_copy(update={"contact_history": history})
        effects.learn(
            *rejection_transition(lead, decision, event.event_id, event.occurred_at, params)
        )
    return lead, effects
