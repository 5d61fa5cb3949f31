"""The app and transport that install the fixed consumer through Faust's own settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types.transports import ConsumerT, TransportT

from stream_app.worker.faust_fixes.commits import (
    ContiguousCommitConsumer,
    SpanReportingConsumerThread,
)
from stream_app.worker.faust_fixes.delivery import PromptDelivery


class FetchWait:
    """A consumer thread mixin: its aiokafka consumer waits `app.fetch_max_wait_ms`.

    Faust builds the worker's consumer with `fetch_max_wait_ms=1500` and no setting
    for it; on the embedded broker that fixed wait cost up to 0.75 s per hop at light
    load (`stream_app.kafka.options.fetch_max_wait_ms`). aiokafka reads the value when
    the consumer starts, after this returns. The bench's bare-Faust baseline mixes it
    into Faust's own consumer thread, so both sides of the ratio fetch alike.
    """

    app: Any

    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer: aiokafka.AIOKafkaConsumer = super()._create_worker_consumer(transport)  # type: ignore[misc]
        wait = getattr(self.app, "fetch_max_wait_ms", None)
        if wait is not None:
            consumer._fetch_max_wait_ms = wait
        return consumer


class FetchWaitConsumerThread(FetchWait, SpanReportingConsumerThread):
    """The worker's consumer thread, with the fetch wait (`FetchWait`)."""


class FixedConsumer(PromptDelivery, ContiguousCommitConsumer):
    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FixedTransport(aiokafka_driver.Transport):
    Consumer = FixedConsumer


class FixedApp(faust.App):
    """Faust's App with the transport above, drains run before a rebalance waits, a
    choice whether a stopping worker leaves its group, and its consumer's fetch wait.

    On revoke, Faust clears every agent's queue and then waits until each record an
    agent already took is acked. An agent that holds records across iterations (the
    lead agent's batch) would wait for a next record that the cleared queue never
    brings, and the rebalance would wait for it: `drains` (by agent name) flush
    what is held first.
    """

    drains: dict[str, Callable[[], Awaitable[None]]]
    leaves_group_on_stop: bool
    """False: the consumer stops without a LeaveGroup (`StayingCoordinator`)."""
    fetch_max_wait_ms: int | None
    """The consumer's Fetch max wait; None keeps Faust's 1.5 s."""

    def __init__(
        self,
        *args: Any,
        leaves_group_on_stop: bool = True,
        fetch_max_wait_ms: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.drains = {}
        self.leaves_group_on_stop = leaves_group_on_stop
        self.fetch_max_wait_ms = fetch_max_wait_ms

    def _new_transport(self) -> TransportT:
        return FixedTransport(self.conf.broker_consumer, self)

    async def _consumer_wait_empty(self, consumer: ConsumerT, logger: Any) -> None:
        for drain in list(self.drains.values()):
            await drain()
        await super()._consumer_wait_empty(consumer, logger)
