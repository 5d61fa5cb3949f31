"""`stream-app console` in its own process, as an operator starts it, for integration tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.console.projection import CONSOLE_TOPICS
from stream_app.kafka.embedded import EmbeddedBroker, free_port
from stream_app.kafka.ends import end_offsets
from tests.integration.harness import EMBEDDED_BROKER_ENV


@dataclass
class ConsoleProcess:
    """One console: its data dir (the SQLite read model) outlives the process, so a test
    can stop it, restart it on the same read model, or rebuild it."""

    broker: EmbeddedBroker
    data_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "console.log"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "console.sqlite3"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **EMBEDDED_BROKER_ENV,
            "STREAM_APP_BROKER": self.broker.url,
            "STREAM_APP_DATA_DIR": str(self.data_dir),
            **self.extra_env,
        }

    def start(self, *args: str, timeout_s: float = 30.0) -> None:
        """Start and block until /healthz answers (the feed has started)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "stream_app", "console", "--port", str(self.port), *args],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while self.health() is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"console did not start:\n{self.log_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)
        self.process = None

    def health(self) -> dict[str, Any] | None:
        """The feed's counters (records read since this process started), or None."""
        status, body = self.get("/healthz")
        return body if status == 200 and isinstance(body, dict) else None

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=10) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tables(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every table of the read model, rows sorted (read with the process stopped)."""
        db = sqlite3.connect(self.db_path)
        try:
            names = [
                n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {n: sorted(db.execute(f"SELECT * FROM {n}").fetchall()) for n in names}
        finally:
            db.close()


async def log_ends(bootstrap: str, prefix: str = "") -> dict[tuple[str, int], int]:
    """(logical topic, partition) -> end offset of every topic the console reads."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(prefix + topic, p)
            for topic in CONSOLE_TOPICS
            for p in consumer.partitions_for_topic(prefix + topic) or ()
        ]
        ends = await end_offsets(consumer, partitions)
        return {(tp.topic.removeprefix(prefix), tp.partition): end for tp, end in ends.items()}
    finally:
        await consumer.stop()
