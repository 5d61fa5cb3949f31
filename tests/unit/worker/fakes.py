"""Stand-ins for Faust's topics and tables, shared by the agents' unit tests.

A dict has the table's mapping interface; the broker-level behaviour is in
tests/integration.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from faust.streams import current_event


class FakeTopic:
    def __init__(self, name: str, sent: dict[str, list[tuple[bytes, bytes]]]) -> None:
        self.name, self.sent = name, sent
        self.app = FakeApp(self)

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, key: bytes, value: bytes) -> Any:
        self.sent[self.name].append((key, value))
        acked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        acked.set_result(None)  # what the agent awaits as the broker's ack
        return acked


class FakeApp:
    """The app behind a fake topic: its producer hands each record to the topic's `send`."""

    def __init__(self, topic: FakeTopic) -> None:
        self.topic = topic
        # A running producer, as the worker's is once the app started.
        self.producer, self.started, self.in_transaction = self, True, False

    async def maybe_start_producer(self) -> FakeApp:
        return self

    async def send(self, name: str, key: bytes, value: bytes, *_: Any) -> Any:
        return await self.topic.send(key=key, value=value)


@dataclass
class FakeTopics:
    sent: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=lambda: defaultdict(list))

    def __getattr__(self, name: str) -> FakeTopic:
        return FakeTopic(name, self.sent)


class NotedTopics(FakeTopics):
    """Notes every send ("send <topic>") and every broker ack (`acked` with the topic)
    in `log`, the ack a turn of the loop after the send; a `refused` topic's acks
    fail, as a broker that is gone."""

    def __init__(
        self,
        log: list[str] | None = None,
        refused: frozenset[str] = frozenset(),
        acked: str = "ack {}",
    ) -> None:
        super().__init__()
        self.log: list[str] = [] if log is None else log
        self.refused, self.acked = refused, acked

    def __getattr__(self, name: str) -> FakeTopic:
        sent, log, topics = self.sent, self.log, self

        class Noted(FakeTopic):
            async def send(self, key: bytes, value: bytes) -> Any:
                sent[name].append((key, value))
                log.append(f"send {name}")
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

                def ack() -> None:
                    if name in topics.refused:  # as refused now, not when it was built
                        done.set_exception(ConnectionError("broker gone"))
                    else:
                        log.append(topics.acked.format(name))
                        done.set_result(None)

                asyncio.get_running_loop().call_soon(ack)
                return done

        return Noted(name, sent)


class FakeChangelog:
    """A table's changelog topic, and its own producer: notes each record with its
    partition and acks it on the loop's next turn."""

    def __init__(self, table: FakeTable) -> None:
        self.table = table
        self.app = self
        self.producer, self.started, self.in_transaction = self, True, False

    def get_topic_name(self) -> str:
        return "leads-changelog"

    async def maybe_start_producer(self) -> FakeChangelog:
        return self

    async def send(
        self, name: str, key: bytes, value: bytes | None, partition: int, *_: Any
    ) -> Any:
        table = self.table
        table.changelog.append((key.decode(), value, partition))
        if table.log is not None:
            table.log.append(f"changelog {key.decode()}")
        acked: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        metadata = SimpleNamespace(
            topic_partition=("changelog", partition), offset=len(table.changelog)
        )

        def ack() -> None:
            if table.log is not None:
                table.log.append(f"logged {key.decode()}")
            acked.set_result(metadata)

        asyncio.get_running_loop().call_soon(ack)
        return acked


class FakeTable(dict[str, bytes]):
    """A dict with the parts of a Faust table the agent writes through: the store it
    writes once the changelog acknowledged (`data`, the dict itself), the changelog
    topic and the serializers.

    Notes every changelog record, each store write with the current event's partition
    (where a RocksDB store writes it) and the changelog offsets the store is told it
    holds.
    """

    key_serializer = value_serializer = "raw"

    def __init__(self, log: list[str] | None = None) -> None:
        super().__init__()
        self.log = log
        self.changelog: list[tuple[str, bytes | None, int]] = []
        self.writes: list[tuple[str, int | None]] = []
        self.persisted: dict[Any, int] = {}
        self.changelog_topic = FakeChangelog(self)

    @property
    def data(self) -> FakeTable:
        return self

    def __setitem__(self, key: str, value: bytes) -> None:
        now = current_event()
        record = getattr(now, "message", now)  # `handle` makes a message its own event
        self.writes.append((key, record.partition if record is not None else None))
        if self.log is not None:
            self.log.append(f"write {key}")
        super().__setitem__(key, value)

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.persisted[tp] = offset
