"""Batch mode end to end: the worker only logs, `stream-app train` promotes, workers switch.

The worker is never restarted: it picks each promoted version up from `q-updates`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.offline.snapshots import SnapshotStore
from tests.integration.conftest import Events
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess, until

pytestmark = pytest.mark.integration


@pytest.fixture
def batch_worker(broker: EmbeddedBroker, artifacts: Path) -> Iterator[WorkerProcess]:
    """A batch-mode worker with its own consumer group and topics."""
    name = f"train-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(
        broker=broker,
        data_dir=artifacts / f"{name}-data",
        log_path=artifacts / f"{name}.log",
        extra_env={
            "STREAM_APP_APP_ID": name,
            "STREAM_APP_TOPIC_PREFIX": f"{name}.",
            "STREAM_APP_LEARNING_MODE": "batch",
        },
    )
    worker.start()
    worker.wait_ready()
    yield worker
    worker.stop()


def train(broker: EmbeddedBroker, worker: WorkerProcess, data_dir: Path, *args: str) -> str:
    """`stream-app train` as an operator runs it; returns stdout and stderr, checks nothing."""
    env = {
        **os.environ,
        "STREAM_APP_BROKER": broker.url,
        "STREAM_APP_TOPIC_PREFIX": worker.extra_env["STREAM_APP_TOPIC_PREFIX"],
        "STREAM_APP_LEARNING_MODE": "batch",
        "STREAM_APP_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "stream_app", "train", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return f"exit {done.returncode}\n{done.stdout}{done.stderr}"


async def send_and_decide(
    watcher: TopicWatcher, upstream: Upstream, prefix: str, topic: str, event: dict[str, Any]
) -> str:
    """Send one event and return the id of the decision it triggers."""
    await upstream.send(prefix + topic, event)
    [decision] = await watcher.wait_for(
        prefix + "next-best-actions", lambda r: r["trigger_event_id"] == event["event_id"]
    )
    return str(decision["decision_id"])


async def test_train_promotes_validates_and_rolls_back_without_a_restart(
    broker: EmbeddedBroker,
    batch_worker: WorkerProcess,
    upstream: Upstream,
    events: Events,
    tmp_path: Path,
) -> None:
    worker = batch_worker
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = TopicWatcher(
        broker.bootstrap, [prefix + t for t in ("next-best-actions", "lead-transitions")]
    )
    await watcher.start()
    try:
        in_force = await send_and_decide(watcher, upstream, prefix, "leads", events.created())
        for _ in range(3):
            # each call carries out the decision in force, so it closes that step
            call = events.interaction(outcome="no_answer", decision_id=in_force)
            in_force = await send_and_decide(watcher, upstream, prefix, "interactions", call)
        transitions = await watcher.wait_for(prefix + "lead-transitions", lambda r: True, 3)
        assert worker.get("/q-table")[1]["q_version"] == 0, "batch mode: the learner only logs"

        output = train(broker, worker, tmp_path, "--epochs", "5")
        print(f"\n{output}")
        assert output.startswith("exit 0"), output
        assert "transitions read: 3" in output and "promoted version 1" in output, output
        store = SnapshotStore(tmp_path)
        snapshot = store.load(1)
        assert (snapshot.parent_version, snapshot.trained_on is not None) == (0, True)
        assert store.checkpoint() == 3
        trained = {(e.state, e.action.value): e for e in snapshot.entries}
        learned = trained[(transitions[0]["state_before"], transitions[0]["action"])]
        assert learned.visits == 1 and learned.q != 0.3

        def serving(version: int) -> bool:
            return bool(worker.get("/q-table")[1]["q_version"] == version)

        def row() -> tuple[float, int]:
            entry = worker.get("/q-table")[1]["states"][learned.state][learned.action.value]
            return entry["q"], entry["visits"]

        # A promotion arrives entry by entry: await the trained entry, not just the version.
        await until("the worker to serve version 1", lambda: serving(1))
        await until("the trained entry", lambda: row() == (learned.q, learned.visits))
        call = events.interaction(outcome="no_answer", decision_id=in_force)
        await upstream.send(prefix + "interactions", call)
        [decision] = await watcher.wait_for(
            prefix + "next-best-actions", lambda r: r["trigger_event_id"] == call["event_id"]
        )
        assert decision["q_version"] == 1

        # A candidate that moves any Q at all fails a zero drift bound: nothing changes.
        await watcher.wait_for(prefix + "lead-transitions", lambda r: True, 4)
        output = train(broker, worker, tmp_path, "--max-drift", "0")
        assert output.startswith("exit 1") and "validation failed: drift" in output, output
        assert store.versions() == [1] and store.checkpoint() == 3

        output = train(broker, worker, tmp_path, "--rollback", "1")
        assert output.startswith("exit 0") and "as version 2" in output, output
        await until("the worker to serve version 2", lambda: serving(2))
        assert store.load(2).rollback_of == 1
        assert worker.get("/q-table")[1]["states"][learned.state][learned.action.value]["q"] == (
            learned.q
        )
    finally:
        await watcher.stop()
