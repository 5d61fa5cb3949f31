"""Poison records on every topic a worker reads, through a real worker.

Hypothesis draws the cases (`fuzz_cases.py`: a fixed seed, `--fuzz-examples` per
topic, spread over every category); the test produces them all, then good leads,
and asserts that every case became a dead letter naming its source topic,
partition and offset, and that the worker still decides (and learns) for the good
leads sent after them. Failures are reported per topic and category.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from functools import partial
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

from stream_app.domain.lead.ids import decision_id
from stream_app.kafka.embedded import EmbeddedBroker
from tests.chaos.conftest import ChaosConfig
from tests.chaos.fuzz_cases import Case, generate
from tests.chaos.logs import TopicLog
from tests.integration.conftest import IsolatedWorkers
from tests.integration.harness import WorkerProcess, group_positions

pytestmark = pytest.mark.integration

TOPICS = (
    # The lead agent reads the inputs, extractions and timers; the extractor its requests.
    "leads",
    "interactions",
    "sms-messages",
    "attendance",
    "payments",
    "action-outcomes",
    "extractions",
    "lead-timers",
    "extraction-requests",
    # The Q-learner reads lead-transitions; every worker's Q-table view reads q-updates.
    "lead-transitions",
    "q-updates",
)
SEED = 1_729
PARTITIONS = 4  # the harness's default (Settings.partitions)


def good_lead(partition: int) -> str:
    """A lead id the murmur2 partitioner sends to `partition`."""
    n = 0
    while True:
        lead = f"good-{partition}-{n}"
        if (murmur2(lead.encode()) & 0x7FFFFFFF) % PARTITIONS == partition:
            return lead
        n += 1


def good_events(lead: str) -> list[tuple[str, dict[str, Any]]]:
    at = "2026-11-02T15:00:00+00:00"
    base = {"lead_id": lead, "occurred_at": at}
    return [
        ("leads", {**base, "type": "lead.created", "event_id": f"{lead}-e1", "parent_name": "Bo"}),
        (
            "interactions",
            {
                **base,
                "type": "interaction.completed",
                "event_id": f"{lead}-e2",
                "occurred_at": "2026-11-03T15:00:00+00:00",
                "interaction_id": f"{lead}-c",
                "channel": "voice",
                "direction": "outbound",
                "outcome": "no_answer",
                # The call carries out the first decision, so it closes that step.
                "decision_id": decision_id(lead, f"{lead}-e1"),
            },
        ),
    ]


async def test_every_poison_record_is_dead_lettered_and_the_worker_keeps_deciding(
    broker: EmbeddedBroker, workers: IsolatedWorkers, chaos: ChaosConfig
) -> None:
    worker = workers.start()
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    topics = TOPICS
    cases = [c for t in topics for c in generate(t, chaos.fuzz_examples, SEED)]
    log = TopicLog(
        broker.bootstrap,
        [
            prefix + t
            for t in ("dead-letters", "next-best-actions", "lead-transitions", "q-updates")
        ],
    )
    await log.start()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=4 * 1024**2)
    await producer.start()
    problems: list[str] = []
    placed: dict[tuple[str, int, int], Case] = {}
    try:
        for case in cases:
            sent = await producer.send_and_wait(prefix + case.topic, case.value, key=case.key)
            placed[(case.topic, sent.partition, sent.offset)] = case
        goods = [good_lead(p) for p in range(PARTITIONS)]
        problems += await send_good_leads(producer, log, prefix, goods)
        problems += await keeps_working(worker, log, prefix, goods)
        problems += await consumed(broker, worker, log, prefix, topics)
        await log.caught_up()
    finally:
        await producer.stop()
        await log.stop()

    letters = {
        (d["source_topic"], d["partition"], d["offset"]): d
        for d in (r.json for r in log.records[prefix + "dead-letters"])
        if isinstance(d, dict)
    }
    table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    kinds: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    missed: list[str] = []
    for where, case in placed.items():
        row = table[(case.topic, case.category)]
        row[0] += 1
        if where in letters:
            row[1] += 1
            kinds[(case.topic, case.category)][str(letters[where].get("error_type"))] += 1
        else:
            missed.append(f"{where}: {case.describe()}")
    crashes = [line for line in worker.log_text().splitlines() if "Traceback" in line]
    print(f"\n{len(placed)} fuzzed cases, {len(placed) - len(missed)} dead-lettered")
    for (topic, category), (made, dead) in sorted(table.items()):
        flag = "" if made == dead else "   <-- not dead-lettered: " + str(made - dead)
        errors = ",".join(sorted(kinds[(topic, category)]))
        print(f"  {topic:20} {category:26} {dead}/{made} {errors}{flag}")
    print(f"  worker log: {len(crashes)} tracebacks; error types: {error_types(letters)}")
    for where, case in placed.items():
        if letters.get(where, {}).get("error_type") == "step_error":
            print(f"  step_error (valid at the door, raised in the step): {case.describe()}")
    assert not missed and not problems, "\n".join(
        [f"{len(missed)} of {len(placed)} poison records not dead-lettered:"]
        + [f"  {m}" for m in missed[:60]]
        + [f"  {p}" for p in problems]
        + [f"worker log tail:\n{worker.log_tail(40)}"]
    )


def error_types(letters: dict[tuple[str, int, int], dict[str, Any]]) -> dict[str, int]:
    return dict(Counter(d.get("error_type", "?") for d in letters.values()))


async def send_good_leads(
    producer: AIOKafkaProducer, log: TopicLog, prefix: str, goods: list[str]
) -> list[str]:
    """Each good lead's creation, then, once it is decided, the call that carries that
    decision out (on another topic, so only the wait fixes their order)."""
    created, called = zip(*(good_events(lead) for lead in goods), strict=True)
    for (topic, event), lead in zip(created, goods, strict=True):
        await producer.send_and_wait(prefix + topic, orjson.dumps(event), key=lead.encode())
    problems = []

    def decided(event_id: str) -> bool:
        return any(
            isinstance(r.json, dict) and r.json.get("trigger_event_id") == event_id
            for r in log.records[prefix + "next-best-actions"]
        )

    for lead in goods:
        try:
            await log.wait(f"a decision for {lead}-e1", partial(decided, f"{lead}-e1"), 60)
        except AssertionError as exc:
            problems.append(f"keeps deciding: {exc}")
    for (topic, event), lead in zip(called, goods, strict=True):
        await producer.send_and_wait(prefix + topic, orjson.dumps(event), key=lead.encode())
    return problems


async def keeps_working(
    worker: WorkerProcess, log: TopicLog, prefix: str, goods: list[str]
) -> list[str]:
    """The good leads sent after the poison are decided and learned from, and the
    worker's Q-table view reaches the version of their learning."""
    problems = []
    nba, transitions, updates = (
        prefix + t for t in ("next-best-actions", "lead-transitions", "q-updates")
    )

    def values(topic: str) -> list[dict[str, Any]]:
        return [r.json for r in log.records[topic] if isinstance(r.json, dict)]

    def decided(event: str) -> bool:
        return any(d.get("trigger_event_id") == event for d in values(nba))

    def learned_ids() -> set[str]:
        """Transitions of the good leads (each has one: its call carries out the first
        decision and closes its step)."""
        return {
            str(t.get("transition_id"))
            for t in values(transitions)
            if str(t.get("lead_id")).startswith("good-")
        }

    for lead in goods:
        for event in (f"{lead}-e1", f"{lead}-e2"):
            try:
                await log.wait(f"a decision for {event}", partial(decided, event), 60)
            except AssertionError as exc:
                problems.append(f"keeps deciding: {exc}")
    try:
        await log.wait(
            "a transition per good lead",
            lambda: {str(t.get("lead_id")) for t in values(transitions)} >= set(goods),
            30,
        )
    except AssertionError as exc:
        problems.append(f"keeps publishing transitions: {exc}")
    learned = learned_ids()

    def republished() -> set[str]:
        return {str(u.get("transition_id")) for u in values(updates)}

    try:
        await log.wait(
            "q-updates for the good leads' transitions", lambda: learned <= republished(), 60
        )
    except AssertionError as exc:
        problems.append(f"keeps learning ({len(learned)} transitions): {exc}")
    version = max(
        (
            int(u["q_version"])
            for u in values(updates)
            if str(u.get("transition_id")) in learned and isinstance(u.get("q_version"), int)
        ),
        default=0,
    )
    deadline = time.monotonic() + 30
    status, table = 0, None
    while time.monotonic() < deadline:
        status, table = await asyncio.to_thread(worker.get, "/q-table")
        if status == 200 and isinstance(table, dict) and table["q_version"] >= version:
            break
        await asyncio.sleep(0.2)
    else:
        seen = table.get("q_version") if isinstance(table, dict) else status
        problems.append(f"Q-table view: q_version {seen}, never reached {version}")
    if worker.process is not None and worker.process.poll() is not None:
        problems.append(f"worker exited with {worker.process.returncode}")
    return problems


async def consumed(
    broker: EmbeddedBroker,
    worker: WorkerProcess,
    log: TopicLog,
    prefix: str,
    topics: tuple[str, ...],
) -> list[str]:
    """Every fuzzed partition the group consumes was committed to its end (the agent got
    past every poison record); returns where it stopped if not."""
    group = worker.extra_env["STREAM_APP_APP_ID"]
    grouped = [t for t in topics if t != "q-updates"]  # the view reads without a group
    deadline = time.monotonic() + 60
    behind: dict[str, Any] = {}
    while time.monotonic() < deadline:
        behind = {}
        for topic in grouped:
            for partition, (committed, end) in (
                await group_positions(broker.bootstrap, group, prefix + topic)
            ).items():
                if committed < end:
                    behind[f"{topic}[{partition}]"] = (committed, end)
        if not behind:
            return []
        await asyncio.sleep(0.5)
    return [f"stuck (committed, end): {behind}"]
