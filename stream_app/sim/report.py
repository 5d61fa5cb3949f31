"""The held-out policy report: learning vs seeded priors vs random, and a frozen learned table.

On every seed of a declared set (`seeds.REPORT_SEEDS` by default; nothing is tuned
on them) the same population of families, in the seed's own world, is run under:

- `learning`: the production learner, online from the seeded priors;
- `priors`: the seeded priors, frozen;
- `random`: uniform over the allowed actions;

and a fresh population of the same world (other families) under:

- `frozen`: the table `learning` ended with on this seed, served as it is;
- `priors` again, so the frozen table is compared on the very same fresh families.

What is reported, each with a 95% interval (`stats`): every policy's enrollment
rate (Wilson over families) and mean return per family; the paired differences
(bootstrap over families within seeds, plus the spread over seeds and the number
of seeds won); the learning curve in deciles of arrival (first vs last); and the
issue's targets, each met or not with its number. Runs are spread over processes
(one run is single-threaded pure Python), the slow learning runs first, and each
frozen run starts as soon as its seed's learning run is done.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import orjson
from rich.table import Table

from stream_app.domain.actions import Action
from stream_app.domain.qlearning import QEntry, QTable
from stream_app.sim.engine import PolicyKind, RunConfig, RunResult, run
from stream_app.sim.seeds import REPORT_SEEDS, TUNING_SEEDS
from stream_app.sim.stats import (
    Estimate,
    normal_interval,
    paired_difference,
    t_interval,
    unpaired_difference,
    wilson,
)

DECILES = 10
FRESH = 1
"""The population number of the fresh families a frozen table is judged on."""

SEED_SETS: dict[str, range] = {"report": REPORT_SEEDS, "tuning": TUNING_SEEDS}


@dataclass(frozen=True, slots=True)
class Arm:
    """One policy on one population: `priors` runs twice (its own and the fresh one)."""

    policy: PolicyKind
    population: int

    @property
    def name(self) -> str:
        return self.policy.value + (" (fresh)" if self.population else "")


LEARNING = Arm(PolicyKind.LEARNING, 0)
PRIORS = Arm(PolicyKind.PRIORS, 0)
RANDOM = Arm(PolicyKind.RANDOM, 0)
FROZEN = Arm(PolicyKind.FROZEN, FRESH)
PRIORS_FRESH = Arm(PolicyKind.PRIORS, FRESH)
ARMS = (LEARNING, PRIORS, RANDOM, FROZEN, PRIORS_FRESH)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run, reduced to what the report needs (families in arrival order)."""

    enrolled: tuple[bool, ...]
    returns: tuple[float, ...]
    decisions: int

    @classmethod
    def of(cls, result: RunResult) -> Outcome:
        return cls(
            tuple(lead.enrolled for lead in result.leads),
            tuple(lead.reward for lead in result.leads),
            result.decisions,
        )


@dataclass(frozen=True, slots=True)
class PolicyScore:
    arm: str
    enrollment: Estimate
    mean_return: Estimate
    decisions_per_lead: float
    per_seed: tuple[float, ...]
    """Enrollment rate on each seed, in seed order."""
    deciles: tuple[Estimate, ...]
    """Enrollment rate per tenth of the families by arrival, pooled over seeds."""
    last_minus_first: Estimate


@dataclass(frozen=True, slots=True)
class Comparison:
    """`arm` minus `baseline` on the same families."""

    arm: str
    baseline: str
    enrollment: Estimate
    mean_return: Estimate
    over_seeds: Estimate
    """Student t interval of the per-seed enrollment differences."""
    seeds_won: int


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    value: str
    met: bool


@dataclass(frozen=True, slots=True)
class Report:
    seed_set: str
    seeds: tuple[int, ...]
    tuning_seeds: tuple[int, ...]
    report_seeds: tuple[int, ...]
    leads: int
    max_steps: int
    workers: int
    elapsed_s: float
    scores: tuple[PolicyScore, ...]
    comparisons: tuple[Comparison, ...]
    targets: tuple[Target, ...]

    def score(self, arm: Arm) -> PolicyScore:
        return next(s for s in self.scores if s.arm == arm.name)


Entries = tuple[tuple[tuple[str, Action], QEntry], ...]
Job = tuple[PolicyKind, RunConfig, Entries | None]


def _run_job(job: Job) -> tuple[Outcome, Entries]:
    """One run, in whichever process: the learned table travels as plain entries (a
    QTable's rows are read-only views, which do not pickle)."""
    kind, config, entries = job
    table = QTable.from_entries(entries) if entries is not None else None
    result = run(kind, config, table=table)
    learned = tuple(result.table.items()) if kind is PolicyKind.LEARNING else ()
    return Outcome.of(result), learned


class _Runner:
    """Runs jobs inline (one worker) or in a process pool, frozen runs after learning."""

    def __init__(self, workers: int, on_run: Callable[[], None]) -> None:
        self.workers = workers
        self.on_run = on_run

    def all(self, seeds: Sequence[int], leads: int, max_steps: int) -> dict[Arm, list[Outcome]]:
        def config(seed: int, population: int) -> RunConfig:
            return RunConfig(seed=seed, leads=leads, max_steps=max_steps, population=population)

        first: list[tuple[Arm, int, Job]] = [
            (arm, seed, (arm.policy, config(seed, arm.population), None))
            for arm in (LEARNING, PRIORS, RANDOM, PRIORS_FRESH)
            for seed in seeds
        ]
        done: dict[tuple[Arm, int], tuple[Outcome, Entries]] = {}
        if self.workers == 1:
            for arm, seed, job in first:
                done[arm, seed] = self._one(_run_job(job))
            for seed in seeds:
                frozen = (PolicyKind.FROZEN, config(seed, FRESH), done[LEARNING, seed][1])
                done[FROZEN, seed] = self._one(_run_job(frozen))
        else:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                pending: dict[Future[tuple[Outcome, Entries]], tuple[Arm, int]] = {
                    pool.submit(_run_job, job): (arm, seed) for arm, seed, job in first
                }
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        arm, seed = pending.pop(future)
                        done[arm, seed] = self._one(future.result())
                        if arm == LEARNING:
                            learned = done[arm, seed][1]
                            frozen = (PolicyKind.FROZEN, config(seed, FRESH), learned)
                            pending[pool.submit(_run_job, frozen)] = (FROZEN, seed)
        return {arm: [done[arm, seed][0] for seed in seeds] for arm in ARMS}

    def _one(self, result: tuple[Outcome, Entries]) -> tuple[Outcome, Entries]:
        self.on_run()
        return result


def _deciles(values: Sequence[bool]) -> list[list[bool]]:
    groups: list[list[bool]] = [[] for _ in range(DECILES)]
    for i, value in enumerate(values):
        groups[i * DECILES // len(values)].append(value)
    return groups


def _floats(values: Sequence[bool]) -> list[float]:
    return [float(v) for v in values]


def score(arm: Arm, runs: Sequence[Outcome]) -> PolicyScore:
    """Rates and intervals for one arm's runs, one run per seed."""
    enrolled = [e for r in runs for e in r.enrolled]
    returns = [x for r in runs for x in r.returns]
    by_decile = [_deciles(r.enrolled) for r in runs]
    deciles = tuple(
        wilson(sum(sum(d[k]) for d in by_decile), sum(len(d[k]) for d in by_decile))
        for k in range(DECILES)
    )
    return PolicyScore(
        arm=arm.name,
        enrollment=wilson(sum(enrolled), len(enrolled)),
        mean_return=normal_interval(returns),
        decisions_per_lead=sum(r.decisions for r in runs) / len(enrolled),
        per_seed=tuple(sum(r.enrolled) / len(r.enrolled) for r in runs),
        deciles=deciles,
        last_minus_first=unpaired_difference(
            [_floats(d[-1]) for d in by_decile], [_floats(d[0]) for d in by_decile]
        ),
    )


def compare(arm: Arm, base: Arm, runs: dict[Arm, list[Outcome]]) -> Comparison:
    """`arm` minus `base`, family by family (both ran on the same population)."""
    if arm.population != base.population:
        raise ValueError("a paired comparison needs both arms on the same families")
    a, b = runs[arm], runs[base]
    per_seed = [
        (sum(x.enrolled) - sum(y.enrolled)) / len(x.enrolled) for x, y in zip(a, b, strict=True)
    ]
    return Comparison(
        arm=arm.name,
        baseline=base.name,
        enrollment=paired_difference(
            [_floats(r.enrolled) for r in a], [_floats(r.enrolled) for r in b]
        ),
        mean_return=paired_difference([r.returns for r in a], [r.returns for r in b]),
        over_seeds=t_interval(per_seed),
        seeds_won=sum(d > 0 for d in per_seed),
    )


def targets(scores: dict[Arm, PolicyScore], vs: dict[Arm, Comparison]) -> tuple[Target, ...]:
    """The issue's targets, each with the number that meets it or not."""
    learning, priors = scores[LEARNING], scores[PRIORS]
    gain, frozen = vs[LEARNING], vs[FROZEN]
    separate = learning.enrollment.above(priors.enrollment)
    curve = learning.last_minus_first
    return (
        Target(
            "online learning >= priors + 0.05, non-overlapping 95% CIs",
            f"{gain.enrollment} (learning's CI {'above' if separate else 'not above'} priors')",
            gain.enrollment.mean >= 0.05 and separate,
        ),
        Target("learning: last decile >= first decile", str(curve), curve.mean >= 0.0),
        Target(
            "frozen learned table >= priors + 0.10 on fresh families",
            str(frozen.enrollment),
            frozen.enrollment.mean >= 0.10,
        ),
    )


def evaluate(
    seeds: Sequence[int],
    leads: int,
    max_steps: int = 25,
    workers: int | None = None,
    on_run: Callable[[], None] = lambda: None,
    seed_set: str = "custom",
) -> Report:
    """Run every arm on every seed and score them; `on_run` is called after each run."""
    if leads < DECILES:
        raise ValueError(f"need at least {DECILES} families per seed for the deciles")
    jobs = len(ARMS) * len(seeds)
    workers = max(1, min(jobs, workers or os.cpu_count() or 1))
    started = time.monotonic()
    runs = _Runner(workers, on_run).all(seeds, leads, max_steps)
    scores = {arm: score(arm, runs[arm]) for arm in ARMS}
    vs = {
        LEARNING: compare(LEARNING, PRIORS, runs),
        RANDOM: compare(RANDOM, PRIORS, runs),
        FROZEN: compare(FROZEN, PRIORS_FRESH, runs),
    }
    return Report(
        seed_set=seed_set,
        seeds=tuple(seeds),
        tuning_seeds=tuple(TUNING_SEEDS),
        report_seeds=tuple(REPORT_SEEDS),
        leads=leads,
        max_steps=max_steps,
        workers=workers,
        elapsed_s=round(time.monotonic() - started, 1),
        scores=tuple(scores.values()),
        comparisons=tuple(vs.values()),
        targets=targets(scores, vs),
    )


def runs_total(seeds: Sequence[int]) -> int:
    """How many runs `evaluate` makes (for a progress bar)."""
    return len(ARMS) * len(seeds)


def to_json(report: Report) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2)


def tables(report: Report) -> list[Table]:
    """The report as rich tables: policies, differences, learning curve, targets."""
    seeds = ", ".join(map(str, report.seeds))
    policies = Table(
        title=f"Policies: {report.leads} families x {len(report.seeds)} seeds "
        f"({report.seed_set} seeds: {seeds})",
        caption=f"tuning seeds {_span(report.tuning_seeds)}; report seeds "
        f"{_span(report.report_seeds)}. 95% CIs over families: Wilson (enrollment), normal "
        f"(return). {report.elapsed_s:.0f}s on {report.workers} process(es).",
    )
    for column in ("policy", "enrollment", "mean return", "decisions/lead", "per seed"):
        policies.add_column(column, justify="left" if column == "policy" else "right")
    for s in report.scores:
        per_seed = " ".join(f"{x:.2f}" for x in s.per_seed)
        policies.add_row(
            s.arm, str(s.enrollment), str(s.mean_return), f"{s.decisions_per_lead:.1f}", per_seed
        )
    diffs = Table(
        title="Paired differences (same families)",
        caption="bootstrap over families within seeds; 'over seeds': t over per-seed differences",
    )
    for column in ("difference", "enrollment", "mean return", "over seeds", "seeds won"):
        diffs.add_column(column, justify="left" if column == "difference" else "right")
    for c in report.comparisons:
        diffs.add_row(
            f"{c.arm} - {c.baseline}",
            str(c.enrollment),
            str(c.mean_return),
            str(c.over_seeds),
            f"{c.seeds_won}/{len(report.seeds)}",
        )
    curve = Table(title="Enrollment by decile of arrival (first ... last)")
    curve.add_column("policy")
    for k in range(DECILES):
        curve.add_column(f"d{k + 1}", justify="right")
    for s in report.scores:
        curve.add_row(s.arm, *(f"{d.mean:.2f}" for d in s.deciles))
    ends = Table(title="Learning curve: first vs last decile (95% CIs)")
    for column in ("policy", "first decile", "last decile", "last - first"):
        ends.add_column(column, justify="left" if column == "policy" else "right")
    for s in report.scores:
        ends.add_row(s.arm, str(s.deciles[0]), str(s.deciles[-1]), str(s.last_minus_first))
    goals = Table(title="Targets (issue 12)")
    for column in ("target", "value", "met"):
        goals.add_column(column)
    for t in report.targets:
        goals.add_row(t.name, t.value, "[green]yes[/green]" if t.met else "[red]no[/red]")
    return [policies, diffs, curve, ends, goals]


def _span(seeds: Sequence[int]) -> str:
    return (
        f"{seeds[0]}-{seeds[-1]}"
        if list(seeds) == list(range(seeds[0], seeds[-1] + 1))
        else (", ".join(map(str, seeds)))
    )


class MatplotlibMissing(RuntimeError):
    """The plot needs the optional `report` extra."""


def plot(report: Report, path: Path) -> Path:
    """Enrollment by decile of arrival per policy, with 95% bands, as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MatplotlibMissing(str(exc)) from exc
    figure, ax = plt.subplots(figsize=(8, 4.5))
    x = list(range(1, DECILES + 1))
    for s in report.scores:
        ax.plot(x, [d.mean for d in s.deciles], marker="o", label=s.arm)
        ax.fill_between(x, [d.low for d in s.deciles], [d.high for d in s.deciles], alpha=0.15)
    ax.set_xlabel("decile of families by arrival")
    ax.set_ylabel("enrollment rate")
    ax.grid(alpha=0.3)
    ax.legend()
    figure.suptitle(
        f"Learning curves: {report.leads} families x {len(report.seeds)} "
        f"{report.seed_set} seeds (95% Wilson bands)"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


__all__ = [
    "ARMS",
    "FROZEN",
    "LEARNING",
    "PRIORS",
    "PRIORS_FRESH",
    "RANDOM",
    "SEED_SETS",
    "Arm",
    "Comparison",
    "MatplotlibMissing",
    "Outcome",
    "PolicyScore",
    "Report",
    "Target",
    "compare",
    "evaluate",
    "plot",
    "runs_total",
    "score",
    "tables",
    "targets",
    "to_json",
]
