"""Transitions per second and CPU per transition of the Q-learner's loop.

A benchmark, not the worker: it runs the real agent loop (`stream_app/worker/agents/
qlearner.py`, `register`) over N `lead-transitions` records that are all ready on
its stream (a backlog, as after a burst of decisions), with every send going to a
real broker through aiokafka's producer with the worker's options (acks=all): the
embedded Tansu broker by default, started and stopped here. So what it measures is
what limits the learner: the broker's acknowledgement per wait, and the Python work
per record. `--simulated-rtt-ms` acks every send after a fixed delay instead, with
no broker, for a Kafka-like round trip (5-10 ms) the local broker does not have.

The table is a dict with the parts the agent writes through (its changelog is a
real topic); the stream stand-in yields the records and notes the acks. A run is
done when every record is acked, which the agent does only after every q-update of
its batch was acknowledged by the broker, so they are all readable by then (checked
with the topic's end offset on the broker, `kafka.ends`). CPU is the whole process's
(`time.process_time`: the agent, aiokafka's producer; not the broker's).

    .venv/bin/python bench/qlearner_throughput.py [--transitions 5000] [--keys 40]
        [--simulated-rtt-ms 5] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream_app.config.params import learner_params
from stream_app.config.settings import Settings
from stream_app.domain.qlearning import seeded_priors
from stream_app.kafka.clients import start_producer
from stream_app.kafka.embedded import running_broker
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import client_options
from stream_app.worker.agents import qlearner


class Message:
    def __init__(self, key: bytes, value: bytes, offset: int) -> None:
        self.key, self.value, self.offset = key, value, offset
        self.partition, self.topic = 0, "lead-transitions"


class Event:
    """What Faust's stream yields (weakly referable: the store's write takes a ref)."""

    def __init__(self, message: Message) -> None:
        self.message = message


class Stream:
    """The agent's stream: every record is ready in its queue; acks are counted."""

    def __init__(self, records: list[Event], done: asyncio.Event) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        for record in records:
            self.queue.put_nowait(record)
        self.channel = SimpleNamespace(queue=self.queue)
        self.total, self.acked, self.done = len(records), 0, done

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()

    async def ack(self, record: Event) -> bool:
        self.acked += 1
        if self.acked == self.total:
            self.done.set()
        return True


class Producer:
    """Faust's producer interface over aiokafka's, or acks after a fixed delay."""

    def __init__(self, kafka: Any, rtt_s: float) -> None:
        self.kafka, self.rtt_s, self.sent = kafka, rtt_s, 0

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None, *_: Any
    ) -> Any:
        self.sent += 1
        if self.kafka is not None:
            return await self.kafka.send(topic, value, key=key, partition=partition)
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[Any] = loop.create_future()
        offset = self.sent
        metadata = SimpleNamespace(topic_partition=TopicPartition(topic, 0), offset=offset)
        loop.call_later(self.rtt_s, acked.set_result, metadata)
        return acked


class App:
    """The Faust app as `register` uses it: the agent decorator, drains, the producer."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self.agents: dict[str, Callable[..., Any]] = {}
        self.drains: dict[str, Any] = {}

    def agent(self, channel: Any, *, concurrency: int, name: str) -> Callable[..., Any]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.agents[name] = fn
            return fn

        return register

    async def maybe_start_producer(self) -> Producer:
        return self.producer


class Topic:
    def __init__(self, app: App, name: str) -> None:
        self.app, self.name = app, name

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, key: bytes | None, value: bytes) -> Any:
        return await self.app.producer.send(self.name, key, value, None)


class Table(dict[str, bytes]):
    def __init__(self, changelog: Topic) -> None:
        super().__init__()
        self.changelog_topic = changelog

    @property
    def data(self) -> Table:
        return self

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        pass


def transitions(n: int, keys: int, seed: int) -> list[Event]:
    """N transitions over `keys` (state, action) pairs of the seeded priors."""
    rng = random.Random(seed)
    pairs = sorted(seeded_priors())[:keys]
    states = sorted({state for state, _ in pairs})
    now = datetime.now(UTC).isoformat()
    records = []
    for i in range(n):
        state, action = rng.choice(pairs)
        lead = f"L{rng.randrange(2000)}"
        body = {
            "transition_id": f"t-{seed}-{i}",
            "lead_id": lead,
            "occurred_at": now,
            "state_before": state,
            "action": action.value,
            "decision_id": f"d-{i}",
            "reward": rng.choice((-0.02, 0.3, 1.0)),
            "state_after": rng.choice(states),
            "cause_event_id": f"e-{i}",
        }
        records.append(Event(Message(lead.encode(), orjson.dumps(body), i)))
    return records


async def q_updates_end(settings: Settings, topic: str) -> int:
    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        return int((await end_offsets(consumer, [tp]))[tp])
    finally:
        await consumer.stop()


async def one_run(args: argparse.Namespace, settings: Settings, run: int) -> dict[str, float]:
    prefix = f"qbench{os.getpid()}-{run}-"
    names = {n: f"{prefix}{n}" for n in ("q-updates", "changelog", "dead-letters")}
    kafka = None
    if args.simulated_rtt_ms is None:
        admin = AIOKafkaAdminClient(**client_options(settings))
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, 1, 1) for n in names.values()])
        finally:
            await admin.close()
        kafka = await start_producer(settings)
    producer = Producer(kafka, (args.simulated_rtt_ms or 0) / 1e3)
    app = App(producer)
    topics = SimpleNamespace(
        lead_transitions=None,
        q_updates=Topic(app, names["q-updates"]),
        dead_letters=Topic(app, names["dead-letters"]),
    )
    table = Table(Topic(app, names["changelog"]))
    qlearner.register(app, settings, topics, table, learner_params(settings))  # type: ignore[arg-type]
    records = transitions(args.transitions, args.keys, seed=run)
    done = asyncio.Event()
    stream = Stream(records, done)
    cpu, wall = time.process_time(), time.perf_counter()
    task = asyncio.ensure_future(app.agents["q-learner"](stream))
    await done.wait()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    out = {
        "transitions_per_s": args.transitions / wall,
        "cpu_us_per_transition": cpu / args.transitions * 1e6,
        "sends": producer.sent,
    }
    if kafka is not None:
        await kafka.stop()
        readable = await q_updates_end(settings, names["q-updates"])
        assert readable == args.transitions, f"{readable} q-updates readable, not all"
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transitions", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=40, help="distinct state|action pairs")
    parser.add_argument("--simulated-rtt-ms", type=float, default=None)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    async def runs(settings: Settings) -> None:
        results = [await one_run(args, settings, run) for run in range(args.runs)]
        for r in results:
            print(
                f"{r['transitions_per_s']:8.0f} transitions/s  "
                f"{r['cpu_us_per_transition']:7.0f} us CPU/transition  {r['sends']:.0f} sends"
            )
        best = max(results, key=lambda r: r["transitions_per_s"])
        median = statistics.median(r["cpu_us_per_transition"] for r in results)
        print(
            f"best {best['transitions_per_s']:.0f} transitions/s; "
            f"median {median:.0f} us CPU/transition; load {os.getloadavg()[0]:.1f}"
        )

    env = {"STREAM_APP_ENV": "dev", "STREAM_APP_KAFKA_IDEMPOTENCE": "false"}
    os.environ.update(env)
    if args.simulated_rtt_ms is not None:
        await runs(Settings(_env_file=None))  # type: ignore[call-arg]
        return
    with running_broker() as broker:
        await runs(Settings(_env_file=None, broker=broker.url))  # type: ignore[call-arg]


if __name__ == "__main__":
    asyncio.run(main())
