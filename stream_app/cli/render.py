"""What the commands print: rich text and tables, to standard error or standard output.

Notes, progress, warnings and errors go to standard error (`console`); what a command
produces as its result (reports, tables, decisions) goes to standard output, through a
Console made when the command runs.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from stream_app.config.settings import Settings
    from stream_app.kafka.admin import TopicReport
    from stream_app.kafka.clients import SendReport
    from stream_app.kafka.embedded import EmbeddedBroker
    from stream_app.offline.candidate import CandidateScore
    from stream_app.offline.export import ExportReport
    from stream_app.offline.replay import Replay
    from stream_app.offline.snapshots import Snapshot, SnapshotStore, TrainReport
    from stream_app.sim.client import LiveStats
    from stream_app.sim.report import Report

console = Console(stderr=True)


def stdout() -> Console:
    return Console()


def invalid_settings(exc: Exception) -> None:
    console.print(f"[red]invalid settings:[/red] {exc}")


def error(message: object) -> None:
    console.print(f"[red]{message}[/red]")


# --- running ----------------------------------------------------------------------------


def broker_failed(exc: Exception) -> None:
    console.print(f"[red]cannot start the embedded broker:[/red] {exc}")


def dev_banner(broker: EmbeddedBroker, settings: Settings) -> None:
    console.print(
        f"[green]embedded broker[/green] {broker.url} (log: {broker.log_path})\n"
        f"[green]web[/green] http://{settings.web_host}:{settings.web_port}"
        "  (/healthz /readyz /metrics /leads/<id>)\n"
        # The embedded broker cannot do idempotent producers (docs/runtime-notes.md).
        f"send events:  STREAM_APP_BROKER={broker.url} STREAM_APP_KAFKA_IDEMPOTENCE=false"
        " stream-app send leads events.jsonl\n"
        f"watch output: STREAM_APP_BROKER={broker.url} stream-app tail next-best-actions\n"
        "Ctrl-C stops everything."
    )


def live_simulation(out: Console, stats: LiveStats, families: int) -> None:
    out.print(
        f"{len(stats.finished)}/{families} families done, {len(stats.enrolled)} enrolled, "
        f"{stats.decisions} decisions, mean reward per decision {stats.mean_reward:+.3f}"
    )
    for a in stats.arms():  # as the topics tell it: arm and status on the decisions
        out.print(
            f"arm {a.arm}: {a.leads} leads, {a.converted} converted, rate {a.conversion} "
            f"(95% Wilson), reward per lead {a.reward_per_lead:+.3f}"
        )
    difference = stats.learning_minus_holdout()
    if difference is not None:
        out.print(f"learning - holdout conversion: {difference} (95% bootstrap, unpaired)")


@contextmanager
def simulating(runs: int) -> Iterator[Callable[[], None]]:
    """A progress bar (standard error) over the report's runs; yields what advances it."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("simulated runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    task = progress.add_task("runs", total=runs)
    with progress:
        yield lambda: progress.advance(task)


def policies(out: Console, report: Report) -> None:
    from stream_app.sim.report import tables

    for table in tables(report):
        out.print(table)


def learning_curves(out: Console, path: Path) -> None:
    out.print(f"learning curves: {path}")


def matplotlib_missing() -> None:
    console.print(
        "[yellow]the learning-curve PNG needs matplotlib:[/yellow] pip install '.[report]'"
    )


# --- topics and records -----------------------------------------------------------------


def topics(reports: list[TopicReport]) -> None:
    for report in reports:
        colour = {"created": "green", "exists": "dim", "mismatch": "red"}[report.action]
        console.print(
            f"[{colour}]{report.action:>8}[/{colour}] {report.name} "
            f"({report.partitions} partitions) {report.detail}"
        )


def wrote(path: Path) -> None:
    console.print(f"wrote {path}")


def sent(report: SendReport, topic: str) -> None:
    for line_no, reason in report.rejected:
        console.print(f"[red]line {line_no}:[/red] {reason}")
    console.print(f"sent {report.sent}, rejected {len(report.rejected)} to {topic}")


# --- offline ----------------------------------------------------------------------------


def online_mode_warning() -> None:
    console.print(
        "[yellow]STREAM_APP_LEARNING_MODE is online:[/yellow] the online Q-learner keeps "
        "writing q-updates and will overwrite promoted entries it learns again"
    )


def rolled_back(version: int, snapshot: Snapshot) -> None:
    stdout().print(f"promoted snapshot {version} again as version {snapshot.version}")


@contextmanager
def training_progress(epochs: int) -> Iterator[Callable[[int, float], None]]:
    """A progress bar over the epochs; yields the callback that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
    ) as progress:
        task = progress.add_task("", total=epochs)

        def on_epoch(epoch: int, mean_td: float) -> None:
            progress.update(task, completed=epoch, description=f"mean |TD error| {mean_td:.4f}")

        yield on_epoch


def trained(report: TrainReport, store: SnapshotStore) -> None:
    out = stdout()
    out.print(
        f"transitions read: {report.transitions} (offsets {report.from_offset}.."
        f"{report.next_offset - 1}, {report.unreadable} unreadable)"
    )
    if report.validation is None:
        out.print("nothing new to train on; nothing promoted")
        return
    errors = ", ".join(f"{e:.4f}" for e in report.mean_abs_td_errors)
    out.print(f"epochs: {report.epochs}; mean |TD error| per epoch: {errors}")
    out.print(f"max |dQ| from the active table: {report.validation.max_drift:.4f}")
    if report.promoted is None:
        for problem in report.validation.problems:
            console.print(f"[red]validation failed:[/red] {problem}")
        return
    out.print(
        f"validation passed; promoted version {report.promoted.version} "
        f"(parent {report.promoted.parent_version}): {store.path(report.promoted.version)}"
    )


def exported(report: ExportReport, out: Path) -> None:
    topics = ", ".join(f"{t} {n}" for t, n in sorted(report.by_topic.items())) or "none"
    console.print(
        f"wrote {report.written} events to {out} ({topics}); "
        f"left out {report.skipped} invalid records"
    )


def replayed(engine: Replay) -> None:
    s = engine.summary
    actions = ", ".join(f"{a} {n}" for a, n in s.actions.most_common()) or "none"
    console.print(
        f"replayed {s.events} events ({s.invalid} invalid): {s.decisions} decisions, "
        f"{s.transitions} transitions, {s.ticks} time-rule ticks, final q_version "
        f"{engine.learner.version}\nactions: {actions}"
    )


def evaluation(score: CandidateScore, snapshot: Path | None, states: int) -> None:
    from rich.table import Table

    out = stdout()
    result = score.evaluation
    name = str(snapshot) if snapshot else "seeded priors"
    rate = f"{result.agreement:.1%}" if result.agreement is not None else "n/a"
    out.print(
        f"candidate: {name}\ndecisions: {result.decisions} ({result.chosen} chosen by the "
        f"policy, the rest overridden); agreement: {rate} ({result.agreed}/{result.chosen})"
    )
    values = Table("state", "transitions", "mean return", "candidate max Q")
    for v in sorted(result.states, key=lambda v: -v.transitions)[:states]:
        q = f"{v.candidate_value:+.3f}" if v.candidate_value is not None else "-"
        values.add_row(v.state, str(v.transitions), f"{v.mean_return:+.3f}", q)
    out.print(values)
    arms = Table("arm", "leads", "decisions", "reward/decision", "return/lead")
    for a in score.arms:
        arms.add_row(
            a.arm,
            str(a.leads),
            str(a.decisions),
            f"{a.mean_reward_per_decision:+.4f}",
            f"{a.mean_return_per_lead:+.4f}",
        )
    out.print(arms)
    if result.off_policy is None:
        out.print("IPS/DR: no decision carries a propensity and a closed step")
        return
    o = result.off_policy
    out.print(
        f"off-policy over {o.decisions} decisions: logged mean reward {o.logged_mean_reward:+.4f}, "
        f"IPS {o.ips:+.4f}, DR {o.dr:+.4f}, DM {o.dm:+.4f}"
    )
