"""Publishing takes the app's running producer as it is, and starts one that is not."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from stream_app.worker.topics import publish


class Producer:
    def __init__(self, started: bool) -> None:
        self.started = started
        self.sent: list[tuple[Any, ...]] = []

    async def send(self, *record: Any) -> asyncio.Future[str]:
        self.sent.append(record)
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        done.set_result("acked")
        return done


def topic_of(producer: Producer, in_transaction: bool = False) -> Any:
    starts: list[str] = []

    async def maybe_start_producer() -> Producer:
        starts.append("start")
        producer.started = True
        return producer

    app = SimpleNamespace(
        producer=producer,
        in_transaction=in_transaction,
        maybe_start_producer=maybe_start_producer,
        starts=starts,
    )
    return SimpleNamespace(app=app, get_topic_name=lambda: "prefix.next-best-actions")


async def test_a_running_producer_sends_without_a_start_call() -> None:
    producer = Producer(started=True)
    topic = topic_of(producer)
    ack = await publish(topic, b"L1", b"{}", 3)
    assert await ack == "acked"
    assert producer.sent == [("prefix.next-best-actions", b"L1", b"{}", 3, None, None)]
    assert topic.app.starts == []


async def test_a_producer_not_running_yet_is_started_first() -> None:
    producer = Producer(started=False)
    topic = topic_of(producer)
    await publish(topic, b"L1", None)
    assert topic.app.starts == ["start"] and len(producer.sent) == 1


async def test_a_transaction_s_sends_go_through_faust_s_start_call() -> None:
    producer = Producer(started=True)
    topic = topic_of(producer, in_transaction=True)
    await publish(topic, b"L1", b"{}")
    assert topic.app.starts == ["start"]
