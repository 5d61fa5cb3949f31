"""The directive table: each rule fires on its signal, with exactly its effects, and not without."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams, Directive
from stream_app.domain.briefs.directives import (
    RULES,
    SIGNAL_RULES,
    ForEach,
    Found,
    Situation,
    content_directives,
)
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import AdditionalSignal, Level, Objection, Sentiment

A = Action
NEG, POS = Sentiment.NEGATIVE, Sentiment.POSITIVE
COST_AVOID = ("Don't lead with the full sticker price", "Don't quote prices or amounts in writing")
SCHOLARSHIP_LINE = "We also have scholarship options if that would help."


def at(
    action: Action = A.WARM_FOLLOW_UP,
    goal: str | None = None,
    params: BriefParams = DEFAULT_BRIEFS,
    **ctx: Any,
) -> Situation:
    return Situation(action, LeadContext(**ctx), "Jake", goal, params)


def sig(name: str, detail: str = "", suggested: str | None = None) -> dict[str, Any]:
    return {"signals": (AdditionalSignal(signal=name, detail=detail, suggested_action=suggested),)}


@dataclass(frozen=True)
class Case:
    rule: str
    on: Situation
    off: Situation
    """The nearest situation without the signal: the rule must stay silent."""
    directive: str
    signal: str
    avoid: tuple[str, ...] = ()
    draft: tuple[str, ...] = ()
    empathetic: bool = False

    def __str__(self) -> str:
        return self.rule


CASES = [
    Case(
        "campaign_goal",
        at(goal="Summer intensive"),
        at(goal=""),
        "Tie it to the goal: Summer intensive",
        "campaign_goal",
    ),
    Case(
        "financial_concern",
        at(financial_concern=Level.LOW),
        at(financial_concern=Level.NONE),
        "Be mindful of cost: lead with value and mention scholarship and financial aid options",
        "financial_concern:low",
        avoid=COST_AVOID,
        draft=(SCHOLARSHIP_LINE,),
    ),
    Case(
        "payment_concern",
        at(payment_concern=True),
        at(payment_concern=False),
        "Don't mention the payment directly; ask if everything is going well and whether the"
        " family needs any support",
        "payment_concern",
        avoid=("Don't bring up the late or missed payment",),
        empathetic=True,
    ),
    Case(
        "objection",
        at(objections=(Objection(topic="distance", detail="30 min drive"),)),
        at(),
        "Address the concern about distance: 30 min drive",
        "objection:distance",
    ),
    Case(
        "siblings",
        at(siblings=("sister, 9", "brother")),
        at(),
        "Mention sibling options (sister, 9, brother)",
        "siblings",
    ),
    Case(
        "decision_makers",
        at(decision_makers=("spouse",)),
        at(),
        "Offer to include spouse in the conversation",
        "decision_makers",
    ),
    Case(
        "scheduling_constraints",
        at(scheduling_constraints=("busy weekends",)),
        at(),
        "Respect their constraints: busy weekends",
        "scheduling_constraints",
    ),
    Case(
        "preferred_times",
        at(preferred_times=("weekday afternoons",)),
        at(),
        "Propose times within: weekday afternoons",
        "preferred_times",
    ),
    Case(
        "referral",
        at(**sig("referral_source", "friend Anna")),
        at(),
        "Acknowledge the referral: friend Anna",
        "referral_source",
        draft=("So glad you heard about us through someone you know!",),
    ),
    Case(
        "special_needs",
        at(**sig("Special_Needs", "ADHD")),
        at(),
        "Ask what support Jake needs and confirm the accommodations we offer: ADHD",
        "Special_Needs",
        avoid=("Don't make assumptions about Jake's needs",),
    ),
    Case(
        "competitor",
        at(**sig("competitor_offer")),
        at(),
        "Highlight what makes the program distinctive",
        "competitor_offer",
        avoid=("Don't disparage the other option",),
    ),
    Case(
        "life_event",
        at(**sig("job_loss", "dad lost his job")),
        at(),
        "Acknowledge their circumstances with empathy and offer flexibility: dad lost his job",
        "job_loss",
        avoid=("Don't press for a decision while things are hard",),
        empathetic=True,
    ),
    Case(
        "other_signal",
        at(**sig("urgent_callback", "call today", "scheduling_push")),
        at(),
        "Keep in mind urgent_callback: call today (suggested: scheduling_push)",
        "urgent_callback",
    ),
    Case(
        "open_question",
        at(open_questions=("Is there parking?",)),
        at(),
        "Answer their open question: Is there parking?",
        "open_question",
    ),
    Case(
        "negative_sentiment",
        at(recent_sentiments=(NEG, POS, NEG)),
        at(recent_sentiments=(NEG, NEG, POS)),
        "Acknowledge their frustration first",
        "negative_sentiment",
        avoid=("Don't push for a commitment",),
        empathetic=True,
    ),
    Case(
        "unreached",
        at(consecutive_unreached=2),
        at(consecutive_unreached=0),
        "Keep it brief: the last 2 attempt(s) did not reach them",
        "unreached",
    ),
    Case(
        "missed_session",
        at(consecutive_misses=1),
        at(A.RESCHEDULE_OFFER, consecutive_misses=1),
        "Offer a make-up session without any guilt",
        "missed_session",
    ),
]


def rule_names() -> set[str]:
    rules = [r for row in RULES for r in (row.rules if isinstance(row, ForEach) else (row,))]
    return {r.name for r in rules} | {r.name for r in SIGNAL_RULES}


def test_every_rule_of_the_table_has_a_case() -> None:
    assert {c.rule for c in CASES} == rule_names()


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_rule_fires_on_its_signal_with_its_effects(case: Case) -> None:
    expected = Found(
        (Directive(directive=case.directive, signal=case.signal),),
        case.avoid,
        case.draft,
        case.empathetic,
    )
    assert content_directives(case.on) == expected


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_rule_is_silent_without_its_signal(case: Case) -> None:
    assert content_directives(case.off) == Found((), (), (), False)


def test_financial_concern_follows_the_thresholds() -> None:
    strict = BriefParams(financial_from=Level.MODERATE, empathetic_from=Level.HIGH)
    assert content_directives(at(params=strict, financial_concern=Level.LOW)).directives == ()
    moderate = content_directives(at(params=strict, financial_concern=Level.MODERATE))
    assert moderate.directives[0].signal == "financial_concern:moderate"
    assert not moderate.empathetic
    assert content_directives(at(financial_concern=Level.MODERATE)).empathetic


def test_scholarship_outreach_gets_no_extra_scholarship_line() -> None:
    found = content_directives(at(A.SCHOLARSHIP_OUTREACH, financial_concern=Level.HIGH))
    assert found.directives[0].signal == "financial_concern:high" and found.draft == ()


@pytest.mark.parametrize(
    "name, rule",
    [
        ("special_referral", "referral"),
        ("referred_by", "referral"),
        ("competitive_needs", "special_needs"),
        ("disability", "special_needs"),
        ("job_competition", "competitor"),
        ("moving_soon", "life_event"),
        ("health", "life_event"),
        ("sibling_interest", "other_signal"),
    ],
)
def test_the_first_matching_signal_rule_wins(name: str, rule: str) -> None:
    (directive,) = content_directives(at(**sig(name))).directives
    (expected,) = next(c for c in CASES if c.rule == rule).on.ctx.signals
    (canonical,) = content_directives(at(**sig(expected.signal))).directives
    assert directive.directive.split()[:3] == canonical.directive.split()[:3]
    assert directive.signal == name


def test_directives_follow_table_then_list_order() -> None:
    found = content_directives(
        at(
            goal="Trial",
            consecutive_misses=1,
            signals=(AdditionalSignal(signal="special_needs"), AdditionalSignal(signal="referral")),
            objections=(Objection(topic="b"), Objection(topic="a")),
            open_questions=("q1?", "q2?", "q3?", "q4?"),
        )
    )
    assert [d.signal for d in found.directives] == [
        "campaign_goal",
        "objection:b",
        "objection:a",
        "special_needs",
        "referral",
        "open_question",
        "open_question",
        "open_question",
        "missed_session",
    ]
    assert found.directives[5].directive.endswith("q2?")  # the latest open questions only
