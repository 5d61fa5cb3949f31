"""The simulator against a real broker and worker: families answer published decisions."""

from __future__ import annotations

import time
import uuid

import pytest
from rich.console import Console

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.sim.client import simulate, wait_ready
from tests.integration.harness import TopicWatcher, WorkerProcess

pytestmark = pytest.mark.integration


async def test_simulated_families_move_through_the_pipeline(
    broker: EmbeddedBroker, worker: WorkerProcess, watcher: TopicWatcher
) -> None:
    await wait_ready(worker.base_url + "/readyz", timeout_s=30)
    tag = uuid.uuid4().hex[:8]
    started = time.monotonic()
    stats = await simulate(
        Settings(broker=broker.url),
        leads=10,
        seed=3,
        run_tag=tag,
        max_steps=6,
        timeout_s=50,
        console=Console(quiet=True),
    )
    elapsed = time.monotonic() - started
    print(f"\nsimulated 10 families in {elapsed:.1f}s: {stats.decisions} decisions")

    assert len(stats.finished) == 10, f"unfinished after {elapsed:.0f}s: {stats.status}"
    assert stats.decisions >= 20
    # Every decision the simulator answered is on the topic for any other consumer too.
    await watcher.wait_for(
        "next-best-actions",
        lambda r: r["lead_id"].startswith(f"sim-{tag}-"),
        count=stats.decisions,
        timeout_s=10,
    )
    assert stats.produced > stats.decisions  # lead.created, responses and action outcomes
    assert stats.moved_past_new() >= 5, stats.status
    status, lead = worker.get(f"/leads/sim-{tag}-00000")
    assert status == 200 and lead["status"] != "new"
    assert stats.transitions > 0
