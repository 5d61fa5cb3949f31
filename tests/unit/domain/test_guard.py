"""The running guard: per-arm totals from transitions, and when learning is significantly
worse than the frozen priors. Transitions here come from the real credit rule where the
episode marker matters (the first step of a lead), so the count follows what the lead
step emits. The sequential test is checked against its own definition (the mixture
integrated numerically) and, by a seeded Monte-Carlo run, for what it is for: few false
trips over a whole run of looks when the arms are equal."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from stream_app.domain.guard import (
    NOT_JUDGED,
    ArmStats,
    GuardParams,
    GuardStats,
    Verdict,
    assess,
    evidence,
    judge,
    observe,
)
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
        ((400, 120), (400, 220), True),  # 0.30 vs 0.55: far below (z ~ -7.1)
        ((400, 170), (400, 220), True),  # 0.425 vs 0.55 (z ~ -3.5)
        ((400, 185), (400, 220), False),  # z ~ -2.5: a single 1% test's trip, not a run's
        ((400, 200), (400, 220), False),  # 0.50 vs 0.55: within noise (z ~ -1.4)
        ((400, 260), (400, 220), False),  # learning better: never below
        ((150, 10), (150, 100), False),  # too few leads to judge, however bad it looks
    ],
)
def test_the_guard_trips_only_when_learning_is_significantly_below(
    learning: tuple[int, int], holdout: tuple[int, int], below: bool
) -> None:
    verdict = assess(_arms(learning, holdout), GuardParams(min_leads=200, alpha=0.05))
    assert verdict.below is below
    assert verdict.below is (verdict.evidence >= math.log(20))
    assert verdict.judged is (min(learning[0], holdout[0]) >= 200)


def _mixture(z: float, information: float, mixing_sd: float) -> float:
    """The log mixture likelihood ratio by its definition, integrated numerically: the
    estimate's likelihood under a gap d over that under 0, averaged over d < 0 with
    the half-normal density."""
    estimate, steps, low = z / math.sqrt(information), 20_000, -10.0 * mixing_sd
    width = -low / steps
    total = 0.0
    for i in range(steps):
        d = low + (i + 0.5) * width
        ratio = math.exp(information * (d * estimate - d * d / 2.0))
        density = (
            2.0 * math.exp(-d * d / (2.0 * mixing_sd**2)) / (mixing_sd * math.sqrt(2 * math.pi))
        )
        total += ratio * density * width
    return math.log(total)


@pytest.mark.parametrize(
    "z, information, mixing_sd",
    [(-3.0, 400.0, 0.1), (0.0, 800.0, 0.1), (2.0, 1000.0, 0.1), (-1.0, 50.0, 0.3)],
)
def test_the_evidence_is_the_half_normal_mixture_likelihood_ratio(
    z: float, information: float, mixing_sd: float
) -> None:
    assert evidence(z, information, mixing_sd) == pytest.approx(
        _mixture(z, information, mixing_sd), abs=1e-6
    )


def test_no_gap_is_evidence_against_a_worse_arm_and_more_leads_make_it_stronger() -> None:
    # At z = 0 the closed form is exactly -log(1 + v) / 2, v = mixing_sd^2 * information.
    assert evidence(0.0, 400.0, 0.1) == pytest.approx(-0.5 * math.log(5.0))
    assert evidence(-3.0, 4000.0, 0.1) < evidence(-3.0, 400.0, 0.1)
    assert evidence(-4.0, 400.0, 0.1) > evidence(-3.0, 400.0, 0.1)


def test_a_learning_arm_far_ahead_is_finite_evidence_against_it() -> None:
    # -z sqrt(r) far below -37, where the normal cdf itself underflows to 0.
    far = evidence(60.0, 1e8, 0.1)
    assert math.isfinite(far) and far < -5.0
    # Both sides of the switch to Mills' ratio (-z sqrt(r) = -30) agree.
    r = 1e6 / (1.0 + 1e6)
    near = [evidence(30.0 / math.sqrt(r) + step, 1e8, 0.1) for step in (-1e-6, 1e-6)]
    assert near[0] == pytest.approx(near[1], abs=1e-4)


def test_the_z_score_is_the_pooled_two_proportion_statistic() -> None:
    verdict = assess(_arms((400, 120), (400, 220)), GuardParams(min_leads=200))
    pooled = 340 / 800
    se = (pooled * (1 - pooled) * (2 / 400)) ** 0.5
    assert verdict.z == pytest.approx((0.30 - 0.55) / se)


def test_no_conversions_in_either_arm_is_no_difference() -> None:
    verdict = assess(_arms((300, 0), (300, 0)), GuardParams(min_leads=200))
    assert verdict == Verdict(judged=True, z=0.0, evidence=0.0, below=False)
    assert assess(_arms((199, 0), (300, 0)), GuardParams(min_leads=200)) == NOT_JUDGED


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


def _first_steps(pattern: str) -> list[LeadTransition]:
    """One lead per character, its first step converting ('1') or not ('0')."""
    return [
        _transition("trial:neutral", "enrolled:neutral" if c == "1" else "trial:neutral", 0.0, True)
        for c in pattern
    ]


def _run(
    stats: GuardStats, learning: str, holdout: str, params: GuardParams
) -> tuple[GuardStats, list[bool]]:
    """Interleave the two arms' leads (learning first) through `judge`; whether
    decisions could explore after each."""
    explored = []
    for mine, theirs in zip(_first_steps(learning), _first_steps(holdout), strict=True):
        stats, _, explore = judge(stats, mine, "learning", params)
        explored.append(explore)
        stats, _, explore = judge(stats, theirs, "holdout", params)
        explored.append(explore)
    return stats, explored


def test_equal_arms_never_trip_however_many_looks() -> None:
    # 3,000 leads per arm at 0.55, both arms converting the same leads: 6,000 looks, of
    # which 5,600 judged, and the two arms are never more than one lead apart.
    pattern = ("11010101101010110101" * 150)[:3000]
    stats, explored = _run(GuardStats(), pattern, pattern, GuardParams(min_leads=200))
    assert stats.learning == stats.holdout == ArmStats(3000, pattern.count("1"), 0.0)
    assert all(explored)


def test_a_clearly_worse_arm_trips_soon_after_min_leads_and_recovers_when_it_catches_up() -> None:
    params = GuardParams(min_leads=200)
    worse, usual = "0001000101" * 30, "1101010110" * 30  # 0.30 vs 0.60, 300 leads each
    stats, explored = _run(GuardStats(), worse, usual, params)
    looks_to_judge = 2 * 200 - 1  # the holdout arm's 200th lead is the 400th look
    assert all(explored[:looks_to_judge])
    assert not explored[looks_to_judge] and not any(explored[looks_to_judge:])
    # Then the learning arm converts 0.9 against 0.6 until its total is level again:
    stats, explored = _run(stats, "1111111110" * 100, usual * 3 + "1101010110" * 10, params)
    assert not explored[0] and explored[-1]
    assert assess(stats, params).z > -1.0


def test_whole_run_false_alarms_stay_within_alpha_where_a_repeated_z_test_does_not() -> None:
    """200 seeded runs of equal arms (0.55), 1,500 leads each split at random, judged
    after every lead from 200 per arm on: about 1,100 looks a run. The guard's trips
    are counted against alpha, and so are those of the z-test it replaced, repeated at
    each look at the same level (z below -1.645), on the same runs."""
    rng = random.Random(20260512)
    alpha, margin, runs = 0.05, 0.02, 200
    params = GuardParams(min_leads=200, alpha=alpha)
    sequential = repeated = 0
    for _ in range(runs):
        learning = holdout = ArmStats()
        tripped = [False, False]
        for _ in range(1500):
            in_holdout, converted = rng.random() < 0.5, rng.random() < 0.55
            if in_holdout:
                holdout = ArmStats(holdout.leads + 1, holdout.conversions + converted)
            else:
                learning = ArmStats(learning.leads + 1, learning.conversions + converted)
            verdict = assess(GuardStats(learning, holdout), params)
            tripped[0] |= verdict.below
            tripped[1] |= verdict.z < -1.645
        sequential += tripped[0]
        repeated += tripped[1]
    assert sequential / runs <= alpha + margin
    assert repeated / runs > alpha + margin
