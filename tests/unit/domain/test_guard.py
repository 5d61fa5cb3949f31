"""The running guard: per-arm totals from transitions, and when learning is significantly
worse than the frozen priors. Transitions here come from the real credit rule where the
episode marker matters (the first step of a lead), so the count follows what the lead
step emits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stream_app.domain.guard import ArmStats, GuardParams, GuardStats, assess, judge, observe
from stream_app.domain.lead.credit import EPISODE_PREFIX
from stream_app.domain.messages import LeadTransition
from tests.unit.domain.lead.helpers import Lead

AT = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)


def _transition(before: str, after: str, reward: float, first: bool = False) -> LeadTransition:
    prefix = EPISODE_PREFIX if first else "t"
    return LeadTransition(
        transition_id=f"{prefix}-{before}-{after}-{reward}",
        lead_id="L1",
        occurred_at=AT,
        state_before=before,
        action="warm_follow_up",
        decision_id="d-1",
        reward=reward,
        state_after=after,
        cause_event_id="e-1",
    )


def test_a_lead_counts_once_by_its_first_step_in_its_own_arm() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    [opening] = lead.call(outcome="no_answer", decision_id=first.decision_id).transitions
    assert lead.state is not None
    [later] = lead.call(
        outcome="no_answer", decision_id=lead.state.decisions[-1].decision_id
    ).transitions
    stats = observe(observe(GuardStats(), opening, "holdout"), later, "holdout")
    assert stats.holdout == ArmStats(leads=1, conversions=0, return_sum=pytest.approx(-0.04))
    assert stats.learning == ArmStats()


@pytest.mark.parametrize(
    "before, after, converted",
    [
        ("trial:neutral", "enrolled:neutral", True),
        ("interested:positive_engagement", "active:neutral", True),  # a jump counts too
        ("enrolled:neutral", "active:neutral", False),  # already converted
        ("trial:neutral", "trial:neutral", False),
        ("at_risk:neutral", "active:neutral", False),  # retention, not conversion
    ],
)
def test_a_conversion_is_a_step_from_acquisition_into_enrolment(
    before: str, after: str, converted: bool
) -> None:
    stats = observe(GuardStats(), _transition(before, after, 1.0), "learning")
    assert stats.learning.conversions == int(converted)
    assert stats.learning.return_sum == 1.0


def _arms(learning: tuple[int, int], holdout: tuple[int, int]) -> GuardStats:
    return GuardStats(
        learning=ArmStats(leads=learning[0], conversions=learning[1]),
        holdout=ArmStats(leads=holdout[0], conversions=holdout[1]),
    )


@pytest.mark.parametrize(
    "learning, holdout, below",
    [
        ((400, 120), (400, 220), True),  # 0.30 vs 0.55: far below
        ((400, 200), (400, 220), False),  # 0.50 vs 0.55: within noise (z ~ -1.4)
        ((400, 260), (400, 220), False),  # learning better: never below
        ((150, 10), (150, 100), False),  # too few leads to judge, however bad it looks
    ],
)
def test_the_guard_trips_only_when_learning_is_significantly_below(
    learning: tuple[int, int], holdout: tuple[int, int], below: bool
) -> None:
    verdict = assess(_arms(learning, holdout), GuardParams(min_leads=200, z=2.33))
    assert verdict.below is below
    assert verdict.judged is (min(learning[0], holdout[0]) >= 200)


def test_the_z_score_is_the_pooled_two_proportion_statistic() -> None:
    verdict = assess(_arms((400, 120), (400, 220)), GuardParams(min_leads=200))
    pooled = 340 / 800
    se = (pooled * (1 - pooled) * (2 / 400)) ** 0.5
    assert verdict.z == pytest.approx((0.30 - 0.55) / se)


def test_no_conversions_in_either_arm_is_no_difference() -> None:
    verdict = assess(_arms((300, 0), (300, 0)), GuardParams(min_leads=200))
    assert verdict == verdict.__class__(judged=True, z=0.0, below=False)


def test_mean_return_and_conversion_are_per_lead() -> None:
    arm = ArmStats(leads=4, conversions=1, return_sum=2.0)
    assert (arm.conversion, arm.mean_return) == (0.25, 0.5)
    assert (ArmStats().conversion, ArmStats().mean_return) == (0.0, 0.0)


def test_judge_counts_a_first_application_and_only_re_judges_a_redelivery() -> None:
    # 200 holdout leads converted 110; 199 learning leads converted 60, and this
    # transition is the learning arm's 200th lead, converting too: 61/200 vs 110/200.
    stats = GuardStats(learning=ArmStats(199, 60, 0.0), holdout=ArmStats(200, 110, 0.0))
    step = _transition("trial:neutral", "enrolled:neutral", 1.0, first=True)
    params = GuardParams(min_leads=200)
    counted, verdict, explore = judge(stats, step, "learning", params)
    assert counted.learning == ArmStats(200, 61, 1.0)
    assert verdict.judged and verdict.below and not explore
    again, same, explore_again = judge(counted, step, None, params)
    assert again == counted and same == verdict and not explore_again
    # Without the greedy stop the verdict stands but decisions keep exploring.
    _, verdict, explore = judge(stats, step, "learning", GuardParams(min_leads=200, greedy=False))
    assert verdict.below and explore
    # One lead short of min_leads in an arm: no judgement, exploration goes on.
    _, verdict, explore = judge(stats, step, None, params)
    assert not verdict.judged and explore
