"""Crashes lose nothing: state, learning and every input survive SIGKILL and restart.

Shaped like Kafka Streams' EOS system test: numbered events with ids, a worker
killed repeatedly mid-stream, then every input must be applied exactly once to
state and visible in the outputs (duplicates only with the same deterministic id),
and every transition learned exactly once by the Q-learner's batches.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter, defaultdict

import pytest

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess, group_positions


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_restart_keeps_lead_state_and_the_q_table(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream, events: Events, store: str
) -> None:
    isolated = workers.start(STREAM_APP_STORE=store)
    prefix = isolated.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, isolated, "next-best-actions", "lead-transitions", "q-updates")
    try:
        created = events.created()
        await upstream.send(prefix + "leads", created)
        [first] = await watcher.wait_for(prefix + "next-best-actions", lambda r: True)
        # The unanswered call carries the first decision out, so it closes that step.
        call = events.interaction(outcome="no_answer", decision_id=first["decision_id"])
        await upstream.send(prefix + "interactions", call)
        [transition] = await watcher.wait_for(prefix + "lead-transitions", lambda r: True)
        [update] = await watcher.wait_for(prefix + "q-updates", lambda r: True)
        assert (update["transition_id"], update["visits"]) == (transition["transition_id"], 1)

        isolated.stop(signal.SIGTERM)
        isolated.start()
        isolated.wait_ready()

        status, state = isolated.get(f"/leads/{events.lead_id}")
        assert status == 200
        assert state["context"]["interaction_count"] == 1
        assert state["context"]["consecutive_unreached"] == 1
        status, q_table = isolated.get("/q-table")
        entry = q_table["states"][update["state"]][update["action"]]
        assert (entry["q"], entry["visits"]) == (update["q_after"], 1)
        assert q_table["q_version"] == update["q_version"]

        # The same transition delivered again after the restart is not learned twice.
        await upstream.send(prefix + "lead-transitions", transition)  # keyed by its lead
        replays = await watcher.wait_for(
            prefix + "q-updates", lambda r: r["transition_id"] == transition["transition_id"], 2
        )
        assert replays[1]["visits"] == 1
        assert replays[1]["q_after"] == update["q_after"]
    finally:
        await watcher.stop()


LEADS = 12
CALLS = 20
KILLS = 4


async def test_no_input_is_lost_or_applied_twice_across_kills(
    broker: EmbeddedBroker, isolated: WorkerProcess, upstream: Upstream
) -> None:
    prefix = isolated.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, isolated, "next-best-actions", "lead-transitions", "q-updates")
    leads = [Events(f"chaos-{i}", Events.default_start()) for i in range(LEADS)]
    sent: list[str] = []

    async def produce() -> None:
        for lead in leads:
            event = lead.created()
            await upstream.send(prefix + "leads", event)
            sent.append(event["event_id"])
        for call in range(CALLS):
            for lead in leads:
                outcome = ("no_answer", "voicemail", "busy", "completed")[call % 4]
                event = lead.interaction(outcome=outcome)
                await upstream.send(prefix + "interactions", event)
                sent.append(event["event_id"])
                await asyncio.sleep(0.01)  # pace the load so kills land mid-stream

    total = LEADS * (CALLS + 1)

    def decided() -> int:
        return len({r["trigger_event_id"] for r in watcher.records[prefix + "next-best-actions"]})

    producer = asyncio.create_task(produce())
    try:
        for kill in range(KILLS):
            target = total * (kill + 1) // (KILLS + 2)
            while decided() < target:
                await asyncio.sleep(0.05)
            isolated.stop(signal.SIGKILL if kill % 2 == 0 else signal.SIGTERM)
            isolated.start()
            isolated.wait_ready(timeout_s=90)
        await producer
        deadline = asyncio.get_running_loop().time() + 90
        while decided() < total and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
        outputs = watcher.records[prefix + "next-best-actions"]
        missing = sorted(set(sent) - {r["trigger_event_id"] for r in outputs})
        if missing:
            applied: set[str] = set()
            for lead in leads:
                applied.update(isolated.get(f"/leads/{lead.lead_id}")[1]["seen_event_ids"])
            in_state = [m for m in missing if m in applied]
            group = isolated.extra_env["STREAM_APP_APP_ID"]
            positions = await group_positions(broker.bootstrap, group, prefix + "interactions")
            raise AssertionError(
                f"{len(missing)} inputs without a decision, {len(in_state)} of them "
                f"applied to state: {missing[:10]}; interactions (committed, end) by "
                f"partition: {positions}; worker metrics:\n{progress(isolated)}"
            )
        by_trigger: dict[str, set[str]] = defaultdict(set)
        for record in watcher.records[prefix + "next-best-actions"]:
            by_trigger[record["trigger_event_id"]].add(record["decision_id"])
        assert set(by_trigger) == set(sent), "every input is visible in the outputs"
        assert all(len(ids) == 1 for ids in by_trigger.values()), "duplicates share their id"
        for lead in leads:
            status, state = isolated.get(f"/leads/{lead.lead_id}")
            assert status == 200
            assert state["context"]["interaction_count"] == CALLS, "applied exactly once"
            assert len(set(state["seen_event_ids"])) == CALLS + 1
        await assert_learned_once(watcher, prefix)
    finally:
        producer.cancel()
        await watcher.stop()


async def assert_learned_once(watcher: TopicWatcher, prefix: str) -> None:
    """Each (state, action) entry's visits, as its latest q-update says, equal the
    distinct transitions of that pair: none lost, none learned twice by a batch
    applied again after a kill (a re-sent q-update repeats its transition's id)."""
    transitions = {
        t["transition_id"]: (t["state_before"], t["action"])
        for t in watcher.records[prefix + "lead-transitions"]
    }
    assert transitions, "the calls were credited"

    def learned() -> set[str]:
        return {u["transition_id"] for u in watcher.records[prefix + "q-updates"]}

    deadline = asyncio.get_running_loop().time() + 60
    while not set(transitions) <= learned():
        assert asyncio.get_running_loop().time() < deadline, (
            f"{len(set(transitions) - learned())} transitions never learned"
        )
        await asyncio.sleep(0.1)
    visits: dict[tuple[str, str], int] = {}
    for update in watcher.records[prefix + "q-updates"]:
        pair = (update["state"], update["action"])
        visits[pair] = max(visits.get(pair, 0), update["visits"])
    assert visits == dict(Counter(transitions.values())), "each transition learned once"


def progress(worker: WorkerProcess) -> str:
    """The worker's own view of its input: events in, lag, processing."""
    _, text = worker.get("/metrics")
    wanted = ("stream_app_events_in_total", "stream_app_consumer_lag", "stream_app_decisions_total")
    return "\n".join(line for line in str(text).splitlines() if line.startswith(wanted))
