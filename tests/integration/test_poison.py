"""Nothing stops a worker: hostile records on every topic, input and internal.

Each record below once stopped a worker, or the whole fleet: an unknown action on
the compacted `q-updates` crashed every worker at start (the Q-table view replays
it from offset 0); a reward of Infinity or an unknown action on `lead-transitions`
stopped all learning; naive datetimes raised TypeErrors; an SMS dated
9999-12-31T23:50 was stored and then overflowed the timer index (and after a
restart, the sweep); a dead letter of 800 KB of random bytes was too big to send;
a null-keyed event created a second copy of its lead. Now each one is a dead
letter with its reason, acked (committed offsets move past it) and counted, and
the worker keeps deciding, before and after a restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import (
    TopicWatcher,
    Upstream,
    WorkerProcess,
    decide,
    group_positions,
    metric_value,
)

NOW = datetime.now(UTC).replace(microsecond=0)
NAIVE = (NOW - timedelta(minutes=1)).replace(tzinfo=None).isoformat()


@dataclass(frozen=True)
class Hostile:
    name: str
    topic: str
    key: bytes | None
    value: bytes
    reason: str  # the dead letter's error_type, the metric's label


def hostile_records(victim: str) -> list[Hostile]:
    """One of each; `victim` is a lead with state, so a record that reaches the step
    for it (a naive timer) meets real state."""
    unique = uuid.uuid4().hex[:6]
    transition = {
        "transition_id": f"t-poison-{unique}",
        "lead_id": victim,
        "occurred_at": NOW.isoformat(),
        "state_before": "new:neutral",
        "action": "warm_follow_up",
        "decision_id": "d-poison",
        "reward": 0.1,
        "state_after": "contacted:neutral",
        "cause_event_id": "e-poison",
    }
    q_update = {
        "state": "new:neutral",
        "action": "teleport",
        "q_before": 0.0,
        "q_after": 0.5,
        "visits": 1,
        "td_error": 0.5,
        "transition_id": "t-poison",
        "q_version": 1,
    }
    sms = {
        "type": "sms.received",
        "event_id": f"{victim}-sms-9999",
        "lead_id": victim,
        "occurred_at": "9999-12-31T23:50:00Z",
        "message_id": f"{victim}-m9999",
        "body": "hi there",
    }
    future = {
        "type": "lead.updated",
        "event_id": f"{victim}-e2999",
        "lead_id": victim,
        "occurred_at": "2999-01-01T00:00:00Z",
        "owner": "crm",
    }
    unkeyed = {
        "type": "lead.consent",
        "event_id": f"{victim}-revoke",
        "lead_id": victim,
        "occurred_at": NOW.isoformat(),
        "channel": "all",
        "granted": False,
    }
    extraction = {
        "extraction_id": f"x-poison-{unique}",
        "lead_id": victim,
        "extracted_at": NAIVE,
        "source_event_ids": [f"{victim}-e1"],
        "extraction": {"provider": "rules", "intent": "interested"},
    }
    timer = {"timer_id": f"tm-poison-{unique}", "lead_id": victim, "now": NAIVE, "wall_now": NAIVE}
    lead = victim.encode()
    infinite = orjson.dumps(transition).replace(b'"reward":0.1', b'"reward":Infinity')
    assert b"Infinity" in infinite
    return [
        Hostile("q-update, unknown action", "q-updates", b"new:neutral|teleport",
                orjson.dumps(q_update), "validation"),
        Hostile("q-update, not JSON", "q-updates", b"new:neutral|wait", b"{not json",
                "invalid_json"),
        Hostile("transition, unknown action", "lead-transitions", lead,
                orjson.dumps({**transition, "action": "teleport"}), "validation"),
        Hostile("transition, reward Infinity", "lead-transitions", lead, infinite, "validation"),
        Hostile("extraction, naive datetime", "extractions", lead, orjson.dumps(extraction),
                "validation"),
        Hostile("lead timer, naive datetime", "lead-timers", lead, orjson.dumps(timer),
                "validation"),
        Hostile("sms dated 9999-12-31T23:50", "sms-messages", lead, orjson.dumps(sms),
                "event_time"),
        Hostile("event dated 2999-01-01", "leads", lead, orjson.dumps(future), "event_time"),
        Hostile("consent revoke without a key", "leads", None, orjson.dumps(unkeyed),
                "missing_key"),
        Hostile("800 KB of random bytes", "leads", lead, os.urandom(800 * 1024), "too_large"),
        # Control characters: six bytes each once a dead letter JSON-escapes them, so
        # the old dead letter (1.8 MB) was over the producer's limit.
        Hostile("extraction request over its size limit", "extraction-requests", lead,
                b'{"transcript": "' + b"\x01" * 300_000 + b'"}', "too_large"),
    ]  # fmt: skip


async def committed_past(
    broker: EmbeddedBroker, group: str, topic: str, at: tuple[int, int], timeout_s: float = 20.0
) -> None:
    """Wait until the group's committed offset of partition `at[0]` is past offset `at[1]`."""
    partition, offset = at
    deadline = time.monotonic() + timeout_s
    committed = -1
    while time.monotonic() < deadline:
        committed = (await group_positions(broker.bootstrap, group, topic))[partition][0]
        if committed > offset:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{topic}[{partition}]: committed {committed}, not past {offset}")


def dead_letters_of(watcher: TopicWatcher, prefix: str) -> list[dict[str, Any]]:
    return watcher.records[prefix + "dead-letters"]


async def test_hostile_records_on_every_topic_are_dead_letters_and_stop_nothing(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    # The door's default bound (the harness lets other tests run weeks ahead), and the
    # default SMS windows: 15 min past 9999-12-31T23:50 is past datetime.max.
    worker: WorkerProcess = workers.start(
        STREAM_APP_EVENT_MAX_AHEAD_S="86400",
        STREAM_APP_SMS_QUIET_S="300",
        STREAM_APP_SMS_MAX_AGE_S="900",
    )
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    group = worker.extra_env["STREAM_APP_APP_ID"]
    watcher = await watch(broker, worker, "dead-letters", "next-best-actions")
    try:
        start = NOW - timedelta(hours=3)
        victim = Events(f"poison-{uuid.uuid4().hex[:8]}", start)
        await decide(upstream, watcher, "leads", victim.created(), prefix)

        hostile = hostile_records(victim.lead_id)
        where: dict[str, tuple[int, int]] = {}
        for record in hostile:
            where[record.name] = await upstream.send_raw(
                prefix + record.topic, record.value, record.key
            )

        # The worker keeps deciding for a good lead sent after all of them.
        good = Events(f"good-{uuid.uuid4().hex[:8]}", start)
        await decide(upstream, watcher, "leads", good.created(), prefix)

        def letter_of(record: Hostile) -> dict[str, Any] | None:
            partition, offset = where[record.name]
            for letter in dead_letters_of(watcher, prefix):
                at = (letter["source_topic"], letter["partition"], letter["offset"])
                if at == (record.topic, partition, offset):
                    return letter
            return None

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(letter_of(r) for r in hostile):
            await asyncio.sleep(0.2)
        missing = [r.name for r in hostile if letter_of(r) is None]
        assert not missing, f"no dead letter for {missing}:\n{worker.log_tail()}"
        for record in hostile:
            letter = letter_of(record)
            assert letter is not None
            assert letter["error_type"] == record.reason, (record.name, letter["error"])
            assert letter["raw_size"] == len(record.value), record.name
            assert letter["truncated"] == (len(record.value) > 64 * 1024), record.name
        by_reason = Counter((r.topic, r.reason) for r in hostile)
        for (topic, reason), count in by_reason.items():
            labels = {"topic": topic, "error_type": reason}
            assert metric_value(worker, "stream_app_dead_letters_total", labels) >= count, labels

        # Acked: every group-consumed topic's committed offset moved past its record.
        for record in hostile:
            if record.topic != "q-updates":  # read without a group, by every worker
                await committed_past(broker, group, prefix + record.topic, where[record.name])
        status, lead = worker.get(f"/leads/{victim.lead_id}")
        assert status == 200
        assert (lead["status"], lead["opted_out_channels"]) == ("new", [])  # no revoke
        assert not {f"{victim.lead_id}-e2999", f"{victim.lead_id}-sms-9999"} & set(
            lead["seen_event_ids"]
        )
        assert not lead["sms"]["messages"]

        # A restart replays the compacted q-updates from offset 0 and re-reads nothing
        # of the rest (committed past): it becomes ready, decides, dead-letters nothing new.
        worker.stop(signal.SIGTERM)
        worker.start()
        worker.wait_ready()
        after = Events(f"after-{uuid.uuid4().hex[:8]}", start)
        await decide(upstream, watcher, "leads", after.created(), prefix)
        await decide(upstream, watcher, "interactions", after.interaction("no_answer"), prefix)
        await asyncio.sleep(2)  # the sweep ran; anything re-read would be dead again
        assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
        seen = Counter(
            (d["source_topic"], d["partition"], d["offset"])
            for d in dead_letters_of(watcher, prefix)
        )
        assert all(count == 1 for count in seen.values()), seen
        for reason in ("validation", "invalid_json"):  # the replay skipped and counted them
            labels = {"topic": "q-updates", "error_type": reason}
            assert metric_value(worker, "stream_app_dead_letters_total", labels) == 1, labels
        status, q_table = worker.get("/q-table")
        assert status == 200 and "teleport" not in str(q_table)
    finally:
        await watcher.stop()
