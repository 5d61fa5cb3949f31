"""`stream-app topics ...`: create, verify and document the catalog's topics."""

from __future__ import annotations

import asyncio

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings
from stream_app.config.settings import Settings


def apply() -> None:
    """Create missing catalog topics and verify existing ones on STREAM_APP_BROKER.

    Verified per topic: partitions, replication factor, min.insync.replicas,
    cleanup.policy and retention.ms. Exits 1 on any mismatch, with a line for each.
    """
    from stream_app.kafka.admin import apply_topics

    settings = load_settings()
    refuse_unreplicated(settings, "to create topics")
    reports = asyncio.run(apply_topics(settings))
    render.topics(reports)
    if any(r.action == "mismatch" for r in reports):
        raise typer.Exit(1)


def refuse_unreplicated(settings: Settings, refusing: str = "to start") -> None:
    """Exit 2, with the one-line reason, before creating a topic with a single copy
    outside STREAM_APP_ENV=dev (`stream-app worker` and `topics apply` both create)."""
    from stream_app.kafka.options import unreplicated

    refusal = unreplicated(settings)
    if refusal:
        render.console.print(f"[red]refusing {refusing}:[/red] {refusal}", soft_wrap=True)
        raise typer.Exit(2)


def schemas() -> None:
    """Regenerate topics/schemas/*.schema.json from the wire models."""
    from stream_app.wire.catalog import write_schemas

    for path in write_schemas():
        render.wrote(path)
