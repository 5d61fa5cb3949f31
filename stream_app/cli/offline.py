"""Batch learning and offline analysis: `train`, `export`, `replay`, `evaluate`.

Each wraps a part of `stream_app.offline`; none needs a running worker.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings


def train(
    epochs: Annotated[
        int,
        typer.Option(
            min=0, help="Passes of experience replay (0: promote the active table as it is)."
        ),
    ] = 10,
    seed: Annotated[
        int, typer.Option(help="Replay sampling seed (the same seed, the same table).")
    ] = 1,
    max_drift: Annotated[
        float, typer.Option(min=0.0, help="Reject a candidate that moves any Q further than this.")
    ] = 2.0,
    rollback: Annotated[
        int | None, typer.Option(help="Promote this kept snapshot again instead of training.")
    ] = None,
    trust_visits: Annotated[
        int,
        typer.Option(min=0, help="Entries with fewer real visits are promoted at their prior."),
    ] = 0,
    exploit: Annotated[
        bool, typer.Option("--exploit", help="Workers serve the promoted table greedily.")
    ] = False,
) -> None:
    """Train on new lead-transitions, validate, keep a versioned snapshot and promote it."""
    from stream_app.config.params import learner_params
    from stream_app.config.settings import LearningMode
    from stream_app.offline.snapshots import SnapshotStore, TrainOptions, train_and_promote
    from stream_app.offline.snapshots import rollback as rollback_to

    settings = load_settings()
    store = SnapshotStore(settings.data_dir)
    if settings.learning_mode != LearningMode.BATCH:
        render.online_mode_warning()
    if rollback is not None:
        try:
            snapshot = asyncio.run(rollback_to(settings, store, rollback))
        except LookupError as exc:
            render.error(exc)
            raise typer.Exit(1) from None
        render.rolled_back(rollback, snapshot)
        return
    options = TrainOptions(
        epochs=epochs,
        seed=seed,
        max_drift=max_drift,
        trust_visits=trust_visits,
        exploit=exploit,
    )
    with render.training_progress(epochs) as on_epoch:
        report = asyncio.run(
            train_and_promote(settings, store, options, learner_params(settings), on_epoch)
        )
    render.trained(report, store)
    if report.validation is not None and report.promoted is None:
        raise typer.Exit(1)


def export(
    out: Annotated[Path, typer.Argument(help="JSON-lines file to write.")],
) -> None:
    """Write the input topics, as they are now, to a JSON-lines log in event-time order."""
    from stream_app.offline.export import export as export_topics

    report = asyncio.run(export_topics(load_settings(), out))
    render.exported(report, out)


def replay(
    log: Annotated[Path, typer.Argument(help="An export (stream-app export).")],
    out: Annotated[
        Path | None, typer.Option(help="Write decisions here (default: standard output).")
    ] = None,
) -> None:
    """Run an export through the pure core in process and write its decisions as JSON lines."""
    from stream_app.offline.replay_file import replay_file

    settings = load_settings()
    sink = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        engine = replay_file(settings, log, sink)
    finally:
        if out:
            sink.close()
    render.replayed(engine)


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
    from stream_app.offline.candidate import score_candidate

    settings = load_settings()
    score = asyncio.run(score_candidate(settings, snapshot, decisions, transitions))
    render.evaluation(score, snapshot, states)
