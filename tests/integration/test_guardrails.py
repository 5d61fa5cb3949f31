"""Contact policy, CRM feedback and reminders, through the broker."""

from __future__ import annotations

import signal
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess, decide, until


async def test_a_late_evening_decision_is_scheduled_for_the_next_morning_local_time(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    evening = datetime(2026, 11, 2, 22, 30, tzinfo=ZoneInfo("America/Chicago"))
    lead = Events(f"gr-{uuid.uuid4().hex[:8]}", evening.astimezone(UTC))
    decision = await decide(upstream, watcher, "leads", lead.created(timezone="America/Chicago"))
    local = datetime.fromisoformat(decision["brief"]["scheduled_for"]).astimezone(
        ZoneInfo("America/Chicago")
    )
    assert (local.hour, local.minute) == (8, 0)


async def test_the_weekly_sms_cap_turns_sms_actions_away(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    await decide(upstream, watcher, "leads", events.created())
    for i in range(4):  # the default weekly SMS cap
        sent = events.event("sms.sent", timedelta(hours=1), message_id=f"m{i}", body="Hi!")
        await upstream.send("sms-messages", sent)

    # Another topic than the call's: wait until the texts are on the lead's record.
    def recorded() -> bool:
        status, state = worker.get(f"/leads/{events.lead_id}")
        return status == 200 and len(state["contact_history"]["contacts"]) == 4

    await until("the texts on the lead's record", recorded)
    decision = await decide(upstream, watcher, "interactions", events.interaction("no_answer"))
    assert decision["channel"] != "sms"
    assert "guardrail:cap_sms_week" in decision["filtered_out"].values()


async def test_sms_opt_out_still_allows_voice(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    await decide(upstream, watcher, "leads", events.created())
    consent = events.event("lead.consent", channel="sms", granted=False)
    decision = await decide(upstream, watcher, "leads", consent)
    assert decision["channel"] != "sms" and decision["action"] != "stop"
    status, state = worker.get(f"/leads/{events.lead_id}")
    assert status == 200 and state["opted_out_channels"] == ["sms"]


async def test_a_rejection_changes_the_q_value_once_even_when_reported_twice(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    first = await decide(upstream, watcher, "leads", events.created())
    for _ in range(2):
        rejected = events.event(
            "action.outcome", decision_id=first["decision_id"], outcome="rejected", reason="no"
        )
        await upstream.send("action-outcomes", rejected)
    # Same topic and key: once this one is decided, both rejections were applied.
    await upstream.send(
        "action-outcomes",
        events.event("action.outcome", decision_id=first["decision_id"], outcome="delivered"),
    )
    await decide(upstream, watcher, "leads", events.event("lead.updated", phone="+15550100"))

    is_rejection = lambda t: t["decision_id"] == first["decision_id"] and t["reward"] == -0.2  # noqa: E731
    [transition] = await watcher.wait_for("lead-transitions", is_rejection)
    [update] = await watcher.wait_for(
        "q-updates", lambda u: u["transition_id"] == transition["transition_id"]
    )
    assert (update["state"], update["action"]) == (first["rl_state"], first["action"])
    assert update["q_after"] < update["q_before"]
    assert len(watcher.matching("lead-transitions", is_rejection)) == 1
    status, state = worker.get(f"/leads/{events.lead_id}")
    assert status == 200
    outcomes = {d["decision_id"]: d["outcomes"] for d in state["decisions"]}
    assert outcomes[first["decision_id"]] == ["rejected", "rejected", "delivered"]
    status, metrics = worker.get("/metrics")
    assert status == 200
    assert (
        f'stream_app_action_outcomes_total{{action="{first["action"]}",outcome="rejected"}}'
        in metrics
    )


async def test_a_reminder_due_during_downtime_fires_once_after_restart(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    # The sweep is slow at first, so the reminder is still pending when the worker dies.
    worker = workers.start(STREAM_APP_SWEEP_INTERVAL_S="60")
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, worker, "next-best-actions", "reminders")
    try:
        lead = Events(f"rem-{uuid.uuid4().hex[:8]}", datetime.now(UTC) - timedelta(days=3))
        decision = await decide(upstream, watcher, "leads", lead.created(), prefix)
        status, state = worker.get(f"/leads/{lead.lead_id}")
        assert status == 200
        assert state["reminder"]["decision_id"] == decision["decision_id"]

        worker.stop(signal.SIGKILL)
        worker.extra_env["STREAM_APP_SWEEP_INTERVAL_S"] = "1"
        worker.start()
        worker.wait_ready(timeout_s=90)

        mine = lambda r: r["decision_id"] == decision["decision_id"]  # noqa: E731
        [reminder] = await watcher.wait_for(prefix + "reminders", mine, timeout_s=20)
        assert reminder["remind_at"] == decision["brief"]["scheduled_for"].replace("+00:00", "Z")
        # A later event is a barrier: by its decision, several sweeps have run.
        await decide(upstream, watcher, "leads", lead.event("lead.updated", phone="+1555"), prefix)
        assert len(watcher.matching(prefix + "reminders", mine)) == 1
    finally:
        await watcher.stop()
