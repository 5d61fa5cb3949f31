"""Replay equals live: a scripted run through a real worker, exported and replayed in process.

Every decision must match field for field, q_version and Q values included. That
holds because the script makes the live run's timing the replay's:

- learning keeps up: after each event the test waits until the worker's Q snapshot
  has applied every transition logged so far (`/q-table` q_version equals the
  `lead-transitions` end offset), which is what replay assumes (it learns each
  transition before the next event). Without this wait a live decision can be made
  from an older table, and its q_version, q_value, candidates and even action can
  differ: that is live learning's asynchrony, not a replay defect.
- time rules fire at the same point: events are dated in the future, so the wall
  clock never fires a rule and the sweep follows event time alone (the newest event
  time the worker has seen in the lead's partition). Live, a rule then fires right
  after the first event of its partition past its due time; replay fires it right
  before that event. The script makes the two agree by passing the decay's due time
  with an event that changes nothing (an outcome for a decision nobody made, of a
  lead in A's partition) and waiting for the rule's decision before the next event.
  With past-dated events the wall clock fires a rule as soon as its lead is
  written, racing the learner (seen: a decay decided one q_version early).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.kafka.ends import end_offsets
from stream_app.offline.export import export, read_log
from stream_app.offline.pipeline import Learner
from stream_app.offline.replay import Replay
from tests.integration.conftest import Events
from tests.integration.harness import (
    TopicWatcher,
    Upstream,
    WorkerProcess,
    lead_id_in_partition,
    partition_of,
    until,
)

pytestmark = pytest.mark.integration

SCHEDULING_CALL = (
    "Agent: Hi, this is Maya from the academy, following up on Jake's enquiry.\n"
    "Parent: Oh hi! Yes, we'd love to book a trial class. Is Saturday morning free?\n"
    "Agent: Saturday at ten works.\n"
    "Parent: Perfect, let's schedule that."
)


@pytest.fixture
def replay_worker(
    broker: EmbeddedBroker, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[WorkerProcess]:
    """A worker with its own consumer group and topics: its logs hold only this test."""
    name = f"replay-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(
        broker=broker,
        data_dir=artifacts / f"{name}-data",
        log_path=artifacts / f"{name}.log",
        extra_env={"STREAM_APP_APP_ID": name, "STREAM_APP_TOPIC_PREFIX": f"{name}."},
    )
    worker.start()
    worker.wait_ready()
    yield worker
    worker.stop()


@pytest.fixture
async def transitions_end(
    broker: EmbeddedBroker, replay_worker: WorkerProcess
) -> AsyncIterator[Callable[[], Any]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    tp = TopicPartition(replay_worker.extra_env["STREAM_APP_TOPIC_PREFIX"] + "lead-transitions", 0)

    async def end() -> int:
        return (await end_offsets(consumer, [tp]))[tp]

    yield end
    await consumer.stop()


async def test_replay_reproduces_every_live_decision(
    broker: EmbeddedBroker,
    replay_worker: WorkerProcess,
    upstream: Upstream,
    transitions_end: Callable[[], Any],
    artifacts: Path,
) -> None:
    worker = replay_worker
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    nba_topic = prefix + "next-best-actions"
    watcher = TopicWatcher(broker.bootstrap, [nba_topic])
    await watcher.start()

    # A's second miss lands tomorrow (232 h after its first event), so its 14-day
    # decay is due in 15 days: after every event but the clock, before the wall clock.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start += timedelta(days=1, hours=-232)
    a = Events(f"rp-a-{uuid.uuid4().hex[:6]}", start)
    b = Events(f"rp-b-{uuid.uuid4().hex[:6]}", start + timedelta(hours=1))
    # Stream time is per partition: the lead whose event passes A's decay is in A's.
    clock = Events(lead_id_in_partition(partition_of(a.lead_id), "rp-clock-"), start)

    async def settle(lead_id: str, event_id: str | None, decision_trigger: str | None) -> None:
        """The event is applied, its decision written, and learning has caught up."""
        if decision_trigger is not None:
            [decision] = await watcher.wait_for(
                nba_topic,
                lambda r: (
                    r["lead_id"] == lead_id and r["trigger_event_id"].startswith(decision_trigger)
                ),
            )

        def applied() -> bool:
            status, state = worker.get(f"/leads/{lead_id}")
            if status != 200 or state["pending"]:
                return False
            if event_id is not None and event_id not in state["seen_event_ids"]:
                return False
            last = state["last_nba"]
            return decision_trigger is None or last["decision_id"] == decision["decision_id"]

        await until(f"{lead_id} to apply {event_id or decision_trigger}", applied)
        logged = await transitions_end()
        await until(
            f"the Q snapshot to reach q_version {logged}",
            lambda: worker.get("/q-table")[1]["q_version"] == logged,
        )

    async def step(topic: str, event: dict[str, Any], decides: bool = True) -> None:
        await upstream.send(prefix + topic, event)
        await settle(event["lead_id"], event["event_id"], event["event_id"] if decides else None)

    await step("leads", a.created())
    b_created = b.created(value_tier="premium")
    await step("leads", b_created)
    [b_first] = watcher.matching(
        nba_topic, lambda r: r["trigger_event_id"] == b_created["event_id"]
    )
    outcome = b.event(
        "action.outcome", decision_id=b_first["decision_id"], outcome="rejected", reason="no"
    )
    await step("action-outcomes", outcome, decides=False)
    stop = b.event("sms.received", message_id=f"{b.lead_id}-m1", body="Please STOP texting us")
    await step("sms-messages", stop)
    await step("interactions", a.interaction(outcome="no_answer"))
    await step("interactions", a.interaction(transcript=SCHEDULING_CALL))
    await step("leads", a.milestone("trial_booked"))
    await step("leads", a.milestone("enrolled"))
    await step("attendance", a.attendance("attended"))
    await step("attendance", a.attendance("missed"))
    second_miss = a.attendance("missed")
    await step("attendance", second_miss)
    past_due = datetime.fromisoformat(second_miss["occurred_at"]) + timedelta(days=14, hours=1)
    tick = {
        **clock.event("action.outcome", decision_id="d-nobody", outcome="expired"),
        "occurred_at": past_due.isoformat(),
    }
    await step("action-outcomes", tick, decides=False)
    await settle(a.lead_id, None, "rule-")  # the decay, fired by the sweep
    back = a.event(
        "attendance.recorded",
        gap=timedelta(days=16),
        session_id=f"{a.lead_id}-back",
        status="attended",
    )
    await step("attendance", back)

    live = {r["decision_id"]: r for r in watcher.records[nba_topic]}
    await watcher.stop()

    settings = Settings(broker=broker.url, topic_prefix=prefix)
    log = artifacts / f"{prefix}export.jsonl"
    report = await export(settings, log)
    assert (report.written, report.skipped) == (13, 0)
    engine = Replay(lead_params(settings), Learner(learner_params(settings)))
    with log.open() as lines:
        replayed = [d.model_dump(mode="json") for d in engine.run(read_log(lines))]

    assert sorted(d["decision_id"] for d in replayed) == sorted(live)
    for decision in replayed:
        assert decision == live[decision["decision_id"]], decision["decision_id"]
    actions = [(d["rl_state"], d["action"], d["q_version"]) for d in replayed]
    print(f"\n{len(replayed)} decisions equal live, final q_version {engine.learner.version}")
    print("\n".join(map(str, actions)))
    assert engine.summary.ticks >= 1 and any(
        d["trigger_event_id"].startswith("rule-") for d in replayed
    )
    assert engine.learner.version == await transitions_end() > 0
    assert len({d["q_version"] for d in replayed}) > 2, "decisions saw the table change"
