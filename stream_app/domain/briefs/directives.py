"""The content directives a lead's own signals add to a brief, as a table of rules.

Every active signal of the lead adds its directive, not only the one that set the
bucket, so a `warm_follow_up` for a family with a cost concern and a referral still
says "be mindful of cost" and "acknowledge the referral". Each directive names the
signal that produced it and, where a conversation produced that signal, carries
the family's quote for it (`Rule.evidence` names which of the lead's evidence), so
an operator can see why it is there and check it against the transcript.

`RULES` is read top to bottom; every rule that holds adds its directive, in table
order. A `ForEach` row takes each item of a context list in order, and the first of
its rules that holds adds the item's directive (the last one always holds). A rule
may also add things to avoid, a sentence to the draft, and call for empathy. Its
texts are `str.format` templates over the situation's `FIELDS` (computed only when
the rule fires) and, inside a `ForEach`, the current item's fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, NamedTuple, TypeVar

from stream_app.domain.actions import Action
from stream_app.domain.briefs.model import BriefParams, Directive, make_directive
from stream_app.domain.context import LeadContext, negative_trend
from stream_app.domain.extraction.model import AdditionalSignal, Objection

_NO_ITEM: Mapping[str, str] = MappingProxyType({})


class Situation(NamedTuple):
    """What the rules look at: the decision, the lead's context and the brief's knobs.

    A named tuple rather than a frozen dataclass: one is built per brief and per list
    item, on the decision path, and a tuple is several times cheaper to build.
    """

    action: Action
    ctx: LeadContext
    child: str
    goal: str | None
    params: BriefParams
    item: Mapping[str, str] = _NO_ITEM
    """The fields of the list item a `ForEach` row is looking at."""


Predicate = Callable[[Situation], bool]


def always(_: Situation) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: when it holds, the directive it adds and the signal that directive names."""

    name: str
    when: Predicate
    directive: str
    signal: str
    avoid: tuple[str, ...] = ()
    draft: str | None = None
    draft_when: Predicate = always
    empathetic: Predicate | None = None
    """Whether it calls for an empathetic tone; None: it never does."""
    evidence: str | None = None
    """Which of the lead's `SignalEvidence` backs the directive (a template, like
    `signal`); None: the signal does not come from the family's words."""


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ForEach(Generic[T]):
    """For each item of a context list, in order, the first of `rules` that holds for it."""

    name: str
    items: Callable[[Situation], Sequence[T]]
    fields: Callable[[T], Mapping[str, str]]
    """The placeholders of one item, seen by `rules` as `Situation.item`."""
    rules: tuple[Rule, ...]


class Found(NamedTuple):
    """What the rules add to a brief, in table order."""

    directives: tuple[Directive, ...]
    avoid: tuple[str, ...]
    draft: tuple[str, ...]
    empathetic: bool


def _detail(detail: str) -> str:
    """': <detail>', or nothing when there is none."""
    return f": {detail}" if detail else ""


FIELDS: Mapping[str, Callable[[Situation], str]] = MappingProxyType(
    {
        "child": lambda s: s.child,
        "goal": lambda s: s.goal or "",
        "level": lambda s: s.ctx.financial_concern.value,
        "siblings": lambda s: ", ".join(s.ctx.siblings),
        "decision_makers": lambda s: ", ".join(s.ctx.decision_makers),
        "constraints": lambda s: ", ".join(s.ctx.scheduling_constraints),
        "times": lambda s: ", ".join(s.ctx.preferred_times),
        "unreached": lambda s: str(s.ctx.consecutive_unreached),
    }
)
"""The placeholders every template may use."""


def _objection(o: Objection) -> Mapping[str, str]:
    return {"topic": o.topic, "detail": _detail(o.detail)}


def _signal(sig: AdditionalSignal) -> Mapping[str, str]:
    """`name` is the signal casefolded, for matching; `signal` keeps its spelling."""
    suggested = sig.suggested_action
    return {
        "signal": sig.signal,
        "name": sig.signal.casefold(),
        "detail": _detail(sig.detail),
        "hint": f" (suggested: {suggested})" if suggested else "",
    }


def _question(q: str) -> Mapping[str, str]:
    return {"question": q}


def _named(*keywords: str) -> Predicate:
    """The current signal's name contains one of `keywords`."""
    return lambda s: any(k in s.item["name"] for k in keywords)


SIGNAL_RULES: tuple[Rule, ...] = (
    Rule(
        "referral",
        _named("referral", "referred"),
        "Acknowledge the referral{detail}",
        "{signal}",
        draft="So glad you heard about us through someone you know!",
        evidence="signal:{signal}",
    ),
    Rule(
        "special_needs",
        _named("special", "needs", "disab"),
        "Ask what support {child} needs and confirm the accommodations we offer{detail}",
        "{signal}",
        avoid=("Don't make assumptions about {child}'s needs",),
        evidence="signal:{signal}",
    ),
    Rule(
        "competitor",
        _named("compet"),
        "Highlight what makes the program distinctive{detail}",
        "{signal}",
        avoid=("Don't disparage the other option",),
        evidence="signal:{signal}",
    ),
    Rule(
        "life_event",
        _named("life_event", "job", "divorce", "moving", "move", "bereave", "illness", "health"),
        "Acknowledge their circumstances with empathy and offer flexibility{detail}",
        "{signal}",
        avoid=("Don't press for a decision while things are hard",),
        empathetic=always,
        evidence="signal:{signal}",
    ),
    Rule(
        "other_signal",
        always,
        "Keep in mind {signal}{detail}{hint}",
        "{signal}",
        evidence="signal:{signal}",
    ),
)
"""How each additional signal from an extraction is answered; the first match wins."""

RULES: tuple[Rule | ForEach[Any], ...] = (
    Rule("campaign_goal", lambda s: bool(s.goal), "Tie it to the goal: {goal}", "campaign_goal"),
    Rule(
        "financial_concern",
        lambda s: s.ctx.financial_concern.rank >= s.params.financial_from.rank,
        "Be mindful of cost: lead with value and mention scholarship and financial aid options",
        "financial_concern:{level}",
        avoid=(
            "Don't lead with the full sticker price",
            "Don't quote prices or amounts in writing",
        ),
        draft="We also have scholarship options if that would help.",
        draft_when=lambda s: s.action != Action.SCHOLARSHIP_OUTREACH,
        empathetic=lambda s: s.ctx.financial_concern.rank >= s.params.empathetic_from.rank,
        evidence="financial",
    ),
    Rule(
        "payment_concern",
        lambda s: s.ctx.payment_concern,
        "Don't mention the payment directly; ask if everything is going well"
        " and whether the family needs any support",
        "payment_concern",
        avoid=("Don't bring up the late or missed payment",),
        empathetic=always,
    ),
    ForEach(
        "objections",
        lambda s: s.ctx.objections,
        _objection,
        (
            Rule(
                "objection",
                always,
                "Address the concern about {topic}{detail}",
                "objection:{topic}",
                evidence="objection:{topic}",
            ),
        ),
    ),
    Rule(
        "siblings",
        lambda s: bool(s.ctx.siblings),
        "Mention sibling options ({siblings})",
        "siblings",
        evidence="family",
    ),
    Rule(
        "decision_makers",
        lambda s: bool(s.ctx.decision_makers),
        "Offer to include {decision_makers} in the conversation",
        "decision_makers",
        evidence="family",
    ),
    Rule(
        "scheduling_constraints",
        lambda s: bool(s.ctx.scheduling_constraints),
        "Respect their constraints: {constraints}",
        "scheduling_constraints",
        evidence="scheduling",
    ),
    Rule(
        "preferred_times",
        lambda s: bool(s.ctx.preferred_times),
        "Propose times within: {times}",
        "preferred_times",
        evidence="scheduling",
    ),
    ForEach("signals", lambda s: s.ctx.signals, _signal, SIGNAL_RULES),
    ForEach(
        "open_questions",
        lambda s: s.ctx.open_questions[-s.params.open_questions :],
        _question,
        (Rule("open_question", always, "Answer their open question: {question}", "open_question"),),
    ),
    Rule(
        "negative_sentiment",
        lambda s: negative_trend(s.ctx),
        "Acknowledge their frustration first",
        "negative_sentiment",
        avoid=("Don't push for a commitment",),
        empathetic=always,
        evidence="sentiment",
    ),
    Rule(
        "unreached",
        lambda s: bool(s.ctx.consecutive_unreached),
        "Keep it brief: the last {unreached} attempt(s) did not reach them",
        "unreached",
    ),
    Rule(
        "missed_session",
        lambda s: bool(s.ctx.consecutive_misses) and s.action != Action.RESCHEDULE_OFFER,
        "Offer a make-up session without any guilt",
        "missed_session",
    ),
)
"""The lead's signals, in the order their directives appear in a brief."""


class _Placeholders:
    """For `str.format_map`: the current item's fields, else the situation's `FIELDS`."""

    __slots__ = ("_s",)

    def __init__(self, s: Situation) -> None:
        self._s = s

    def __getitem__(self, key: str) -> str:
        item = self._s.item
        return item[key] if key in item else FIELDS[key](self._s)


def content_directives(s: Situation, rows: Sequence[Rule | ForEach[Any]] = RULES) -> Found:
    """Evaluate the table: which rules hold, in order, then what each adds."""
    fired: list[tuple[Rule, Situation]] = []
    for row in rows:
        if isinstance(row, Rule):
            if row.when(s):
                fired.append((row, s))
            continue
        for item in row.items(s):
            at = Situation(s.action, s.ctx, s.child, s.goal, s.params, row.fields(item))
            for rule in row.rules:
                if rule.when(at):
                    fired.append((rule, at))
                    break
    directives: list[Directive] = []
    avoid: list[str] = []
    draft: list[str] = []
    empathetic = False
    quotes = {q.signal: q for q in s.ctx.evidence}
    for rule, at in fired:
        f = _Placeholders(at)
        quote = quotes.get(_filled(rule.evidence, f)) if rule.evidence is not None else None
        directives.append(
            make_directive(_filled(rule.directive, f), _filled(rule.signal, f), quote)
        )
        if rule.avoid:
            avoid += [_filled(a, f) for a in rule.avoid]
        if rule.draft is not None and rule.draft_when(at):
            draft.append(_filled(rule.draft, f))
        if rule.empathetic is not None and not empathetic:
            empathetic = rule.empathetic(at)
    return Found(tuple(directives), tuple(avoid), tuple(draft), empathetic)


def _filled(template: str, f: _Placeholders) -> str:
    """`template` with its placeholders filled; most texts of the table have none, and
    `format_map` still parsed each one (the directives' formatting was 4% of a step)."""
    return template.format_map(f) if "{" in template else template
