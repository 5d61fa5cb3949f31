"""Retention through the broker: attendance and payments move families, time decays them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import (
    TopicWatcher,
    Upstream,
    WorkerProcess,
    decide,
    lead_id_in_partition,
    partition_of,
)


async def test_attended_before_enrolled_still_ends_active(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess, events: Events
) -> None:
    await decide(upstream, watcher, "leads", events.created())
    await decide(upstream, watcher, "leads", events.milestone("trial_booked"))
    enrolled = events.milestone("enrolled")
    attended = events.attendance("attended")  # happened after the enrolment...
    await decide(upstream, watcher, "attendance", attended)  # ...but arrives first
    decision = await decide(upstream, watcher, "leads", enrolled)
    assert decision["rl_state"].startswith("active:")
    status, state = worker.get(f"/leads/{events.lead_id}")
    assert status == 200 and state["status"] == "active"


async def test_the_retention_path_and_the_event_time_decay(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    # Its own worker: moving event time two weeks ahead must not touch other tests.
    worker = workers.start()
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, worker, "next-best-actions", "lead-transitions")
    try:
        lead = Events(f"ret-{uuid.uuid4().hex[:8]}", Events.default_start())
        steps = [
            ("leads", lead.created()),
            ("leads", lead.milestone("enrolled")),
            ("attendance", lead.attendance("attended")),
            ("payments", lead.event("payment.recorded", payment_id="p1", status="late")),
            ("attendance", lead.attendance("missed")),
            ("attendance", lead.attendance("missed")),
        ]
        states = [(await decide(upstream, watcher, t, e, prefix))["rl_state"] for t, e in steps]
        assert [s.split(":")[0] for s in states] == [
            "new",
            "enrolled",
            "active",
            "active",
            "active",
            "at_risk",
        ]
        assert states[3] == "active:payment_concern"

        # Nothing happens to the lead; another lead's events move event time a month on,
        # past the 14 days of no attendance that make an at_risk family inactive. Stream
        # time is per partition: the other lead must be in the lead's partition.
        other_id = lead_id_in_partition(partition_of(lead.lead_id), "ret-")
        other = Events(other_id, Events.default_start() + timedelta(days=40))
        await decide(upstream, watcher, "leads", other.created(), prefix)

        [decayed] = await watcher.wait_for(
            prefix + "next-best-actions",
            lambda r: r["lead_id"] == lead.lead_id and r["rl_state"].startswith("inactive:"),
            timeout_s=20,
        )
        assert decayed["trigger_event_id"].startswith("rule-")
        mine = lambda r: r["lead_id"] == lead.lead_id  # noqa: E731
        # One transition per executed step or status move: the first missed session
        # re-decides while the check-in planned for the late payment has not happened
        # (no contact, no outcome, status still active), so it closes nothing; the
        # second closes that check-in's step with the move to at_risk.
        transitions = await watcher.wait_for(prefix + "lead-transitions", mine, count=5)
        assert [t["reward"] for t in transitions] == pytest.approx(
            [1.0 + 0.7 + 0.4 + 0.1, 0.3, -0.02, -0.5, -0.7]
        )
        # Gauges are refreshed by the next sweep: await it rather than assume it ran.
        expected = (
            "stream_app_decay_transitions_total 1.0",
            'stream_app_leads_by_status{status="inactive"} 1.0',
        )
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            status, metrics = worker.get("/metrics")
            if status == 200 and all(line in metrics for line in expected):
                break
            await asyncio.sleep(0.2)
        assert all(line in metrics for line in expected), metrics
    finally:
        await watcher.stop()
