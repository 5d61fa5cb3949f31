"""Create or verify the catalog's topics on any Kafka-compatible broker.

Each catalog topic is created with, and an existing one verified against, its
partition count, the replication factor (`STREAM_APP_REPLICATION_FACTOR`),
`min.insync.replicas` (`Settings.insync_replicas`), `cleanup.policy` and
`retention.ms`. `compare` is the whole rule, a pure function; `apply_topics` only
reads the broker and writes the reports.

A broker may not report a topic's configs (Tansu, the embedded broker, reports only
configs set explicitly at creation, and nothing for a topic created without any;
an ACL may deny DescribeConfigs). Configs it did not report are named as not
verified, never counted as verified or as a mismatch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from stream_app.config.settings import Settings
from stream_app.kafka.options import client_options
from stream_app.wire.catalog import Catalog, TopicSpec, load_catalog


@dataclass(frozen=True, slots=True)
class TopicReport:
    name: str
    partitions: int
    action: str  # "created", "exists" or "mismatch" (one report per mismatch)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the catalog and Settings ask of one topic."""

    partitions: int
    replication_factor: int
    configs: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Observed:
    """What the broker reports of one existing topic."""

    partitions: int
    replication_factor: int
    configs: Mapping[str, str] = field(default_factory=dict)
    """Empty when the broker reported no configs."""
    configs_error: str = ""
    """Why the broker's configs could not be read, if it said."""


@dataclass(frozen=True, slots=True)
class Verification:
    mismatches: tuple[str, ...]
    verified: tuple[str, ...]
    """Config names the broker reported with the wanted value."""
    unverified: tuple[str, ...]
    """Config names the broker did not report."""


def wanted(spec: TopicSpec, settings: Settings) -> Wanted:
    return Wanted(
        partitions=spec.partition_count(settings.partitions),
        replication_factor=settings.replication_factor,
        configs=spec.config(settings.insync_replicas),
    )


def _same(name: str, have: str, want: str) -> bool:
    if name == "cleanup.policy":  # "compact,delete" == "delete,compact"
        return {p.strip() for p in have.split(",")} == {p.strip() for p in want.split(",")}
    return have.strip() == want.strip()


def compare(want: Wanted, have: Observed) -> Verification:
    """Every way an existing topic differs from what is wanted, one line each."""
    mismatches: list[str] = []
    if have.partitions != want.partitions:
        mismatches.append(f"has {have.partitions} partitions, catalog wants {want.partitions}")
    if have.replication_factor != want.replication_factor:
        mismatches.append(
            f"has replication factor {have.replication_factor}, "
            f"STREAM_APP_REPLICATION_FACTOR wants {want.replication_factor}"
        )
    verified: list[str] = []
    unverified: list[str] = []
    for name, value in want.configs.items():
        reported = have.configs.get(name)
        if reported is None:
            unverified.append(name)
        elif _same(name, reported, value):
            verified.append(name)
        else:
            mismatches.append(f"has {name}={reported}, wanted {value}")
    return Verification(tuple(mismatches), tuple(verified), tuple(unverified))


def reports(name: str, want: Wanted, have: Observed) -> list[TopicReport]:
    """One `mismatch` report per difference; else one `exists` report that says what was
    verified and what the broker did not report."""
    result = compare(want, have)
    if result.mismatches:
        return [TopicReport(name, have.partitions, "mismatch", m) for m in result.mismatches]
    checked = [f"replication factor {have.replication_factor}"]
    checked += [f"{n}={want.configs[n]}" for n in result.verified]
    detail = "verified: " + ", ".join(checked)
    if result.unverified:
        why = have.configs_error or (
            "the broker reported no configs" if not have.configs else "the broker did not report"
        )
        detail += f"; NOT verified ({why}): {', '.join(result.unverified)}"
    return [TopicReport(name, have.partitions, "exists", detail)]


def observed(
    metadata: Mapping[str, Any],
    config: Mapping[str, Any] | None,
    no_answer: str = "no DescribeConfigs answer",
) -> Observed:
    """An `Observed` from one topic of `describe_topics()` and its DescribeConfigs resource
    (`response.to_object()["resources"][i]`, or None when there was none: `no_answer`
    says why). A topic's replication factor is its least replicated partition's."""
    partitions = metadata.get("partitions") or []
    replication = min((len(p.get("replicas") or []) for p in partitions), default=0)
    if config is None:
        return Observed(len(partitions), replication, {}, no_answer)
    if config.get("error_code", 0):
        error = for_code(int(config["error_code"])).__name__
        message = config.get("error_message") or ""
        return Observed(len(partitions), replication, {}, f"{error} {message}".strip())
    configs = {
        str(entry["config_names"]): str(entry["config_value"])
        for entry in config.get("config_entries") or []
        if entry.get("config_value") is not None
    }
    return Observed(len(partitions), replication, configs)


def created(
    new_topics: Iterable[NewTopic], topic_errors: Iterable[Mapping[str, Any]]
) -> list[TopicReport]:
    """Reports from CreateTopics' per-topic answers (aiokafka raises on none of them)."""
    errors = {str(e["topic"]): e for e in topic_errors}
    result: list[TopicReport] = []
    for topic in new_topics:
        error = errors.get(topic.name, {"error_code": 0})
        code = int(error.get("error_code") or 0)
        if code == 0:
            configs = [f"{k}={v}" for k, v in topic.topic_configs.items()]
            detail = ", ".join([f"replication factor {topic.replication_factor}", *configs])
            result.append(TopicReport(topic.name, topic.num_partitions, "created", detail))
        elif code == TopicAlreadyExistsError.errno:
            detail = "created by another client meanwhile; run `topics apply` again to verify it"
            result.append(TopicReport(topic.name, topic.num_partitions, "exists", detail))
        else:
            reason = f"{for_code(code).__name__} {error.get('error_message') or ''}".strip()
            result.append(
                TopicReport(topic.name, topic.num_partitions, "mismatch", f"not created: {reason}")
            )
    return result


async def apply_topics(settings: Settings, catalog: Catalog | None = None) -> list[TopicReport]:
    """Create missing topics and verify existing ones (module docstring).

    A mismatch is reported, never "fixed": changing a partition count would move leads
    between partitions and break co-partitioning with the state tables, and a config
    change on a live topic is an operator's decision.
    """
    catalog = catalog or load_catalog()
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        names = {settings.topic(spec.name): spec for spec in catalog.topics}
        existing = await _existing(admin, list(names))
        configs, no_answer = await _configs(admin, [n for n in names if n in existing])
        result: list[TopicReport] = []
        missing: list[NewTopic] = []
        for name, spec in names.items():
            want = wanted(spec, settings)
            if name in existing:
                have = observed(existing[name], configs.get(name), no_answer)
                result += reports(name, want, have)
            else:
                missing.append(
                    NewTopic(
                        name=name,
                        num_partitions=want.partitions,
                        replication_factor=want.replication_factor,
                        topic_configs=dict(want.configs),
                    )
                )
        if missing:
            response = await admin.create_topics(missing)
            result += created(missing, response.to_object()["topic_errors"])
        order = list(names)
        return sorted(result, key=lambda r: order.index(r.name))
    finally:
        await admin.close()


async def _existing(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, dict[str, Any]]:
    metadata = await admin.describe_topics()
    wanted_names = set(names)
    return {
        topic["topic"]: topic
        for topic in metadata
        if topic.get("error_code", 0) == 0 and topic["topic"] in wanted_names
    }


async def _configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> tuple[dict[str, dict[str, Any]], str]:
    """Each topic's DescribeConfigs resource, and why a topic has none.

    If the call fails, no topic has one and nothing is verified. All configs are asked
    for: Tansu drops the connection when the request names them.
    """
    if not names:
        return {}, ""
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    except KafkaError as exc:
        return {}, f"DescribeConfigs failed: {type(exc).__name__}"
    resources = {
        str(resource["resource_name"]): resource
        for response in responses
        for resource in response.to_object()["resources"]
    }
    return resources, "the broker did not answer for this topic"
