"""The walking skeleton's promise: an event in through the broker, a decision out."""

from __future__ import annotations

from tests.integration.conftest import Events
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess

NBA_FIELDS = {
    "decision_id",
    "lead_id",
    "decided_at",
    "trigger_event_id",
    "action",
    "channel",
    "rl_state",
    "q_value",
    "score",
    "candidates",
    "filtered_out",
    "override",
    "brief",
    "risk_segment",
    "urgency",
    "requires_approval",
    "policy_version",
    "q_version",
    "propensity",
    "arm",
}


async def test_created_and_interaction_each_yield_a_decision(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    created = events.created()
    call = events.interaction(transcript="Agent: Hi Sarah!\nParent: Hi, yes Jake loved the flyer.")
    mine = lambda r: r["lead_id"] == events.lead_id  # noqa: E731
    # Kafka orders a lead's events within a topic only, so like a real CRM we create
    # the lead and see it acknowledged before logging a call against it.
    await upstream.send("leads", created)
    await watcher.wait_for("next-best-actions", mine)
    await upstream.send("interactions", call)
    decisions = await watcher.wait_for("next-best-actions", mine, count=2)

    assert [d["trigger_event_id"] for d in decisions] == [created["event_id"], call["event_id"]]
    for decision in decisions:
        assert set(decision) == NBA_FIELDS
    assert decisions[1]["decided_at"].startswith(call["occurred_at"][:19])
    status, state = worker.get(f"/leads/{events.lead_id}")
    assert status == 200
    assert state["lead_id"] == events.lead_id


async def test_unknown_lead_is_404(worker: WorkerProcess) -> None:
    status, body = worker.get("/leads/nobody-here")
    assert status == 404
    assert "not found" in body["error"]
