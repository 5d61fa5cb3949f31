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

The verdict is a one-sided two-proportion z-test on conversion per lead (pooled
variance), judged only once both arms have `min_leads`: below -z the learning arm is
significantly worse, an alert fires, and (`STREAM_APP_GUARD_GREEDY`) exploration
stops until it recovers. A redelivered transition must not count twice, so the
caller counts only transitions the learner applied for the first time.

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
    z: float = 2.33
    """One-sided: 2.33 is a 1% false alarm rate per look when the arms are equal."""
    greedy: bool = True
    """Stop exploring (greedy over the learned Q) while the learning arm is below."""


@dataclass(frozen=True, slots=True)
class Verdict:
    judged: bool
    """Both arms had enough leads to compare."""
    z: float
    """(learning - holdout) conversion over its standard error; 0 when not judged."""
    below: bool
    """The learning arm is significantly below the holdout arm."""


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


def assess(stats: GuardStats, params: GuardParams) -> Verdict:
    """Compare the arms' conversion per lead; judge only with `min_leads` in each."""
    learning, holdout = stats.learning, stats.holdout
    if min(learning.leads, holdout.leads) < params.min_leads:
        return Verdict(judged=False, z=0.0, below=False)
    pooled = (learning.conversions + holdout.conversions) / (learning.leads + holdout.leads)
    variance = pooled * (1.0 - pooled) * (1.0 / learning.leads + 1.0 / holdout.leads)
    if variance <= 0.0:  # no arm converted anyone, or every lead converted: no difference
        return Verdict(judged=True, z=0.0, below=False)
    z = (learning.conversion - holdout.conversion) / math.sqrt(variance)
    return Verdict(judged=True, z=z, below=z < -params.z)


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


__all__ = ["ArmStats", "GuardParams", "GuardStats", "Verdict", "assess", "judge", "observe"]
