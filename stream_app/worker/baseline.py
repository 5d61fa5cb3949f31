"""The bare-Faust baseline `stream-app bench` compares the pipeline with.

One agent, consume → table update → send, and nothing else: no decoding, no
domain, no manual acks. It runs with the very Faust options the worker runs with
(`faust_options`: the same producer batch size and acks, the same store, the same
group timings) in the same `faust.Worker` (`build_worker`), so the ratio the
benchmark prints is the cost of our pipeline over Faust's own per-event machinery
on the same broker, not a difference of settings. Run as
`python -m stream_app.worker.baseline`, configured by `STREAM_APP_*` like a worker;
the bench starts and stops it.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types.transports import TransportT

from stream_app.config.settings import Settings
from stream_app.kafka.options import fetch_max_wait_ms
from stream_app.worker.app import faust_options
from stream_app.worker.faust_fixes.app import FetchWait
from stream_app.worker.run import build_worker

SOURCE = "bench-baseline-in"
SINK = "bench-baseline-out"


class BaselineConsumerThread(FetchWait, aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's own consumer thread, fetching with the worker's fetch wait."""


class BaselineConsumer(aiokafka_driver.Consumer):
    def _new_consumer_thread(self) -> aiokafka_driver.AIOKafkaConsumerThread:
        return BaselineConsumerThread(self, loop=self.loop, beacon=self.beacon)


class BaselineTransport(aiokafka_driver.Transport):
    Consumer = BaselineConsumer


class BaselineApp(faust.App):
    """A plain `faust.App` whose consumer fetches with the worker's fetch wait.

    With Faust's fixed 1.5 s, the embedded broker held the baseline's fetches up to
    0.75 s where the worker's waits at most 100 ms, which understated the baseline and
    flattered the ratio. None of the worker's consumer fixes are in it.
    """

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms

    def _new_transport(self) -> TransportT:
        return BaselineTransport(self.conf.broker_consumer, self)


def create_baseline(settings: Settings) -> faust.App:
    """The baseline app: our Faust options and fetch wait, a plain Faust app, one table."""
    options: dict[str, Any] = {
        key: value
        for key, value in faust_options(settings).items()
        if key not in ("TableManager", "Table")
    }
    app = BaselineApp(
        f"{settings.app_id}-baseline", fetch_max_wait_ms=fetch_max_wait_ms(settings), **options
    )
    source = app.topic(SOURCE, key_serializer="raw", value_serializer="raw")
    sink = app.topic(SINK, key_serializer="raw", value_serializer="raw")
    table = app.Table(
        "baseline", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )

    @app.agent(source, name="baseline")
    async def passthrough(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            table[event.key.decode()] = event.value
            await sink.send(key=event.key, value=event.value)

    return app


def main() -> None:
    settings = Settings()
    build_worker(create_baseline(settings), settings).execute_from_commandline()


if __name__ == "__main__":
    main()
