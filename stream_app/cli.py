"""The `stream-app` command: parse arguments, build Settings, dispatch. Nothing more."""

from __future__ import annotations

import asyncio
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
        _run_worker(settings)
    finally:
        broker.stop()


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
