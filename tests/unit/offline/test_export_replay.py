"""Export ordering and the in-process replay: deterministic, learns online, fires time rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from stream_app.domain.lead import Params
from stream_app.domain.learner import LearnerParams
from stream_app.offline.export import LoggedEvent, Record, read_log, to_lines
from stream_app.offline.pipeline import Learner
from stream_app.offline.replay import Replay

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def event(type_: str, n: int, at: datetime, lead: str = "L1", **fields: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "event_id": f"{lead}-e{n}",
        "lead_id": lead,
        "occurred_at": at.isoformat(),
        **fields,
    }


def record(topic: str, offset: int, value: dict[str, Any] | bytes, partition: int = 0) -> Record:
    raw = value if isinstance(value, bytes) else orjson.dumps(value)
    return Record(topic, partition, offset, b"L1", raw)


def test_export_orders_by_event_time_then_position_and_drops_what_a_worker_dead_letters() -> None:
    created = event("lead.created", 1, T0, parent_name="Ana")
    call = event(
        "interaction.completed",
        2,
        T0 + timedelta(hours=1),
        interaction_id="i",
        channel="voice",
        direction="outbound",
        outcome="no_answer",
    )
    same_time = event("lead.updated", 3, T0 + timedelta(hours=1), phone="555")
    records = [
        record("interactions", 0, call),
        record("leads", 1, same_time),
        record("leads", 0, created),
        record("leads", 2, b"not json"),
        record("payments", 0, created),  # a lead event on the wrong topic
    ]
    lines, skipped = to_lines(records, 64 * 1024)
    assert skipped == 2
    assert [(x.topic, x.offset) for x in lines] == [("leads", 0), ("interactions", 0), ("leads", 1)]
    assert lines[0].value == created and lines[0].key == "L1"


def test_a_bad_log_line_names_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        list(read_log(['{"topic":"leads","partition":0,"offset":0,"key":null,"value":{}}', "{}"]))


def journey(lead: str = "L1") -> list[LoggedEvent]:
    """Enrolled, attends, misses twice (at_risk), then attends 20 days later."""
    at = T0
    evs = [event("lead.created", 1, at, lead, parent_name="Ana")]
    steps = [
        ("lead.milestone", {"milestone": "enrolled"}),
        ("attendance.recorded", "attended"),
        ("attendance.recorded", "missed"),
        ("attendance.recorded", "missed"),
    ]
    for n, (type_, detail) in enumerate(steps, start=2):
        at += timedelta(days=2)
        fields = detail if isinstance(detail, dict) else {"session_id": f"s{n}", "status": detail}
        evs.append(event(type_, n, at, lead, **fields))
    evs.append(
        event(
            "attendance.recorded",
            9,
            at + timedelta(days=20),
            lead,
            session_id="s9",
            status="attended",
        )
    )
    topic = {"lead.created": "leads", "lead.milestone": "leads"}
    return [
        LoggedEvent(
            topic=topic.get(e["type"], "attendance"), partition=0, offset=i, key=lead, value=e
        )
        for i, e in enumerate(evs)
    ]


def run(log: list[LoggedEvent], learning: bool = True) -> tuple[Replay, list[dict[str, Any]]]:
    engine = Replay(Params(), Learner(LearnerParams(), enabled=learning))
    return engine, [d.model_dump(mode="json") for d in engine.run(log)]


def test_replay_fires_the_decay_before_the_event_that_comes_after_it() -> None:
    engine, decisions = run(journey())
    states = [d["rl_state"].split(":")[0] for d in decisions]
    assert states == ["new", "enrolled", "active", "active", "at_risk", "inactive", "at_risk"]
    decay = decisions[5]
    assert decay["trigger_event_id"].startswith("rule-")
    assert decay["decided_at"] == "2026-03-24T10:00:00Z"  # the second miss + 14 days
    assert engine.summary.ticks >= 1 and engine.summary.events == 6  # reminders tick too


def test_replay_is_deterministic_and_learns_each_transition_before_the_next_event() -> None:
    engine, first = run(journey())
    _, second = run(journey())
    assert first == second
    versions = [d["q_version"] for d in first]
    assert versions == sorted(versions) and versions[0] == 0
    assert engine.learner.version == engine.summary.transitions == versions[-1] + 1


def test_batch_mode_replays_from_the_priors_alone() -> None:
    engine, decisions = run(journey(), learning=False)
    assert {d["q_version"] for d in decisions} == {0}
    assert engine.learner.offset == engine.summary.transitions > 0


def test_an_invalid_line_is_counted_and_skipped() -> None:
    bad = LoggedEvent(topic="leads", partition=0, offset=99, key="L1", value={"type": "x"})
    engine, decisions = run([*journey()[:1], bad])
    assert (engine.summary.invalid, len(decisions)) == (1, 1)


def future_lead(partition: int) -> LoggedEvent:
    """Another lead's event dated 60 days on, in `partition`."""
    value = event("lead.created", 1, T0 + timedelta(days=60), "F", parent_name="Bo")
    return LoggedEvent(topic="leads", partition=partition, offset=0, key="F", value=value)


def rules(decisions: list[dict[str, Any]], lead: str = "L1") -> list[dict[str, Any]]:
    return [d for d in decisions if d["lead_id"] == lead and d["trigger_event_id"][:5] == "rule-"]


def test_a_future_dated_event_in_one_partition_ticks_no_lead_of_another() -> None:
    at_risk = journey()[:5]  # L1 (partition 0) misses twice: its decay is due 14 days on
    alone, _ = run(at_risk)

    engine, decisions = run([*at_risk, future_lead(1)])
    assert rules(decisions) == [] and engine.summary.ticks == alone.summary.ticks
    assert [d["lead_id"] for d in decisions].count("F") == 1

    same, in_partition = run([*at_risk, future_lead(0)])  # the same record, in L1's partition
    [decay] = rules(in_partition)
    assert decay["rl_state"].startswith("inactive") and same.summary.ticks > alone.summary.ticks

    later = journey()[5]  # L1's own next record (20 days on) still fires its decay first
    _, decisions = run([*at_risk, future_lead(1), later])
    [decay] = rules(decisions)
    assert decay["decided_at"] == "2026-03-24T10:00:00Z"  # the second miss + 14 days


def test_replaying_a_log_of_several_partitions_twice_decides_the_same() -> None:
    partition_1 = [
        LoggedEvent(topic=x.topic, partition=1, offset=x.offset, key="L2", value=x.value)
        for x in journey("L2")
    ]
    log = sorted(
        [*journey(), *partition_1, future_lead(1)], key=lambda x: str(x.value["occurred_at"])
    )
    first_engine, first = run(log)
    second_engine, second = run(log)
    assert first == second and first_engine.summary == second_engine.summary
    assert {d["lead_id"] for d in rules(first, "L1") + rules(first, "L2")} == {"L1", "L2"}


def test_an_erased_lead_is_gone_from_the_replay_too() -> None:
    """Replay forgets an erased lead as the worker does: a later event starts afresh."""
    log = [
        LoggedEvent(
            topic="leads",
            partition=0,
            offset=0,
            key="L1",
            value=event("lead.created", 1, T0, parent_name="Ana", phone="+15550100"),
        ),
        LoggedEvent(
            topic="leads",
            partition=0,
            offset=1,
            key="L1",
            value=event("lead.erased", 2, T0 + timedelta(hours=1)),
        ),
        LoggedEvent(
            topic="leads",
            partition=0,
            offset=2,
            key="L1",
            value=event("lead.updated", 3, T0 + timedelta(hours=2), owner="crm"),
        ),
    ]
    engine = Replay(Params(), Learner(LearnerParams()))
    list(engine.run(log))
    state = engine._pipeline.states["L1"]
    assert state.profile.parent_name == "" and state.profile.phone is None
    assert state.seen_event_ids == ("L1-e3",)
