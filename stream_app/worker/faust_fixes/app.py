"""The app and transport that install the fixed consumer through Faust's own settings."""

from __future__ import annotations

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types.transports import TransportT

from stream_app.worker.faust_fixes.commits import ContiguousCommitConsumer


class FixedTransport(aiokafka_driver.Transport):
    Consumer = ContiguousCommitConsumer


class FixedApp(faust.App):
    """Faust's App with the transport above; the only place that knows about it."""

    def _new_transport(self) -> TransportT:
        return FixedTransport(self.conf.broker_consumer, self)
