from __future__ import annotations

import json

import pytest

from stream_app.wire.catalog import SCHEMAS_DIR, load_catalog, schema_documents
from stream_app.wire.models import INPUT_TYPES, SCHEMA_MODELS

DESIGN_TOPICS = {
    "leads",
    "interactions",
    "sms-messages",
    "attendance",
    "payments",
    "action-outcomes",
    "next-best-actions",
    "lead-transitions",
    "q-updates",
    "extraction-requests",
    "extractions",
    "reminders",
    "dead-letters",
}


INTERNAL_TOPICS = {"lead-timers"}
CONSOLE_TOPICS = {"operator-reminders"}
"""The operator console's own log: reminders a person set, snoozed or dismissed."""


def test_catalog_has_every_topic_of_the_design_and_only_known_internal_ones() -> None:
    assert set(load_catalog().names) == DESIGN_TOPICS | INTERNAL_TOPICS | CONSOLE_TOPICS


def test_single_writer_topics_have_one_partition_and_q_updates_is_compacted() -> None:
    catalog = load_catalog()
    assert catalog["lead-transitions"].partition_count(8) == 1
    assert catalog["q-updates"].partition_count(8) == 1
    assert catalog["q-updates"].cleanup_policy == "compact"


def test_lead_keyed_topics_share_the_app_partition_count() -> None:
    catalog = load_catalog()
    for name in (*INPUT_TYPES, "next-best-actions", "extraction-requests", "extractions"):
        assert catalog[name].partition_count(8) == 8, name


def test_every_catalog_schema_has_a_model() -> None:
    for spec in load_catalog().topics:
        for stem in spec.schemas:
            assert stem in SCHEMA_MODELS, f"{spec.name}: no model for schema {stem}"


def test_input_topics_list_exactly_their_event_types() -> None:
    catalog = load_catalog()
    for topic, types in INPUT_TYPES.items():
        assert set(catalog[topic].schemas) == set(types)


def test_schema_files_match_the_models() -> None:
    """Fails when a model changed without `stream-app topics schemas` being run."""
    expected = schema_documents()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS_DIR.glob("*.schema.json")}
    assert set(on_disk) == set(expected), "schema files differ: run `stream-app topics schemas`"
    for name, text in expected.items():
        assert on_disk[name] == text, f"{name} is stale: run `stream-app topics schemas`"


def test_unknown_topic_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="not in the catalog"):
        load_catalog()["nope"]


def test_input_schemas_require_the_common_fields() -> None:
    for stem in ("lead.created", "interaction.completed", "payment.recorded"):
        schema = json.loads(schema_documents()[f"{stem}.schema.json"])
        assert {"event_id", "lead_id", "occurred_at", "type"} <= set(schema["required"])
