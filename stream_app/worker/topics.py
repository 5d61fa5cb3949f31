"""One Faust topic per catalog entry, with the physical name Settings gives it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import faust
from faust.types import RecordMetadata

from stream_app.config.settings import Settings
from stream_app.wire.catalog import load_catalog
from stream_app.wire.models import INPUT_TYPES


@dataclass(frozen=True)
class Topics:
    inputs: faust.TopicT
    next_best_actions: faust.TopicT
    lead_transitions: faust.TopicT
    q_updates: faust.TopicT
    extraction_requests: faust.TopicT
    extractions: faust.TopicT
    reminders: faust.TopicT
    lead_timers: faust.TopicT
    dead_letters: faust.TopicT
    logical: dict[str, str]

    @classmethod
    def build(cls, app: faust.App, settings: Settings) -> Topics:
        catalog = load_catalog()

        def topic(*names: str) -> faust.TopicT:
            spec = catalog[names[0]]
            return app.topic(
                *(settings.topic(n) for n in names),
                partitions=spec.partition_count(settings.partitions),
                key_serializer="raw",
                value_serializer="raw",
                config=spec.config() if len(names) == 1 else None,
            )

        return cls(
            # The lead agent reads every lead-keyed input plus the extraction results,
            # so one writer applies everything that happens to a lead.
            inputs=topic(*INPUT_TYPES, "extractions", "lead-timers"),
            next_best_actions=topic("next-best-actions"),
            lead_transitions=topic("lead-transitions"),
            q_updates=topic("q-updates"),
            extraction_requests=topic("extraction-requests"),
            extractions=topic("extractions"),
            reminders=topic("reminders"),
            lead_timers=topic("lead-timers"),
            dead_letters=topic("dead-letters"),
            logical={settings.topic(name): name for name in catalog.names},
        )


async def publish(
    topic: faust.TopicT, key: bytes, value: bytes | None, partition: int | None = None
) -> Awaitable[RecordMetadata]:
    """Hand one encoded record to the app's producer; return the broker's ack to await.

    Faust's `Topic.send` wraps each record in a pending message, a promise and
    sensor calls on its way to the same producer, and starts the producer through
    `maybe_start_producer` (`_started_producer` says what that costs). The lead
    agent, the extractor and the sweep send encoded bytes, for one physical topic
    each. (The 3.4% of the loop first measured for the wrapping came from a paused
    py-spy, which overstated it: docs/runtime-notes.md, "Throughput".)
    """
    return await (await _started_producer(topic.app)).send(
        topic.get_topic_name(), key, value, partition, None, None
    )


async def _started_producer(app: faust.types.AppT) -> faust.types.ProducerT:
    """The app's producer, started.

    `app.maybe_start_producer` is a mode "stampede" call: every call yields to the
    loop three times (`asyncio.sleep(0)`) even when the producer runs already, and
    the worker publishes ~3.3 records per input event, so a heavy `stream-app bench`
    worker yielded ~100,000 times for nothing (cProfile). Once the producer runs (and
    no transaction owns the sends) it is returned as it is.
    """
    producer = app.producer
    if producer.started and not app.in_transaction:
        return producer
    started: faust.types.ProducerT = await app.maybe_start_producer()
    return started
