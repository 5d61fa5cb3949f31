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

from stream_app.settings import Settings

if TYPE_CHECKING:
    from stream_app.admin import TopicReport

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

    from stream_app.app import create_app

    runtime = create_app(settings)
    worker = faust.Worker(runtime.app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()


@app.command()
def worker() -> None:
    """Run one worker against STREAM_APP_BROKER (scale out by starting more)."""
    from stream_app.admin import apply_topics

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
    from stream_app.admin import apply_topics
    from stream_app.embedded import BrokerError, start_broker

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
    from stream_app.admin import apply_topics

    reports = asyncio.run(apply_topics(_settings()))
    _report_topics(reports)
    if any(r.action == "mismatch" for r in reports):
        raise typer.Exit(1)


@topics_app.command("schemas")
def topics_schemas() -> None:
    """Regenerate topics/schemas/*.schema.json from the wire models."""
    from stream_app.catalog import write_schemas

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
    from stream_app.producer import SendReport, send_lines

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
    from stream_app.producer import tail_topic

    asyncio.run(tail_topic(_settings(), topic, from_beginning, limit))


def main() -> None:
    app()
