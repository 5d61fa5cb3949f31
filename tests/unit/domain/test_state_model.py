"""The state model: bucket keys, compound keys, their bound, and the bucket fallback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from stream_app.domain.actions import Action
from stream_app.domain.buckets import Bucket, bucket, rl_state
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import Intent, Level, Objection, Sentiment
from stream_app.domain.guard import GuardStats, observe
from stream_app.domain.learner import LearnerParams, Step, learn
from stream_app.domain.lifecycle import ContactOutcome, Status
from stream_app.domain.messages import LeadTransition, RlState
from stream_app.domain.qlearning import QEntry, seeded_priors, select_action
from stream_app.domain.state_model import (
    FLAGGED_STATUSES,
    FLAGS_OF,
    STATES,
    StateModel,
    base_state,
    flags,
    state_key,
)

COMPOUND = StateModel.COMPOUND
KEEN: dict[str, Any] = {
    "last_intent": Intent.INTERESTED,
    "recent_sentiments": (Sentiment.POSITIVE,),
}
COST: dict[str, Any] = {"financial_concern": Level.HIGH}
OBJECTION: dict[str, Any] = {"objections": (Objection(topic="distance"),)}
FAMILY: dict[str, Any] = {"decision_makers": ("husband",)}
SCHEDULE: dict[str, Any] = {"scheduling_constraints": ("weekends only",)}


def ctx(*parts: dict[str, Any]) -> LeadContext:
    fields: dict[str, Any] = {}
    for part in parts:
        fields.update(part)
    return LeadContext(**fields)


@pytest.mark.parametrize(
    "status, context, key",
    [
        # The example: a keen parent worried about cost.
        (Status.CONTACTED, ctx(KEEN, COST), "contacted:positive_engagement+cost"),
        (
            Status.INTERESTED,
            ctx(KEEN, SCHEDULE, FAMILY, OBJECTION, COST),
            "interested:positive_engagement+cost+objection+family+schedule",
        ),
        (Status.TRIAL, ctx(KEEN), "trial:positive_engagement"),
        # A bucket never repeats its own signal.
        (Status.CONTACTED, ctx(COST, FAMILY), "contacted:financial_concern+family"),
        (Status.NEW, ctx({"payment_concern": True}), "new:payment_concern"),
        (Status.CONTACTED, ctx(OBJECTION, FAMILY), "contacted:has_objections+family"),
        (Status.CONTACTED, ctx(FAMILY, SCHEDULE), "contacted:family_context+schedule"),
        (Status.NEW, ctx(SCHEDULE), "new:neutral+schedule"),
        (
            Status.CONTACTED,
            ctx({"last_contact_outcome": ContactOutcome.NO_ANSWER}, COST),
            "contacted:unreached+cost",
        ),
        # After acquisition the bucket alone.
        (Status.ENROLLED, ctx(KEEN, COST, SCHEDULE), "enrolled:positive_engagement"),
        (Status.AT_RISK, ctx(COST, FAMILY), "at_risk:financial_concern"),
    ],
)
def test_compound_key(status: Status, context: LeadContext, key: str) -> None:
    assert state_key(status, context, COMPOUND) == key
    assert key in STATES


@given(
    status=st.sampled_from(Status),
    parts=st.lists(
        st.sampled_from(
            [
                KEEN,
                COST,
                OBJECTION,
                FAMILY,
                SCHEDULE,
                {"payment_concern": True},
                {"last_intent": Intent.SCHEDULING},
                {"last_intent": Intent.CONSIDERING},
                {"last_intent": Intent.DECLINING},
                {"last_contact_outcome": ContactOutcome.VOICEMAIL},
                {"siblings": ("sister, 6",)},
            ]
        ),
        max_size=6,
    ),
)
def test_every_compound_key_is_a_known_state_over_its_bucket(
    status: Status, parts: list[dict[str, Any]]
) -> None:
    context = ctx(*parts)
    key = state_key(status, context, COMPOUND)
    assert key in STATES
    assert base_state(key) == state_key(status, context) == rl_state(status, bucket(context))
    carried = key.split("+")[1:]
    expected = [f.value for f in FLAGS_OF[bucket(context)] if f in flags(context)]
    assert carried == (expected if status in FLAGGED_STATUSES else [])


def test_the_bucket_model_is_status_bucket_whatever_the_signals() -> None:
    assert state_key(Status.CONTACTED, ctx(KEEN, COST, SCHEDULE)) == (
        "contacted:positive_engagement"
    )


def test_the_state_space_is_bounded_and_holds_every_bucket_key() -> None:
    buckets = {rl_state(s, b) for s in Status for b in Bucket}
    per_status = sum(2 ** len(FLAGS_OF[b]) for b in Bucket)
    assert buckets <= STATES
    assert per_status == 92
    assert len(STATES) == len(FLAGGED_STATUSES) * per_status + (
        (len(Status) - len(FLAGGED_STATUSES)) * len(Bucket)
    )
    assert len(STATES) == 434


@pytest.mark.parametrize(
    "key",
    [
        "contacted:neutral+cost",  # neutral would have been a cost bucket
        "contacted:positive_engagement+schedule+cost",  # flags out of order
        "contacted:financial_concern+cost",  # repeats its bucket
        "enrolled:neutral+schedule",  # no flags after acquisition
        "contacted:positive_engagement+",
        "contacted:positive_engagement+spouse",
    ],
)
def test_a_key_no_model_makes_is_rejected(key: str) -> None:
    adapter = TypeAdapter(RlState)
    with pytest.raises(ValidationError):
        adapter.validate_python(key)
    assert adapter.validate_python(base_state(key)) == base_state(key)


def test_a_compound_state_reads_its_buckets_priors_unvisited() -> None:
    priors = seeded_priors()
    row = priors.row("contacted:positive_engagement+cost")
    assert row == {
        a: QEntry(e.q, 0) for a, e in priors.row("contacted:positive_engagement").items()
    }
    assert priors.entry("contacted:positive_engagement+cost", Action.SCHEDULING_PUSH) == (
        QEntry(0.45, 0)
    )


def test_day_one_a_compound_state_decides_as_its_bucket() -> None:
    priors = seeded_priors()
    for key in sorted(STATES):
        allowed = list(Action)
        compound = select_action(priors, key, allowed, 0.2)
        plain = select_action(priors, base_state(key), allowed, 0.2)
        assert compound == plain, key


def test_a_learned_compound_entry_wins_and_its_bucket_keeps_its_own() -> None:
    base, key = "contacted:positive_engagement", "contacted:positive_engagement+cost"
    learned_base = seeded_priors().with_entry(base, Action.WARM_FOLLOW_UP, QEntry(0.9, 40))
    table = learned_base.with_entry(key, Action.SCHEDULING_PUSH, QEntry(-0.3, 2))
    assert table.entry(key, Action.SCHEDULING_PUSH) == QEntry(-0.3, 2)
    # What the bucket learned is the compound state's start, with none of its visits.
    assert table.entry(key, Action.WARM_FOLLOW_UP) == QEntry(0.9, 0)
    assert table.entry(base, Action.SCHEDULING_PUSH) == QEntry(0.45, 0)
    allowed = [Action.WARM_FOLLOW_UP, Action.SCHEDULING_PUSH, Action.SCHOLARSHIP_OUTREACH]
    assert select_action(table, key, allowed, 0.0).action == Action.WARM_FOLLOW_UP


def test_a_compound_entry_learns_with_its_buckets_pseudo_visits() -> None:
    key = "contacted:positive_engagement+cost"
    params = LearnerParams(prior_visits=10.0)
    step = Step("t1", key, Action.SCHEDULING_PUSH, -0.5, "declined:negative", 1)
    table, entry = learn(seeded_priors(), None, step, params)
    assert entry is not None
    # Running mean of the prior (0.45, worth 10 visits) and one return of -0.5.
    assert entry.q == pytest.approx(0.45 + (-0.5 - 0.45) / 11)
    assert table.entry(key, Action.SCHEDULING_PUSH).visits == 1
    # An action the bucket's priors do not name counts no pseudo-visits.
    other = Step("t2", key, Action.SCHOLARSHIP_OUTREACH, 0.6, "declined:negative", 1)
    _, unseeded = learn(table, None, other, params)
    assert unseeded is not None and unseeded.q == pytest.approx(0.6)


def test_the_guard_reads_the_status_of_a_compound_key() -> None:
    converted = LeadTransition(
        transition_id="t-1",
        lead_id="L1",
        occurred_at=datetime(2026, 11, 2, tzinfo=UTC),
        state_before="trial:positive_engagement+cost+schedule",
        action="scholarship_outreach",
        decision_id="d-1",
        reward=1.0,
        state_after="enrolled:neutral",
        cause_event_id="e-1",
    )
    assert observe(GuardStats(), converted, "learning").learning.conversions == 1
