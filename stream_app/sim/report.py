"""The held-out policy report: learning vs seeded priors vs random, and a frozen learned table.

On every seed of a declared set (`seeds.REPORT_SEEDS` by default; nothing is tuned
on them) the same population of families, in the seed's own world, is run under:

- `learning`: the production learner, online from the seeded priors;
- `priors`: the seeded priors, frozen;
- `random`: uniform over the allowed actions;

and a fresh population of the same world (other families) under:

- `frozen`: the table `learning` ended with on this seed, promoted as `PROMOTION`
  says (`stream-app train --epochs 0 --trust-visits 20 --exploit`: entries of fewer
  than 20 visits back at their prior, served greedily by every worker);
- `priors` again, so the frozen table is compared on the very same fresh families.

and, on the first population again, `learning` with the holdout share `stream-app dev
--simulate` runs with (`process.DEV_HOLDOUT_SHARE`): the worker's own split, with the
running guard judging every transition as the worker's Q-learner does. Its per-arm
numbers are what the live summary shows through the broker; because the `priors` run
played the very same families, each arm is also compared with itself under the priors.

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
from dataclasses import dataclass, field, replace
from pathlib import Path

import orjson
from rich.table import Table

from stream_app.config.params import lead_params
from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.guard import GuardStats
from stream_app.domain.qlearning import QEntry, QTable
from stream_app.domain.training import trusted
from stream_app.offline.snapshots import TrainOptions
from stream_app.sim.engine import PolicyKind, RunConfig, RunResult, run
from stream_app.sim.process import DEV_HOLDOUT_SHARE
from stream_app.sim.seeds import FRESH_REPORT_SEEDS, REPORT_SEEDS, TUNING_SEEDS
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

PROMOTION = TrainOptions(epochs=0, trust_visits=20, exploit=True)
"""How the frozen table is promoted: the online table as it is (no replay), each
entry tried fewer than 20 times at its prior, served greedily. Chosen on tuning
seeds 1-10 over replayed tables and a lower confidence bound (README, Learning)."""

SEED_SETS: dict[str, range] = {
    "report": REPORT_SEEDS,
    "fresh": FRESH_REPORT_SEEDS,
    "tuning": TUNING_SEEDS,
}


@dataclass(frozen=True, slots=True)
class Arm:
    """One policy on one population: `priors` runs twice (its own and the fresh one).

    `holdout` > 0 runs it with that share of leads in the frozen-priors holdout arm.
    """

    policy: PolicyKind
    population: int
    holdout: float = 0.0

    @property
    def name(self) -> str:
        split = f" + holdout {self.holdout:g}" if self.holdout else ""
        return self.policy.value + split + (" (fresh)" if self.population else "")


LEARNING = Arm(PolicyKind.LEARNING, 0)
PRIORS = Arm(PolicyKind.PRIORS, 0)
RANDOM = Arm(PolicyKind.RANDOM, 0)
FROZEN = Arm(PolicyKind.FROZEN, FRESH)
PRIORS_FRESH = Arm(PolicyKind.PRIORS, FRESH)
GUARDED = Arm(PolicyKind.LEARNING, 0, DEV_HOLDOUT_SHARE)
ARMS = (LEARNING, PRIORS, RANDOM, FROZEN, PRIORS_FRESH, GUARDED)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run, reduced to what the report needs (families in arrival order)."""

    enrolled: tuple[bool, ...]
    returns: tuple[float, ...]
    decisions: int
    holdout: tuple[bool, ...] = ()
    """Family by family: decided by the holdout arm (empty: no family was)."""
    guard: GuardStats = field(default_factory=GuardStats)
    z: float = 0.0
    """The guard's last z (0 until both arms had enough leads)."""
    greedy_share: float = 0.0
    """Share of the run's transitions after which the guard had stopped exploration."""

    @classmethod
    def of(cls, result: RunResult) -> Outcome:
        holdout = tuple(lead.arm == "holdout" for lead in result.leads)
        return cls(
            tuple(lead.enrolled for lead in result.leads),
            tuple(lead.reward for lead in result.leads),
            result.decisions,
            holdout if any(holdout) else (),
            result.guard,
            result.verdict.z,
            result.greedy_steps / result.transitions if result.transitions else 0.0,
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
class GuardArm:
    """One arm of the dev split, pooled over seeds."""

    arm: str
    families: int
    enrollment: Estimate
    """Wilson over the arm's families."""
    vs_priors: Estimate
    """These families' enrollment here minus under the `priors` run (paired bootstrap)."""
    guard_leads: int
    """Leads the guard counted (a first step closed), summed over seeds."""
    guard_conversion: float
    """The guard's conversions / its leads: what its sequential test compares."""
    guard_return: float
    """The guard's return per lead."""


@dataclass(frozen=True, slots=True)
class GuardReport:
    """The dev split as the running guard and the families saw it."""

    arms: tuple[GuardArm, ...]
    learning_minus_holdout: Estimate
    """Learning-arm minus holdout-arm enrollment: different families (what dev shows)."""
    z: tuple[float, ...]
    """The guard's last z on each seed."""
    greedy_share: float
    """Share of all transitions after which the guard had stopped exploration."""


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
    guard: GuardReport
    targets: tuple[Target, ...]

    def score(self, arm: Arm) -> PolicyScore:
        return next(s for s in self.scores if s.arm == arm.name)


Entries = tuple[tuple[tuple[str, Action], QEntry], ...]
Job = tuple[PolicyKind, RunConfig, Entries | None, float]


def _run_job(job: Job) -> tuple[Outcome, Entries]:
    """One run, in whichever process: the learned table travels as plain entries (a
    QTable's rows are read-only views, which do not pickle). A holdout share replaces
    the one of the `Settings` the run is otherwise configured by."""
    kind, config, entries, holdout = job
    table = promoted(entries) if entries is not None else None
    params = replace(lead_params(Settings()), holdout_share=holdout) if holdout else None
    result = run(kind, config, params, table=table)
    learned = tuple(result.table.items()) if kind is PolicyKind.LEARNING and not holdout else ()
    return Outcome.of(result), learned


def promoted(entries: Entries) -> QTable:
    """The learned table as `PROMOTION` promotes it; the frozen run serves it greedily."""
    return trusted(QTable.from_entries(entries), PROMOTION.trust_visits)


class _Runner:
    """Runs jobs inline (one worker) or in a process pool, frozen runs after learning."""

    def __init__(self, workers: int, on_run: Callable[[], None]) -> None:
        self.workers = workers
        self.on_run = on_run

    def all(self, seeds: Sequence[int], leads: int, max_steps: int) -> dict[Arm, list[Outcome]]:
        def config(seed: int, population: int) -> RunConfig:
            return RunConfig(seed=seed, leads=leads, max_steps=max_steps, population=population)

        first: list[tuple[Arm, int, Job]] = [
            (arm, seed, (arm.policy, config(seed, arm.population), None, arm.holdout))
            for arm in (LEARNING, GUARDED, PRIORS, RANDOM, PRIORS_FRESH)
            for seed in seeds
        ]
        done: dict[tuple[Arm, int], tuple[Outcome, Entries]] = {}
        if self.workers == 1:
            for arm, seed, job in first:
                done[arm, seed] = self._one(_run_job(job))
            for seed in seeds:
                frozen = (PolicyKind.FROZEN, config(seed, FRESH), done[LEARNING, seed][1], 0.0)
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
                            frozen = (PolicyKind.FROZEN, config(seed, FRESH), learned, 0.0)
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


def _of_arm(run: Outcome, values: Sequence[float], holdout: bool) -> list[float]:
    """The values of the families of one arm of `run` (`values` in family order)."""
    arms = run.holdout or (False,) * len(values)
    return [v for v, h in zip(values, arms, strict=True) if h == holdout]


def guard_report(split: Sequence[Outcome], priors: Sequence[Outcome]) -> GuardReport:
    """The dev split's arms: the families' enrollment, the guard's own counts, and each
    arm against the same families under the priors (`priors` played them all)."""
    arms = []
    for name, holdout in (("learning", False), ("holdout", True)):
        here = [_of_arm(r, _floats(r.enrolled), holdout) for r in split]
        there = [
            _of_arm(r, _floats(p.enrolled), holdout) for r, p in zip(split, priors, strict=True)
        ]
        families = sum(map(len, here))
        totals = [r.guard.holdout if holdout else r.guard.learning for r in split]
        leads = sum(t.leads for t in totals)
        arms.append(
            GuardArm(
                arm=name,
                families=families,
                enrollment=wilson(round(sum(map(sum, here))), families),
                vs_priors=paired_difference(here, there),
                guard_leads=leads,
                guard_conversion=sum(t.conversions for t in totals) / leads if leads else 0.0,
                guard_return=sum(t.return_sum for t in totals) / leads if leads else 0.0,
            )
        )
    return GuardReport(
        arms=tuple(arms),
        learning_minus_holdout=unpaired_difference(
            [_of_arm(r, _floats(r.enrolled), False) for r in split],
            [_of_arm(r, _floats(r.enrolled), True) for r in split],
        ),
        z=tuple(r.z for r in split),
        greedy_share=sum(r.greedy_share for r in split) / len(split),
    )


def targets(
    scores: dict[Arm, PolicyScore], vs: dict[Arm, Comparison], guard: GuardReport
) -> tuple[Target, ...]:
    """The issue's targets, each with the number that meets it or not."""
    learning, priors = scores[LEARNING], scores[PRIORS]
    gain, frozen = vs[LEARNING], vs[FROZEN]
    split = guard.arms[0].vs_priors
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
        Target(
            "dev split, in process: learning arm not significantly below priors "
            "(same families, 95% CI reaches 0 or above)",
            str(split),
            split.high >= 0.0,
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
    guard = guard_report(runs[GUARDED], runs[PRIORS])
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
        guard=guard,
        targets=targets(scores, vs, guard),
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
    split = Table(
        title=f"Running guard on the dev split ({GUARDED.name}): per arm, pooled over seeds",
        caption="enrollment: Wilson over the arm's families; vs priors: the same families "
        "under the priors run (paired bootstrap); guard: the Q-learner's own counts. "
        f"learning - holdout (different families): {report.guard.learning_minus_holdout}; "
        f"guard z per seed: {' '.join(f'{z:+.2f}' for z in report.guard.z)}; greedy after "
        f"{report.guard.greedy_share:.1%} of transitions.",
    )
    for column in (
        "arm",
        "families",
        "enrollment",
        "vs priors",
        "guard leads",
        "guard conv.",
        "guard return/lead",
    ):
        split.add_column(column, justify="left" if column == "arm" else "right")
    for a in report.guard.arms:
        split.add_row(
            a.arm,
            str(a.families),
            str(a.enrollment),
            str(a.vs_priors),
            str(a.guard_leads),
            f"{a.guard_conversion:.3f}",
            f"{a.guard_return:+.3f}",
        )
    goals = Table(title="Targets (issue 12)")
    for column in ("target", "value", "met"):
        goals.add_column(column)
    for t in report.targets:
        goals.add_row(t.name, t.value, "[green]yes[/green]" if t.met else "[red]no[/red]")
    return [policies, diffs, curve, ends, split, goals]


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
    "GUARDED",
    "LEARNING",
    "PRIORS",
    "PRIORS_FRESH",
    "PROMOTION",
    "RANDOM",
    "SEED_SETS",
    "Arm",
    "Comparison",
    "GuardArm",
    "GuardReport",
    "MatplotlibMissing",
    "Outcome",
    "PolicyScore",
    "Report",
    "Target",
    "compare",
    "evaluate",
    "guard_report",
    "plot",
    "promoted",
    "runs_total",
    "score",
    "tables",
    "targets",
    "to_json",
]
