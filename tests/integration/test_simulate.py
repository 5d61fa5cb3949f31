"""The simulator against a real broker and worker: families answer published decisions.

Beyond moving families through the pipeline, two promises are checked here against a
worker of its own (holdout arm on half the leads, learning off so both paths decide
from the same seeded priors):

- the in-process engine (`sim.engine.run`, what `simulate --report` measures with)
  takes the very decisions the worker takes for the same families: same action,
  channel, arm, schedule and override, decision for decision, so the report's
  numbers are the worker's;
- the live per-arm summary (`dev --simulate`) is built from what came back through
  the topics: each lead's arm and status as published on next-best-actions, its
  rewards as published on lead-transitions.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from stream_app.cli import render
from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.lead.policy import arm
from stream_app.domain.messages import NextBestAction
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.offline.export import read_to_end
from stream_app.sim.client import CONVERTED, LiveStats, simulate, wait_ready
from stream_app.sim.engine import PolicyKind, RunConfig, run
from tests.integration.harness import FAST_GROUP_ENV, TopicWatcher, WorkerProcess

pytestmark = pytest.mark.integration

SEED, LEADS, STEPS = 7, 12, 5
"""Few steps: no family reaches at_risk, so no event-time decay decides (live, past-dated
events let the wall clock fire it at once; in process it fires on event time)."""


async def test_simulated_families_move_through_the_pipeline(
    broker: EmbeddedBroker, worker: WorkerProcess, watcher: TopicWatcher
) -> None:
    await wait_ready(worker.base_url + "/readyz", timeout_s=30)
    tag = uuid.uuid4().hex[:8]
    started = time.monotonic()
    stats = await simulate(
        Settings(broker=broker.url),
        leads=10,
        seed=3,
        run_tag=tag,
        max_steps=6,
        timeout_s=50,
        console=Console(quiet=True),
    )
    elapsed = time.monotonic() - started
    print(f"\nsimulated 10 families in {elapsed:.1f}s: {stats.decisions} decisions")

    assert len(stats.finished) == 10, f"unfinished after {elapsed:.0f}s: {stats.status}"
    assert stats.decisions >= 20
    # Every decision the simulator answered is on the topic for any other consumer too.
    await watcher.wait_for(
        "next-best-actions",
        lambda r: r["lead_id"].startswith(f"sim-{tag}-"),
        count=stats.decisions,
        timeout_s=10,
    )
    assert stats.produced > stats.decisions  # lead.created, responses and action outcomes
    assert stats.moved_past_new() >= 5, stats.status
    status, lead = worker.get(f"/leads/sim-{tag}-00000")
    assert status == 200 and lead["status"] != "new"
    assert stats.transitions > 0


ARM_ENV = {"STREAM_APP_HOLDOUT_SHARE": "0.5", "STREAM_APP_LEARNING_MODE": "batch"}


@dataclass
class LiveRun:
    settings: Settings
    """What the worker runs with (its environment)."""
    tag: str
    stats: LiveStats


@pytest.fixture(scope="module")
def arm_worker(broker: EmbeddedBroker, artifacts: Path) -> Iterator[tuple[WorkerProcess, str]]:
    """A worker with its own group and topics, a holdout on half the leads, learning off."""
    name = f"simarms-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(
        broker=broker,
        data_dir=artifacts / f"{name}-data",
        log_path=artifacts / f"{name}.log",
        extra_env={"STREAM_APP_APP_ID": name, "STREAM_APP_TOPIC_PREFIX": f"{name}.", **ARM_ENV},
    )
    worker.start()
    worker.wait_ready()
    yield worker, name
    worker.stop()


@pytest.fixture(scope="module")
async def live_run(broker: EmbeddedBroker, arm_worker: tuple[WorkerProcess, str]) -> LiveRun:
    worker, name = arm_worker
    env = {**FAST_GROUP_ENV, **ARM_ENV}
    settings = Settings(
        broker=broker.url,
        topic_prefix=f"{name}.",
        holdout_share=float(env["STREAM_APP_HOLDOUT_SHARE"]),
        learning_mode=env["STREAM_APP_LEARNING_MODE"],
        sms_quiet_s=float(env["STREAM_APP_SMS_QUIET_S"]),
        sms_max_age_s=float(env["STREAM_APP_SMS_MAX_AGE_S"]),
    )
    await wait_ready(worker.base_url + "/readyz", timeout_s=30)
    tag = uuid.uuid4().hex[:8]
    stats = await simulate(settings, LEADS, SEED, tag, STEPS, 90, Console(quiet=True))
    assert len(stats.finished) == LEADS and not stats.arm.keys() - _ids(tag)
    return LiveRun(settings, tag, stats)


def _ids(tag: str) -> set[str]:
    return {f"sim-{tag}-{i:05d}" for i in range(LEADS)}


async def _published(settings: Settings, topic: str, tag: str) -> list[dict[str, Any]]:
    records = await read_to_end(settings, [topic])
    values = [orjson.loads(r.value) for r in records if r.value]
    return [v for v in values if v["lead_id"].startswith(f"sim-{tag}-")]


def _decision(nba: NextBestAction | dict[str, Any]) -> tuple[Any, ...]:
    d = nba if isinstance(nba, dict) else orjson.loads(nba.model_dump_json())
    return (
        d["lead_id"],
        d["trigger_event_id"],
        d["action"],
        d["channel"],
        d["arm"],
        d["override"],
        d["rl_state"],
        d["requires_approval"],
        d["brief"]["scheduled_for"],
    )


async def test_the_engine_takes_the_workers_decisions(live_run: LiveRun) -> None:
    """The same families, run in process with the worker's settings, get the same
    decisions, one for one: so do their reactions, so the two journeys are one."""
    expected: dict[str, tuple[Any, ...]] = {}
    config = RunConfig(seed=SEED, leads=LEADS, max_steps=STEPS, prefix=f"sim-{live_run.tag}-")
    run(
        PolicyKind.PRIORS,
        config,
        lead_params(live_run.settings),
        learner_params(live_run.settings),
        on_decision=lambda nba: expected.setdefault(nba.decision_id, _decision(nba)),
    )
    assert {v[4] for v in expected.values()} == {"learning", "holdout"}
    assert any(v[3] == "voice" for v in expected.values())  # the voice calendar booked calls

    deadline = time.monotonic() + 30
    while True:
        live = {
            d["decision_id"]: _decision(d)
            for d in await _published(live_run.settings, "next-best-actions", live_run.tag)
        }
        if expected.keys() <= live.keys() or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert live == expected


async def test_the_live_summary_per_arm_is_the_topics_account(live_run: LiveRun) -> None:
    stats = live_run.stats
    decisions = await _published(live_run.settings, "next-best-actions", live_run.tag)
    transitions = {
        t["transition_id"]: t
        for t in await _published(live_run.settings, "lead-transitions", live_run.tag)
    }
    summary = {a.arm: a for a in stats.arms()}
    assert summary.keys() == {"learning", "holdout"}
    for group, a in summary.items():
        leads = {lead for lead in _ids(live_run.tag) if arm(lead, 0.5) == group}
        published = {d["lead_id"] for d in decisions if d["arm"] == group}
        assert published == leads and a.leads == len(leads)
        converted = {
            d["lead_id"]
            for d in decisions
            if d["lead_id"] in leads and d["rl_state"].split(":")[0] in CONVERTED
        }
        assert a.converted == len(converted)
        assert a.conversion.low <= a.converted / a.leads <= a.conversion.high
        assert set(stats.transition_ids) <= transitions.keys()
        counted = [
            transitions[t] for t in stats.transition_ids if transitions[t]["lead_id"] in leads
        ]
        assert a.reward_per_lead == pytest.approx(sum(t["reward"] for t in counted) / len(leads))
    assert sum(a.converted for a in summary.values()) >= 1

    out = Console(record=True, width=200)
    render.live_simulation(out, stats, LEADS)
    printed = out.export_text()
    for group, a in summary.items():
        assert f"arm {group}: {a.leads} leads, {a.converted} converted" in printed
    difference = stats.learning_minus_holdout()
    assert difference is not None
    rates = summary["learning"].converted / summary["learning"].leads - (
        summary["holdout"].converted / summary["holdout"].leads
    )
    assert difference.mean == pytest.approx(rates)
    assert f"learning - holdout conversion: {difference}" in printed
