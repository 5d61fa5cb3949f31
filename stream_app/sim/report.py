"""Policy quality: learning vs seeded priors vs uniform random, with 95% intervals.

Each replicate is an independent population (seed + r) run under all three
policies, so the policies face the same families. Within one learning run the
leads are not independent (what one family teaches changes the next family's
decisions), so intervals are computed across replicates: Student t over the
replicate means. With a single replicate the interval falls back to a normal
approximation over leads, which is too narrow for the learning policy, and the
table says so.

Learning curves cut each run's leads into batches by arrival order: a batch's
enrollment rate and mean return, averaged over replicates, show whether later
families are served better than earlier ones.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from stream_app.sim.engine import PolicyKind, RunConfig, RunResult, run

# Two-sided 95% Student t quantiles by degrees of freedom; 1.96 beyond the table.
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)
_T95_MORE = {15: 2.131, 20: 2.086, 30: 2.042}


def t95(df: int) -> float:
    if df < 1:
        raise ValueError("need at least two values for an interval")
    if df <= len(_T95):
        return _T95[df - 1]
    return next((t for limit, t in sorted(_T95_MORE.items()) if df <= limit), 1.96)


@dataclass(frozen=True, slots=True)
class Estimate:
    mean: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def mean_ci(
    values: Sequence[float], bounds: tuple[float, float] = (-math.inf, math.inf)
) -> Estimate:
    """Mean with a 95% Student t interval (a point when there is one value).

    `bounds` clips the interval to what the quantity can be (a rate is in [0, 1]).
    """
    mean = statistics.fmean(values)
    if len(values) < 2:
        return Estimate(mean, mean, mean)
    half = t95(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
    low, high = bounds
    return Estimate(mean, max(low, mean - half), min(high, mean + half))


_RATE = (0.0, 1.0)
_ANY = (-math.inf, math.inf)


@dataclass(frozen=True, slots=True)
class PolicyScore:
    policy: PolicyKind
    enrollment: Estimate
    mean_return: Estimate
    decisions_per_lead: float
    curve_enrollment: tuple[Estimate, ...]
    curve_return: tuple[Estimate, ...]


@dataclass(frozen=True, slots=True)
class Report:
    seed: int
    leads: int
    replicates: int
    batch: int
    scores: tuple[PolicyScore, ...]


def _batches(values: Sequence[float], size: int) -> list[float]:
    return [statistics.fmean(values[i : i + size]) for i in range(0, len(values), size)]


def score(policy: PolicyKind, runs: Sequence[RunResult], batch: int) -> PolicyScore:
    """Point estimates and intervals for one policy's replicate runs."""
    enrolled = [[float(lead.enrolled) for lead in r.leads] for r in runs]
    returns = [[lead.reward for lead in r.leads] for r in runs]
    if len(runs) > 1:
        enrollment = mean_ci([statistics.fmean(v) for v in enrolled], _RATE)
        mean_return = mean_ci([statistics.fmean(v) for v in returns])
    else:
        enrollment, mean_return = mean_ci(enrolled[0], _RATE), mean_ci(returns[0])
    curves = []
    for per_run, bounds in ((enrolled, _RATE), (returns, _ANY)):
        batched = [_batches(v, batch) for v in per_run]
        curves.append(tuple(mean_ci(col, bounds) for col in zip(*batched, strict=True)))
    leads = sum(len(r.leads) for r in runs)
    return PolicyScore(
        policy=policy,
        enrollment=enrollment,
        mean_return=mean_return,
        decisions_per_lead=sum(r.decisions for r in runs) / leads,
        curve_enrollment=curves[0],
        curve_return=curves[1],
    )


def _run_job(job: tuple[PolicyKind, RunConfig]) -> RunResult:
    return run(*job)


def evaluate(seed: int, leads: int, replicates: int, batch: int, max_steps: int = 25) -> Report:
    """Run every policy on every replicate population, in parallel across cores."""
    jobs = [
        (kind, RunConfig(seed=seed + r, leads=leads, max_steps=max_steps))
        for kind in PolicyKind
        for r in range(replicates)
    ]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    if workers == 1:
        results = [_run_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_run_job, jobs))
    scores = tuple(
        score(kind, [r for r in results if r.policy is kind], batch) for kind in PolicyKind
    )
    return Report(seed, leads, replicates, batch, scores)


def table(report: Report) -> Table:
    """The comparison as a rich table: one row per policy."""
    basis = (
        f"95% CI over {report.replicates} replicates"
        if report.replicates > 1
        else "95% CI over leads (one replicate: too narrow for the learning policy)"
    )
    out = Table(
        title=f"Policy quality: {report.leads} families x {report.replicates} replicates, "
        f"seed {report.seed}",
        caption=basis,
    )
    for column in ("policy", "enrollment rate", "mean return", "decisions/lead"):
        out.add_column(column, justify="left" if column == "policy" else "right")
    for s in report.scores:
        out.add_row(
            s.policy.value, str(s.enrollment), str(s.mean_return), f"{s.decisions_per_lead:.1f}"
        )
    return out


class MatplotlibMissing(RuntimeError):
    """The plot needs the optional `report` extra."""


def plot(report: Report, path: Path) -> Path:
    """Learning curves (enrollment rate and mean return per batch of arrivals) as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MatplotlibMissing(str(exc)) from exc
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for s in report.scores:
        for ax, curve in zip(axes, (s.curve_enrollment, s.curve_return), strict=True):
            x = [(i + 1) * report.batch for i in range(len(curve))]
            ax.plot(x, [e.mean for e in curve], marker="o", label=s.policy.value)
            ax.fill_between(x, [e.low for e in curve], [e.high for e in curve], alpha=0.2)
    for ax, label in zip(axes, ("enrollment rate", "mean return per lead"), strict=True):
        ax.set_xlabel(f"families by arrival (batches of {report.batch})")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend()
    figure.suptitle(
        f"Learning curves: {report.leads} families x {report.replicates} replicates "
        f"(seed {report.seed}, 95% CI bands)"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


__all__ = [
    "Estimate",
    "MatplotlibMissing",
    "PolicyScore",
    "Report",
    "evaluate",
    "mean_ci",
    "plot",
    "score",
    "t95",
    "table",
]
