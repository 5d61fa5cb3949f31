"""Options shared by every Kafka client the project opens: connection, producers, consumers,
durability.

The plain clients (`send`, `tail`, `train`'s publish, `topics apply`) take their keyword
arguments from here, and `stream_app.worker.app` takes the producer, fetch and
replication rules from here, so the worker's Faust clients and the plain ones cannot
drift apart.
"""

from __future__ import annotations

import ssl
from typing import Any

from stream_app.config.settings import Settings

ACKS_ALL = -1
"""`acks=all`: the leader answers once `min.insync.replicas` replicas have the record.
Faust's `producer_acks` takes the number; aiokafka takes either."""


def client_options(settings: Settings) -> dict[str, Any]:
    """aiokafka keyword arguments for bootstrap, TLS and SASL, from Settings only."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
        "request_timeout_ms": int(settings.request_timeout_s * 1000),
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        password = settings.kafka_sasl_password
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options


KAFKA_FETCH_MAX_WAIT_MS = 500
"""Kafka's own default `fetch.max.wait.ms`, for a broker that answers a Fetch at once."""

DEV_FETCH_MAX_WAIT_MS = 100
"""For the embedded broker, which holds a Fetch even after records arrive (below)."""


def fetch_max_wait_ms(settings: Settings) -> int:
    """How long a consumer's Fetch may wait on the broker: the setting, else by `env`.

    Kafka answers a Fetch as soon as `fetch.min.bytes` (1) is there, so on Kafka the
    wait only spaces an idle consumer's polls: a shorter one adds requests and client
    CPU and takes no time off any record. The embedded broker (Tansu 0.6.0) holds a
    Fetch that found nothing for up to half its max wait after a record arrives
    (measured, one record every 50 ms: produce to consume p50 356 ms, max 744 ms at
    1.5 s, Faust's fixed value; p50 134, max 248 ms at 500 ms; p50 4, max 11 ms at
    10 ms). At light load that hold was most of a decision's latency, once per hop and
    three times on an extraction's path. Short waits cost idle polls there: an idle
    worker and the broker spent 1.5 % and 1.8 % of a core at 1.5 s, 5.6 % and 14 % at
    50 ms, 11 % and 21 % at 20 ms, and under a backlog each Fetch returns less: the
    bench's pipeline (2,000 leads, 1 worker) moved 163 input events/s at 5.69 worker
    and 2.19 broker CPU s per 1k events at 20 ms, 202 at 4.71 and 1.27 at 100 ms, 216
    at 4.54 and 0.86 at 500 ms; decision latency at 50 events/s was p50 / p99 40 / 374
    ms at 20 ms, 92 / 320 ms at 100 ms (587 / 2,214 ms at Faust's 1.5 s). So `dev`,
    where the embedded broker runs, waits 100 ms, and everything else Kafka's
    default; `STREAM_APP_KAFKA_FETCH_MAX_WAIT_MS` overrides both.
    """
    if settings.kafka_fetch_max_wait_ms is not None:
        return settings.kafka_fetch_max_wait_ms
    return DEV_FETCH_MAX_WAIT_MS if settings.env == "dev" else KAFKA_FETCH_MAX_WAIT_MS


def consumer_options(settings: Settings) -> dict[str, Any]:
    """`AIOKafkaConsumer` keyword arguments: the connection and the fetch max wait."""
    return {**client_options(settings), "fetch_max_wait_ms": fetch_max_wait_ms(settings)}


def producer_options(settings: Settings) -> dict[str, Any]:
    """`AIOKafkaProducer` keyword arguments: the connection, acks=all, idempotence.

    aiokafka's default is `acks=1` (the leader alone), which loses an acknowledged
    record when the leader dies before a follower copied it. Idempotence
    (`STREAM_APP_KAFKA_IDEMPOTENCE`) stops a retried batch from being written twice;
    the embedded broker rejects the InitProducerId it needs, so `stream-app dev` and
    the tests turn it off. Partitioning stays aiokafka's default, murmur2 of the key,
    as the Java client does (README, "Running in production"). The batch size is a
    setting (`STREAM_APP_KAFKA_MAX_BATCH_BYTES`): 1 makes every batch one record, which
    once kept the embedded broker's ListOffsets right; readers now take their ends
    from `kafka.ends`, so batches may hold many.
    """
    return {
        **client_options(settings),
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "max_batch_size": settings.kafka_max_batch_bytes,
    }


def unreplicated(settings: Settings) -> str | None:
    """Why a worker must not start (it would create topics with one copy), or None.

    Outside `STREAM_APP_ENV=dev`, replication factor 1 means one broker's disk is the
    only copy of every lead's state and of the Q-table.
    """
    if settings.env == "dev" or settings.replication_factor >= 2:
        return None
    return (
        f"STREAM_APP_REPLICATION_FACTOR={settings.replication_factor} outside dev: topics "
        "and changelogs would keep one copy; set it to 3 (with STREAM_APP_MIN_INSYNC_REPLICAS "
        "2), or STREAM_APP_ENV=dev for a single-broker setup"
    )
