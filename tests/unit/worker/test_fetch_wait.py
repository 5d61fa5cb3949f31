"""The worker's consumer waits on a Fetch as Settings say, not Faust's fixed 1.5 s.

Built, never started: aiokafka hands the wait to its fetcher at start, so the consumer
Faust's thread builds must already carry it.
"""

from __future__ import annotations

from typing import Any

import pytest

from stream_app.config.settings import Settings
from stream_app.kafka.options import fetch_max_wait_ms
from stream_app.worker.app import create_app, faust_options
from stream_app.worker.baseline import create_baseline
from stream_app.worker.faust_fixes import ContiguousCommitConsumer, FixedApp


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, broker="kafka://127.0.0.1:9", **values)  # type: ignore[call-arg]


async def built_wait(app: Any) -> int:
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        return int(consumer._fetch_max_wait_ms)
    finally:
        await consumer.stop()


@pytest.mark.parametrize(
    "values, wait",
    [
        ({"env": "dev"}, 100),
        ({"env": "prod", "replication_factor": 3}, 500),
        ({"env": "dev", "kafka_fetch_max_wait_ms": 250}, 250),
    ],
)
async def test_the_worker_consumer_carries_the_fetch_wait(
    values: dict[str, Any], wait: int
) -> None:
    given = settings(**values)
    assert fetch_max_wait_ms(given) == wait
    runtime = create_app(given)
    assert await built_wait(runtime.app) == wait


async def test_without_a_wait_faust_keeps_its_own() -> None:
    """A FixedApp not told a wait builds Faust's consumer."""
    app = FixedApp("unit-fetch-wait", **faust_options(settings(env="dev")))
    assert await built_wait(app) == 1500


async def test_the_bench_baseline_fetches_like_the_worker() -> None:
    """Both sides of the bench's ratio wait alike; the baseline keeps Faust's consumer."""
    given = settings(env="dev")
    baseline = create_baseline(given)
    assert await built_wait(baseline) == fetch_max_wait_ms(given) == 100
    assert not isinstance(baseline.consumer, ContiguousCommitConsumer)
