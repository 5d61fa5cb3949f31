"""Action briefs: the tactics for the strategy the learner chose (DESIGN 5).

The learner picks *which* semantic action; the brief says how to carry it out. Its
directives come from the action's template plus every active signal of the lead,
not only the one that set the bucket, so a `warm_follow_up` for a family with a
cost concern and a referral still says "be mindful of cost" and "acknowledge the
referral". Each directive names the signal that produced it, so an operator can see
why it is there.

Message drafts (SMS and email only) greet the parent and child by first name and
never state a price or an amount to a family with a financial or payment concern:
templates carry no prices, and text taken from the family's own words is dropped
from the draft when it contains one.

`scheduled_for` is `now` plus an action-specific delay (a reminder for a known first
session is timed from that session instead); quiet hours are the guardrails' job.
Templates are built once at import; a brief costs a few small allocations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from stream_app.domain.actions import Action, Channel
from stream_app.domain.context import LeadContext, negative_trend
from stream_app.domain.extraction.model import Level


class Directive(BaseModel):
    """One talking point and the signal it answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    directive: str
    signal: str


class ActionBrief(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    content_directives: tuple[Directive, ...]
    overall_tone: str
    info_to_prepare: tuple[str, ...]
    things_to_avoid: tuple[str, ...]
    timing_rationale: str
    message_draft: str | None
    scheduled_for: datetime


@dataclass(frozen=True, slots=True)
class LeadProfile:
    """The names a brief addresses; from the lead record."""

    parent_name: str = ""
    child_name: str | None = None
    campaign_goal: str | None = None


_H, _D = timedelta(hours=1), timedelta(days=1)

DEFAULT_DELAYS: Mapping[Action, timedelta] = MappingProxyType(
    {
        Action.WARM_FOLLOW_UP: _D,
        Action.SCHEDULING_PUSH: 2 * _H,
        Action.SCHOLARSHIP_OUTREACH: 4 * _H,
        Action.INFO_SEND: _H,
        Action.GENTLE_NUDGE: 2 * _D,
        Action.OBJECTION_ADDRESS: _D,
        Action.WELCOME_ONBOARD: _H,
        Action.RETENTION_CHECK_IN: 2 * _D,
        Action.FAMILY_ENGAGE: 2 * _D,
        Action.CHANNEL_SWITCH: _D,
        Action.WAIT: 3 * _D,
        Action.STOP: timedelta(0),
        Action.FIRST_SESSION_REMINDER: _D,
        Action.RESCHEDULE_OFFER: 4 * _H,
        Action.BARRIER_INVESTIGATION: _D,
        Action.SOCIAL_PROOF: 3 * _D,
        Action.LOW_COMMITMENT_INVITE: 2 * _D,
        Action.WIN_BACK_OFFER: _D,
    }
)


@dataclass(frozen=True, slots=True)
class BriefParams:
    """Timing and size knobs of the brief builder."""

    delays: Mapping[Action, timedelta] = field(default_factory=lambda: DEFAULT_DELAYS)
    first_session_lead: timedelta = _D
    open_questions: int = 3
    facts: int = 3
    financial_from: Level = Level.LOW
    empathetic_from: Level = Level.MODERATE


DEFAULT_BRIEFS = BriefParams()


@dataclass(frozen=True, slots=True)
class _Template:
    tone: str
    directives: tuple[str, ...]
    prepare: tuple[str, ...]
    avoid: tuple[str, ...]
    why: str
    draft: str | None


_TEMPLATES: dict[Action, _Template] = {
    Action.WARM_FOLLOW_UP: _Template(
        "warm",
        (
            "Open by asking how {child} is doing",
            "Show genuine interest in what they want for {child}",
            "Close with one clear, easy next step",
        ),
        ("program overview", "notes from the last conversation"),
        ("Don't hard-sell",),
        "Follow up while the conversation is still warm",
        "Hi {parent}, it was lovely to talk about {child}. How are you feeling about the"
        " program? Happy to answer anything.",
    ),
    Action.SCHEDULING_PUSH: _Template(
        "enthusiastic",
        (
            "Offer two or three concrete slots for a visit or trial",
            "Confirm the booking before ending the call",
        ),
        ("available time slots", "what to bring to the first visit"),
        ("Don't casually mention fees", "Don't leave the time open-ended"),
        "Call while the scheduling intent is fresh",
        "Hi {parent}! Let's get {child} booked in. Which time works best for a visit?",
    ),
    Action.SCHOLARSHIP_OUTREACH: _Template(
        "empathetic",
        (
            "Explain the scholarship and financial aid options in plain words",
            "Offer to walk them through applying",
        ),
        ("scholarship criteria", "financial aid application link"),
        ("Don't lead with the full sticker price", "Don't use vague 'affordable' language"),
        "Reach out while the cost question is on their mind",
        "Hi {parent}, we want {child} to be able to join whatever the budget. We have"
        " scholarship and financial aid options and I'd be glad to walk you through them.",
    ),
    Action.INFO_SEND: _Template(
        "informational",
        ("Send the program details they asked for", "Invite questions"),
        ("program brochure", "schedule overview"),
        ("Don't overload them with attachments",),
        "Send promptly: they asked for it",
        "Hi {parent}, here are the program details for {child} you asked about."
        " Reply with any questions!",
    ),
    Action.GENTLE_NUDGE: _Template(
        "gentle",
        ("Send a short, low-pressure check-in",),
        (),
        ("Don't ask for a commitment", "Don't send more than one message"),
        "Give them some space before a light reminder",
        "Hi {parent}, just checking in. No rush at all; we're here whenever you'd like to"
        " talk about {child}'s next step.",
    ),
    Action.OBJECTION_ADDRESS: _Template(
        "reassuring",
        ("Acknowledge the concern in their words before answering it",),
        ("answers to common concerns", "a family story that faced the same concern"),
        ("Don't dismiss or argue with the concern",),
        "Reply once there is a considered answer, without letting it linger",
        "Hi {parent}, thank you for telling us about {topics}. Here's how we've helped other"
        " families in the same spot, so {child} can join with confidence.",
    ),
    Action.WELCOME_ONBOARD: _Template(
        "enthusiastic",
        (
            "Welcome the family warmly",
            "Explain what to bring and where to go for the first session",
        ),
        ("first-session checklist", "location and parking details"),
        ("Don't bury the essentials in detail",),
        "Welcome them while the decision is fresh",
        "Welcome, {parent}! We're so excited to have {child} join us. Here's everything you"
        " need for the first session.",
    ),
    Action.RETENTION_CHECK_IN: _Template(
        "warm",
        ("Ask how {child} is enjoying the program", "Listen for anything that gets in the way"),
        ("attendance history", "coach's notes on {child}"),
        ("Don't make it feel like a sales call",),
        "Check in soon, without crowding them",
        "Hi {parent}, how is {child} enjoying the program so far? We'd love to hear how it's"
        " going.",
    ),
    Action.FAMILY_ENGAGE: _Template(
        "warm",
        (
            "Invite everyone involved in the decision to a short call",
            "Answer each person's questions",
        ),
        ("program overview for a new listener",),
        ("Don't pressure the parent in front of others",),
        "Allow time for the family to find a slot together",
        "Hi {parent}, would it help to set up a quick call with everyone involved in the"
        " decision for {child}?",
    ),
    Action.CHANNEL_SWITCH: _Template(
        "friendly",
        (
            "Mention that earlier attempts did not get through",
            "Ask for their preferred way to be contacted",
        ),
        (),
        ("Don't repeat the channel that failed",),
        "Try the new channel later rather than stacking attempts",
        "Hi {parent}, we tried to reach you about {child}. Is this a better way to get in touch?",
    ),
    Action.WAIT: _Template(
        "patient",
        ("Hold outreach and let the family come back in their own time",),
        (),
        ("Don't contact them before the wait is over",),
        "Give the family room before reconsidering",
        None,
    ),
    Action.STOP: _Template(
        "respectful",
        ("End all outreach to this family",),
        (),
        ("Don't contact the family again",),
        "Outreach ends",
        None,
    ),
    Action.FIRST_SESSION_REMINDER: _Template(
        "enthusiastic",
        ("Remind them of the first session's time and place", "Say what {child} should bring"),
        ("first-session time and location",),
        ("Don't make it sound like a warning",),
        "Remind them ahead of time",
        "Hi {parent}, a quick reminder that {child}'s first session is coming up. We can't"
        " wait to meet them!",
    ),
    Action.RESCHEDULE_OFFER: _Template(
        "understanding",
        ("Offer a new slot for the missed session without any guilt",),
        ("make-up session slots",),
        ("Don't ask why they missed it", "Don't make them feel guilty"),
        "Offer a new slot before the miss becomes a habit",
        "Hi {parent}, we missed {child} at the last session, no worries at all! Would you"
        " like to pick a new time?",
    ),
    Action.BARRIER_INVESTIGATION: _Template(
        "curious",
        (
            "Ask open questions about what makes attending hard",
            "Offer concrete help for whatever comes up",
        ),
        ("attendance history", "transport and schedule alternatives"),
        ("Don't assume the reason", "Don't blame the family"),
        "Call before the gap grows",
        "Hi {parent}, we've missed {child} lately. Is anything making it hard to get to"
        " sessions? We'd love to help.",
    ),
    Action.SOCIAL_PROOF: _Template(
        "upbeat",
        ("Share a recent story or photos from families in {child}'s group",),
        ("recent photos or stories (with consent)",),
        ("Don't compare {child} with other children",),
        "There is no rush; let it land between sessions",
        "Hi {parent}, here's what the families in {child}'s group have been up to lately!",
    ),
    Action.LOW_COMMITMENT_INVITE: _Template(
        "relaxed",
        ("Invite them to a free, no-commitment event",),
        ("upcoming open house dates",),
        ("Don't frame it as a step toward paying",),
        "Send ahead of the next open event",
        "Hi {parent}, we're hosting a free open house soon, a relaxed way for {child} to come"
        " and say hello. Would you like to join?",
    ),
    Action.WIN_BACK_OFFER: _Template(
        "warm",
        ("Tell them {child} is missed", "Offer a concrete, easy way back"),
        ("return options", "any return incentive approved for this family"),
        ("Don't make them explain why they left",),
        "Reach out while returning still feels easy",
        "Hi {parent}, we miss having {child} with us! We'd love to welcome you back and make"
        " returning easy.",
    ),
}

_PRICE = re.compile(
    r"[$€£¥]|\b\d[\d,.]*\s*(?:dollars?|usd|eur|euros?|gbp|pounds?|bucks|/\s*mo)\b"
    r"|\b(?:price|prices|priced|fee|fees|tuition|cost(?:s)?\s+\d)\b",
    re.IGNORECASE,
)

_LIFE_EVENT = ("life_event", "job", "divorce", "moving", "move", "bereave", "illness", "health")


def _first(name: str | None, fallback: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else fallback


@lru_cache(maxsize=8192)
def _directive(directive: str, signal: str) -> Directive:
    """Directives repeat across decisions (same lead, same template); build each once."""
    return Directive(directive=directive, signal=signal)


@lru_cache(maxsize=4096)
def _template_for(
    action: Action, child: str
) -> tuple[tuple[Directive, ...], tuple[str, ...], tuple[str, ...]]:
    t = _TEMPLATES[action]
    signal = f"action:{action.value}"
    return (
        tuple(_directive(d.format(child=child), signal) for d in t.directives),
        tuple(p.format(child=child) for p in t.prepare),
        tuple(a.format(child=child) for a in t.avoid),
    )


@lru_cache(maxsize=1024)
def _signal_directive(
    signal: str, detail: str, suggested: str | None, child: str
) -> tuple[Directive, str | None, bool, str | None]:
    """(directive, thing to avoid, calls for empathy, draft sentence) for an open signal."""
    name = signal.casefold()
    d = f": {detail}" if detail else ""
    if "referral" in name or "referred" in name:
        return (
            _directive(f"Acknowledge the referral{d}", signal),
            None,
            False,
            "So glad you heard about us through someone you know!",
        )
    if "special" in name or "needs" in name or "disab" in name:
        return (
            _directive(
                f"Ask what support {child} needs and confirm the accommodations we offer{d}", signal
            ),
            f"Don't make assumptions about {child}'s needs",
            False,
            None,
        )
    if "compet" in name:
        return (
            _directive(f"Highlight what makes the program distinctive{d}", signal),
            "Don't disparage the other option",
            False,
            None,
        )
    if any(k in name for k in _LIFE_EVENT):
        return (
            _directive(
                f"Acknowledge their circumstances with empathy and offer flexibility{d}", signal
            ),
            "Don't press for a decision while things are hard",
            True,
            None,
        )
    hint = f" (suggested: {suggested})" if suggested else ""
    return _directive(f"Keep in mind {signal}{d}{hint}", signal), None, False, None


def _join(items: tuple[str, ...]) -> str:
    return ", ".join(items)


_FINANCIAL = {
    level: _directive(
        "Be mindful of cost: lead with value and mention scholarship and financial aid options",
        f"financial_concern:{level.value}",
    )
    for level in Level
}
_FINANCIAL_AVOID = (
    "Don't lead with the full sticker price",
    "Don't quote prices or amounts in writing",
)
_PAYMENT = _directive(
    "Don't mention the payment directly; ask if everything is going well"
    " and whether the family needs any support",
    "payment_concern",
)
_NEGATIVE = _directive("Acknowledge their frustration first", "negative_sentiment")
_MISSED = _directive("Offer a make-up session without any guilt", "missed_session")
_SCHOLARSHIP_LINE = "We also have scholarship options if that would help."


def build_brief(
    action: Action,
    channel: Channel,
    profile: LeadProfile,
    ctx: LeadContext,
    now: datetime,
    params: BriefParams = DEFAULT_BRIEFS,
) -> ActionBrief:
    """The brief for one decision: template plus a directive for every active signal."""
    t = _TEMPLATES[action]
    parent = _first(profile.parent_name, "there")
    child = _first(profile.child_name, "your child")
    base, base_prepare, base_avoid = _template_for(action, child)
    directives = list(base)
    prepare = list(base_prepare)
    avoid = list(base_avoid)
    tone = t.tone
    extra_draft: list[str] = []
    money = ctx.payment_concern or ctx.financial_concern.rank >= params.financial_from.rank

    if action not in _SILENT:
        empathetic = False
        if profile.campaign_goal:
            directives.append(
                _directive(f"Tie it to the goal: {profile.campaign_goal}", "campaign_goal")
            )
        level = ctx.financial_concern
        if level.rank >= params.financial_from.rank:
            directives.append(_FINANCIAL[level])
            avoid += _FINANCIAL_AVOID
            if ctx.financial_mentions:
                prepare.append(f"What they said about cost: {_join(ctx.financial_mentions[-2:])}")
            if action != Action.SCHOLARSHIP_OUTREACH:
                extra_draft.append(_SCHOLARSHIP_LINE)
            empathetic = level.rank >= params.empathetic_from.rank
        if ctx.payment_concern:
            directives.append(_PAYMENT)
            avoid.append("Don't bring up the late or missed payment")
            empathetic = True
        for o in ctx.objections:
            detail = f": {o.detail}" if o.detail else ""
            directives.append(
                _directive(f"Address the concern about {o.topic}{detail}", f"objection:{o.topic}")
            )
        if ctx.siblings:
            directives.append(
                _directive(f"Mention sibling options ({_join(ctx.siblings)})", "siblings")
            )
        if ctx.decision_makers:
            directives.append(
                _directive(
                    f"Offer to include {_join(ctx.decision_makers)} in the conversation",
                    "decision_makers",
                )
            )
        if ctx.family_notes:
            prepare.append(f"Family notes: {_join(ctx.family_notes)}")
        if ctx.scheduling_constraints:
            directives.append(
                _directive(
                    f"Respect their constraints: {_join(ctx.scheduling_constraints)}",
                    "scheduling_constraints",
                )
            )
        if ctx.preferred_times:
            directives.append(
                _directive(f"Propose times within: {_join(ctx.preferred_times)}", "preferred_times")
            )
        for sig in ctx.signals:
            directive, avoid_it, calls_for_empathy, line = _signal_directive(
                sig.signal, sig.detail, sig.suggested_action, child
            )
            directives.append(directive)
            if avoid_it:
                avoid.append(avoid_it)
            if line:
                extra_draft.append(line)
            empathetic = empathetic or calls_for_empathy
        for q in ctx.open_questions[-params.open_questions :]:
            directives.append(_directive(f"Answer their open question: {q}", "open_question"))
        if negative_trend(ctx):
            directives.append(_NEGATIVE)
            avoid.append("Don't push for a commitment")
            empathetic = True
        if ctx.consecutive_unreached:
            directives.append(
                _directive(
                    f"Keep it brief: the last {ctx.consecutive_unreached} attempt(s) did not reach"
                    " them",
                    "unreached",
                )
            )
        if ctx.consecutive_misses and action != Action.RESCHEDULE_OFFER:
            directives.append(_MISSED)
        if empathetic:
            tone = "empathetic"
    if ctx.summary:
        prepare.append(f"Latest summary: {ctx.summary}")
    prepare += ctx.facts[-params.facts :]

    scheduled_for, why = _timing(action, t, ctx, now, params)
    return ActionBrief(
        content_directives=tuple(directives),
        overall_tone=tone,
        info_to_prepare=tuple(prepare),
        things_to_avoid=tuple(avoid),
        timing_rationale=why,
        message_draft=_draft(t, channel, parent, child, ctx, money, extra_draft),
        scheduled_for=scheduled_for,
    )


_SILENT = frozenset({Action.WAIT, Action.STOP})
_WRITTEN = frozenset({Channel.SMS, Channel.EMAIL})


def _draft(
    t: _Template,
    channel: Channel,
    parent: str,
    child: str,
    ctx: LeadContext,
    money: bool,
    extra: list[str],
) -> str | None:
    if t.draft is None or channel not in _WRITTEN:
        return None
    topics = [o.topic for o in ctx.objections]
    if money:
        # A family worried about money never reads an amount from us, not even one
        # quoted back from their own words.
        topics = [x for x in topics if not _PRICE.search(x)]
    text = t.draft.format(
        parent=parent, child=child, topics=_join(tuple(topics[-2:])) or "your concerns"
    )
    return " ".join((text, *extra)) if extra else text


def _timing(
    action: Action, t: _Template, ctx: LeadContext, now: datetime, params: BriefParams
) -> tuple[datetime, str]:
    first = ctx.first_session_at
    if action == Action.FIRST_SESSION_REMINDER and first is not None and first > now:
        at = max(now, first - params.first_session_lead)
        return at, (
            f"Remind them {_human(first - at)} before the first session ({first:%a %d %b %H:%M})"
        )
    delay = params.delays.get(action, DEFAULT_DELAYS[action])  # partial overrides keep the rest
    return now + delay, _rationale(t.why, delay)


@lru_cache(maxsize=256)
def _rationale(why: str, delay: timedelta) -> str:
    return f"{why}: {_human(delay, prefix='in ')}"


def _human(delay: timedelta, prefix: str = "") -> str:
    """'2 hours', '3 days', 'now': what an operator reads in the timing rationale."""
    seconds = int(delay.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and (seconds % size == 0 or unit == "minute"):
            n = seconds // size
            return f"{prefix}{n} {unit}{'s' if n != 1 else ''}"
    return "now"
