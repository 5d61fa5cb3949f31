"""A backlog is not a stall: the stall healer leaves partitions that wait their turn.

Under a backlog, a partition's records wait in aiokafka's fetch buffer behind other
partitions' results, in the drain loop's batch and in the agent's stream buffer,
often for longer than the healer's 5 s. The healer took those partitions for
stalled ones and re-read them from the committed offset: in `stream-app bench`
(2,000 leads, 1 worker) 95 and 126 times a run, mostly the small partitions the
worker writes itself (`extraction-requests`, `lead-timers`), whose results then
went to the back of aiokafka's buffer again; and a re-read's seek, run from Faust's
thread, once made the consumer thread fail on a `KeyError` and the worker exit. Here a
worker gets a backlog of the bench's mix and must work it off, alive, without one
re-read (with the old check: 4 re-reads in its first 10 s, then that crash).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.sim.bench_mix import produced, realistic_mix
from stream_app.sim.benchmark import produce_backlog
from tests.integration.conftest import IsolatedWorkers, watch
from tests.integration.harness import until

LEADS = 1200  # ~4,700 events: 20-100 s of backlog for one worker


async def test_a_backlog_is_worked_off_without_re_reading_a_partition(
    broker: EmbeddedBroker, workers: IsolatedWorkers
) -> None:
    worker = workers.start()
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, worker, "next-best-actions")
    try:
        start = datetime.now(UTC) - timedelta(days=25)
        records = produced(realistic_mix(f"backlog-{uuid.uuid4().hex[:6]}", LEADS, 1, start))
        await produce_backlog(broker.bootstrap, records, lambda topic: prefix + topic)
        wanted = {record.event_id for record in records}  # every event decides (bench mix)

        def all_decided() -> bool:
            assert worker.process is not None and worker.process.poll() is None, (
                f"the worker exited:\n{worker.log_tail()}"
            )
            decisions = watcher.records[prefix + "next-best-actions"]
            return wanted <= {d["trigger_event_id"] for d in decisions}

        await until(f"a decision for each of {len(wanted)} events", all_decided, 240.0)
        healed = [line for line in worker.log_text().splitlines() if "re-reading" in line]
        assert healed == [], f"{len(healed)} re-reads of a backlog, e.g. {healed[:3]}"
    finally:
        await watcher.stop()
