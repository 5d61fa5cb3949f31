"""The running guard: is the learning arm significantly worse than the frozen priors?

The holdout arm (a stable share of leads by id, `lead.policy.arm`) is decided by the
seeded priors and never learns, so it is the rule book's own result on the same
population. The Q-learner sees every transition (one partition) and the arm of its
lead follows from the lead id, so it keeps both arms' statistics here and judges
after every transition:

- a lead is counted once, by the transition that closes its first step
  (`credit.opens_episode`); a lead that never got past its first decision is not
  counted in either arm;
- a conversion is a step that took the lead from acquisition (new to trial) to
  enrolled or active;
- the return is the sum of the arm's rewards, so return / leads is the mean return
  per lead.

The verdict is a one-sided mixture sequential probability ratio test (mSPRT; Johari,
Pekelis and Walsh, "Always valid inference", 2017) on the conversion gap, judged only
once both arms have `min_leads`. The guard looks after every transition, thousands of
looks a run: a fixed-level test repeated at each look (the 1% z-test it replaced)
trips by chance sooner or later even when the arms are equal, which stopped
exploration in runs where learning ended ahead of the priors. The mSPRT's statistic
is a likelihood ratio mixed over the alternatives "learning is worse by d" (d from a
half-normal of scale `mixing_sd`): under equal arms it is a non-negative martingale
of mean 1, so by Ville's inequality the chance it EVER reaches 1/alpha, over any
number of looks, is at most alpha. Its `evidence` (the log of that ratio) at or above
log(1/alpha) means the learning arm is significantly worse: an alert fires, and
(`STREAM_APP_GUARD_GREEDY`) exploration stops until the evidence falls back below
(recovery). The bound is on the whole run's false trips; it rests on the normal
approximation of the gap with the pooled variance, which the unit tests' Monte-Carlo
run checks. A redelivered transition must not count twice, so the caller counts only
transitions the learner applied for the first time.

`judge` is that whole step, run by the worker's Q-learner and by the in-process
pipeline alike (`offline.pipeline.Learner`), so a simulation trips the guard exactly
where a worker would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from stream_app.domain.lead.credit import opens_episode
from stream_app.domain.lead.policy import Arm
from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import LeadTransition

_ACQUISITION = frozenset({Status.NEW, Status.CONTACTED, Status.INTERESTED, Status.TRIAL})
_CONVERTED = frozenset({Status.ENROLLED, Status.ACTIVE})


@dataclass(frozen=True, slots=True)
class ArmStats:
    """One arm's running totals."""

    leads: int = 0
    conversions: int = 0
    return_sum: float = 0.0

    @property
    def conversion(self) -> float:
        return self.conversions / self.leads if self.leads else 0.0

    @property
    def mean_return(self) -> float:
        return self.return_sum / self.leads if self.leads else 0.0


@dataclass(frozen=True, slots=True)
class GuardStats:
    learning: ArmStats = ArmStats()
    holdout: ArmStats = ArmStats()

    def arm(self, name: Arm) -> ArmStats:
        return self.learning if name == "learning" else self.holdout


@dataclass(frozen=True, slots=True)
class GuardParams:
    min_leads: int = 200
    alpha: float = 0.05
    """Chance of ever tripping over a whole run of looks when the arms are equal."""
    mixing_sd: float = 0.1
    """Scale of the conversion gaps the test is tuned to. At conversion ~0.5 and alpha
    0.05, 0.1 puts the trip near z = -2.8 from 200 to 1,000 leads per arm, -2.9 at
    2,000 and -3.3 at 20,000: the price of looking at every transition stays small."""
    greedy: bool = True
    """Stop exploring (greedy over the learned Q) while the learning arm is below."""


@dataclass(frozen=True, slots=True)
class Verdict:
    judged: bool
    """Both arms had enough leads to compare."""
    z: float
    """(learning - holdout) conversion over its standard error; 0 when not judged."""
    evidence: float
    """Log mixture likelihood ratio of "learning is worse" against "the arms are
    equal"; 0 when not judged or when neither arm's conversion varies."""
    below: bool
    """The evidence reached log(1/alpha): the learning arm is significantly below."""


NOT_JUDGED = Verdict(judged=False, z=0.0, evidence=0.0, below=False)


def _status(state: str) -> Status:
    return Status(state.split(":", 1)[0])


def observe(stats: GuardStats, transition: LeadTransition, arm: Arm) -> GuardStats:
    """The totals after one transition of a lead in `arm` (applied for the first time)."""
    current = stats.arm(arm)
    converted = _status(transition.state_before) in _ACQUISITION and (
        _status(transition.state_after) in _CONVERTED
    )
    updated = ArmStats(
        leads=current.leads + opens_episode(transition.transition_id),
        conversions=current.conversions + converted,
        return_sum=current.return_sum + transition.reward,
    )
    return replace(stats, **{arm: updated})


def _log_normal_cdf(x: float) -> float:
    """log Phi(x), finite where Phi(x) itself underflows (x below about -37)."""
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x / math.sqrt(2.0)))
    # Mills' ratio: Phi(x) = phi(x) / -x * (1 - 1/x^2 + 3/x^4 - ...), exact to ~1e-8 here.
    return (
        -0.5 * x * x
        - math.log(-x)
        - 0.5 * math.log(2.0 * math.pi)
        + math.log1p(-1.0 / (x * x) + 3.0 / x**4)
    )


def evidence(z: float, information: float, mixing_sd: float) -> float:
    """Log of the one-sided mixture likelihood ratio for a gap estimated at z standard
    errors with `information` = 1 / variance of the estimate.

    The gap's estimate is taken as normal around the true gap d; the ratio of its
    likelihood under d to that under 0, averaged over d < 0 with density 2 N(0,
    mixing_sd^2), is in closed form, with v = mixing_sd^2 * information and
    r = v / (1 + v):  2 (1 + v)^(-1/2) exp(r z^2 / 2) Phi(-z sqrt(r)).
    """
    v = mixing_sd * mixing_sd * information
    r = v / (1.0 + v)
    return (
        math.log(2.0) - 0.5 * math.log1p(v) + 0.5 * r * z * z + _log_normal_cdf(-z * math.sqrt(r))
    )


def assess(stats: GuardStats, params: GuardParams) -> Verdict:
    """Compare the arms' conversion per lead; judge only with `min_leads` in each."""
    learning, holdout = stats.learning, stats.holdout
    if min(learning.leads, holdout.leads) < params.min_leads:
        return NOT_JUDGED
    pooled = (learning.conversions + holdout.conversions) / (learning.leads + holdout.leads)
    variance = pooled * (1.0 - pooled) * (1.0 / learning.leads + 1.0 / holdout.leads)
    if variance <= 0.0:  # no arm converted anyone, or every lead converted: no difference
        return replace(NOT_JUDGED, judged=True)
    z = (learning.conversion - holdout.conversion) / math.sqrt(variance)
    weight = evidence(z, 1.0 / variance, params.mixing_sd)
    return Verdict(judged=True, z=z, evidence=weight, below=weight >= -math.log(params.alpha))


def judge(
    stats: GuardStats, transition: LeadTransition, arm: Arm | None, params: GuardParams
) -> tuple[GuardStats, Verdict, bool]:
    """The totals, the verdict and whether decisions may explore, after one transition.

    `arm` is the transition's lead's arm when the learner applied it for the first
    time, None for a redelivery (which counts nothing but is judged again, since its
    q-update carries the verdict too).
    """
    counted = stats if arm is None else observe(stats, transition, arm)
    verdict = assess(counted, params)
    return counted, verdict, not (params.greedy and verdict.below)


__all__ = [
    "NOT_JUDGED",
    "ArmStats",
    "GuardParams",
    "GuardStats",
    "Verdict",
    "assess",
    "evidence",
    "judge",
    "observe",
]
