"""Build the brief for one decision: the action's template plus the lead's own signals.

Message drafts (SMS and email only) greet the parent and child by first name and
never state a price or an amount to a family with a financial or payment concern:
templates carry no prices, and text taken from the family's own words is dropped
from the draft when it contains one.

Templates are built once at import; a brief costs a few small allocations.
"""

from __future__ import annotations

import re
from functools import lru_cache

from stream_app.domain.actions import Action, Channel
from stream_app.domain.briefs.directives import Situation, content_directives
from stream_app.domain.briefs.model import (
    DEFAULT_BRIEFS,
    ActionBrief,
    BriefParams,
    Directive,
    Schedule,
    make_directive,
)
from stream_app.domain.briefs.templates import SILENT, TEMPLATES, Template
from stream_app.domain.context import LeadContext
from stream_app.domain.profile import Profile

_WRITTEN = frozenset({Channel.SMS, Channel.EMAIL})

_brief = ActionBrief.__pydantic_validator__.validate_python
"""`ActionBrief(**fields)` without the model's Python `__init__` around pydantic-core's
validation: 1.5 -> 1.1 us per brief (bench/core_decisions.py's briefs)."""

_PRICE = re.compile(
    r"[$€£¥]|\b\d[\d,.]*\s*(?:dollars?|usd|eur|euros?|gbp|pounds?|bucks|/\s*mo)\b"
    r"|\b(?:price|prices|priced|fee|fees|tuition|cost(?:s)?\s+\d)\b",
    re.IGNORECASE,
)


def build_brief(
    action: Action,
    channel: Channel,
    profile: Profile,
    ctx: LeadContext,
    schedule: Schedule,
    params: BriefParams = DEFAULT_BRIEFS,
) -> ActionBrief:
    """The brief for one decision: template plus a directive for every active signal,
    timed by `schedule` (see `stream_app.domain.scheduling`)."""
    t = TEMPLATES[action]
    parent = _first(profile.parent_name, "there")
    child = _first(profile.child_name, "your child")
    directives, prepare, avoid = _template_for(action, child)
    tone = t.tone
    extra_draft: tuple[str, ...] = ()

    if action not in SILENT:
        found = content_directives(Situation(action, ctx, child, profile.campaign_goal, params))
        directives += found.directives
        avoid += found.avoid
        extra_draft = found.draft
        if found.empathetic:
            tone = "empathetic"
        prepare += _context_notes(ctx, params)
    if ctx.summary:
        prepare += (f"Latest summary: {ctx.summary}",)
    prepare += ctx.facts[-params.facts :]

    brief: ActionBrief = _brief(
        {
            "content_directives": directives,
            "overall_tone": tone,
            "info_to_prepare": prepare,
            "things_to_avoid": avoid,
            "timing_rationale": schedule.rationale,
            "message_draft": _draft(t, channel, parent, child, ctx, params, extra_draft),
            "scheduled_for": schedule.at,
        }
    )
    return brief


def _first(name: str | None, fallback: str) -> str:
    parts = (name or "").split()
    return parts[0] if parts else fallback


def _join(items: tuple[str, ...]) -> str:
    return ", ".join(items)


@lru_cache(maxsize=4096)
def _template_for(
    action: Action, child: str
) -> tuple[tuple[Directive, ...], tuple[str, ...], tuple[str, ...]]:
    t = TEMPLATES[action]
    signal = f"action:{action.value}"
    return (
        tuple(make_directive(d.format(child=child), signal) for d in t.directives),
        tuple(p.format(child=child) for p in t.prepare),
        tuple(a.format(child=child) for a in t.avoid),
    )


def _context_notes(ctx: LeadContext, params: BriefParams) -> tuple[str, ...]:
    """What the family said about cost (when cost counts) and the family notes."""
    notes: tuple[str, ...] = ()
    if ctx.financial_concern.rank >= params.financial_from.rank and ctx.financial_mentions:
        notes += (f"What they said about cost: {_join(ctx.financial_mentions[-2:])}",)
    if ctx.family_notes:
        notes += (f"Family notes: {_join(ctx.family_notes)}",)
    return notes


def _draft(
    t: Template,
    channel: Channel,
    parent: str,
    child: str,
    ctx: LeadContext,
    params: BriefParams,
    extra: tuple[str, ...],
) -> str | None:
    """The message for a written channel, or None.

    Only a draft that names `{topics}` collects them (and checks the family's money
    worries): one template of the sixteen does, and the others skipping it took a
    draft from 1.0 to 0.7 us (bench/core_decisions.py's briefs).
    """
    if t.draft is None or channel not in _WRITTEN:
        return None
    topics = _topics(ctx, params) if "{topics}" in t.draft else ""
    text = t.draft.format(parent=parent, child=child, topics=topics)
    return " ".join((text, *extra)) if extra else text


def _topics(ctx: LeadContext, params: BriefParams) -> str:
    """The family's last two objection topics, for a draft's `{topics}`."""
    topics = [o.topic for o in ctx.objections]
    if ctx.payment_concern or ctx.financial_concern.rank >= params.financial_from.rank:
        # A family worried about money never reads an amount from us, not even one
        # quoted back from their own words.
        topics = [x for x in topics if not _PRICE.search(x)]
    return _join(tuple(topics[-2:])) or "your concerns"
