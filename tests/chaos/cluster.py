"""Two real worker processes of one consumer group, and the ways chaos stops them.

Built on `tests/integration/harness.py` (`WorkerProcess`); what it adds is async:
every wait here yields to the event loop, so the producer and the log readers keep
running while a worker starts, stops or recovers.
"""

from __future__ import annotations

import asyncio
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stream_app.kafka.embedded import EmbeddedBroker, free_port
from tests.integration.harness import WorkerProcess

_LAG = re.compile(r"^stream_app_consumer_lag\{([^}]*)\}", re.M)
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def cluster_env(name: str, partitions: int, **env: str) -> dict[str, str]:
    """Settings every member of the group shares (a test-only partition count)."""
    return {
        "STREAM_APP_APP_ID": name,
        "STREAM_APP_TOPIC_PREFIX": f"{name}.",
        "STREAM_APP_PARTITIONS": str(partitions),
        **env,
    }


@dataclass
class Member:
    """One worker of the group, restartable under the same name, port and URL."""

    label: str
    process: WorkerProcess
    starts: int = 0
    log_from: int = 0
    """Where this start's lines begin in the (appended) log file."""

    @property
    def alive(self) -> bool:
        proc = self.process.process
        return proc is not None and proc.poll() is None

    def start(self) -> None:
        self.starts += 1
        path = self.process.log_path
        self.log_from = path.stat().st_size if path.exists() else 0
        self.process.start()

    def why_exited(self) -> str:
        """Return code and the first error lines this start logged."""
        proc = self.process.process
        code = proc.returncode if proc is not None else None
        with self.process.log_path.open("rb") as f:
            f.seek(self.log_from)
            text = f.read().decode("utf-8", "replace")
        errors = [
            line.strip()[:400]
            for line in text.splitlines()
            if "[ERROR]" in line or "CRITICAL" in line
        ]
        return f"exit code {code}: " + (" | ".join(errors[:3]) or "no error logged")

    async def kill(self, sig: int) -> None:
        """Signal the worker and await its exit (SIGTERM: a graceful stop, ≤ 30 s)."""
        await asyncio.to_thread(self.process.stop, sig)

    async def get(self, path: str) -> tuple[int, object]:
        return await asyncio.to_thread(self.process.get, path)

    async def ready(self, timeout_s: float = 90.0) -> float:
        """Await /readyz 200; seconds since the process started."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive:
                raise AssertionError(f"worker {self.label} exited:\n{self.process.log_tail()}")
            if (await self.get("/readyz"))[0] == 200:
                return time.monotonic() - self.process.started_at
            await asyncio.sleep(0.1)
        raise AssertionError(f"worker {self.label} not ready in {timeout_s}s")

    async def up(self, timeout_s: float = 90.0) -> None:
        """Await the web server (/healthz), which starts after `topics apply`."""
        deadline = time.monotonic() + timeout_s
        while (await self.get("/healthz"))[0] != 200:
            if not self.alive or time.monotonic() > deadline:
                raise AssertionError(f"worker {self.label} never served /healthz")
            await asyncio.sleep(0.1)

    async def owned(self, topic: str) -> set[int]:
        """Partitions of `topic` this worker is assigned (its consumer-lag series)."""
        status, text = await self.get("/metrics")
        if status != 200:
            return set()
        owned = set()
        for labels in _LAG.findall(str(text)):
            found = dict(_LABEL.findall(labels))
            if found.get("topic") == topic:
                owned.add(int(found["partition"]))
        return owned


@dataclass
class Cluster:
    broker: EmbeddedBroker
    artifacts: Path
    name: str
    env: dict[str, str]
    members: list[Member] = field(default_factory=list)

    def add(self, label: str) -> Member:
        port = free_port()
        process = WorkerProcess(
            broker=self.broker,
            data_dir=self.artifacts / f"{self.name}-{label}-data",
            log_path=self.artifacts / f"{self.name}-{label}.log",
            extra_env={
                **self.env,
                "STREAM_APP_ADVERTISED_URL": f"http://127.0.0.1:{port}",
                # The embedded broker keeps a member that leaves during a rebalance as
                # the group's leader, and the group never forms again: a stopping member
                # just stops (tests/integration/test_group_leave.py).
                "STREAM_APP_KAFKA_LEAVE_GROUP_ON_STOP": "false",
            },
            web_port=port,
        )
        member = Member(label, process)
        self.members.append(member)
        return member

    @property
    def prefix(self) -> str:
        return self.env["STREAM_APP_TOPIC_PREFIX"]

    @property
    def group(self) -> str:
        return self.env["STREAM_APP_APP_ID"]

    def other(self, member: Member) -> Member:
        return next(m for m in self.members if m is not member)

    async def all_ready(
        self, timeout_s: float = 120.0, on_exit: Callable[[Member], None] | None = None
    ) -> None:
        """Every member alive and ready at once (a join makes the others unready a while).

        A member that exited on its own is reported to `on_exit` and started again (the
        run goes on, so the verifier sees what the crash did); without `on_exit` it fails.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            ready = [await m.get("/readyz") for m in self.members]
            if all(status == 200 for status, _ in ready):
                return
            for member in self.members:
                if not member.alive:
                    if on_exit is None:
                        raise AssertionError(
                            f"worker {member.label} exited:\n{member.process.log_tail()}"
                        )
                    on_exit(member)
                    member.start()
            if time.monotonic() > deadline:
                raise AssertionError(f"workers not all ready in {timeout_s}s: {ready}")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        await asyncio.gather(*(m.kill(signal.SIGTERM) for m in self.members))
