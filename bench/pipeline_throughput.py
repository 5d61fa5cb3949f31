"""Events/s of the full pipeline on the embedded broker: one worker, real topics.

Produces N leads' worth of events (lead.created plus unanswered calls, which
decide without an extraction), then times until every decision is on
`next-best-actions`. Run: .venv/bin/python bench/pipeline_throughput.py [N_EVENTS]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_app.kafka.embedded import start_broker
from tests.integration.conftest import Events
from tests.integration.harness import WorkerProcess


async def run(total: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    broker = start_broker(log_path=workdir / "broker.log")
    worker = WorkerProcess(broker, workdir / "data", workdir / "worker.log")
    try:
        worker.start()
        print(f"worker ready in {worker.wait_ready():.1f}s")
        leads = [Events(f"bench-{i}", Events.default_start()) for i in range(max(1, total // 10))]
        batches: list[tuple[str, dict[str, object]]] = [("leads", lead.created()) for lead in leads]
        while len(batches) < total:
            for lead in leads:
                batches.append(("interactions", lead.interaction(outcome="no_answer")))
        batches = batches[:total]
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
        consumer = AIOKafkaConsumer(
            "next-best-actions", bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
        )
        await producer.start()
        await consumer.start()
        started = time.perf_counter()
        for topic, event in batches:
            await producer.send(topic, orjson.dumps(event), key=str(event["lead_id"]).encode())
        await producer.flush()
        produced = time.perf_counter() - started
        seen = 0
        async for _ in consumer:
            seen += 1
            if seen >= total:
                break
        elapsed = time.perf_counter() - started
        print(f"{total} events produced in {produced:.1f}s; all decided in {elapsed:.1f}s")
        print(f"pipeline throughput: {total / elapsed:.0f} events/s")
        await producer.stop()
        await consumer.stop()
    finally:
        worker.stop()
        broker.stop()


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
