"""Records in and out of the topics: `send` produces JSON lines, `tail` prints a topic."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings


def send(
    topic: Annotated[str, typer.Argument(help="Input topic, e.g. leads or interactions.")],
    file: Annotated[str, typer.Argument(help="JSON lines file, or - for standard input.")],
) -> None:
    """Validate JSON lines against the event models and produce the valid ones."""
    from stream_app.kafka.clients import send_lines

    settings = load_settings()
    stream = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")  # noqa: SIM115
    with stream:
        report = asyncio.run(send_lines(settings, topic, stream))
    render.sent(report, topic)
    if report.rejected:
        raise typer.Exit(1)


def tail(
    topic: Annotated[str, typer.Argument(help="Any catalog topic, e.g. next-best-actions.")],
    from_beginning: Annotated[bool, typer.Option(help="Start at the earliest offset.")] = True,
    limit: Annotated[int, typer.Option(help="Stop after this many records (0: never).")] = 0,
) -> None:
    """Print a topic's records as JSON lines on standard output."""
    from stream_app.kafka.clients import tail_topic

    asyncio.run(tail_topic(load_settings(), topic, from_beginning, limit))
