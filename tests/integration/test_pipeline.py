"""The full loop through the broker: decisions, transitions, learning, bad input, HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from tests.integration.conftest import Events
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess, decide

NEUTRAL_CALL = (
    "Agent: Hi, this is Dana from Bright Minds Academy, is this Sarah?\n"
    "Parent: Yes, hi. I'm just driving right now.\n"
    "Agent: No problem, I'll call back another time.\n"
    "Parent: OK, bye."
)
INTERESTED_CALL = (
    "Agent: Hi Sarah, following up about the robotics program for Jake.\n"
    "Parent: Yes! Jake has been talking about it all week, we're really interested.\n"
    "Parent: He loves building things. What days are the classes?\n"
    "Agent: Tuesdays and Thursdays after school."
)


def of(lead_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda record: record.get("lead_id") == lead_id


async def test_a_lead_walks_the_funnel_and_every_step_is_learned(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    steps = [
        ("leads", events.created()),
        ("interactions", events.interaction(transcript=NEUTRAL_CALL)),
        ("interactions", events.interaction(transcript=INTERESTED_CALL)),
        ("leads", events.milestone("trial_booked")),
        ("leads", events.milestone("enrolled")),
        ("attendance", events.attendance("attended")),
    ]
    decisions = [await decide(upstream, watcher, topic, event) for topic, event in steps]

    statuses = [d["rl_state"].split(":")[0] for d in decisions]
    assert statuses == ["new", "contacted", "interested", "trial", "enrolled", "active"]
    transitions = await watcher.wait_for("lead-transitions", of(events.lead_id), count=5)
    assert len(transitions) == 5
    assert [t["reward"] for t in transitions] == pytest.approx([0.1, 0.4, 0.7, 1.0, 0.3])
    for before, after, transition in zip(decisions, decisions[1:], transitions, strict=False):
        assert transition["decision_id"] == before["decision_id"]
        assert transition["state_before"] == before["rl_state"]
        assert transition["action"] == before["action"]
        assert transition["state_after"] == after["rl_state"]
        assert transition["cause_event_id"] == after["trigger_event_id"]
    ids = {t["transition_id"] for t in transitions}
    updates = await watcher.wait_for("q-updates", lambda u: u["transition_id"] in ids, count=5)
    assert {u["transition_id"] for u in updates} == ids
    for update in updates:
        assert update["q_after"] != update["q_before"]
    versions = [u["q_version"] for u in updates]
    assert versions == sorted(versions)

    interested = decisions[2]
    assert interested["brief"]["content_directives"]
    assert interested["candidates"] and interested["filtered_out"]
    status, pack = worker.get(f"/leads/{events.lead_id}/context-pack")
    assert status == 200
    assert pack["lead_name"] == "Sarah Mitchell"
    assert pack["child_info"] == "Jake (age 9)"
    assert pack["current_status"] == "active"
    assert pack["current_nba"]["decision_id"] == decisions[-1]["decision_id"]
    assert len(pack["recent_interactions"]) == 2


async def test_a_redelivered_event_yields_one_decision(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    created = events.created()
    await upstream.send("leads", created)
    await upstream.send("leads", created)
    # Same topic and key, so this one is processed after both copies above.
    await decide(upstream, watcher, "leads", events.event("lead.updated", phone="+15550100"))
    assert (
        len(
            watcher.matching(
                "next-best-actions", lambda r: r["trigger_event_id"] == created["event_id"]
            )
        )
        == 1
    )
    status, state = worker.get(f"/leads/{events.lead_id}")
    assert status == 200
    assert state["seen_event_ids"].count(created["event_id"]) == 1


async def test_poison_messages_go_to_dead_letters_and_the_worker_keeps_going(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    lead = events.lead_id
    missing_field = events.created()
    del missing_field["parent_name"]
    await upstream.send("leads", f"{{not json {lead}".encode(), key=lead)
    await upstream.send("leads", events.event("lead.exploded"), key=lead)
    await upstream.send("leads", missing_field)
    await upstream.send("leads", events.created(), key=f"{lead}-other")

    await decide(upstream, watcher, "leads", events.created())

    letters = await watcher.wait_for(
        "dead-letters", lambda r: lead in r["raw"], count=4, timeout_s=10
    )
    by_type = {letter["error_type"]: letter for letter in letters}
    assert set(by_type) == {"invalid_json", "unknown_type", "validation", "key_mismatch"}
    assert all(letter["source_topic"] == "leads" for letter in letters)
    assert "parent_name" in by_type["validation"]["error"]
    assert by_type["invalid_json"]["raw"] == f"{{not json {lead}"
    assert "differs from lead_id" in by_type["key_mismatch"]["error"]


async def test_http_ingest_validates_like_the_topic_path(
    watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    created = events.created()
    status, body = worker.post("/events/leads", orjson.dumps(created))
    assert (status, body["accepted"]) == (202, created["event_id"])
    await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == created["event_id"]
    )

    bad = {**events.created(), "occurred_at": "yesterday"}
    status, body = worker.post("/events/leads", orjson.dumps(bad))
    assert status == 400
    assert body["error_type"] == "validation" and "occurred_at" in body["error"]
    assert "Traceback" not in str(body)

    status, body = worker.post("/events/nope", orjson.dumps(created))
    assert status == 404
    status, _ = worker.post("/events/leads", b"x" * 100_000)
    assert status == 413


async def test_metrics_and_q_table_are_served(worker: WorkerProcess) -> None:
    status, q_table = worker.get("/q-table")
    assert status == 200
    assert q_table["states"]["interested:scheduling_intent"]["scheduling_push"]["q"] > 0
    status, text = worker.get("/metrics")
    assert status == 200
    assert 'stream_app_events_in_total{topic="leads",type="lead.created"}' in text
    assert "stream_app_decisions_total{action=" in text
    assert 'stream_app_processing_seconds_count{agent="lead"}' in text
    assert 'stream_app_consumer_lag{partition="0",topic="leads"}' in text
