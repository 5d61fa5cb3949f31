"""Options shared by every Kafka client the project opens: connection, producers, durability.

The plain clients (`send`, `train`'s publish, `topics apply`) take their keyword
arguments from here, and `stream_app.worker.app.faust_options` takes the producer
and replication rules from here, so the worker's Faust producer and the plain
producers cannot drift apart.
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
