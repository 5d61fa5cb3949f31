"""Kafka Streams' EOS system test, for this processor: two workers, chaos, a verifier.

Numbered events of every input type for many leads are produced while two workers
of one group (8 partitions) are killed and restarted at seeded random points:
SIGKILL or SIGTERM mid-stream, while an SMS thread waits in a buffer, soon after a
restart (mid-recovery) and while the other worker is joining (mid-rebalance). The
verifier then reads everything back from the broker; see tests/chaos/README.md for
what each invariant means and why the Q-table comparison is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from stream_app.offline.export import export, read_log
from stream_app.offline.pipeline import Learner
from stream_app.offline.replay import Replay
from tests.chaos import verifier as v
from tests.chaos.cluster import Cluster, Member, cluster_env
from tests.chaos.conftest import ChaosConfig
from tests.chaos.logs import Rec, TopicLog
from tests.chaos.workload import Workload, lead_script
from tests.integration.harness import (
    EMBEDDED_BROKER_ENV,
    FAST_GROUP_ENV,
    Upstream,
    group_positions,
)

pytestmark = pytest.mark.integration

PARTITIONS = 8
NBA = "next-best-actions"
OUTPUTS = (
    "next-best-actions",
    "lead-transitions",
    "q-updates",
    "extraction-requests",
    "extractions",
    "dead-letters",
)
COMMITTED = (*v.INPUT_TOPICS, "extractions", "lead-transitions", "extraction-requests")
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM}


@dataclass
class Kill:
    cycle: int
    kind: str
    victim: str
    signal: str
    at_s: float
    sent: int
    detail: str = ""
    wall: str = ""
    """When the signal was sent, HH:MM:SS.mmm UTC (record timestamps use the same)."""


@dataclass
class Run:
    """The chaos run: cluster, logs, the workload and what the kills did."""

    broker: EmbeddedBroker
    cluster: Cluster
    log: TopicLog
    leads: v.Leads
    learned: dict[str, dict[str, Any] | None]
    workload: Workload
    rng: random.Random
    started: float = field(default_factory=time.monotonic)
    kills: list[Kill] = field(default_factory=list)
    violations: list[v.Violation] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.cluster.prefix

    def topic(self, name: str) -> list[Rec]:
        return self.log.records[self.prefix + name]

    async def committed(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(logical topic, partition) -> (the group's committed offset, end offset).

        The end is the log reader's (`TopicLog.end_offsets`), not ListOffsets alone,
        which the embedded broker under-reports after concurrent produce requests.
        """
        ends = await self.log.end_offsets()
        out = {}
        for name in COMMITTED:
            positions = await group_positions(
                self.broker.bootstrap, self.cluster.group, self.prefix + name
            )
            for partition, (committed, listed) in positions.items():
                end = max(listed, ends.get((self.prefix + name, partition), 0))
                out[(name, partition)] = (committed, end)
        return out

    async def check_commits(self, label: str) -> None:
        """At a kill point: no committed offset past a record not applied."""
        committed = {tp: c for tp, (c, _) in (await self.committed()).items()}
        await self.log.caught_up()
        self.violations += v.committed_inputs(
            label, self.prefix, committed, self.log.records, self.leads
        )
        self.violations += v.committed_transitions(
            label, committed[("lead-transitions", 0)], self.topic("lead-transitions"), self.learned
        )

    def crashed(self, member: Member) -> None:
        """A worker that exited without being killed: a violation; it is restarted."""
        self.violations.append(
            v.Violation(
                "worker survives",
                f"after kill {len(self.kills)} ({self.kills[-1].kind if self.kills else '-'}): "
                f"worker {member.label} exited on its own, {member.why_exited()}",
            )
        )

    async def ready(self, timeout_s: float = 150) -> None:
        await self.cluster.all_ready(timeout_s=timeout_s, on_exit=self.crashed)

    async def kill(self, cycle: int, kind: str, member: Member, sig: str, detail: str = "") -> str:
        label = f"cycle {cycle} {kind}: {sig} {member.label}"
        self.kills.append(
            Kill(
                cycle,
                kind,
                member.label,
                sig,
                round(time.monotonic() - self.started, 1),
                len(self.workload.sent),
                detail,
                datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3],
            )
        )
        await member.kill(SIGNALS[sig])
        return label


async def buffered_victim(run: Run) -> tuple[Member, str]:
    """The owner of a lead whose SMS thread is buffered right now, if one shows up."""
    deadline = time.monotonic() + 10
    topic = run.prefix + "sms-messages"
    while time.monotonic() < deadline:
        for lead in sorted(run.leads.buffered()):
            partition = run.leads.partition[lead]
            for member in run.cluster.members:
                if partition in await member.owned(topic):
                    return member, f"{lead} buffered on p{partition}"
        await asyncio.sleep(0.05)
    return run.rng.choice(run.cluster.members), "no buffered thread seen in 10 s"


async def cycle(run: Run, number: int, applied_target: int) -> None:
    """One kill point: wait for the stream to reach a random point, then a random kill."""
    rng = run.rng
    await run.ready()  # a worker that crashed since is reported and restarted
    kind = rng.choice(["stream", "sms-window", "recovery", "rebalance"])
    sig = rng.choice(["SIGKILL", "SIGTERM"])
    try:
        await run.log.wait(
            f"{applied_target} events applied",
            lambda: sum(map(len, run.leads.ever_seen.values())) >= applied_target,
            timeout_s=120,
        )
    except AssertionError as exc:
        run.violations.append(v.Violation("progress", f"cycle {number}: {exc}"))
    if kind == "sms-window":
        victim, detail = await buffered_victim(run)
    else:
        victim, detail = rng.choice(run.cluster.members), ""
    other = run.cluster.other(victim)
    label = await run.kill(number, kind, victim, sig, detail)
    await run.check_commits(label)
    victim.start()
    if kind == "recovery":
        # A sleep as chaos input: kill again soon after the restart, mid-recovery.
        await asyncio.sleep(rng.uniform(0.3, 3.0))
        again = rng.choice(["SIGKILL", "SIGTERM"])
        label = await run.kill(number, "recovery (again)", victim, again)
        await run.check_commits(label)
        victim.start()
    elif kind == "rebalance":
        # A sleep as chaos input: the other worker dies while the victim is joining.
        await asyncio.sleep(rng.uniform(0.5, 4.0))
        again = rng.choice(["SIGKILL", "SIGTERM"])
        label = await run.kill(number, "rebalance (other)", other, again)
        await run.check_commits(label)
        other.start()
    await run.ready()


async def settle(run: Run, deadline_s: float) -> None:
    """Await quiescence: nothing buffered or pending, every offset committed to its end."""
    try:
        await run.log.wait(
            "no lead with buffered SMS or a pending extraction",
            lambda: not run.leads.busy(),
            timeout_s=deadline_s,
        )
    except AssertionError:
        run.violations.append(
            v.Violation("quiescence", f"still busy after {deadline_s}s: {run.leads.busy()[:10]}")
        )
    deadline = time.monotonic() + deadline_s
    behind: dict[tuple[str, int], tuple[int, int]] = {}
    while time.monotonic() < deadline:
        behind = {tp: ce for tp, ce in (await run.committed()).items() if ce[0] != ce[1]}
        if not behind:
            break
        await asyncio.sleep(0.5)
    if behind:
        run.violations.append(
            v.Violation("quiescence", f"committed != end offset (committed, end): {behind}")
        )
    await run.log.caught_up()


async def served_tables(run: Run, want: Learner) -> dict[str, Any]:
    """Each worker's /q-table, once its view reached the relearned version (or 30 s)."""
    tables: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    for member in run.cluster.members:
        while True:
            status, table = await member.get("/q-table")
            if (
                isinstance(table, dict)
                and status == 200
                and (table["q_version"] >= want.version or time.monotonic() > deadline)
            ):
                tables[member.label] = table
                break
            if time.monotonic() > deadline:
                run.violations.append(
                    v.Violation("served Q-table", f"{member.label}: /q-table {status}")
                )
                break
            await asyncio.sleep(0.2)
    return tables


def replay_settings(run: Run) -> Settings:
    """The workers' settings, for export and replay (same partitions, windows, deadline)."""
    env = {**EMBEDDED_BROKER_ENV, **FAST_GROUP_ENV, **run.cluster.env}
    fields = {
        name.removeprefix("STREAM_APP_").lower(): value
        for name, value in env.items()
        if name.startswith("STREAM_APP_")
    }
    return Settings.model_validate({**fields, "broker": run.broker.url})


async def compare_with_replay(
    run: Run, live_triggers: dict[tuple[str, str], str], artifacts: Path, report: dict[str, Any]
) -> None:
    """Replay the export in process; compare what the live run's timing cannot change.

    Exact here: the export holds every input once and the pure core decides every
    trigger the inputs call for. Learned values are compared and reported, not
    asserted: live decisions read whatever Q-table the worker's view had (learning
    is asynchronous), so actions, and with them the (state, action) keys learned,
    legitimately differ from a replay that learns each transition before the next
    event; the SMS flush points also follow the wall clock live and event time in
    replay. The exact learning check is `verifier.q_tables` on the live log.
    """
    settings = replay_settings(run)
    path = artifacts / f"{run.cluster.name}-export.jsonl"
    exported = await export(settings, path)
    engine = Replay(lead_params(settings), Learner(learner_params(settings)))
    with path.open() as lines:
        replayed = list(engine.run(read_log(lines)))
    with path.open() as lines:
        in_export = {(e.topic, e.partition, e.offset) for e in read_log(lines)}
    logged = [r for t in v.INPUT_TOPICS for r in run.topic(t)]
    missing = sorted(
        (r.topic.removeprefix(run.prefix), r.partition, r.offset)
        for r in logged
        if (r.topic.removeprefix(run.prefix), r.partition, r.offset) not in in_export
    )
    if exported.skipped or missing:
        run.violations.append(
            v.Violation(
                "export = inputs",
                f"stream-app export wrote {exported.written} of {len(logged)} input records "
                f"(skipped {exported.skipped}); missing (topic, partition, offset): {missing}",
            )
        )
    exported_ids = {
        r.json["event_id"]
        for r in logged
        if (r.topic.removeprefix(run.prefix), r.partition, r.offset) in in_export
    }
    triggers = {(d.lead_id, d.trigger_event_id) for d in replayed}
    immediate = {
        k
        for k, why in live_triggers.items()
        if not why.startswith("SMS thread") and k[1] in exported_ids
    }
    for lead, trigger in sorted(immediate - triggers):
        run.violations.append(
            v.Violation("replay decides as live", f"{lead} {trigger}: replay did not decide")
        )
    live_sms = {k for k, why in live_triggers.items() if why.startswith("SMS thread")}
    replay_sms = triggers - immediate
    relearned = v.relearned(run.topic("lead-transitions"), learner_params(settings)).table
    live_visits = v.per_state_visits(relearned)
    replay_visits = v.per_state_visits(engine.learner.table)
    report["replay"] = {
        "events": engine.summary.events,
        "decisions": engine.summary.decisions,
        "transitions": engine.summary.transitions,
        "sms threads live / replay / both": [
            len(live_sms),
            len(replay_sms),
            len(live_sms & replay_sms),
        ],
        "states whose visits differ (live vs replay)": sorted(
            s
            for s in set(live_visits) | set(replay_visits)
            if live_visits.get(s) != replay_visits.get(s)
        ),
        "q entries differing (live vs replay)": sum(
            1 for key, entry in engine.learner.table.items() if relearned.get(key) != entry
        ),
    }


async def test_every_input_survives_kills_of_two_workers(
    broker: EmbeddedBroker, artifacts: Path, upstream: Upstream, chaos: ChaosConfig
) -> None:
    began = time.monotonic()
    rng = random.Random(chaos.seed)
    name = f"chaos-{uuid.uuid4().hex[:6]}"
    # A short extraction deadline: a request lost with a killed extractor (it acks
    # automatically, by design) is then covered within the run.
    env = cluster_env(name, PARTITIONS, STREAM_APP_EXTRACTION_DEADLINE_S="20")
    cluster = Cluster(broker, artifacts, name, env)
    first, second = cluster.add("a"), cluster.add("b")
    first.start()
    # The second joins once the first created the topics (before its web server starts).
    await first.up()
    second.start()
    await cluster.all_ready()

    leads = v.Leads()
    learned: dict[str, dict[str, Any] | None] = {}
    changelog, learner_log = f"{name}-leads-changelog", f"{name}-q-learner-changelog"
    log = TopicLog(
        broker.bootstrap,
        [cluster.prefix + t for t in (*v.INPUT_TOPICS, *OUTPUTS)] + [changelog, learner_log],
    )

    def on_record(rec: Rec) -> None:
        if rec.topic == changelog:
            leads.add(rec)
        elif rec.topic == learner_log and rec.text_key is not None:
            learned[rec.text_key] = rec.json

    log.on_record.append(on_record)
    await log.start()

    async def wait_applied(lead: str, event: str, timeout_s: float) -> None:
        await log.wait(f"{event} applied", lambda: event in leads.ever_seen[lead], timeout_s)

    scripts = {
        f"{name}-l{i:03d}": lead_script(f"{name}-l{i:03d}", random.Random(rng.random()))
        for i in range(chaos.leads)
    }
    workload = Workload(
        upstream, cluster.prefix, scripts, wait_applied, random.Random(rng.random())
    )
    run = Run(broker, cluster, log, leads, learned, workload, rng)
    report: dict[str, Any] = {
        "seed": chaos.seed,
        "cycles": chaos.cycles,
        "leads": chaos.leads,
        "workers ready after s": round(time.monotonic() - began, 1),
    }
    producing = asyncio.create_task(workload.run())
    try:
        per_lead, total = workload.events_per_lead, workload.total
        for number in range(chaos.cycles):
            # Release the next slice of every lead's script; kill somewhere inside it.
            workload.allow(per_lead * (number + 1) // (chaos.cycles + 1) + 1)
            low = total * number // (chaos.cycles + 1)
            high = total * (number + 1) // (chaos.cycles + 1)
            await cycle(run, number, rng.randint(low, max(low, high - chaos.leads)))
        workload.allow(per_lead)
        try:
            await asyncio.wait_for(asyncio.shield(producing), timeout=300)
        except TimeoutError:
            run.violations.append(
                v.Violation(
                    "progress",
                    f"inputs still unproduced after 300 s: "
                    f"{len(workload.sent)} of {workload.total} sent",
                )
            )
        report["produced at s"] = round(time.monotonic() - run.started, 1)
        await run.ready()
        await settle(run, deadline_s=120)
        await run.ready()
        report["settled at s"] = round(time.monotonic() - run.started, 1)
        run.violations += await verify(run, artifacts, report)
        report["verified at s"] = round(time.monotonic() - run.started, 1)
    finally:
        producing.cancel()
        report["kills"] = [asdict(k) for k in run.kills]
        report["events"] = len(workload.sent)
        report["violations"] = [str(x) for x in run.violations]
        (artifacts / f"{name}-report.json").write_text(json.dumps(report, indent=1))
        print(f"\nchaos report ({artifacts / f'{name}-report.json'}):")
        print(json.dumps({k: val for k, val in report.items() if k != "violations"}, indent=1))
        await log.stop()
        await cluster.stop()
    assert not run.violations, "\n".join(
        [f"{len(run.violations)} violations (seed {chaos.seed}):"]
        + [str(x) for x in run.violations[:80]]
        + [f"kills: {[asdict(k) for k in run.kills]}"]
    )


def _keep_outputs(run: Run, artifacts: Path) -> None:
    """The run's outputs next to its report, to take a violation apart after the broker
    is gone: decisions, transitions, extraction requests and results, one per line."""
    path = artifacts / f"{run.cluster.name}-outputs.jsonl"
    with path.open("wb") as out:
        for name in ("next-best-actions", "lead-transitions", "extraction-requests", "extractions"):
            for r in run.topic(name):
                line = {"topic": name, "offset": r.offset, "value": r.json}
                out.write(json.dumps(line).encode() + b"\n")


async def verify(run: Run, artifacts: Path, report: dict[str, Any]) -> list[v.Violation]:
    out: list[v.Violation] = []
    sent = run.workload.sent
    exp = v.expected(sent)
    requests = [r.json for r in run.topic("extraction-requests")]
    sms_violations, sms_triggers = v.sms_threads(exp, requests)
    triggers = {**exp.triggers, **sms_triggers}
    # Decisions may still be on their way (an extraction result, a sweep): await them.
    with contextlib.suppress(AssertionError):  # each missing one is reported below
        await run.log.wait(
            "every expected decision",
            lambda: (
                triggers.keys()
                <= {(r.json["lead_id"], r.json["trigger_event_id"]) for r in run.topic(NBA)}
            ),
            timeout_s=60,
        )
    nbas = [r.json for r in run.topic("next-best-actions")]
    _keep_outputs(run, artifacts)
    http_states = {}
    for lead in run.workload.scripts:
        status, body = await run.cluster.members[0].get(f"/leads/{lead}")
        if status == 200:
            http_states[lead] = body
        else:
            out.append(v.Violation("state served", f"GET /leads/{lead} answered {status}"))
    out += v.applied_once(sent, run.workload.never_applied, run.leads, http_states)
    out += sms_violations
    out += v.transcripts(exp, requests)
    decided, notes = v.decisions(triggers, nbas)
    out += decided
    out += v.transitions(exp, nbas, [r.json for r in run.topic("lead-transitions")])
    if run.topic("dead-letters"):
        count = len(run.topic("dead-letters"))
        out.append(v.Violation("no dead letters", f"{count} dead letters from valid inputs"))
    out += v.leads_never_regress(run.log.records[f"{run.cluster.name}-leads-changelog"])
    out += v.learner_never_regresses(run.log.records[f"{run.cluster.name}-q-learner-changelog"])
    params = learner_params(replay_settings(run))
    learner = v.relearned(run.topic("lead-transitions"), params)
    served = await served_tables(run, learner)
    out += v.q_tables(learner, run.topic("lead-transitions"), run.topic("q-updates"), served)
    await compare_with_replay(run, triggers, artifacts, report)
    results = [r.json for r in run.topic("extractions")]
    answered = {r["extraction_id"] for r in results}
    report.update(
        {
            "inputs by type": dict(Counter(s.type for s in sent)),
            "decisions (distinct)": len({r["decision_id"] for r in nbas}),
            "decision records": len(nbas),
            "duplicate decisions with differing content": notes[:20],
            "transitions (records)": len(run.topic("lead-transitions")),
            "extraction requests without a result": sorted(
                {r["extraction_id"] for r in requests} - answered
            ),
            "q_version": learner.version,
        }
    )
    return out
