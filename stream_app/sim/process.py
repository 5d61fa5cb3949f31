"""The live simulation in a process of its own, beside a worker that owns this one."""

from __future__ import annotations

import os
import subprocess
import sys

from stream_app.config.settings import Settings

DEV_HOLDOUT_SHARE = 0.5
"""`stream-app dev --simulate`'s holdout share: half the families are decided by the
frozen priors, so its summary compares the arms (the report runs the same split)."""


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
    ready = f"http://127.0.0.1:{settings.web_port}/readyz"
    command = [sys.executable, "-m", "stream_app", "simulate", "--leads", str(families)]
    command += ["--seed", str(seed)]
    return subprocess.Popen([*command, "--ready-url", ready], env=env)
