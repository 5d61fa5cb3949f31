"""`stream-app topics ...`: create, verify and document the catalog's topics."""

from __future__ import annotations

import asyncio

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings


def apply() -> None:
    """Create missing catalog topics and verify existing ones on STREAM_APP_BROKER."""
    from stream_app.kafka.admin import apply_topics

    reports = asyncio.run(apply_topics(load_settings()))
    render.topics(reports)
    if any(r.action == "mismatch" for r in reports):
        raise typer.Exit(1)


def schemas() -> None:
    """Regenerate topics/schemas/*.schema.json from the wire models."""
    from stream_app.wire.catalog import write_schemas

    for path in write_schemas():
        render.wrote(path)
