"""`stream-app console` (the operator console) and `stream-app report` (the weekly review)."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from stream_app.cli import render
from stream_app.cli.settings import load_settings
from stream_app.config.settings import MIN_HTTP_TOKEN_CHARS, Settings


def refuse_unsafe_console(settings: Settings, host: str) -> None:
    """The worker's rule for the console's address: off loopback, a token is required."""
    if (
        not settings.http_tokens
        and not settings.model_copy(update={"web_host": host}).web_binds_loopback
    ):
        render.console.print(
            f"[red]refusing to start:[/red] --host {escape(repr(host))} is not a loopback "
            "address and STREAM_APP_HTTP_TOKEN is not set; set a token "
            f"({MIN_HTTP_TOKEN_CHARS}+ characters) or bind 127.0.0.1",
            soft_wrap=True,
        )
        raise typer.Exit(2)


def console(
    port: Annotated[int, typer.Option(help="Port of the console's web server.")] = 6080,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but loopback needs a token.")
    ] = "127.0.0.1",
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Forget the read model and replay every topic.")
    ] = False,
) -> None:
    """The operator console: a read model of the topics, and the pages staff work from."""
    from stream_app.console.run import serve

    settings = load_settings()
    refuse_unsafe_console(settings, host)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(message)s")
    render.console.print(f"console: http://{host}:{port}/", soft_wrap=True)
    asyncio.run(serve(settings, host, port, rebuild))


def report(
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the report.")],
    since: Annotated[
        str | None, typer.Option(help="ISO date or time (UTC); default 7 days before now.")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Give up reading the topics after this.")] = 120,
) -> None:
    """The weekly review as JSON: queue, segments, conversion, outcomes, guardrail blocks."""
    from stream_app.console.run import report as build_report

    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            render.console.print("[red]--since must be an ISO date or time[/red]")
            raise typer.Exit(2) from None
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
    settings = load_settings()
    data = asyncio.run(build_report(settings, start, timeout_s))
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    queue = data["queue"]
    render.console.print(
        f"report written to {escape(str(json_path))}: {queue['open']} open, "
        f"{queue['overdue']} overdue, {queue['awaiting_approval']} awaiting approval",
        soft_wrap=True,
    )
