"""A lead's state record and how each input changes it (DESIGN sections 3, 5 and 7).

`handle_event` and `handle_extraction` are the whole per-lead rule book the lead
agent runs: state in, (new state, effects) out. The agent only loads, stores and
sends. Effects carry deterministic ids, so a redelivered input produces either
nothing (its event id is remembered) or byte-identical outputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from stream_app.domain.actions import (
    DEFAULT_FILTER,
    Action,
    Channel,
    FilterParams,
    allowed_actions,
    channel_for,
    hard_override,
)
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams, LeadProfile, build_brief
from stream_app.domain.buckets import DEFAULT_BUCKETS, BucketParams, bucket, rl_state
from stream_app.domain.context import (
    DEFAULT_LIMITS,
    ContextLimits,
    LeadContext,
    with_attendance,
    with_extraction,
    with_interaction,
    with_payment,
    with_status,
)
from stream_app.domain.exploration import Exploration, draw_for, explore
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.keywords import is_opt_out, opt_out_in
from stream_app.domain.extraction.model import Extraction, ExtractionStatus
from stream_app.domain.guardrails import (
    DEFAULT_POLICY,
    ContactHistory,
    ContactPolicy,
    VoiceBudget,
    apply_policy,
    is_outreach,
    lead_zone,
    outside_quiet_hours,
    record_outreach,
    record_rejection,
)
from stream_app.domain.lifecycle import (
    CLOSED,
    DEFAULT_LIFECYCLE,
    DEFAULT_REWARDS,
    AttendanceOutcome,
    ConsentChannel,
    ContactChannel,
    ContactOutcome,
    LifecycleParams,
    Rewards,
    Status,
    decay,
    decay_due_at,
    on_attendance,
    on_consent,
    on_intent,
    on_interaction,
    on_milestone,
    on_opt_out,
    on_payment,
    reward,
)
from stream_app.domain.messages import (
    ActionOutcome,
    AttendanceRecorded,
    Candidate,
    ExtractionRequest,
    ExtractionResult,
    InputEvent,
    InteractionCompleted,
    LeadConsent,
    LeadCreated,
    LeadMilestone,
    LeadTransition,
    LeadUpdated,
    NextBestAction,
    OutcomeKind,
    PaymentRecorded,
    Reminder,
    SmsReceived,
    SmsSent,
)
from stream_app.domain.qlearning import QTable, select_action
from stream_app.domain.risk import (
    DEFAULT_RISK,
    RiskParams,
    requires_approval,
    risk_segment,
    urgency,
)
from stream_app.domain.sms_window import (
    BufferedMessage,
    Flush,
    ThreadBuffer,
    WindowParams,
    on_message,
    on_tick,
)
from stream_app.domain.sms_window import due_at as sms_due_at

# --- records kept per lead -------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Profile(_Frozen):
    parent_name: str = ""
    phone: str | None = None
    email: str | None = None
    child_name: str | None = None
    child_age: int | None = None
    campaign_goal: str | None = None
    segment: str | None = None
    value_tier: str | None = None
    owner: str | None = None
    timezone: str | None = None


class DecisionRecord(_Frozen):
    """What the learner needs of a past decision to credit it later."""

    decision_id: str
    action: Action
    rl_state: str
    status: Status
    decided_at: datetime
    trigger_event_id: str
    outcomes: tuple[str, ...] = ()


class PendingExtraction(_Frozen):
    """Work handed to the extractor; the lead owns it until the result or the deadline."""

    extraction_id: str
    trigger_event_id: str
    trigger_at: datetime
    deadline: datetime
    credit_decision_id: str | None = None


class InteractionNote(_Frozen):
    event_id: str
    occurred_at: datetime
    channel: str
    direction: str
    outcome: str
    excerpt: str = ""


class LeadState(_Frozen):
    """Everything the worker remembers about one lead, written back as one value.

    The remembered event ids live in the same value as the state they guard, so
    the dedup marker and the change it marks reach the changelog atomically.
    """

    lead_id: str
    profile: Profile = Profile()
    status: Status = Status.NEW
    context: LeadContext = LeadContext()
    opted_out_channels: tuple[str, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    pending: tuple[PendingExtraction, ...] = ()
    last_nba: NextBestAction | None = None
    recent_interactions: tuple[InteractionNote, ...] = ()
    sms: ThreadBuffer = ThreadBuffer()
    contact_history: ContactHistory = ContactHistory()
    reminder: Reminder | None = None
    updated_at: datetime | None = None

    @property
    def decision_in_force(self) -> DecisionRecord | None:
        return self.decisions[-1] if self.decisions else None


# --- parameters and effects ------------------------------------------------------


DEFAULT_WINDOW = WindowParams()
DEFAULT_EXPLORATION = Exploration()


@dataclass(frozen=True, slots=True)
class Params:
    """Every knob of the rule book; Settings builds one, tests use the seed defaults."""

    policy_version: str = "ucb-v1"
    ucb_c: float = 1.0
    remembered_event_ids: int = 256
    recent_decisions: int = 10
    recent_interactions: int = 5
    extraction_deadline: timedelta = timedelta(minutes=2)
    rewards: Rewards = DEFAULT_REWARDS
    lifecycle: LifecycleParams = DEFAULT_LIFECYCLE
    filter: FilterParams = DEFAULT_FILTER
    buckets: BucketParams = DEFAULT_BUCKETS
    briefs: BriefParams = DEFAULT_BRIEFS
    risk: RiskParams = DEFAULT_RISK
    limits: ContextLimits = DEFAULT_LIMITS
    sms: WindowParams = DEFAULT_WINDOW
    contact: ContactPolicy = DEFAULT_POLICY
    holdout_share: float = 0.0
    exploration: Exploration = DEFAULT_EXPLORATION


class Chooser(Protocol):
    """What a decision needs of a random generator (a seeded `random.Random` fits)."""

    def choice(self, seq: Sequence[Action]) -> Action: ...


@dataclass(frozen=True, slots=True)
class Policy:
    """The Q-table a decision is made from, and its version for provenance.

    `rng` switches selection from UCB to uniform random over the allowed actions:
    the baseline policy evaluations compare against. Randomness is passed in, so
    a seeded run is reproducible.
    """

    table: QTable
    version: int = 0
    rng: Chooser | None = None
    voice_budget: VoiceBudget | None = None
    holdout: QTable | None = None


@dataclass(slots=True)
class Effects:
    decisions: list[NextBestAction] = field(default_factory=list)
    transitions: list[LeadTransition] = field(default_factory=list)
    extraction_requests: list[ExtractionRequest] = field(default_factory=list)
    sms_flushes: list[Flush] = field(default_factory=list)
    reminders: list[Reminder] = field(default_factory=list)
    # What the shell only counts or stores: the partition's voice budget after these
    # decisions, guardrail reasons that changed a decision, (action, outcome) pairs.
    voice_budget: VoiceBudget | None = None
    guardrail_changes: list[str] = field(default_factory=list)
    outcomes: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.decisions or self.transitions or self.extraction_requests or self.reminders
        )

    def extend(self, other: Effects) -> Effects:
        self.decisions += other.decisions
        self.transitions += other.transitions
        self.extraction_requests += other.extraction_requests
        self.sms_flushes += other.sms_flushes
        self.reminders += other.reminders
        self.voice_budget = other.voice_budget or self.voice_budget
        self.guardrail_changes += other.guardrail_changes
        self.outcomes += other.outcomes
        return self


def stable_id(prefix: str, *parts: str) -> str:
    """A short deterministic id: the same inputs always name the same derived event."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"


def decision_id(lead_id: str, trigger_event_id: str) -> str:
    return stable_id("d", lead_id, trigger_event_id)


def arm(lead_id: str, holdout_share: float) -> str:
    """`holdout` for a stable share of leads (by hash), decided by the frozen policy.

    The same lead is always in the same arm, on every worker and in every replay,
    so the two arms' outcomes can be compared like an A/B test.
    """
    bucket_ = int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return "holdout" if bucket_ < holdout_share else "learning"


# --- applying events -------------------------------------------------------------


def handle_event(
    state: LeadState | None, event: InputEvent, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """Apply one input event and decide, unless it needs an extraction first.

    `now` is the processing time, used only to date the extraction deadline (work
    handed to another agent is tracked in wall time); every business rule uses the
    event's own `occurred_at`.
    """
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
    return _decide(lead, event.event_id, event.occurred_at, None, policy, params)


def _apply_passive(
    lead: LeadState,
    event: LeadCreated
    | LeadUpdated
    | LeadMilestone
    | LeadConsent
    | AttendanceRecorded
    | PaymentRecorded,
    params: Params,
) -> LeadState:
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
    return _with_status(lead.model_copy(update={**updates, "context": ctx}), status, event)


def _consent_channels(
    current: tuple[str, ...], channel: ConsentChannel, granted: bool
) -> tuple[str, ...]:
    channels = ("sms", "voice", "email") if channel == ConsentChannel.ALL else (channel.value,)
    if granted:
        return tuple(c for c in current if c not in channels)
    return tuple(sorted({*current, *channels}))


def _with_status(
    lead: LeadState,
    status: Status,
    event: InputEvent | None = None,
    at: datetime | None = None,
) -> LeadState:
    when = at or (event.occurred_at if event is not None else lead.updated_at)
    assert when is not None
    ctx = with_status(lead.context, lead.status, status, when)
    return lead.model_copy(update={"status": status, "context": ctx})


def _interaction(
    lead: LeadState, event: InteractionCompleted, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    ctx = with_interaction(lead.context, event.outcome, event.occurred_at, event.channel)
    note = InteractionNote(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        channel=event.channel.value,
        direction=event.direction.value,
        outcome=event.outcome.value,
        excerpt=(event.transcript or "")[:280],
    )
    notes = (*lead.recent_interactions, note)[-params.recent_interactions :]
    lead = lead.model_copy(update={"context": ctx, "recent_interactions": notes})
    if event.direction.value == "outbound":
        lead = _contacted(lead, event.occurred_at, event.channel, event.decision_id)
    lead = _with_status(lead, on_interaction(lead.status, event.outcome), event)
    transcript = (event.transcript or "").strip()
    conversation = parse_transcript(transcript, event.channel.value) if transcript else None
    if conversation is not None and opt_out_in(conversation):
        lead = _with_status(lead, on_opt_out(lead.status), event)
        return _decide(lead, event.event_id, event.occurred_at, event.decision_id, policy, params)
    if event.outcome == ContactOutcome.COMPLETED and conversation is not None:
        return _request_extraction(
            lead,
            trigger_event_id=event.event_id,
            trigger_at=event.occurred_at,
            channel=event.channel,
            transcript=transcript,
            sources=(event.event_id,),
            credit=event.decision_id,
            params=params,
            now=now,
        )
    return _decide(lead, event.event_id, event.occurred_at, event.decision_id, policy, params)


def _sms(
    lead: LeadState, event: SmsReceived | SmsSent, policy: Policy, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """Store the message in the lead's thread at once; extract once per thread.

    An inbound opt-out acts immediately (stop decision, nothing extracted). A thread
    that went quiet before this message is flushed first, so a late reply starts a
    new thread instead of joining a stale one.
    """
    inbound = isinstance(event, SmsReceived)
    note = InteractionNote(
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        channel="sms",
        direction="inbound" if inbound else "outbound",
        outcome="received" if inbound else "sent",
        excerpt=event.body[:280],
    )
    notes = (*lead.recent_interactions, note)[-params.recent_interactions :]
    lead = lead.model_copy(update={"recent_interactions": notes})
    if inbound:
        ctx = with_interaction(
            lead.context, ContactOutcome.COMPLETED, event.occurred_at, ContactChannel.SMS
        )
        lead = _with_status(
            lead.model_copy(update={"context": ctx}),
            on_interaction(lead.status, ContactOutcome.COMPLETED),
            event,
        )
    else:
        lead = _contacted(lead, event.occurred_at, ContactChannel.SMS, None)
    message = BufferedMessage.from_event(event)
    buffer, stale = on_tick(lead.sms, message.at, params.sms)
    buffer, flush = on_message(buffer, message, message.at, params.sms)
    lead = lead.model_copy(update={"sms": buffer})
    effects = Effects()
    for done in (stale, flush):
        if done is not None:
            lead, more = _flushed(lead, done, params, now)
            effects.extend(more)
    if inbound and is_opt_out(event.body):
        lead = _with_status(lead, on_opt_out(lead.status), event)
        lead, more = _decide(lead, event.event_id, event.occurred_at, None, policy, params)
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


def _flushed(
    lead: LeadState, flush: Flush, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """Hand a flushed thread to the extractor (one request for the whole thread)."""
    effects = Effects(sms_flushes=[flush])
    if lead.status in CLOSED or not flush.transcript.strip():
        return lead, effects
    if any(m.direction == "inbound" and is_opt_out(m.body) for m in flush.messages):
        return lead, effects  # the opt-out decided already; nothing left to read for
    lead, more = _request_extraction(
        lead,
        trigger_event_id=flush.trigger_event_id,
        trigger_at=flush.last_at,
        channel=ContactChannel.SMS,
        transcript=flush.transcript,
        sources=flush.source_event_ids,
        credit=None,
        params=params,
        now=now,
    )
    return lead, effects.extend(more)


def _request_extraction(
    lead: LeadState,
    *,
    trigger_event_id: str,
    trigger_at: datetime,
    channel: ContactChannel,
    transcript: str,
    sources: tuple[str, ...],
    credit: str | None,
    params: Params,
    now: datetime,
) -> tuple[LeadState, Effects]:
    extraction_id = stable_id("x", lead.lead_id, trigger_event_id)
    pending = PendingExtraction(
        extraction_id=extraction_id,
        trigger_event_id=trigger_event_id,
        trigger_at=trigger_at,
        deadline=now + params.extraction_deadline,
        credit_decision_id=credit,
    )
    request = ExtractionRequest(
        extraction_id=extraction_id,
        lead_id=lead.lead_id,
        requested_at=trigger_at,
        channel=channel,
        transcript=transcript,
        source_event_ids=sources,
    )
    lead = lead.model_copy(update={"pending": (*lead.pending, pending)})
    return lead, Effects(extraction_requests=[request])


def handle_extraction(
    state: LeadState | None, result: ExtractionResult, policy: Policy, params: Params
) -> tuple[LeadState, Effects]:
    """Fold an extraction into the lead and make the decision its trigger was waiting for.

    A result nobody is waiting for (a duplicate, or one that arrived after the
    deadline already decided) changes nothing.
    """
    if state is None:
        return LeadState(lead_id=result.lead_id), Effects()
    pending = next((p for p in state.pending if p.extraction_id == result.extraction_id), None)
    if pending is None:
        return state, Effects()
    remaining = tuple(p for p in state.pending if p is not pending)
    lead = state.model_copy(update={"pending": remaining})
    extraction = result.extraction
    if extraction.status == ExtractionStatus.OK:
        ctx = with_extraction(lead.context, extraction, params.limits)
        lead = lead.model_copy(update={"context": ctx})
        status = (
            on_opt_out(lead.status)
            if extraction.opt_out
            else on_intent(lead.status, extraction.intent)
        )
        lead = _with_status(lead, status, at=pending.trigger_at)
    return _decide(
        lead,
        pending.trigger_event_id,
        pending.trigger_at,
        pending.credit_decision_id,
        policy,
        params,
    )


# --- time rules ------------------------------------------------------------------


def next_due(state: LeadState, params: Params) -> datetime | None:
    """The earliest event time at which one of the lead's time rules fires, if any."""
    ctx = state.context
    decay_due = decay_due_at(
        state.status, ctx.last_attendance_at, params.lifecycle, at_risk_since=ctx.at_risk_since
    )
    reminder_due = state.reminder.remind_at if state.reminder else None
    dues = [
        d for d in (decay_due, sms_due_at(state.sms, params.sms), reminder_due) if d is not None
    ]
    return min(dues, default=None)


def next_deadline(state: LeadState) -> datetime | None:
    """The earliest wall-clock deadline of work handed to another agent."""
    return min((p.deadline for p in state.pending), default=None)


def rule_trigger_id(lead_id: str, rule: str, due: datetime) -> str:
    """Time rules decide without an event; their trigger id comes from the rule."""
    return stable_id("rule", lead_id, rule, due.isoformat())


def handle_tick(
    state: LeadState | None,
    now: datetime,
    wall_now: datetime,
    policy: Policy,
    params: Params,
) -> tuple[LeadState | None, Effects]:
    """Run every time rule due by `now` (event time) and every deadline by `wall_now`.

    Each rule decides at its own due time with a rule-derived trigger id, so the
    outcome does not depend on when the sweep happened to run, and a repeated tick
    finds nothing left to do.
    """
    if state is None:
        return None, Effects()
    effects = Effects()
    for pending in overdue_extractions(state, wall_now):
        state, more = handle_extraction(
            state, deadline_result(state.lead_id, pending, wall_now), policy, params
        )
        effects.extend(more)
    if state.reminder is not None and state.reminder.remind_at <= now:
        effects.reminders.append(state.reminder)
        state = state.model_copy(update={"reminder": None})
    buffer, flush = on_tick(state.sms, now, params.sms)
    if flush is not None:
        state, more = _flushed(state.model_copy(update={"sms": buffer}), flush, params, wall_now)
        effects.extend(more)
    ctx = state.context
    due = decay_due_at(
        state.status, ctx.last_attendance_at, params.lifecycle, at_risk_since=ctx.at_risk_since
    )
    if due is not None and due <= now:
        after = decay(
            state.status,
            state.context.last_attendance_at,
            due,
            params.lifecycle,
            at_risk_since=state.context.at_risk_since,
        )
        state = _with_status(state, after, at=due).model_copy(update={"updated_at": due})
        state, more = _decide(
            state, rule_trigger_id(state.lead_id, "decay", due), due, None, policy, params
        )
        effects.extend(more)
    return state, effects


def overdue_extractions(state: LeadState, now: datetime) -> list[PendingExtraction]:
    """Pending work whose deadline passed: the lead decides without it."""
    return [p for p in state.pending if p.deadline <= now]


def deadline_result(lead_id: str, pending: PendingExtraction, now: datetime) -> ExtractionResult:
    """The failed result a sweeper feeds back through the lead's own partition."""
    return ExtractionResult(
        extraction_id=pending.extraction_id,
        lead_id=lead_id,
        extracted_at=now,
        source_event_ids=(pending.trigger_event_id,),
        extraction=Extraction.failed("deadline", "no extraction before the deadline"),
    )


def _outcome(lead: LeadState, event: ActionOutcome, params: Params) -> tuple[LeadState, Effects]:
    """Record CRM feedback on the decision it names; a rejection teaches once.

    A rejection is a reward of `rewards.operator_rejected` for that decision's (state, action),
    under a transition id derived from the decision, so however often the CRM
    repeats it the learner applies it once. Expired teaches nothing.
    """
    decision = next((d for d in lead.decisions if d.decision_id == event.decision_id), None)
    if decision is None:
        return lead, Effects()
    outcome = event.outcome.value
    updated = decision.model_copy(update={"outcomes": (*decision.outcomes, outcome)[-10:]})
    decisions = tuple(updated if d is decision else d for d in lead.decisions)
    lead = lead.model_copy(update={"decisions": decisions})
    effects = Effects(outcomes=[(decision.action.value, outcome)])
    if event.outcome == OutcomeKind.REJECTED and "rejected" not in decision.outcomes:
        history = record_rejection(lead.contact_history, decision.action)
        lead = lead.model_copy(update={"contact_history": history})
        effects.transitions.append(
            LeadTransition(
                transition_id=stable_id("t", lead.lead_id, decision.decision_id, "rejected"),
                lead_id=lead.lead_id,
                occurred_at=event.occurred_at,
                state_before=decision.rl_state,
                action=decision.action.value,
                decision_id=decision.decision_id,
                reward=params.rewards.operator_rejected,
                state_after=decision.rl_state,
                cause_event_id=event.event_id,
            )
        )
    return lead, effects


# --- deciding --------------------------------------------------------------------


def _decide(
    lead: LeadState,
    trigger_event_id: str,
    decided_at: datetime,
    credit_decision_id: str | None,
    policy: Policy,
    params: Params,
) -> tuple[LeadState, Effects]:
    """Select by UCB (or the baseline's random pick), then apply the contact policy.

    The policy walks the candidates best-first and publishes the first one every
    rule allows; when none is allowed the lead waits, with the reason on record.
    """
    status, ctx = lead.status, lead.context
    state = rl_state(status, bucket(ctx, params.buckets))
    forced = hard_override(status)
    if forced is not None:
        allowed: list[Action] = [forced]
        filtered: dict[Action, str] = {}
    else:
        allowed, filtered = allowed_actions(status, ctx, decided_at, params.filter)
    group = arm(lead.lead_id, params.holdout_share)
    table = policy.holdout if group == "holdout" and policy.holdout is not None else policy.table
    selection = select_action(table, state, allowed, params.ucb_c)
    last_channel = ctx.last_contact_channel.value if ctx.last_contact_channel else None
    prefer_email = not lead.profile.phone and bool(lead.profile.email)
    ranked = sorted(selection.candidates, key=lambda c: -c.score)  # stable: catalog order
    if policy.rng is not None:
        pick = policy.rng.choice(allowed)
        ranked, propensity = [c for c in ranked if c.action == pick], 1 / len(allowed)
    else:
        # Epsilon over UCB when configured; the draw comes from the decision id, so a
        # redelivered event or a replay makes the same pick.
        draw = draw_for(decision_id(lead.lead_id, trigger_event_id))
        pick, propensity = explore([c.action for c in ranked], params.exploration, draw)
        ranked = sorted(ranked, key=lambda c: c.action != pick)
    # The cooldown spaces contacts out; it moves `scheduled_for` below instead of
    # blocking, or every decision made right after a call would be a wait.
    checked = apply_policy(
        [(c.action, channel_for(c.action, last_channel, prefer_email)) for c in ranked],
        opted_out_channels=lead.opted_out_channels,
        history=lead.contact_history,
        timezone=lead.profile.timezone,
        now=decided_at,
        voice_budget=policy.voice_budget,
        policy=replace(params.contact, cooldown=timedelta(0)),
        last_channel=last_channel,
    )
    action, channel = checked.action, checked.channel
    # A guardrail fallback under exploration has no simple propensity: left unknown.
    exact = action == pick or params.exploration.epsilon == 0.0
    chosen = next((c for c in selection.candidates if c.action == action), None)
    for blocked, code in checked.blocked.items():
        filtered[blocked] = f"guardrail:{code.value}"
    profile = LeadProfile(
        parent_name=lead.profile.parent_name,
        child_name=lead.profile.child_name,
        campaign_goal=lead.profile.campaign_goal,
    )
    brief = build_brief(action, channel, profile, ctx, decided_at, params.briefs)
    zone = lead_zone(lead.profile.timezone, params.contact.default_timezone)
    scheduled = brief.scheduled_for
    contacts = lead.contact_history.contacts
    if is_outreach(action) and contacts:
        scheduled = max(scheduled, contacts[-1].decided_at + params.contact.cooldown)
    brief = brief.model_copy(
        update={"scheduled_for": outside_quiet_hours(scheduled, zone, params.contact)}
    )
    nba = NextBestAction(
        decision_id=decision_id(lead.lead_id, trigger_event_id),
        lead_id=lead.lead_id,
        decided_at=decided_at,
        trigger_event_id=trigger_event_id,
        action=action.value,
        channel=channel.value,
        rl_state=state,
        q_value=chosen.q if chosen else 0.0,
        score=chosen.score if chosen else 0.0,
        candidates=tuple(
            Candidate(action=c.action.value, q=c.q, visits=c.visits, score=c.score)
            for c in selection.candidates
        ),
        filtered_out={a.value: reason for a, reason in filtered.items()},
        override=status.value if forced is not None else checked.override,
        brief=brief,
        risk_segment=risk_segment(status, ctx, decided_at, params.risk).value,
        urgency=urgency(status, ctx, decided_at, params.risk).value,
        requires_approval=requires_approval(lead.profile.value_tier, action, params.risk),
        policy_version=params.policy_version,
        q_version=policy.version,
        propensity=propensity if exact else None,
        arm=group,
    )
    transition = _transition(lead, nba, credit_decision_id, params)
    stopped = action == Action.STOP and forced is None
    closing = _closing_transition(lead.lead_id, nba, params) if stopped else None
    record = DecisionRecord(
        decision_id=nba.decision_id,
        action=action,
        rl_state=state,
        status=status,
        decided_at=decided_at,
        trigger_event_id=trigger_event_id,
    )
    reminder = None
    if is_outreach(action) and brief.scheduled_for > decided_at:
        reminder = Reminder(
            reminder_id=stable_id("r", nba.decision_id),
            lead_id=lead.lead_id,
            decision_id=nba.decision_id,
            remind_at=brief.scheduled_for,
            action=action.value,
            note=brief.timing_rationale,
        )
    lead = lead.model_copy(
        update={
            "decisions": (*lead.decisions, record)[-params.recent_decisions :],
            "last_nba": nba,
            # A newer decision supersedes whatever reminder was pending.
            "reminder": reminder,
        }
    )
    top = ranked[0].action if ranked else action
    effects = Effects(
        decisions=[nba],
        transitions=[t for t in (transition, closing) if t is not None],
        voice_budget=checked.voice_budget,
        guardrail_changes=[checked.blocked[top].value] if top in checked.blocked else [],
    )
    return lead, effects


def _closing_transition(lead_id: str, nba: NextBestAction, params: Params) -> LeadTransition:
    """Close a `stop` chosen for an open lead at once: no later event follows from it.

    Without this the (state, stop) pair is never visited, its UCB bonus only grows,
    and the learner ends up stopping everyone (seen in the simulator).
    """
    return LeadTransition(
        transition_id=stable_id("t", lead_id, nba.decision_id, "stop"),
        lead_id=lead_id,
        occurred_at=nba.decided_at,
        state_before=nba.rl_state,
        action=Action.STOP.value,
        decision_id=nba.decision_id,
        reward=params.rewards.stopped,
        state_after=nba.rl_state,
        cause_event_id=nba.trigger_event_id,
    )


# Outcomes that mean the decision reached the family; an expired one never did.
_CARRIED_OUT = frozenset({"delivered", "completed"})


def _transition(
    lead: LeadState, nba: NextBestAction, credit_decision_id: str | None, params: Params
) -> LeadTransition | None:
    """Close the step the decision in force opened.

    The reward is for the status change since that decision; it is credited to
    the decision the triggering contact carried out when it names one we know,
    else to the decision in force. A closed lead's `stop` ended its episode, so
    nothing after it is learned from.
    """
    in_force = lead.decision_in_force
    if in_force is None or in_force.status in CLOSED or in_force.action == Action.STOP:
        return None  # that decision ended its episode and was closed then
    named = next((d for d in lead.decisions if d.decision_id == credit_decision_id), None)
    carried_out = (d for d in reversed(lead.decisions) if _CARRIED_OUT & set(d.outcomes))
    credited = named or next(carried_out, in_force)
    return LeadTransition(
        transition_id=stable_id("t", lead.lead_id, credited.decision_id, nba.trigger_event_id),
        lead_id=lead.lead_id,
        occurred_at=nba.decided_at,
        state_before=credited.rl_state,
        action=credited.action.value,
        decision_id=credited.decision_id,
        reward=reward(in_force.status, lead.status, params.rewards),
        state_after=nba.rl_state,
        cause_event_id=nba.trigger_event_id,
    )


__all__ = [
    "Effects",
    "LeadState",
    "Params",
    "Policy",
    "deadline_result",
    "decision_id",
    "handle_event",
    "handle_extraction",
    "handle_tick",
    "next_deadline",
    "next_due",
    "overdue_extractions",
]
