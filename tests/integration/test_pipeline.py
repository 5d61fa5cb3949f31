"""The full loop through the broker: decisions, transitions, learning, bad input, HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from stream_app.config.params import learner_params
from stream_app.config.settings import Settings
from stream_app.domain.actions import STATUS_ACTIONS, Action
from stream_app.domain.learner import SEEDED
from stream_app.domain.lifecycle import CLOSED, Status
from stream_app.domain.qlearning import seeded_priors, step_size
from tests.integration.conftest import Events
from tests.integration.harness import (
    TopicWatcher,
    Upstream,
    WorkerProcess,
    decide,
    metric_value,
    until,
)

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
SCHEDULING_CALL = (
    "Agent: Hi Sarah, following up about the robotics program for Jake.\n"
    "Parent: Yes, we'd love to book Jake in for a trial class. Can we do Saturday morning?\n"
    "Agent: Saturday at ten works."
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
    # The running guard counted the lead in its arm (holdout share 0: learning), once,
    # with its enrolment as a conversion, on the worker that owns lead-transitions.
    learning = {"arm": "learning"}
    await until(
        "the guard to count the enrolled lead",
        lambda: metric_value(worker, "stream_app_arm_conversions", learning) >= 1,
    )
    leads = metric_value(worker, "stream_app_arm_leads", learning)
    assert leads >= 1 and metric_value(worker, "stream_app_arm_conversions", learning) <= leads
    assert metric_value(worker, "stream_app_arm_leads", {"arm": "holdout"}) == 0
    assert metric_value(worker, "stream_app_guard_learning_below", {}) == 0

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
    # Evidence through the real worker: the latest intent's quote is the family's words
    # at the turn and span recorded (each line of the call is one turn).
    intent = next(q for q in pack["evidence"] if q["signal"] == "intent")
    said = INTERESTED_CALL.splitlines()[intent["turn"]]
    assert said.startswith("Parent:")
    assert said.removeprefix("Parent: ")[intent["start"] : intent["end"]] == intent["quote"]


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


JSON = {"Content-Type": "application/json"}


async def test_http_ingest_validates_like_the_topic_path(
    watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    created = events.created()
    status, body = worker.post("/events/leads", orjson.dumps(created), JSON)
    assert (status, body["accepted"]) == (202, created["event_id"])
    await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == created["event_id"]
    )

    bad = {**events.created(), "occurred_at": "yesterday"}
    status, body = worker.post("/events/leads", orjson.dumps(bad), JSON)
    assert status == 400
    assert body["error_type"] == "validation" and "occurred_at" in body["error"]
    assert "Traceback" not in str(body)

    status, body = worker.post("/events/nope", orjson.dumps(created), JSON)
    assert status == 404
    status, _ = worker.post("/events/leads", b"x" * 100_000, JSON)
    assert status == 413


async def test_the_served_q_table_moves_by_the_td_update_of_a_transition(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    """A family asking to book is pushed to schedule; the booked trial that follows is
    learned: the q-update is exactly one TD step from the seeded prior (or from the
    previous visits' value, if other tests visited the entry first), and /q-table
    serves the new value, not the prior it started from."""
    state, action = "interested:scheduling_intent", Action.SCHEDULING_PUSH
    prior = seeded_priors().entry(state, action)
    params = learner_params(Settings())

    await decide(upstream, watcher, "leads", events.created())
    asked = await decide(
        upstream, watcher, "interactions", events.interaction(transcript=SCHEDULING_CALL)
    )
    assert (asked["rl_state"], asked["action"]) == (state, action.value)
    await decide(upstream, watcher, "leads", events.milestone("trial_booked"))
    [transition] = await watcher.wait_for(
        "lead-transitions", lambda t: t["decision_id"] == asked["decision_id"]
    )
    assert (transition["state_before"], transition["action"]) == (state, action.value)
    assert transition["reward"] == pytest.approx(0.7)  # interested -> trial booked
    [update] = await watcher.wait_for(
        "q-updates", lambda u: u["transition_id"] == transition["transition_id"]
    )

    # Every visit of the entry so far (one partition per key, so none can be missing):
    # the first started from the prior, each later one from the value before it.
    history = await watcher.wait_for(
        "q-updates",
        lambda u: (u["state"], u["action"]) == (state, action.value),
        count=update["visits"],
    )
    by_visit = {u["visits"]: u for u in history}  # a redelivery republishes a visit
    assert sorted(by_visit) == list(range(1, max(by_visit) + 1))
    assert by_visit[1]["q_before"] == pytest.approx(prior.q)
    for visit in range(2, update["visits"] + 1):
        assert by_visit[visit]["q_before"] == pytest.approx(by_visit[visit - 1]["q_after"])

    def served() -> dict[str, Any]:
        status, q_table = worker.get("/q-table")
        assert status == 200
        states: dict[str, dict[str, Any]] = q_table["states"]
        return states

    await until(
        "/q-table to serve the update",
        lambda: served()[state][action.value]["visits"] >= update["visits"],
    )
    table = served()
    # Nothing has left the next state since, so its row is what the learner saw.
    next_status = Status(transition["state_after"].split(":")[0])
    assert next_status is Status.TRIAL and next_status not in CLOSED
    next_row = table.get(transition["state_after"], {})
    future = max(next_row.get(a.value, {"q": 0.0})["q"] for a in STATUS_ACTIONS[next_status])
    q_before = update["q_before"]
    target = transition["reward"] + params.gamma * future
    # The visit-aware step: the entry is a seeded prior, so it carries pseudo-visits.
    assert (state, action) in SEEDED
    alpha = step_size(update["visits"] - 1, params.prior_visits, params.alpha)
    assert update["q_after"] == pytest.approx(q_before + alpha * (target - q_before))
    assert update["td_error"] == pytest.approx(target - q_before)
    # A booked trial is worth more than the prior guessed, so learning raised the value.
    assert update["q_after"] > q_before
    assert table[state][action.value] == {
        "q": pytest.approx(update["q_after"]),
        "visits": update["visits"],
    }
    assert table[state][action.value]["q"] > prior.q


async def test_metrics_are_served(worker: WorkerProcess) -> None:
    status, text = worker.get("/metrics")
    assert status == 200
    assert 'stream_app_events_in_total{topic="leads",type="lead.created"}' in text
    assert "stream_app_decisions_total{action=" in text
    assert 'stream_app_processing_seconds_count{agent="lead"}' in text
    assert 'stream_app_consumer_lag{partition="0",topic="leads"}' in text
