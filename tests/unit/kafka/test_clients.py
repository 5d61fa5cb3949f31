"""A broker that refuses an idempotent producer gets a message that says what to set."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, UnknownError

from stream_app.config.settings import Settings
from stream_app.kafka.clients import start_producer


def _failing_start(error: Exception) -> Any:
    async def start(self: AIOKafkaProducer) -> None:
        raise error

    return start


async def test_a_refused_producer_id_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # What the embedded broker answers to InitProducerId.
    monkeypatch.setattr(AIOKafkaProducer, "start", _failing_start(UnknownError()))
    with pytest.raises(SystemExit, match="STREAM_APP_KAFKA_IDEMPOTENCE=false"):
        await start_producer(Settings(_env_file=None))  # type: ignore[call-arg]


async def test_other_failures_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    not_idempotent = Settings(_env_file=None, kafka_idempotence=False)  # type: ignore[call-arg]
    monkeypatch.setattr(AIOKafkaProducer, "start", _failing_start(UnknownError()))
    with pytest.raises(UnknownError):
        await start_producer(not_idempotent)
    monkeypatch.setattr(AIOKafkaProducer, "start", _failing_start(KafkaConnectionError()))
    with pytest.raises(KafkaConnectionError):
        await start_producer(Settings(_env_file=None))  # type: ignore[call-arg]
