"""`topics apply`'s rule, as data: what is wanted of a topic, what the broker reported,
and the report lines that follow. No broker: the shapes are aiokafka's `to_object()`."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.admin import NewTopic

from stream_app.config.settings import Settings
from stream_app.kafka.admin import (
    Observed,
    TopicReport,
    Wanted,
    compare,
    created,
    observed,
    reports,
    wanted,
)
from stream_app.wire.catalog import load_catalog

PROD = Settings(_env_file=None, replication_factor=3, partitions=12)  # type: ignore[call-arg]

Q_UPDATES = wanted(load_catalog()["q-updates"], PROD)
LEADS = wanted(load_catalog()["leads"], PROD)


def have(want: Wanted, **changes: Any) -> Observed:
    """What a broker reports of a topic exactly as wanted, with `changes` applied;
    `configs` given replaces them, `config_changes` updates them."""
    configs = dict(want.configs)
    configs.update(changes.pop("config_changes", {}))
    return Observed(
        partitions=changes.pop("partitions", want.partitions),
        replication_factor=changes.pop("replication_factor", want.replication_factor),
        configs=changes.pop("configs", configs),
        configs_error=changes.pop("configs_error", ""),
    )


def test_wanted_takes_the_catalog_and_the_settings() -> None:
    assert (Q_UPDATES.partitions, Q_UPDATES.replication_factor) == (1, 3)
    assert Q_UPDATES.configs == {
        "cleanup.policy": "compact",
        "retention.ms": "-1",
        "min.insync.replicas": "2",
    }
    assert LEADS.partitions == 12
    assert LEADS.configs["cleanup.policy"] == "delete"
    assert LEADS.configs["retention.ms"] == "2592000000"
    single = wanted(load_catalog()["leads"], Settings(_env_file=None))  # type: ignore[call-arg]
    assert (single.replication_factor, single.configs["min.insync.replicas"]) == (1, "1")
    explicit = Settings(_env_file=None, replication_factor=5, min_insync_replicas=3)  # type: ignore[call-arg]
    assert wanted(load_catalog()["leads"], explicit).configs["min.insync.replicas"] == "3"


@pytest.mark.parametrize(
    "want, observed_, mismatches",
    [
        pytest.param(Q_UPDATES, have(Q_UPDATES), [], id="as wanted"),
        pytest.param(
            Q_UPDATES,
            have(Q_UPDATES, config_changes={"cleanup.policy": "delete"}),
            ["has cleanup.policy=delete, wanted compact"],
            id="q-updates created earlier with the delete policy",
        ),
        pytest.param(
            LEADS,
            have(LEADS, partitions=4),
            ["has 4 partitions, catalog wants 12"],
            id="partition count",
        ),
        pytest.param(
            LEADS,
            have(LEADS, replication_factor=1),
            ["has replication factor 1, STREAM_APP_REPLICATION_FACTOR wants 3"],
            id="replication factor",
        ),
        pytest.param(
            LEADS,
            have(LEADS, config_changes={"min.insync.replicas": "1"}),
            ["has min.insync.replicas=1, wanted 2"],
            id="min.insync.replicas",
        ),
        pytest.param(
            LEADS,
            have(LEADS, config_changes={"retention.ms": "604800000"}),
            ["has retention.ms=604800000, wanted 2592000000"],
            id="retention",
        ),
        pytest.param(
            Q_UPDATES,
            have(Q_UPDATES, config_changes={"cleanup.policy": "compact,delete"}),
            ["has cleanup.policy=compact,delete, wanted compact"],
            id="compact and delete is not compact",
        ),
        pytest.param(
            Q_UPDATES,
            have(
                Q_UPDATES,
                config_changes={"cleanup.policy": "delete", "min.insync.replicas": "1"},
                partitions=3,
                replication_factor=2,
            ),
            [
                "has 3 partitions, catalog wants 1",
                "has replication factor 2, STREAM_APP_REPLICATION_FACTOR wants 3",
                "has cleanup.policy=delete, wanted compact",
                "has min.insync.replicas=1, wanted 2",
            ],
            id="every difference, one line each",
        ),
        pytest.param(
            Q_UPDATES, have(Q_UPDATES, configs={}), [], id="no configs reported: no mismatch"
        ),
    ],
)
def test_compare(want: Wanted, observed_: Observed, mismatches: list[str]) -> None:
    assert list(compare(want, observed_).mismatches) == mismatches


def test_same_policies_in_another_order_match() -> None:
    want = Wanted(1, 3, {"cleanup.policy": "compact,delete"})
    result = compare(want, Observed(1, 3, {"cleanup.policy": "delete, compact"}))
    assert (result.mismatches, result.verified) == ((), ("cleanup.policy",))


def test_configs_the_broker_did_not_report_are_unverified_never_verified() -> None:
    nothing = compare(Q_UPDATES, have(Q_UPDATES, configs={}))
    assert nothing.verified == ()
    assert set(nothing.unverified) == {"cleanup.policy", "retention.ms", "min.insync.replicas"}
    some = compare(Q_UPDATES, have(Q_UPDATES, configs={"cleanup.policy": "compact"}))
    assert (some.verified, set(some.unverified)) == (
        ("cleanup.policy",),
        {"retention.ms", "min.insync.replicas"},
    )


def test_report_lines() -> None:
    [ok] = reports("q-updates", Q_UPDATES, have(Q_UPDATES))
    assert (ok.action, ok.partitions) == ("exists", 1)
    assert ok.detail.startswith("verified: replication factor 3, cleanup.policy=compact")
    assert "NOT verified" not in ok.detail

    lines = reports("q-updates", Q_UPDATES, have(Q_UPDATES, partitions=2, configs={}))
    assert lines == [TopicReport("q-updates", 2, "mismatch", "has 2 partitions, catalog wants 1")]

    [silent] = reports("q-updates", Q_UPDATES, have(Q_UPDATES, configs={}))
    assert silent.action == "exists"
    assert silent.detail == (
        "verified: replication factor 3; NOT verified (the broker reported no configs): "
        "cleanup.policy, retention.ms, min.insync.replicas"
    )
    [denied] = reports(
        "q-updates", Q_UPDATES, have(Q_UPDATES, configs={}, configs_error="DescribeConfigs failed")
    )
    assert "NOT verified (DescribeConfigs failed)" in denied.detail

    mismatched = have(Q_UPDATES, config_changes={"cleanup.policy": "delete"}, replication_factor=1)
    assert [r.detail for r in reports("q-updates", Q_UPDATES, mismatched)] == [
        "has replication factor 1, STREAM_APP_REPLICATION_FACTOR wants 3",
        "has cleanup.policy=delete, wanted compact",
    ]


def _partition(number: int, replicas: list[int]) -> dict[str, Any]:
    return {"error_code": 0, "partition": number, "leader": replicas[0], "replicas": replicas}


def _entry(name: str, value: str | None) -> dict[str, Any]:
    return {"config_names": name, "config_value": value, "read_only": False}


TOPIC = {
    "error_code": 0,
    "topic": "q-updates",
    "partitions": [_partition(0, [1, 2, 3]), _partition(1, [2, 3])],
}


def test_observed_from_metadata_and_describe_configs() -> None:
    resource = {
        "error_code": 0,
        "error_message": None,
        "resource_name": "q-updates",
        "config_entries": [
            _entry("cleanup.policy", "delete"),
            _entry("min.insync.replicas", "2"),
            _entry("ssl.truststore.password", None),  # sensitive: Kafka sends no value
        ],
    }
    seen = observed(TOPIC, resource)
    # The least replicated partition is the topic's durability.
    assert (seen.partitions, seen.replication_factor) == (2, 2)
    assert seen.configs == {"cleanup.policy": "delete", "min.insync.replicas": "2"}
    assert seen.configs_error == ""


def test_observed_when_the_broker_reports_no_configs() -> None:
    # What the embedded broker answers for a topic created without configs.
    empty = {"error_code": 0, "resource_name": "q-updates", "config_entries": []}
    assert observed(TOPIC, empty).configs == {}
    denied = {
        "error_code": 29,
        "error_message": "denied",
        "resource_name": "q-updates",
        "config_entries": [],
    }
    seen = observed(TOPIC, denied)
    assert seen.configs == {}
    assert seen.configs_error == "TopicAuthorizationFailedError denied"
    assert observed(TOPIC, None, "DescribeConfigs failed: X").configs_error == (
        "DescribeConfigs failed: X"
    )


def test_created_reads_each_topic_answer() -> None:
    topics = [
        NewTopic("a", 4, 3, topic_configs={"cleanup.policy": "delete"}),
        NewTopic("b", 1, 3),
        NewTopic("c", 4, 3),
    ]
    answers = [
        {"topic": "a", "error_code": 0, "error_message": None},
        {"topic": "b", "error_code": 36, "error_message": "Topic with this name already exists."},
        {"topic": "c", "error_code": 38, "error_message": "Replication factor: 3 larger than 1"},
    ]
    a, b, c = created(topics, answers)
    assert a == TopicReport("a", 4, "created", "replication factor 3, cleanup.policy=delete")
    assert (b.action, "verify" in b.detail) == ("exists", True)
    assert c.action == "mismatch"
    assert c.detail == (
        "not created: InvalidReplicationFactorError Replication factor: 3 larger than 1"
    )
