"""The metric catalog is a public contract: dashboards and alerts in deploy/ use it."""

from __future__ import annotations

import prometheus_client
import pytest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from stream_app.worker import metrics

# Public name -> (type, label names). Changing a line here means changing deploy/ too.
CONTRACT: dict[str, tuple[str, tuple[str, ...]]] = {
    "stream_app_events_in_total": ("counter", ("topic", "type")),
    "stream_app_dead_letters_total": ("counter", ("topic", "error_type")),
    "stream_app_processing_seconds": ("histogram", ("agent",)),
    "stream_app_decisions_total": ("counter", ("action", "override")),
    "stream_app_transitions_total": ("counter", ("from_status", "to_status")),
    "stream_app_reward": ("histogram", ()),
    "stream_app_q_updates_total": ("counter", ()),
    "stream_app_td_error_abs": ("histogram", ()),
    "stream_app_q_version": ("gauge", ()),
    "stream_app_arm_leads": ("gauge", ("arm",)),
    "stream_app_arm_conversions": ("gauge", ("arm",)),
    "stream_app_arm_return": ("gauge", ("arm",)),
    "stream_app_guard_z": ("gauge", ()),
    "stream_app_guard_evidence": ("gauge", ()),
    "stream_app_guard_learning_below": ("gauge", ()),
    "stream_app_extraction_seconds": ("histogram", ("provider",)),
    "stream_app_extraction_failures_total": ("counter", ("provider",)),
    "stream_app_extractions_total": ("counter", ("provider", "status")),
    "stream_app_extractor_circuit_open": ("gauge", ()),
    "stream_app_extractor_short_circuits_total": ("counter", ()),
    "stream_app_stale_extraction_requests_total": ("counter", ()),
    "stream_app_extractor_tokens_total": ("counter", ("kind",)),
    "stream_app_extractor_llm_seconds": ("histogram", ("outcome",)),
    "stream_app_extractor_unverified_quotes_total": ("counter", ()),
    "stream_app_table_keys": ("gauge", ("table",)),
    "stream_app_consumer_lag": ("gauge", ("topic", "partition")),
    "stream_app_sms_buffered_messages": ("gauge", ()),
    "stream_app_sms_threads_open": ("gauge", ()),
    "stream_app_sms_flushes_total": ("counter", ("trigger",)),
    "stream_app_sms_thread_size": ("histogram", ()),
    "stream_app_sms_buffer_age_seconds": ("histogram", ()),
    "stream_app_guardrail_blocks_total": ("counter", ("reason",)),
    "stream_app_action_outcomes_total": ("counter", ("action", "outcome")),
    "stream_app_leads_by_status": ("gauge", ("status",)),
    "stream_app_lead_erasures_total": ("counter", ()),
    "stream_app_decay_transitions_total": ("counter", ()),
    "stream_app_reminders_total": ("counter", ()),
    "stream_app_worker_ready": ("gauge", ()),
}


def _public_name(family_name: str, family_type: str) -> str:
    return f"{family_name}_total" if family_type == "counter" else family_name


def _module_metrics() -> list[MetricWrapperBase]:
    return [v for v in vars(metrics).values() if isinstance(v, MetricWrapperBase)]


def test_family_names_are_unique() -> None:
    names = [f.name for f in metrics.REGISTRY.collect()]
    assert len(names) == len(set(names))


def test_every_metric_has_the_prefix() -> None:
    for family in metrics.REGISTRY.collect():
        assert family.name.startswith("stream_app_"), family.name


def test_registry_matches_the_contract() -> None:
    found = {_public_name(f.name, f.type): f.type for f in metrics.REGISTRY.collect()}
    assert found == {name: kind for name, (kind, _) in CONTRACT.items()}


@pytest.mark.parametrize("metric", _module_metrics(), ids=lambda m: m._name)
def test_label_names_match_the_contract(metric: MetricWrapperBase) -> None:
    public = _public_name(metric._name, str(metric._type))
    assert tuple(metric._labelnames) == CONTRACT[public][1]


def test_each_module_metric_is_in_the_app_registry_only() -> None:
    app_names = {f.name for f in metrics.REGISTRY.collect()}
    module_names = {m._name for m in _module_metrics()}
    assert module_names == app_names
    default_names = {f.name for f in prometheus_client.REGISTRY.collect()}
    assert not {n for n in default_names if n.startswith("stream_app_")}


def test_processing_buckets_cover_a_tenth_of_a_millisecond_to_five_seconds() -> None:
    bounds = metrics.PROCESSING_SECONDS._upper_bounds
    assert bounds[0] == pytest.approx(0.0001)
    assert bounds[-2] == pytest.approx(5.0)  # the last one is +Inf


def test_reward_buckets_cover_the_seed_table() -> None:
    bounds = metrics.REWARD._upper_bounds
    for reward in (-1.0, -0.7, -0.5, -0.02, 0.0, 0.1, 0.3, 0.5, 0.7, 1.0):
        assert reward in bounds


def test_render_is_parseable_text_that_lists_every_metric() -> None:
    before = metrics.REGISTRY.get_sample_value(
        "stream_app_events_in_total", {"topic": "leads", "type": "lead.created"}
    )
    metrics.EVENTS_IN.labels(topic="leads", type="lead.created").inc()
    metrics.REWARD.observe(-0.02)

    body, content_type = metrics.render_latest()

    assert content_type.startswith("text/plain")
    text = body.decode("utf-8")
    for name, (kind, _) in CONTRACT.items():
        assert f"# TYPE {name} {kind}" in text, name
    parsed = {f.name for f in text_string_to_metric_families(text)}
    assert {n.removesuffix("_total") for n in CONTRACT} <= parsed
    after = metrics.REGISTRY.get_sample_value(
        "stream_app_events_in_total", {"topic": "leads", "type": "lead.created"}
    )
    assert after == (before or 0.0) + 1.0
