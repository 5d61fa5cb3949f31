"""The root `stream-app` command and `main`, its entry point: every subcommand is
registered here, in the order `stream-app --help` lists them."""

from __future__ import annotations

import typer

from stream_app.cli import bench, console, data, extraction_eval, offline, run, topics

HELP = "The `stream-app` command: parse arguments, build Settings, dispatch. Nothing more."

app = typer.Typer(no_args_is_help=True, add_completion=False, help=HELP)
topics_app = typer.Typer(no_args_is_help=True, help="Create, verify and document topics.")
app.add_typer(topics_app, name="topics")

app.command()(run.worker)
app.command()(run.dev)
app.command()(run.simulate)
app.command()(data.send)
app.command()(data.tail)
app.command()(offline.train)
app.command()(offline.export)
app.command()(offline.replay)
app.command()(offline.evaluate)
app.command()(bench.bench)
app.command()(console.console)
app.command()(console.report)
app.command()(extraction_eval.extraction_eval)

topics_app.command("apply")(topics.apply)
topics_app.command("schemas")(topics.schemas)


def main() -> None:
    app()
