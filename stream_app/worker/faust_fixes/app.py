"""The app and transport that install the fixed consumer through Faust's own settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types.transports import ConsumerT, TransportT

from stream_app.worker.faust_fixes.commits import ContiguousCommitConsumer


class FixedTransport(aiokafka_driver.Transport):
    Consumer = ContiguousCommitConsumer


class FixedApp(faust.App):
    """Faust's App with the transport above, drains run before a rebalance waits, and
    a choice whether a stopping worker leaves its group.

    On revoke, Faust clears every agent's queue and then waits until each record an
    agent already took is acked. An agent that holds records across iterations (the
    lead agent's batch) would wait for a next record that the cleared queue never
    brings, and the rebalance would wait for it: `drains` (by agent name) flush
    what is held first.
    """

    drains: dict[str, Callable[[], Awaitable[None]]]
    leaves_group_on_stop: bool
    """False: the consumer stops without a LeaveGroup (`StayingCoordinator`)."""

    def __init__(self, *args: Any, leaves_group_on_stop: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.drains = {}
        self.leaves_group_on_stop = leaves_group_on_stop

    def _new_transport(self) -> TransportT:
        return FixedTransport(self.conf.broker_consumer, self)

    async def _consumer_wait_empty(self, consumer: ConsumerT, logger: Any) -> None:
        for drain in list(self.drains.values()):
            await drain()
        await super()._consumer_wait_empty(consumer, logger)
