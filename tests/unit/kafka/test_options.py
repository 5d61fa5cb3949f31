"""Producer and durability options every client takes, from Settings only."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from stream_app.config.settings import Settings
from stream_app.kafka.options import (
    ACKS_ALL,
    client_options,
    consumer_options,
    producer_options,
    unreplicated,
)
from stream_app.worker.app import faust_options


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_producers_ask_for_acks_all_and_idempotence_by_default() -> None:
    options = producer_options(settings())
    assert options["acks"] == "all"
    assert options["enable_idempotence"] is True
    assert producer_options(settings(kafka_idempotence=False))["enable_idempotence"] is False
    assert client_options(settings()).items() <= options.items()


def test_every_producer_takes_the_batch_size_setting() -> None:
    """A batch size set for the plain producers is the worker's Faust producer's too."""
    given = settings(env="dev", kafka_max_batch_bytes=1)
    assert producer_options(given)["max_batch_size"] == 1
    assert faust_options(given)["producer_max_batch_size"] == 1
    assert producer_options(settings())["max_batch_size"] == 16_384


@pytest.mark.parametrize(
    "values, wait",
    [
        ({}, 500),
        ({"env": "dev"}, 100),
        ({"kafka_fetch_max_wait_ms": 50}, 50),
        ({"env": "dev", "kafka_fetch_max_wait_ms": 500}, 500),
    ],
)
async def test_plain_consumers_take_the_fetch_wait(values: dict[str, Any], wait: int) -> None:
    """Kafka's 500 ms outside dev; the embedded broker's 100 ms in dev; the setting over both."""
    options = consumer_options(settings(**values))
    assert options["fetch_max_wait_ms"] == wait
    assert client_options(settings(**values)).items() <= options.items()
    consumer = AIOKafkaConsumer(**options)
    try:
        assert consumer._fetch_max_wait_ms == wait
    finally:
        await consumer.stop()


async def test_aiokafka_builds_the_producer_acks_all_murmur2() -> None:
    """Built, never started: no broker needed. aiokafka's default partitioner is the
    Java client's murmur2 (the partitioner contract, README "Running in production")."""
    for idempotent in (True, False):
        producer = AIOKafkaProducer(**producer_options(settings(kafka_idempotence=idempotent)))
        try:
            assert producer._sender._acks == ACKS_ALL
            assert (producer._txn_manager is not None) is idempotent
            assert isinstance(producer._partitioner, DefaultPartitioner)
        finally:
            await producer.stop()


def test_sasl_options_carry_the_credentials() -> None:
    options = client_options(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="app",
            kafka_sasl_password="secret",
        )
    )
    assert options["security_protocol"] == "SASL_SSL"
    assert options["ssl_context"] is not None
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("app", "secret")


@pytest.mark.parametrize(
    "env, replication_factor, refused",
    [
        ("prod", 1, True),
        ("prod", 2, False),
        ("prod", 3, False),
        ("dev", 1, False),
    ],
)
def test_replication_factor_one_is_refused_outside_dev(
    env: str, replication_factor: int, refused: bool
) -> None:
    given = settings(env=env, replication_factor=replication_factor)
    reason = unreplicated(given)
    assert (reason is not None) == refused
    if reason:
        assert "\n" not in reason
        assert "STREAM_APP_REPLICATION_FACTOR=1" in reason and "STREAM_APP_ENV=dev" in reason
        with pytest.raises(ValueError, match="outside dev"):
            faust_options(given)


def test_the_worker_producer_acks_all_and_declares_no_leader_topic() -> None:
    options = faust_options(settings(env="dev"))
    assert options["producer_acks"] == ACKS_ALL == -1
    assert options["topic_replication_factor"] == 1
    assert options["topic_disable_leader"] is True
    assert faust_options(settings(replication_factor=3))["topic_replication_factor"] == 3
