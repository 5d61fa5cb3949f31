"""The worker process's Faust worker: logging costs nothing below the chosen level, and
what the process built before it runs is out of the collector's way."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator

import faust
import pytest

from stream_app.config.settings import Settings
from stream_app.worker.run import YOUNG_COLLECTION_THRESHOLD, build_worker, settle_heap


@pytest.fixture
def restored_root() -> Iterator[None]:
    """The root logger and the standard streams as they were: mode's logging setup
    also swaps sys.stdout and sys.stderr for logging proxies, and left in place they
    swallowed a later test's stderr (test_settings' one-line error, measured)."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    stdout, stderr = sys.stdout, sys.stderr
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    sys.stdout, sys.stderr = stdout, stderr


@pytest.mark.parametrize("level", ["WARNING", "ERROR", "INFO"])
def test_no_debug_record_is_built_above_debug(level: str, restored_root: None) -> None:
    settings = Settings(_env_file=None, log_level=level)  # type: ignore[call-arg]
    worker = build_worker(faust.App("run-test", broker="memory://"), settings)
    worker._setup_logging()
    assert worker.spinner is None
    assert not logging.getLogger("faust.topics").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("aiokafka.conn").getEffectiveLevel() == getattr(logging, level)


def test_the_built_worker_is_out_of_full_collections_and_young_ones_are_rarer() -> None:
    built = [[n] for n in range(1_000)]  # tracked objects alive when the worker starts
    thresholds = gc.get_threshold()
    try:
        frozen = settle_heap()
        assert frozen >= len(built)
        tracked = {id(o) for o in gc.get_objects()}
        assert not any(id(o) in tracked for o in built)
        later = [0]
        assert gc.is_tracked(later) and id(later) in {id(o) for o in gc.get_objects()}
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()  # this test process runs other tests after
        gc.set_threshold(*thresholds)
    assert id(built[0]) in {id(o) for o in gc.get_objects()}
