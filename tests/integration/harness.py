"""A real broker, a real worker process and a Kafka client, as an upstream system sees them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record._crc32c import crc as crc32c
from aiokafka.record.default_records import DefaultRecordBase, DefaultRecordBatchBuilder
from prometheus_client.parser import text_string_to_metric_families

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker, free_port
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.partitioner import partition_for

# Tansu-friendly group timings (docs/runtime-notes.md, "Tansu, the embedded broker"):
# ready in seconds, not 30 s.
FAST_GROUP_ENV = {
    "STREAM_APP_SESSION_TIMEOUT_S": "6",
    "STREAM_APP_HEARTBEAT_INTERVAL_S": "1",
    "STREAM_APP_REBALANCE_TIMEOUT_S": "6",
    "STREAM_APP_SWEEP_INTERVAL_S": "1",
    # SMS windows in seconds, so a thread's quiet period passes within a test.
    "STREAM_APP_SMS_QUIET_S": "2",
    "STREAM_APP_SMS_MAX_AGE_S": "8",
    # Tests move event time weeks past the wall clock (decay, retention, replay); the
    # door's bound (default one day) is checked by test_poison.py, which sets it back.
    "STREAM_APP_EVENT_MAX_AHEAD_S": str(366 * 86_400),
}

# The embedded broker is one broker (replication factor 1 is only allowed in dev) and
# rejects the InitProducerId an idempotent producer needs. Producers batch as in
# production: readers take their ends from `kafka.ends`, which is right after
# multi-record batches. conftest.py also puts these in os.environ for the session,
# so every command a test runs inherits them.
EMBEDDED_BROKER_ENV = {
    "STREAM_APP_ENV": "dev",
    "STREAM_APP_KAFKA_IDEMPOTENCE": "false",
}


@dataclass
class WorkerProcess:
    """`stream-app worker` in its own process, so tests can SIGKILL and restart it."""

    broker: EmbeddedBroker
    data_dir: Path
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    web_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> None:
        env = {
            **os.environ,
            **EMBEDDED_BROKER_ENV,
            **FAST_GROUP_ENV,
            "STREAM_APP_BROKER": self.broker.url,
            "STREAM_APP_WEB_PORT": str(self.web_port),
            "STREAM_APP_DATA_DIR": str(self.data_dir),
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stream_app", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def wait_ready(self, timeout_s: float = 60.0) -> float:
        """Block until /readyz answers 200; returns seconds since start()."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(
                    f"worker exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.get("/readyz")[0] == 200:
                return time.monotonic() - self.started_at
            time.sleep(0.1)
        raise AssertionError(f"worker not ready in {timeout_s}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout_s)

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return response.status, _maybe_json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _maybe_json(exc.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def post(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base_url + path, data=body, method="POST", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, _maybe_json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _maybe_json(exc.read())

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Any request, with the response's status, body (JSON if it is) and headers."""
        request = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, _maybe_json(response.read()), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, _maybe_json(exc.read()), dict(exc.headers)

    def log_text(self) -> str:
        """Everything the worker process wrote so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a client holding `token`."""
    return {"Authorization": f"Bearer {token}"}


def _maybe_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


Predicate = Callable[[dict[str, Any]], bool]


class TopicWatcher:
    """Consumes output topics from the beginning and lets tests await records.

    Every record is kept, so a test can await "the decision for my lead" without
    caring whether it arrived before or after it started waiting.
    """

    def __init__(self, bootstrap: str, topics: list[str]) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            metadata_max_age_ms=1000,
        )
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.raw: dict[str, list[tuple[bytes | None, bytes | None]]] = defaultdict(list)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _run(self) -> None:
        async for record in self._consumer:
            self.raw[record.topic].append((record.key, record.value))
            with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                self.records[record.topic].append(orjson.loads(record.value))
            async with self._changed:
                self._changed.notify_all()

    def matching(self, topic: str, predicate: Predicate) -> list[dict[str, Any]]:
        return [r for r in self.records[topic] if predicate(r)]

    async def wait_for(
        self, topic: str, predicate: Predicate, count: int = 1, timeout_s: float = 30.0
    ) -> list[dict[str, Any]]:
        """Await at least `count` matching records; fail with what was seen instead."""

        async def _enough() -> list[dict[str, Any]]:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.matching(topic, predicate)) >= count)
            return self.matching(topic, predicate)

        try:
            return await asyncio.wait_for(_enough(), timeout_s)
        except TimeoutError:
            seen = self.matching(topic, predicate)
            raise AssertionError(
                f"expected {count} matching records on {topic} within {timeout_s}s, got "
                f"{len(seen)}: {seen[-3:]}"
            ) from None


class Upstream:
    """Produces events the way an upstream system would: JSON, keyed by lead_id."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, partition: int | None = None
    ) -> tuple[int, int]:
        """One record exactly as given, no key derived, any bytes (a hostile producer);
        returns where it landed, (partition, offset)."""
        metadata = await self._producer.send_and_wait(topic, value, key=key, partition=partition)
        return metadata.partition, metadata.offset

    async def send(self, topic: str, event: dict[str, Any] | bytes, key: str | None = None) -> None:
        value = event if isinstance(event, bytes) else orjson.dumps(event)
        if key is None and isinstance(event, dict):
            key = event.get("lead_id")
        await self._producer.send_and_wait(
            topic, value, key=key.encode() if key is not None else None
        )


async def group_positions(bootstrap: str, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (the group's committed offset, the log end offset), to tell a
    commit that skipped records from a consumer that stopped reading."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        ends = await end_offsets(consumer, partitions)
        return {tp.partition: ((await consumer.committed(tp)) or 0, ends[tp]) for tp in partitions}
    finally:
        await consumer.stop()


def metric_value(worker: WorkerProcess, name: str, labels: dict[str, str]) -> float:
    """One sample of the worker's /metrics (0 when the series does not exist yet)."""
    status, body = worker.get("/metrics")
    assert status == 200, status
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def until(what: str, check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Await a condition that no topic announces (HTTP state, metrics), with a deadline."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)


async def decide(
    upstream: Upstream, watcher: TopicWatcher, topic: str, event: dict[str, Any], prefix: str = ""
) -> dict[str, Any]:
    """Send one event and await the decision it triggers, as a CRM would."""
    await upstream.send(prefix + topic, event)
    [decision] = await watcher.wait_for(
        prefix + "next-best-actions", lambda r: r["trigger_event_id"] == event["event_id"]
    )
    return decision


# Offset gaps through the broker (docs/runtime-notes.md, "Tansu, the embedded broker"):
# Tansu has no transactions, retention or compaction to make one, and DeleteRecords
# panics, but it stores a produced batch as sent, so the two gaps Kafka makes can be
# written directly: a batch whose records skip offsets (what compaction leaves) and a
# control batch (a transaction marker, which consumers skip).
_CONTROL = 0x20
_TRANSACTIONAL = 0x10


def record_batch(
    records: list[tuple[int, bytes | None, bytes]], base_offset: int = 0, attributes: int = 0
) -> bytes:
    """A v2 record batch of (offset delta, key, value); a broker sets the base offset on
    append (`base_offset` is for batches read without one, in unit tests)."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1 << 20,
    )
    now_ms = int(time.time() * 1000)
    for delta, key, value in records:
        builder.append(delta, now_ms, key, value, [])
    batch = builder.build()
    struct.pack_into(">q", batch, 0, base_offset)  # outside the CRC
    if attributes:
        at = DefaultRecordBase.ATTRIBUTES_OFFSET
        struct.pack_into(">h", batch, at, struct.unpack_from(">h", batch, at)[0] | attributes)
        struct.pack_into(">I", batch, DefaultRecordBase.CRC_OFFSET, crc32c(bytes(batch[at:])))
    return bytes(batch)


def commit_marker_batch(base_offset: int = 0) -> bytes:
    """A transaction COMMIT marker: a control batch of one control record."""
    key, value = struct.pack(">hh", 0, 1), struct.pack(">hi", 0, 0)
    return record_batch([(0, key, value)], base_offset, _CONTROL | _TRANSACTIONAL)


async def _produce_batch(bootstrap: str, topic: str, partition: int, batch: bytes) -> int:
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        client.add_topic(topic)
        await client.force_metadata_update()
        leader = client.cluster.leader_for_partition(TopicPartition(topic, partition))
        response = await client.send(
            leader, ProduceRequest(None, -1, 10_000, [(topic, [(partition, batch)])])
        )
        [(_, [(_, error_code, base_offset, *_)])] = response.topics
        assert error_code == 0, f"produce to {topic}[{partition}] failed: error {error_code}"
        return int(base_offset)
    finally:
        await client.close()


async def produce_with_gaps(
    bootstrap: str,
    topic: str,
    records: list[tuple[int, bytes | None, bytes]],
    partition: int = 0,
) -> list[int]:
    """Append one batch with records at the given offset deltas (key, value); offsets
    between the deltas do not exist, as after compaction. Returns the records' offsets."""
    base = await _produce_batch(bootstrap, topic, partition, record_batch(records))
    return [base + delta for delta, _, _ in records]


async def produce_commit_marker(bootstrap: str, topic: str, partition: int = 0) -> int:
    """Append a transaction COMMIT marker, as an exactly-once producer's commit leaves
    one (a control batch: consumers skip its offset). Returns its offset."""
    return await _produce_batch(bootstrap, topic, partition, commit_marker_batch())


PARTITIONS = Settings.model_fields["partitions"].default
"""Of every input topic the harness's workers create (`STREAM_APP_PARTITIONS` unset)."""


def partition_of(lead_id: str, partitions: int = PARTITIONS) -> int:
    """The input partition of a lead: murmur2 of its key, as producers partition."""
    return partition_for(lead_id, partitions)


def lead_id_in_partition(partition: int, prefix: str, partitions: int = PARTITIONS) -> str:
    """A fresh lead id (`prefix` + random hex) in `partition`.

    Time rules run on per-partition stream time, so a test that moves event time with
    another lead's events picks that other lead in the same partition.
    """
    while True:
        lead_id = f"{prefix}{uuid.uuid4().hex[:8]}"
        if partition_of(lead_id, partitions) == partition:
            return lead_id
