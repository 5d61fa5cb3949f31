"""The console's read model through a real broker and worker: it resumes from its own
committed offsets after a restart, `--rebuild` replays into the same read model, and
`stream-app report` builds the weekly review from the topics as a command.

The worker is stopped before the console reads the second time, so the topics hold
still and "read each record once" is an exact count: records read after the restart
must be the topics' ends minus where the first run stopped, not one more.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.consoles import ConsoleProcess, log_ends
from tests.integration.harness import Upstream, decide, group_positions, until

TRANSCRIPT = "Agent: Hi! Parent: Jake loved it, can we book the Saturday trial? Cost is fine."


def caught_up(console: ConsoleProcess) -> bool:
    health = console.health()
    return health is not None and bool(health["caught_up"])


def lead(console: ConsoleProcess, lead_id: str) -> dict[str, Any]:
    status, body = console.get(f"/api/leads/{lead_id}")
    return body if status == 200 else {"decisions": [], "timeline": []}


async def report(
    console: ConsoleProcess, out: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """`stream-app report` with the console's environment (its own fresh data dir)."""
    command = [sys.executable, "-m", "stream_app", "report", "--json", str(out), *args]
    return await asyncio.to_thread(
        subprocess.run, command, env=console.env(), capture_output=True, text=True, timeout=120
    )


async def test_the_console_resumes_from_its_offsets_and_a_rebuild_replays_the_same(
    workers: IsolatedWorkers,
    broker: EmbeddedBroker,
    upstream: Upstream,
    events: Events,
    tmp_path: Path,
) -> None:
    worker = workers.start()
    prefix, app_id = (worker.extra_env[k] for k in ("STREAM_APP_TOPIC_PREFIX", "STREAM_APP_APP_ID"))
    env = {"STREAM_APP_TOPIC_PREFIX": prefix, "STREAM_APP_APP_ID": app_id}
    watcher = await watch(broker, worker, "next-best-actions")
    console = ConsoleProcess(broker, tmp_path / "console", env)
    try:
        a, b = events, Events(f"lead-{uuid.uuid4().hex[:10]}", Events.default_start())
        first = [a.created(owner="Coach Ana"), a.interaction(transcript=TRANSCRIPT)]
        sent = {a.lead_id: first, b.lead_id: [b.created(owner="Coach Ben")]}

        console.start()
        await decide(upstream, watcher, "leads", first[0], prefix)
        await decide(upstream, watcher, "interactions", first[1], prefix)
        await until(
            "the console shows A's two decisions",
            lambda: len(lead(console, a.lead_id)["decisions"]) == 2,
            timeout_s=30,
        )
        console.stop()

        # Its offsets are committed to its own group, as far as its read model reached.
        reached = {(t, p): n for t, p, n in console.tables()["positions"]}
        for topic in {t for t, _ in reached}:
            committed = await group_positions(broker.bootstrap, f"{app_id}-console", prefix + topic)
            assert {p: c for p, (c, _) in committed.items() if c} == {
                p: n for (t, p), n in reached.items() if t == topic
            }

        # While it is down: a new lead, another interaction, two records no one can read.
        later = a.interaction(outcome="no_answer")
        sent[a.lead_id].append(later)
        await decide(upstream, watcher, "leads", sent[b.lead_id][0], prefix)
        await decide(upstream, watcher, "interactions", later, prefix)
        await upstream.send_raw(prefix + "leads", b"\xff{not json", key=a.lead_id.encode())
        await upstream.send_raw(prefix + "leads", orjson.dumps({"type": "lead.created"}), key=None)
        worker.stop()  # the topics hold still from here
        ends = await log_ends(broker.bootstrap, prefix)

        console.start()
        await until("the restarted console caught up", lambda: caught_up(console), timeout_s=30)
        health = console.health()
        assert health is not None
        assert health["read"] == sum(ends.values()) - sum(reached.values()), (health, ends, reached)
        assert health["skipped"] == 2
        page_a, page_b = lead(console, a.lead_id), lead(console, b.lead_id)
        assert len(page_a["decisions"]) == 3 and len(page_b["decisions"]) == 1
        timeline = [e["event_id"] for e in page_a["timeline"]]
        assert sorted(timeline) == sorted(e["event_id"] for e in sent[a.lead_id])
        console.stop()
        resumed = console.tables()

        console.start("--rebuild")
        await until("the rebuilt console caught up", lambda: caught_up(console), timeout_s=30)
        health = console.health()
        assert health is not None
        assert health["read"] == sum(ends.values()) and health["skipped"] == 2
        console.stop()
        assert console.tables() == resumed

        # The weekly review as a command, from a read model of its own.
        reporter = ConsoleProcess(broker, tmp_path / "report", env)
        out = tmp_path / "report.json"
        done = await report(reporter, out, "--since", "2026-01-01")
        assert done.returncode == 0, done.stdout + done.stderr
        data = orjson.loads(out.read_bytes())
        decisions = await watcher.wait_for(
            prefix + "next-best-actions",
            lambda r: True,
            count=sum(n for (t, _), n in ends.items() if t == "next-best-actions"),
        )
        latest = {d["lead_id"]: d for d in decisions}  # a lead's decisions share a partition
        open_owners = {
            ("Coach Ana" if lead_id == a.lead_id else "Coach Ben"): 1
            for lead_id, d in latest.items()
            if d["action"] not in ("wait", "stop")
        }
        assert data["decisions_since"] == len(decisions)
        assert data["queue"]["open"] == len(open_owners)
        assert data["queue"]["by_owner"] == open_owners
        assert sum(data["unreadable_records"].values()) == 2
        assert all(k.startswith("leads:") for k in data["unreadable_records"])
        assert f"{data['queue']['open']} open" in done.stdout + done.stderr

    finally:
        console.stop()
        await watcher.stop()


async def test_report_on_topics_that_do_not_exist_writes_an_empty_review(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    empty = ConsoleProcess(broker, tmp_path / "empty", {"STREAM_APP_TOPIC_PREFIX": "no-such."})
    out = tmp_path / "report.json"
    done = await report(empty, out, "--timeout-s", "20")
    assert done.returncode == 0, done.stdout + done.stderr
    data = orjson.loads(out.read_bytes())
    assert data["queue"]["open"] == 0 and data["decisions_since"] == 0
    assert data["conversion"]["outcomes"] == {"saved": 0, "churned": 0, "pending": 0}
    assert data["unreadable_records"] == {}
