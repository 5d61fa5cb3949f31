"""Run one worker in this process: the Faust app built from Settings, until it stops."""

from __future__ import annotations

import faust

from stream_app.config.settings import Settings
from stream_app.worker.app import create_app


def run_worker(settings: Settings) -> None:
    """Build the worker and run it; blocks until the worker stops (Ctrl-C, SIGTERM).

    faust.Worker owns this process's event loop from here on, so anything else that
    must run beside the worker (the simulator of `stream-app dev --simulate`) runs in
    a process of its own.
    """
    runtime = create_app(settings)
    worker = faust.Worker(runtime.app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
