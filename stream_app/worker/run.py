"""Run one worker in this process: the Faust app built from Settings, until it stops."""

from __future__ import annotations

import gc

import faust

from stream_app.config.settings import Settings
from stream_app.worker.app import create_app


def run_worker(settings: Settings) -> None:
    """Build the worker and run it; blocks until the worker stops (Ctrl-C, SIGTERM).

    faust.Worker owns this process's event loop from here on, so anything else that
    must run beside the worker (the simulator of `stream-app dev --simulate`) runs in
    a process of its own.
    """
    worker = build_worker(create_app(settings).app, settings)
    settle_heap()
    worker.execute_from_commandline()


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations (net of frees) between two young-generation collections; Python's
default is 700. Every tenth young collection is a middle one and every tenth of
those may be a full one, which walks every lead state the cache holds (~65 tracked
objects a state). A busy worker allocates a few hundred objects per record, so at
700 it ran ~1,300 young, ~120 middle and ~11 full collections in a heavy
`stream-app bench` (~2.0 s of ~14 s of CPU, the full ones 1.3 s of it; py-spy
--native: `gc_collect_main` 17.8% of the GIL's samples). At 10,000: 53, 4 and 1,
~0.7-1.0 s. Garbage in cycles waits longer to be found: at most this many
allocations."""


def settle_heap() -> int:
    """Collect once, then keep what the process built so far out of every later
    collection, and collect less often from here on; returns how many objects were
    set aside.

    Modules, classes, schemas and the app live as long as the process, yet every
    full collection walks them: a built worker tracks ~95k objects, a full
    collection of them alone ~90 ms of CPU on this project's VM, paid again on top
    of the leads' states each time (a full collection is a pause of the whole
    loop). Frozen objects that later die are still freed by reference counting;
    only a cycle among them would wait for `gc.unfreeze()`.
    """
    gc.collect()
    gc.freeze()
    _, middle, full = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, full)
    return gc.get_freeze_count()


def build_worker(app: faust.App, settings: Settings) -> faust.Worker:
    """A `faust.Worker` for `app` logging at `STREAM_APP_LOG_LEVEL`, without a spinner.

    Faust's terminal spinner, kept at WARNING and above, turns the root logger to
    DEBUG so it can spin on every record: each send then built a DEBUG log record
    nobody reads (measured: 3.5% of a worker's samples at STREAM_APP_LOG_LEVEL=WARNING).
    """
    worker = faust.Worker(app, loglevel=settings.log_level.lower(), quiet=True)
    worker.spinner = None
    return worker
