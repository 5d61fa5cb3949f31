"""The live simulation in a process of its own, beside a worker that owns this one."""

from __future__ import annotations

import os
import subprocess
import sys

from stream_app.config.settings import Settings

DEV_HOLDOUT_SHARE = 0.5
"""`stream-app dev --simulate`'s holdout share: half the families are decided by the
frozen priors, so its summary compares the arms (the report runs the same split)."""

SECONDS_PER_FAMILY = 5.0
"""The live simulation's deadline per family (at least ten minutes in all)."""


def start_simulator(settings: Settings, families: int, seed: int = 1) -> subprocess.Popen[bytes]:
    """`stream-app simulate` in its own process: faust.Worker owns this one's event loop.

    It waits for the worker's /readyz itself, so it can start before the worker. The
    same `seed` makes the same families (`sim.population`).
    """
    env = {
        **os.environ,
        "STREAM_APP_BROKER": settings.broker,
        "STREAM_APP_ENV": settings.env,
        "STREAM_APP_KAFKA_IDEMPOTENCE": str(settings.kafka_idempotence).lower(),
        "STREAM_APP_KAFKA_MAX_BATCH_BYTES": str(settings.kafka_max_batch_bytes),
    }
    return subprocess.Popen(simulator_command(settings, families, seed), env=env)


def simulator_command(settings: Settings, families: int, seed: int) -> list[str]:
    """The simulator's command line. Its deadline grows with the population: a few
    hundred families through one embedded broker on a busy machine take longer than
    the default ten minutes, and a run cut short would count its slowest families as
    not converted."""
    deadline = max(600.0, SECONDS_PER_FAMILY * families)
    return [
        sys.executable,
        "-m",
        "stream_app",
        "simulate",
        "--leads",
        str(families),
        "--seed",
        str(seed),
        "--timeout-s",
        f"{deadline:g}",
        "--ready-url",
        f"http://127.0.0.1:{settings.web_port}/readyz",
    ]
