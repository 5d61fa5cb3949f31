"""The `stream-app` command: parse arguments, build Settings, dispatch. Nothing more."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from stream_app.config.settings import Settings

if TYPE_CHECKING:
    from stream_app.kafka.admin import TopicReport

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
topics_app = typer.Typer(no_args_is_help=True, help="Create, verify and document topics.")
app.add_typer(topics_app, name="topics")
console = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except Exception as exc:  # pydantic's error already names the variable and the rule
        console.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None


def _run_worker(settings: Settings) -> None:
    import faust

    from stream_app.worker.app import create_app

    runtime = create_app(settings)
    worker = faust.Worker(runtime.app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


@app.command()
def worker() -> None:
    """Run one worker against STREAM_APP_BROKER (scale out by starting more)."""
    from stream_app.kafka.admin import apply_topics

    settings = _settings()
    _report_topics(asyncio.run(apply_topics(settings)))
    _run_worker(settings)


@app.command()
def dev(
    partitions: Annotated[int, typer.Option(help="Partitions per lead-keyed topic.")] = 4,
    web_port: Annotated[int, typer.Option(help="Web server port (/metrics, /leads/...).")] = 6066,
    simulate: Annotated[
        int, typer.Option(help="Also run this many simulated families against the worker.")
    ] = 0,
) -> None:
    """Start an embedded broker, create the topics and run a worker, all in one process."""
    from stream_app.kafka.admin import apply_topics
    from stream_app.kafka.embedded import BrokerError, start_broker

    data_dir = Path(".stream-app")
    data_dir.mkdir(exist_ok=True)
    try:
        broker = start_broker(log_path=data_dir / "broker.log")
    except BrokerError as exc:
        console.print(f"[red]cannot start the embedded broker:[/red] {exc}")
        raise typer.Exit(1) from None
    try:
        settings = _settings(
            broker=broker.url,
            partitions=partitions,
            web_port=web_port,
            data_dir=data_dir,
            session_timeout_s=6.0,
            heartbeat_interval_s=1.0,
            rebalance_timeout_s=6.0,
        )
        _report_topics(asyncio.run(apply_topics(settings)))
        console.print(
            f"[green]embedded broker[/green] {broker.url} (log: {broker.log_path})\n"
            f"[green]web[/green] http://{settings.web_host}:{settings.web_port}"
            "  (/healthz /readyz /metrics /leads/<id>)\n"
            f"send events:  STREAM_APP_BROKER={broker.url} stream-app send leads events.jsonl\n"
            f"watch output: STREAM_APP_BROKER={broker.url} stream-app tail next-best-actions\n"
            "Ctrl-C stops everything."
        )
        simulator = _start_simulator(settings, simulate) if simulate else None
        try:
            _run_worker(settings)
        finally:
            if simulator is not None and simulator.poll() is None:
                simulator.terminate()
    finally:
        broker.stop()


def _start_simulator(settings: Settings, families: int) -> subprocess.Popen[bytes]:
    """`stream-app simulate` in its own process: faust.Worker owns this one's event loop.

    It waits for the worker's /readyz itself, so it can start before the worker.
    """
    env = {**os.environ, "STREAM_APP_BROKER": settings.broker}
    ready = f"http://127.0.0.1:{settings.web_port}/readyz"
    command = [sys.executable, "-m", "stream_app", "simulate", "--leads", str(families)]
    return subprocess.Popen([*command, "--ready-url", ready], env=env)


@app.command(name="simulate")
def simulate_command(
    leads: Annotated[
        int | None, typer.Option(help="Simulated families (default 20; 400 per run with --report).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed: the same seed makes the same families.")] = 1,
    max_steps: Annotated[int, typer.Option(help="Decisions answered per family at most.")] = 25,
    report: Annotated[
        bool, typer.Option("--report", help="Compare policies in process instead (no broker).")
    ] = False,
    replicates: Annotated[int, typer.Option(help="--report: populations per policy.")] = 5,
    batch: Annotated[int, typer.Option(help="--report: families per learning-curve point.")] = 50,
    plot: Annotated[Path, typer.Option(help="--report: where to write the PNG.")] = Path(
        "simulation-report.png"
    ),
    timeout_s: Annotated[float, typer.Option(help="Give up on the live run after this.")] = 600.0,
    ready_url: Annotated[
        str | None, typer.Option(help="Wait until this URL answers 200 (a worker's /readyz).")
    ] = None,
) -> None:
    """Simulated families that react to the published next-best-actions (or --report)."""
    if report:
        _simulation_report(seed, leads or 400, replicates, batch, max_steps, plot)
        return
    families = leads or 20
    import uuid

    from stream_app.sim.client import simulate, wait_ready

    settings = _settings()
    if ready_url:
        asyncio.run(wait_ready(ready_url, timeout_s))
    out = Console()
    stats = asyncio.run(
        simulate(settings, families, seed, uuid.uuid4().hex[:8], max_steps, timeout_s, out)
    )
    out.print(
        f"{len(stats.finished)}/{families} families done, {len(stats.enrolled)} enrolled, "
        f"{stats.decisions} decisions, mean reward per decision {stats.mean_reward:+.3f}"
    )
    if len(stats.finished) < families:
        raise typer.Exit(1)


def _simulation_report(
    seed: int, leads: int, replicates: int, batch: int, max_steps: int, plot: Path
) -> None:
    from stream_app.sim.report import MatplotlibMissing, evaluate, table
    from stream_app.sim.report import plot as plot_report

    out = Console()
    with out.status(f"simulating {leads} families x {replicates} replicates x 3 policies"):
        result = evaluate(seed, leads, replicates, batch, max_steps)
    out.print(table(result))
    try:
        out.print(f"learning curves: {plot_report(result, plot)}")
    except MatplotlibMissing:
        console.print(
            "[yellow]the learning-curve PNG needs matplotlib:[/yellow] pip install '.[report]'"
        )
        raise typer.Exit(1) from None


@topics_app.command("apply")
def topics_apply() -> None:
    """Create missing catalog topics and verify existing ones on STREAM_APP_BROKER."""
    from stream_app.kafka.admin import apply_topics

    reports = asyncio.run(apply_topics(_settings()))
    _report_topics(reports)
    if any(r.action == "mismatch" for r in reports):
        raise typer.Exit(1)


@topics_app.command("schemas")
def topics_schemas() -> None:
    """Regenerate topics/schemas/*.schema.json from the wire models."""
    from stream_app.wire.catalog import write_schemas

    for path in write_schemas():
        console.print(f"wrote {path}")


def _report_topics(reports: list[TopicReport]) -> None:
    for report in reports:
        colour = {"created": "green", "exists": "dim", "mismatch": "red"}[report.action]
        console.print(
            f"[{colour}]{report.action:>8}[/{colour}] {report.name} "
            f"({report.partitions} partitions) {report.detail}"
        )


@app.command()
def send(
    topic: Annotated[str, typer.Argument(help="Input topic, e.g. leads or interactions.")],
    file: Annotated[str, typer.Argument(help="JSON lines file, or - for standard input.")],
) -> None:
    """Validate JSON lines against the event models and produce the valid ones."""
    from stream_app.kafka.clients import SendReport, send_lines

    settings = _settings()
    stream = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")  # noqa: SIM115
    with stream:
        report: SendReport = asyncio.run(send_lines(settings, topic, stream))
    for line_no, reason in report.rejected:
        console.print(f"[red]line {line_no}:[/red] {reason}")
    console.print(f"sent {report.sent}, rejected {len(report.rejected)} to {topic}")
    if report.rejected:
        raise typer.Exit(1)


@app.command()
def tail(
    topic: Annotated[str, typer.Argument(help="Any catalog topic, e.g. next-best-actions.")],
    from_beginning: Annotated[bool, typer.Option(help="Start at the earliest offset.")] = True,
    limit: Annotated[int, typer.Option(help="Stop after this many records (0: never).")] = 0,
) -> None:
    """Print a topic's records as JSON lines on standard output."""
    from stream_app.kafka.clients import tail_topic

    asyncio.run(tail_topic(_settings(), topic, from_beginning, limit))


# --- batch learning and offline analysis (issue 8) ---------------------------------


@app.command()
def train(
    epochs: Annotated[int, typer.Option(min=1, help="Passes of experience replay.")] = 10,
    seed: Annotated[
        int, typer.Option(help="Replay sampling seed (the same seed, the same table).")
    ] = 1,
    max_drift: Annotated[
        float, typer.Option(min=0.0, help="Reject a candidate that moves any Q further than this.")
    ] = 2.0,
    rollback: Annotated[
        int | None, typer.Option(help="Promote this kept snapshot again instead of training.")
    ] = None,
) -> None:
    """Train on new lead-transitions, validate, keep a versioned snapshot and promote it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from stream_app.config.params import learner_params
    from stream_app.config.settings import LearningMode
    from stream_app.offline.snapshots import (
        SnapshotStore,
        TrainOptions,
        train_and_promote,
    )
    from stream_app.offline.snapshots import (
        rollback as rollback_to,
    )

    settings = _settings()
    store = SnapshotStore(settings.data_dir)
    out = Console()
    if settings.learning_mode != LearningMode.BATCH:
        console.print(
            "[yellow]STREAM_APP_LEARNING_MODE is online:[/yellow] the online Q-learner keeps "
            "writing q-updates and will overwrite promoted entries it learns again"
        )
    if rollback is not None:
        try:
            snapshot = asyncio.run(rollback_to(settings, store, rollback))
        except LookupError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None
        out.print(f"promoted snapshot {rollback} again as version {snapshot.version}")
        return
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

        options = TrainOptions(epochs=epochs, seed=seed, max_drift=max_drift)
        report = asyncio.run(
            train_and_promote(settings, store, options, learner_params(settings), on_epoch)
        )
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
        raise typer.Exit(1)
    out.print(
        f"validation passed; promoted version {report.promoted.version} "
        f"(parent {report.promoted.parent_version}): {store.path(report.promoted.version)}"
    )


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="JSON-lines file to write.")],
) -> None:
    """Write the input topics, as they are now, to a JSON-lines log in event-time order."""
    from stream_app.offline.export import export as export_topics

    report = asyncio.run(export_topics(_settings(), out))
    topics = ", ".join(f"{t} {n}" for t, n in sorted(report.by_topic.items())) or "none"
    console.print(
        f"wrote {report.written} events to {out} ({topics}); "
        f"left out {report.skipped} invalid records"
    )


@app.command()
def replay(
    log: Annotated[Path, typer.Argument(help="An export (stream-app export).")],
    out: Annotated[
        Path | None, typer.Option(help="Write decisions here (default: standard output).")
    ] = None,
) -> None:
    """Run an export through the pure core in process and write its decisions as JSON lines."""
    from stream_app.config.params import lead_params, learner_params
    from stream_app.config.settings import LearningMode
    from stream_app.offline.export import read_log
    from stream_app.offline.replay import Learner, Replay

    settings = _settings()
    learner = Learner(
        learner_params(settings), enabled=settings.learning_mode == LearningMode.ONLINE
    )
    engine = Replay(lead_params(settings), learner, settings.max_event_bytes)
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        with log.open(encoding="utf-8") as lines:
            for decision in engine.run(read_log(lines)):
                sink.write(decision.model_dump_json() + "\n")
    finally:
        if out:
            sink.close()
    s = engine.summary
    actions = ", ".join(f"{a} {n}" for a, n in s.actions.most_common()) or "none"
    console.print(
        f"replayed {s.events} events ({s.invalid} invalid): {s.decisions} decisions, "
        f"{s.transitions} transitions, {s.ticks} time-rule ticks, final q_version "
        f"{learner.version}\nactions: {actions}"
    )


@app.command()
def evaluate(
    snapshot: Annotated[
        Path | None, typer.Option(help="Candidate snapshot file (default: the seeded priors).")
    ] = None,
    decisions: Annotated[
        Path | None, typer.Option(help="Decisions as JSON lines (default: next-best-actions).")
    ] = None,
    transitions: Annotated[
        Path | None, typer.Option(help="Transitions as JSON lines (default: lead-transitions).")
    ] = None,
    states: Annotated[int, typer.Option(help="Rows of the per-state table to print.")] = 20,
) -> None:
    """Score a candidate policy offline: agreement, per-state values, IPS and DR."""
    from rich.table import Table

    from stream_app.domain.messages import LeadTransition
    from stream_app.domain.qlearning import seeded_priors
    from stream_app.offline.evaluate import LoggedDecision, compare_arms, parse_file, read_logged
    from stream_app.offline.evaluate import evaluate as score
    from stream_app.offline.snapshots import Snapshot

    settings = _settings()
    table = (
        Snapshot.model_validate_json(snapshot.read_bytes()).table() if snapshot else seeded_priors()
    )
    broker = ([], []) if decisions and transitions else asyncio.run(read_logged(settings))
    logged = parse_file(decisions, LoggedDecision) if decisions else broker[0]
    logged_transitions = parse_file(transitions, LeadTransition) if transitions else broker[1]
    result = score(table, logged, logged_transitions, settings.ucb_c, settings.gamma)
    out = Console()
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
    for a in compare_arms(logged, logged_transitions):
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


def main() -> None:
    app()
