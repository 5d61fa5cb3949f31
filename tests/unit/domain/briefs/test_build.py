"""build_brief: names, price safety, directives from every signal, serialisation."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from stream_app.domain.actions import Action, Channel
from stream_app.domain.briefs import Schedule, build_brief
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import AdditionalSignal, Level, Objection, Sentiment
from stream_app.domain.lifecycle import ContactOutcome
from stream_app.domain.profile import Profile

A = Action
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PROFILE = Profile(
    parent_name="Sarah Mitchell",
    child_name="Jake Mitchell",
    campaign_goal="Summer basketball intensive",
)
SOON = Schedule(NOW, "now")
WRITTEN = [a for a in Action if a not in (A.WAIT, A.STOP)]
PRICE = re.compile(r"[$€£]|\d+\s*(dollars|usd)|\bprice\b", re.IGNORECASE)


@pytest.mark.parametrize("action", WRITTEN)
def test_drafts_greet_parent_and_child_by_first_name(action: Action) -> None:
    draft = build_brief(action, Channel.SMS, PROFILE, LeadContext(), SOON).message_draft
    assert draft is not None
    assert "Sarah" in draft and "Jake" in draft and "Mitchell" not in draft


@pytest.mark.parametrize("channel", [Channel.VOICE, Channel.NONE])
def test_no_draft_for_calls_or_silence(channel: Channel) -> None:
    call = build_brief(A.WARM_FOLLOW_UP, channel, PROFILE, LeadContext(), SOON)
    assert call.message_draft is None
    assert build_brief(A.WAIT, Channel.SMS, PROFILE, LeadContext(), SOON).message_draft is None


def test_missing_names_fall_back_politely() -> None:
    draft = build_brief(A.GENTLE_NUDGE, Channel.SMS, Profile(), LeadContext(), SOON)
    assert draft.message_draft is not None
    assert draft.message_draft.startswith("Hi there") and "your child" in draft.message_draft


MONEY_WORRIES = [
    LeadContext(
        financial_concern=Level.MODERATE,
        objections=(Objection(topic="$200 a month"), Objection(topic="150 dollars")),
    ),
    LeadContext(payment_concern=True, objections=(Objection(topic="price"),)),
    LeadContext(financial_concern=Level.LOW, financial_mentions=("$99 is a lot",)),
]


@pytest.mark.parametrize("ctx", MONEY_WORRIES)
@pytest.mark.parametrize("action", WRITTEN)
def test_no_price_to_a_family_worried_about_money(action: Action, ctx: LeadContext) -> None:
    for channel in (Channel.SMS, Channel.EMAIL):
        draft = build_brief(action, channel, PROFILE, ctx, SOON).message_draft
        assert draft is not None and not PRICE.search(draft), draft


def test_directives_come_from_every_active_signal() -> None:
    ctx = LeadContext(
        financial_concern=Level.MODERATE,
        payment_concern=True,
        objections=(
            Objection(topic="distance", detail="30 min drive"),
            Objection(topic="schedule"),
        ),
        siblings=("sister, 9",),
        decision_makers=("spouse",),
        scheduling_constraints=("busy weekends",),
        preferred_times=("weekday afternoons",),
        signals=(
            AdditionalSignal(signal="referral_source", detail="friend Anna"),
            AdditionalSignal(signal="special_needs", detail="ADHD"),
        ),
        open_questions=("Is there an early bird discount?",),
        recent_sentiments=(Sentiment.NEGATIVE, Sentiment.NEGATIVE),
        consecutive_unreached=1,
        last_contact_outcome=ContactOutcome.NO_ANSWER,
        consecutive_misses=1,
    )
    brief = build_brief(A.WARM_FOLLOW_UP, Channel.VOICE, PROFILE, ctx, SOON)
    signals = {d.signal for d in brief.content_directives}
    assert signals >= {
        "action:warm_follow_up",
        "campaign_goal",
        "financial_concern:moderate",
        "payment_concern",
        "objection:distance",
        "objection:schedule",
        "siblings",
        "decision_makers",
        "scheduling_constraints",
        "preferred_times",
        "referral_source",
        "special_needs",
        "open_question",
        "negative_sentiment",
        "unreached",
        "missed_session",
    }
    text = " ".join(d.directive for d in brief.content_directives)
    assert "mindful of cost" in text and "referral" in text and "30 min drive" in text
    assert (
        "Don't mention the payment directly; ask if everything is going well and whether"
        " the family needs any support"
    ) in text
    assert brief.overall_tone == "empathetic"
    assert "Don't bring up the late or missed payment" in brief.things_to_avoid


def test_a_referral_is_acknowledged_in_the_draft() -> None:
    ctx = LeadContext(signals=(AdditionalSignal(signal="referral_source"),))
    draft = build_brief(A.INFO_SEND, Channel.EMAIL, PROFILE, ctx, SOON).message_draft
    assert draft is not None and "heard about us" in draft


def test_briefs_are_deterministic_and_serialisable() -> None:
    ctx = LeadContext(financial_concern=Level.HIGH, siblings=("brother",))
    one = build_brief(A.SCHOLARSHIP_OUTREACH, Channel.SMS, PROFILE, ctx, SOON)
    assert one == build_brief(A.SCHOLARSHIP_OUTREACH, Channel.SMS, PROFILE, ctx, SOON)
    assert type(one).model_validate_json(one.model_dump_json()) == one
