"""Intervals for the policy report: Wilson for rates, seeded bootstraps for differences.

Every interval is a 95% interval over families. Families of one seed face every
policy (the same traits, the same world), so a difference between two policies
is taken family by family within each seed and resampled by seed stratum: the
pairing removes the families' own variance from the comparison. A bootstrap is
seeded, so the same runs always print the same interval.

Over families is the scale the targets are stated on, and it is optimistic for
the learning policy: within one learning run families are not independent (what
one teaches changes the next one's decisions). The report therefore also shows
the spread over seeds (`t_interval` of the per-seed differences), which honours
that dependence but has few degrees of freedom.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959964
BOOTSTRAP_SAMPLES = 2000

# Two-sided 95% Student t quantiles by degrees of freedom; 1.96 beyond the table.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
_T95_MORE = {15: 2.131, 20: 2.086, 30: 2.042}


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def above(self, other: Estimate) -> bool:
        """This interval lies wholly above `other` (the two do not overlap)."""
        return self.low > other.high


def t95(df: int) -> float:
    if df < 1:
        raise ValueError("need at least two values for an interval")
    if df <= len(_T95):
        return _T95[df - 1]
    return next((t for limit, t in sorted(_T95_MORE.items()) if df <= limit), Z95)


def wilson(successes: int, n: int) -> Estimate:
    """Wilson score interval of a rate: right near 0 and 1, where the normal one is not."""
    if n == 0:
        raise ValueError("no trials")
    p = successes / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return Estimate(p, max(0.0, centre - half), min(1.0, centre + half))


def normal_interval(values: Sequence[float]) -> Estimate:
    """Mean with a normal 95% interval over `values` (many families: the CLT holds)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mean, mean, mean)
    half = Z95 * statistics.stdev(values) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def t_interval(values: Sequence[float]) -> Estimate:
    """Mean with a Student t 95% interval (few values: one per seed)."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mean, mean, mean)
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def _percentiles(draws: list[float], point: float) -> Estimate:
    draws.sort()
    last = len(draws) - 1
    return Estimate(point, draws[round(0.025 * last)], draws[round(0.975 * last)])


def paired_difference(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Estimate:
    """Mean of a - b over families, paired within each seed stratum, with a bootstrap CI.

    `a[s][i]` and `b[s][i]` are family i of seed s under two policies; each
    resample draws every stratum's families with replacement, the same draw for
    both policies.
    """
    strata = [[x - y for x, y in zip(sa, sb, strict=True)] for sa, sb in zip(a, b, strict=True)]
    return _stratified(strata, samples, seed)


def _stratified(strata: Sequence[Sequence[float]], samples: int, seed: int) -> Estimate:
    rng = random.Random(seed)
    total = sum(len(s) for s in strata)
    point = sum(sum(s) for s in strata) / total
    draws = [
        sum(sum(rng.choices(stratum, k=len(stratum))) for stratum in strata) / total
        for _ in range(samples)
    ]
    return _percentiles(draws, point)


def unpaired_difference(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Estimate:
    """Mean of a minus mean of b (different families, e.g. last vs first decile), with a
    bootstrap CI that resamples each group within each seed stratum independently."""
    rng = random.Random(seed)
    n_a, n_b = sum(len(s) for s in a), sum(len(s) for s in b)
    point = sum(map(sum, a)) / n_a - sum(map(sum, b)) / n_b
    draws = [
        sum(sum(rng.choices(s, k=len(s))) for s in a) / n_a
        - sum(sum(rng.choices(s, k=len(s))) for s in b) / n_b
        for _ in range(samples)
    ]
    return _percentiles(draws, point)


__all__ = [
    "BOOTSTRAP_SAMPLES",
    "Z95",
    "Estimate",
    "normal_interval",
    "paired_difference",
    "t95",
    "t_interval",
    "unpaired_difference",
    "wilson",
]
