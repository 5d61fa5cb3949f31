"""Commits follow acknowledged records across offset gaps in an input topic.

Kafka offsets have gaps: an exactly-once producer upstream (Kafka Streams, Flink,
Connect) leaves a transaction marker after every commit and aborted batches, and
compaction removes records. The worker's commit must pass them: it used to stop for
good at the first one (offset + 1 arithmetic), and the stall healer then re-read the
partition every 5 s. Tansu cannot make these gaps itself (no transactions, retention
or compaction; DeleteRecords panics), so the test writes them as they reach a
consumer: a batch whose records skip offsets and a control batch (harness.py).
Deleting records below a lagging committed offset (retention) cannot be made on
Tansu; `perform_seek` and `_reread` in `stream_app/worker/faust_fixes/commits.py`
handle it, unit-tested in tests/unit/worker/test_faust_fixes.py.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import (
    Upstream,
    group_positions,
    produce_commit_marker,
    produce_with_gaps,
)


async def test_commits_pass_compacted_offsets_and_transaction_markers(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    worker = workers.start(STREAM_APP_PARTITIONS="1")
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    group = worker.extra_env["STREAM_APP_APP_ID"]
    topic = prefix + "interactions"
    watcher = await watch(broker, worker, "next-best-actions")
    try:
        lead = Events(f"gaps-{uuid.uuid4().hex[:8]}", Events.default_start())
        await upstream.send(prefix + "leads", lead.created())
        calls = [lead.interaction(outcome="no_answer") for _ in range(4)]
        key = lead.lead_id.encode()
        # Offsets 0, 1 and 5 (2..4 compacted away), a marker at 6, a plain record at 7
        # and a marker at 8 as the partition's last offset: end offset 9.
        offsets = await produce_with_gaps(
            broker.bootstrap,
            topic,
            [
                (delta, key, orjson.dumps(call))
                for delta, call in zip((0, 1, 5), calls, strict=False)
            ],
        )
        assert offsets == [0, 1, 5]
        assert await produce_commit_marker(broker.bootstrap, topic) == 6
        await upstream.send(topic, calls[3])
        assert await produce_commit_marker(broker.bootstrap, topic) == 8

        for call in calls:  # every record around the gaps is processed
            await watcher.wait_for(
                prefix + "next-best-actions",
                lambda r, c=call: r["trigger_event_id"] == c["event_id"],
            )
        seen: list[tuple[int, int]] = []
        for _ in range(150):  # 15 s: a commit interval is 1 s, the healer 5 s
            committed, end = (await group_positions(broker.bootstrap, group, topic))[0]
            seen.append((committed, end))
            if committed == end:
                break
            await asyncio.sleep(0.1)
        healed = [line for line in worker.log_text().splitlines() if "re-reading" in line]
        assert seen[-1] == (9, 9), (
            f"committed offset of {topic}[0] (committed, end) over 15 s: "
            f"first {seen[0]}, last {seen[-1]}; healer: {len(healed)} re-reads {healed[-2:]}"
        )
        assert healed == [], "nothing was re-read: every gap was passed, not healed"
        status, state = worker.get(f"/leads/{lead.lead_id}")
        assert status == 200
        assert state["context"]["interaction_count"] == len(calls), "each applied once"
    finally:
        await watcher.stop()
