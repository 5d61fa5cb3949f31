"""An export file replayed as a live worker configured by Settings would run it."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import LearningMode, Settings
from stream_app.offline.export import read_log
from stream_app.offline.pipeline import Learner
from stream_app.offline.replay import Replay


def replay_for(settings: Settings) -> Replay:
    """The replay engine with the worker's parameters; it learns only in online mode,
    as the live Q-learner does."""
    learner = Learner(
        learner_params(settings), enabled=settings.learning_mode == LearningMode.ONLINE
    )
    return Replay(lead_params(settings), learner, settings.max_event_bytes)


def replay_file(settings: Settings, log: Path, sink: TextIO) -> Replay:
    """Write every decision the export at `log` leads to, as JSON lines, on `sink`.

    Returns the engine once the log is played through: its `summary` counts what
    happened and `learner.version` is the final q_version.
    """
    engine = replay_for(settings)
    with log.open(encoding="utf-8") as lines:
        for decision in engine.run(read_log(lines)):
            sink.write(decision.model_dump_json() + "\n")
    return engine
