"""Create or verify the catalog's topics on any Kafka-compatible broker."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from stream_app.config.settings import Settings
from stream_app.kafka.options import client_options
from stream_app.wire.catalog import Catalog, load_catalog


@dataclass(frozen=True, slots=True)
class TopicReport:
    name: str
    partitions: int
    action: str  # "created", "exists" or "mismatch"
    detail: str = ""


async def apply_topics(settings: Settings, catalog: Catalog | None = None) -> list[TopicReport]:
    """Create missing topics and check existing ones have the expected partition count.

    A partition-count mismatch is reported, never "fixed": changing it would move
    leads between partitions and break co-partitioning with the state tables.
    """
    catalog = catalog or load_catalog()
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = await _partition_counts(admin)
        reports: list[TopicReport] = []
        missing: list[NewTopic] = []
        for spec in catalog.topics:
            name = settings.topic(spec.name)
            want = spec.partition_count(settings.partitions)
            have = existing.get(name)
            if have is None:
                missing.append(
                    NewTopic(
                        name=name,
                        num_partitions=want,
                        replication_factor=settings.replication_factor,
                        topic_configs=spec.config(),
                    )
                )
                reports.append(TopicReport(name, want, "created"))
            elif have != want:
                detail = f"has {have} partitions, catalog wants {want}"
                reports.append(TopicReport(name, have, "mismatch", detail))
            else:
                reports.append(TopicReport(name, have, "exists"))
        if missing:
            # Another worker or the init job may win the race; the topic is there then.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
        return reports
    finally:
        await admin.close()


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    metadata = await admin.describe_topics()
    return {
        topic["topic"]: len(topic["partitions"])
        for topic in metadata
        if topic.get("error_code", 0) == 0
    }
