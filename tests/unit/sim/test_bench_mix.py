"""The bench's event mix: every kind the issue names, deterministic, and all of it decides."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import orjson

from stream_app.config.settings import Settings
from stream_app.sim.bench_mix import TOPIC_OF, expected_triggers, produced, realistic_mix

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_the_mix_holds_every_kind_of_input_the_benchmark_promises() -> None:
    events = realistic_mix("m", 200, seed=3, start=START)
    kinds = Counter(event.type for event in events)
    assert kinds["lead.created"] == 200
    assert {"interaction.completed", "sms.received", "attendance.recorded", "payment.recorded"} <= (
        kinds.keys()
    )
    transcripts = [e for e in events if getattr(e, "transcript", None)]
    unanswered = [e for e in events if getattr(e, "outcome", None) == "no_answer"]
    assert transcripts and unanswered


def test_the_same_seed_makes_the_same_mix_and_another_seed_another() -> None:
    first = [e.model_dump_json() for e in realistic_mix("m", 50, seed=1, start=START)]
    again = [e.model_dump_json() for e in realistic_mix("m", 50, seed=1, start=START)]
    other = [e.model_dump_json() for e in realistic_mix("m", 50, seed=2, start=START)]
    assert first == again
    assert first != other


def test_leads_are_interleaved_and_each_lead_keeps_its_event_time_order() -> None:
    events = realistic_mix("m", 30, seed=5, start=START)
    assert [e.lead_id for e in events[:30]] == [f"m-{i}" for i in range(30)]
    by_lead: dict[str, list[datetime]] = {}
    for event in events:
        by_lead.setdefault(event.lead_id, []).append(event.occurred_at)
    assert all(times == sorted(times) for times in by_lead.values())


def test_every_event_of_the_mix_decides_by_the_workers_own_lead_step() -> None:
    """The bench waits for one decision per input event: the lead step must agree."""
    events = realistic_mix("m", 60, seed=7, start=START)
    assert expected_triggers(events, Settings(_env_file=None)) == {e.event_id for e in events}  # type: ignore[call-arg]


def test_records_are_keyed_by_lead_on_the_catalog_topic_of_their_type() -> None:
    events = realistic_mix("m", 10, seed=1, start=START)
    for event, record in zip(events, produced(events), strict=True):
        assert record.key == event.lead_id.encode()
        assert record.topic == TOPIC_OF[event.type]
        assert orjson.loads(record.value)["event_id"] == record.event_id == event.event_id
