"""One embedded broker and one worker per test session; tests isolate by lead id."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stream_app.kafka.embedded import EmbeddedBroker, free_port, start_broker
from stream_app.wire.catalog import load_catalog
from tests.integration.harness import EMBEDDED_BROKER_ENV, TopicWatcher, Upstream, WorkerProcess

OUTPUT_TOPICS = [
    "next-best-actions",
    "dead-letters",
    "lead-transitions",
    "q-updates",
    "extraction-requests",
    "extractions",
    "reminders",
]


@pytest.fixture(scope="package", autouse=True)
def embedded_broker_env() -> Iterator[None]:
    """Every Settings and every `stream-app` process of these tests talks to the embedded
    broker: dev (replication factor 1) and no idempotent producers (harness.py).

    Package-scoped: the environment is restored when the integration tests end, so the
    unit tests that follow in the same run see the production defaults."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in EMBEDDED_BROKER_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="session")
def broker(artifacts: Path) -> Iterator[EmbeddedBroker]:
    broker = start_broker(log_path=artifacts / "broker.log")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def worker(broker: EmbeddedBroker, artifacts: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(
        broker=broker, data_dir=artifacts / "worker-data", log_path=artifacts / "worker.log"
    )
    process.start()
    ready_s = process.wait_ready()
    print(f"\nworker ready in {ready_s:.1f}s")
    yield process
    process.stop()


@pytest.fixture(scope="session")
async def watcher(broker: EmbeddedBroker, worker: WorkerProcess) -> AsyncIterator[TopicWatcher]:
    catalog = load_catalog()
    watcher = TopicWatcher(broker.bootstrap, [catalog[t].name for t in OUTPUT_TOPICS])
    await watcher.start()
    yield watcher
    await watcher.stop()


@pytest.fixture(scope="session")
async def upstream(broker: EmbeddedBroker) -> AsyncIterator[Upstream]:
    producer = Upstream(broker.bootstrap)
    await producer.start()
    yield producer
    await producer.stop()


class Events:
    """Builds valid input events for one lead with increasing event times."""

    @staticmethod
    def default_start() -> datetime:
        return datetime(2026, 11, 2, 15, 0, tzinfo=UTC)

    def __init__(self, lead_id: str, start: datetime) -> None:
        self.lead_id = lead_id
        self._clock = start
        self._ids = itertools.count(1)

    def _base(self, type_: str, gap: timedelta) -> dict[str, Any]:
        self._clock += gap
        return {
            "type": type_,
            "event_id": f"{self.lead_id}-e{next(self._ids)}",
            "lead_id": self.lead_id,
            "occurred_at": self._clock.isoformat(),
        }

    def created(self, **fields: Any) -> dict[str, Any]:
        return {
            **self._base("lead.created", timedelta(0)),
            "parent_name": "Sarah Mitchell",
            "child_name": "Jake",
            "child_age": 9,
            **fields,
        }

    def interaction(
        self, outcome: str = "completed", transcript: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        event = {
            **self._base("interaction.completed", timedelta(hours=20)),
            "channel": "voice",
            "direction": "outbound",
            "outcome": outcome,
            **fields,
        }
        event["interaction_id"] = event["event_id"]
        if transcript is not None:
            event["transcript"] = transcript
        return event

    def milestone(self, milestone: str) -> dict[str, Any]:
        return {**self._base("lead.milestone", timedelta(days=1)), "milestone": milestone}

    def attendance(self, status: str, **fields: Any) -> dict[str, Any]:
        event = self._base("attendance.recorded", timedelta(days=2))
        return {**event, "session_id": f"s-{event['event_id']}", "status": status, **fields}

    def event(
        self, type_: str, gap: timedelta = timedelta(hours=1), **fields: Any
    ) -> dict[str, Any]:
        return {**self._base(type_, gap), **fields}


def live_lead(name: str) -> Events:
    """A lead of its own id whose events start now: SMS windows pass on the wall clock."""
    return Events(f"{name}-{uuid.uuid4().hex[:10]}", datetime.now(UTC) - timedelta(seconds=5))


def sms(lead: Events, body: str, direction: str = "received") -> dict[str, Any]:
    """The lead's next SMS (`received` or `sent`), 200 ms after its previous event."""
    event = lead.event(f"sms.{direction}", timedelta(milliseconds=200), body=body)
    return {**event, "message_id": f"m-{event['event_id']}"}


def of(lead: Events) -> Callable[[dict[str, Any]], bool]:
    """Matches the lead's records on any topic."""
    return lambda r: r.get("lead_id") == lead.lead_id


@pytest.fixture
def events() -> Events:
    return Events(f"lead-{uuid.uuid4().hex[:10]}", Events.default_start())


class IsolatedWorkers:
    """Starts workers with their own consumer group and topics, so tests may kill them."""

    def __init__(self, broker: EmbeddedBroker, artifacts: Path, name: str) -> None:
        self.broker, self.artifacts, self.name = broker, artifacts, name
        self.started: list[WorkerProcess] = []

    def start(
        self, peer_of: WorkerProcess | None = None, *, ready: bool = True, **env: str
    ) -> WorkerProcess:
        """A worker of a new group, or with `peer_of` one more member of that worker's;
        `ready=False` returns once the process runs, not once it serves."""
        name = f"{self.name}-{len(self.started)}"
        group = {"STREAM_APP_APP_ID": name, "STREAM_APP_TOPIC_PREFIX": f"{name}."}
        if peer_of is not None:
            group = {key: peer_of.extra_env[key] for key in group}
        worker = WorkerProcess(
            broker=self.broker,
            data_dir=self.artifacts / f"{name}-data",
            log_path=self.artifacts / f"{name}.log",
            extra_env={**group, **env},
        )
        worker.start()
        self.started.append(worker)
        if ready:
            worker.wait_ready()
        return worker

    def start_advertised(self, peer_of: WorkerProcess | None = None, **env: str) -> WorkerProcess:
        """As `start`, with STREAM_APP_ADVERTISED_URL set to the worker's own address, so
        the workers of a group advertise distinct URLs and route lead views to the owner."""
        name = f"{self.name}-{len(self.started)}"
        group = {"STREAM_APP_APP_ID": name, "STREAM_APP_TOPIC_PREFIX": f"{name}."}
        if peer_of is not None:
            group = {key: peer_of.extra_env[key] for key in group}
        port = free_port()
        advertised = {"STREAM_APP_ADVERTISED_URL": f"http://127.0.0.1:{port}"}
        worker = WorkerProcess(
            broker=self.broker,
            data_dir=self.artifacts / f"{name}-data",
            log_path=self.artifacts / f"{name}.log",
            extra_env={**group, **advertised, **env},
            web_port=port,
        )
        worker.start()
        worker.wait_ready()
        self.started.append(worker)
        return worker


@pytest.fixture
def workers(
    broker: EmbeddedBroker, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[IsolatedWorkers]:
    # Readable and unique: parametrized tests share a name prefix but never topics.
    readable = re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name)[:30]
    name = f"{readable}-{uuid.uuid4().hex[:6]}"
    factory = IsolatedWorkers(broker, artifacts, name)
    yield factory
    for worker in factory.started:
        worker.stop()


@pytest.fixture
def isolated(workers: IsolatedWorkers) -> WorkerProcess:
    """A worker of its own with default settings."""
    return workers.start()


async def watch(broker: EmbeddedBroker, worker: WorkerProcess, *topics: str) -> TopicWatcher:
    """Watch an isolated worker's topics (the names carry its prefix)."""
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = TopicWatcher(broker.bootstrap, [prefix + t for t in topics])
    await watcher.start()
    return watcher
