"""A worker whose producers batch recovers every state after SIGKILL on the embedded broker.

Tansu's ListOffsets answers the last batch's base offset + 1, short of a changelog
written in multi-record batches (test_end_offsets.py pins that). Faust's recovery
reads a changelog to the end it is given, so the worker takes its ends from
`kafka.ends.end_offsets`. Without that (measured), the restarted RocksDB worker
exited, its persisted offset "past" the short end (ConsistencyError, 44 > 43), and
the memory worker served an older state for one of the 40 leads in 2 of 3 runs: the
fetch that reaches a short end usually carries the whole last batch, not always.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.kafka.ends import end_offsets
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess, group_positions

LEADS = 40
MAX_ROUNDS = 5
BATCHED = {"STREAM_APP_KAFKA_MAX_BATCH_BYTES": "16384"}
INPUTS = ("leads", "interactions", "lead-transitions")


async def _short_ends(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (ListOffsets end, true end) where the first is short."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        listed, true = (
            await consumer.end_offsets(partitions),
            await end_offsets(consumer, partitions),
        )
        return {tp.partition: (listed[tp], end) for tp, end in true.items() if listed[tp] < end}
    finally:
        await consumer.stop()


async def _burst(
    upstream: Upstream, watcher: TopicWatcher, prefix: str, topic: str, events: list[Any]
) -> None:
    """Send `events` at once and await a decision for each."""
    await asyncio.gather(*(upstream.send(prefix + topic, e) for e in events))
    ids = {e["event_id"] for e in events}
    await watcher.wait_for(
        prefix + "next-best-actions", lambda r: r["trigger_event_id"] in ids, len(ids)
    )


def _latest_decisions(watcher: TopicWatcher, prefix: str) -> dict[str, str]:
    return {d["lead_id"]: d["decision_id"] for d in watcher.records[prefix + "next-best-actions"]}


async def _all_committed(bootstrap: str, worker: WorkerProcess, timeout_s: float = 30.0) -> None:
    """Await the worker's group committing every input to its end: after a kill nothing
    is read again, so whatever state comes back came from the changelogs."""
    prefix, group = (worker.extra_env[k] for k in ("STREAM_APP_TOPIC_PREFIX", "STREAM_APP_APP_ID"))
    deadline = time.monotonic() + timeout_s
    while True:
        behind = {}
        for topic in INPUTS:
            for partition, (committed, end) in (
                await group_positions(bootstrap, group, prefix + topic)
            ).items():
                if committed < end:
                    behind[(topic, partition)] = (committed, end)
        if not behind:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"inputs not committed in {timeout_s}s: {behind}")
        await asyncio.sleep(0.2)


def _states(worker: WorkerProcess, leads: list[Events]) -> dict[str, Any]:
    states = {}
    for lead in leads:
        status, state = worker.get(f"/leads/{lead.lead_id}")
        assert status == 200, (lead.lead_id, status, state)
        states[lead.lead_id] = state
    return states


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_every_state_comes_back_from_a_changelog_written_in_batches(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream, store: str
) -> None:
    worker = workers.start(STREAM_APP_STORE=store, **BATCHED)
    prefix, app_id = (worker.extra_env[k] for k in ("STREAM_APP_TOPIC_PREFIX", "STREAM_APP_APP_ID"))
    changelog = f"{app_id}-leads-changelog"
    watcher = await watch(broker, worker, "next-best-actions")
    try:
        # Events of the last hour, not of a month ago: no time rule of these leads is
        # due while the test runs, so no tick changes a state between the reads
        # before the kill and after the restart (a month-old reminder fired by the
        # sweep after the first read failed this test under load). Checked below.
        start = datetime.now(UTC) - timedelta(hours=1)
        leads = [Events(f"batched-{i}", start) for i in range(LEADS)]
        await _burst(upstream, watcher, prefix, "leads", [lead.created() for lead in leads])
        # Rounds of unanswered calls (each closes a step: a transition, a Q update)
        # until a changelog partition ends in a batch of several records, the end
        # a recovery must get past. Each round's calls go at once, so the worker's
        # table writes pile up into batches.
        rounds, short = 0, {}
        while not short and rounds < MAX_ROUNDS:
            latest = _latest_decisions(watcher, prefix)
            calls = [
                lead.interaction(outcome="no_answer", decision_id=latest[lead.lead_id])
                for lead in leads
            ]
            await _burst(upstream, watcher, prefix, "interactions", calls)
            rounds += 1
            await _all_committed(broker.bootstrap, worker)  # after the producer's flush
            short = await _short_ends(broker.bootstrap, changelog)
        assert short, f"no changelog partition ended in a multi-record batch in {rounds} rounds"
        print(f"\nleads changelog (ListOffsets, true end) where short: {short}, round {rounds}")
        before = _states(worker, leads)
        q_before = worker.get("/q-table")[1]
        assert all(s["context"]["interaction_count"] == rounds for s in before.values())

        ticks = await group_positions(broker.bootstrap, app_id, prefix + "lead-timers")
        print(f"lead-timers (committed, end) per partition: {ticks}")
        assert not any(end for _, end in ticks.values()), f"a time rule fired: {ticks}"

        worker.stop(signal.SIGKILL)
        worker.start()
        worker.wait_ready(timeout_s=90)

        assert _states(worker, leads) == before
        assert worker.get("/q-table")[1] == q_before
    finally:
        await watcher.stop()
