"""The lead agent's shell around the pure step: erasure, poison, and what reaches the logs.

Fakes stand in for Faust's topics and tables (a dict has the table's mapping
interface); the broker-level behaviour, the changelog tombstone included, is in
tests/integration/test_erasure.py.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
import zstandard

from stream_app.config.params import lead_params
from stream_app.config.settings import Settings
from stream_app.domain.lead.timers import next_due
from stream_app.domain.lifecycle import Status
from stream_app.domain.qlearning import seeded_priors
from stream_app.kafka.partitioner import partition_for
from stream_app.worker import metrics
from stream_app.worker.agents import lead as lead_module
from stream_app.worker.agents.lead import LeadAgent
from stream_app.worker.faust_fixes import FixedApp
from stream_app.worker.tables import read_lead
from tests.unit.worker.fakes import FakeChangelog as FakeChangelog  # test_lead_batches
from tests.unit.worker.fakes import FakeTable, FakeTopic, FakeTopics

log = logging.getLogger(__name__)

PII = ("Sarah Mitchell", "+15550100", "sarah@example.com", "Jake")


@dataclass
class FakeView:
    table: Any = field(default_factory=seeded_priors)
    q_version: int = 0


@dataclass
class Message:
    value: bytes | None
    key: bytes | None
    topic: str = "leads"
    partition: int = 0
    offset: int = 0


def agent() -> tuple[LeadAgent, FakeTable, FakeTopics]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    leads = FakeTable()
    topics = FakeTopics()
    lead_agent = LeadAgent(
        settings,
        cast(Any, topics),
        leads,
        FakeTable(),
        cast(Any, FakeView()),
        lead_params(settings),
    )
    return lead_agent, leads, topics


AT = datetime.now(UTC) - timedelta(minutes=5)


def event(type_: str, n: int, lead_id: str = "L1", **fields: Any) -> Message:
    body = {
        "type": type_,
        "event_id": f"{lead_id}-e{n}",
        "lead_id": lead_id,
        "occurred_at": (AT + timedelta(seconds=n)).isoformat(),
        **fields,
    }
    topic = "sms-messages" if type_.startswith("sms.") else "leads"
    return Message(orjson.dumps(body), lead_id.encode(), topic=topic, offset=n)


def created(lead_id: str = "L1") -> Message:
    return event(
        "lead.created",
        1,
        lead_id,
        parent_name="Sarah Mitchell",
        child_name="Jake",
        phone="+15550100",
        email="sarah@example.com",
    )


def recovering() -> int | None:
    """The sweep's view of the table while a recovery is under way (or none has run)."""
    return None


def recovered(generation: int) -> Callable[[], int | None]:
    """The sweep's view of the table once `generation` recoveries have completed."""
    return lambda: generation


def erasures() -> float:
    return metrics.REGISTRY.get_sample_value("stream_app_lead_erasures_total") or 0.0


async def test_erasure_deletes_the_row_and_forgets_the_lead_everywhere() -> None:
    lead_agent, leads, topics = agent()
    await lead_agent.handle(created(), "leads")
    await lead_agent.handle(created("L2"), "leads")
    sms = event("sms.received", 2, message_id="m2", body="Is there a trial class?")
    await lead_agent.handle(sms, "sms-messages")
    assert "L1" in leads and "L1" in lead_agent.index and "L1" in lead_agent.facts
    sent_before = sum(len(v) for v in topics.sent.values())
    before = erasures()

    await lead_agent.handle(event("lead.erased", 3, reason="parent request"), "leads")

    assert "L1" not in leads and "L2" in leads
    assert "L1" not in lead_agent.index and "L1" not in lead_agent.facts
    assert sum(len(v) for v in topics.sent.values()) == sent_before, "nothing is published"
    assert erasures() == before + 1
    lead_agent.report()
    assert metrics.REGISTRY.get_sample_value("stream_app_sms_buffered_messages") == 0


async def test_a_redelivered_erasure_deletes_and_counts_nothing() -> None:
    lead_agent, leads, _ = agent()
    await lead_agent.handle(created(), "leads")
    erasure = event("lead.erased", 2)
    await lead_agent.handle(erasure, "leads")
    before = erasures()

    await lead_agent.handle(erasure, "leads")  # a dict, like Faust's table, raises on a
    # missing key: the agent deletes only a present one

    assert "L1" not in leads
    assert erasures() == before


def dead_letters(topics: FakeTopics) -> list[dict[str, Any]]:
    return [orjson.loads(value) for _, value in topics.sent["dead_letters"]]


def counted(topic: str, error_type: str) -> float:
    labels = {"topic": topic, "error_type": error_type}
    return metrics.REGISTRY.get_sample_value("stream_app_dead_letters_total", labels) or 0.0


def invalidated(stored: bytes) -> bytes:
    """A stored state (a zstd frame) whose JSON no longer validates, framed again."""
    state = orjson.loads(zstandard.ZstdDecompressor().decompress(stored))
    state["profile"]["child_age"] = "Sarah Mitchell +15550100"
    return zstandard.ZstdCompressor().compress(orjson.dumps(state))


async def test_an_unreadable_stored_state_is_a_dead_letter_without_its_values() -> None:
    lead_agent, leads, topics = agent()
    await lead_agent.handle(created(), "leads")
    leads["L1"] = raw_state = invalidated(leads["L1"])
    lead_agent.revoked({0})  # the row now comes from the table, as after a rebalance
    before = counted("leads", "unreadable_state")

    await lead_agent.handle(event("lead.updated", 2, owner="crm"), "leads")  # returns: acked

    [letter] = dead_letters(topics)
    assert letter["error_type"] == "unreadable_state"
    assert "'L1'" in letter["error"] and "child_age" in letter["error"]
    assert not [value for value in PII if value in letter["error"]], letter["error"]
    assert leads["L1"] == raw_state, "the stored state is left as it was"
    assert counted("leads", "unreadable_state") == before + 1


async def test_a_record_without_a_key_is_a_dead_letter_and_creates_no_lead() -> None:
    lead_agent, leads, topics = agent()
    before = counted("leads", "missing_key")
    await lead_agent.handle(Message(created().value, None), "leads")

    [letter] = dead_letters(topics)
    assert letter["error_type"] == "missing_key"
    assert leads == {} and not topics.sent["next_best_actions"]
    assert counted("leads", "missing_key") == before + 1


@pytest.mark.parametrize(
    "occurred_at", ["9999-12-31T23:50:00Z", "2999-01-01T00:00:00Z", "1999-12-31T23:59:59Z"]
)
async def test_an_event_time_out_of_bounds_is_a_dead_letter_and_moves_no_clock(
    occurred_at: str,
) -> None:
    lead_agent, leads, topics = agent()
    sms = {
        "type": "sms.received",
        "event_id": "L1-e9",
        "lead_id": "L1",
        "occurred_at": occurred_at,
        "message_id": "m9",
        "body": "hello",
    }
    await lead_agent.handle(Message(orjson.dumps(sms), b"L1", topic="sms-messages"), "sms-messages")

    [letter] = dead_letters(topics)
    assert letter["error_type"] == "event_time"
    assert occurred_at[:4] not in letter["error"], "the bound is named, not the value"
    assert leads == {}
    assert lead_agent.clock.now(0, AT) == AT, "stream time did not move"


async def test_a_step_that_raises_is_a_dead_letter_naming_where_not_what(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any) -> Any:
        raise ValueError("Sarah Mitchell +15550100")  # an exception text quoting values

    lead_agent, leads, topics = agent()
    monkeypatch.setattr(lead_module, "apply", broken)
    await lead_agent.handle(created(), "leads")

    [letter] = dead_letters(topics)
    assert letter["error_type"] == "step_error"
    assert "ValueError" in letter["error"] and "test_lead_agent.py" not in letter["error"]
    assert not [value for value in PII if value in letter["error"]], letter["error"]
    assert leads == {}


async def test_a_state_the_timer_index_cannot_take_is_a_dead_letter_before_any_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A time rule that overflows (an SMS thread dated near datetime.max) raised after
    the state write, and again in every sweep after a restart."""

    def overflow(*args: Any) -> Any:
        raise OverflowError("date value out of range")

    lead_agent, leads, topics = agent()
    monkeypatch.setattr(lead_module, "next_due", overflow)
    await lead_agent.handle(created(), "leads")

    assert [letter["error_type"] for letter in dead_letters(topics)] == ["step_error"]
    assert "OverflowError" in dead_letters(topics)[0]["error"]
    assert leads == {} and not topics.sent["next_best_actions"], "nothing sent, nothing written"


class FailingTopics(FakeTopics):
    """The broker does not acknowledge: every send's delivery future fails."""

    def __getattr__(self, name: str) -> FakeTopic:
        sent = self.sent

        class Failing(FakeTopic):
            async def send(self, key: bytes, value: bytes) -> Any:
                sent[name].append((key, value))
                failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                failed.set_exception(ConnectionError("broker gone"))
                return failed

        return Failing(name, sent)


async def test_a_broker_that_does_not_acknowledge_is_transient_not_poison() -> None:
    lead_agent, leads, _ = agent()
    lead_agent.topics = cast(Any, FailingTopics())

    with pytest.raises(ConnectionError):  # an output: propagates, the record stays unacked
        await lead_agent.handle(created(), "leads")
    assert leads == {}, "no state is written before the outputs are acknowledged"

    before = counted("leads", "invalid_json")
    with pytest.raises(ConnectionError):  # the dead letter's own send: propagates too
        await lead_agent.handle(Message(b"{not json", b"L1"), "leads")
    assert counted("leads", "invalid_json") == before, "counted once it is sent"


async def test_an_oversized_record_becomes_a_dead_letter_that_fits_a_request() -> None:
    lead_agent, _, topics = agent()
    huge = bytes(range(256)) * (800 * 1024 // 256)  # 800 KB, not UTF-8
    await lead_agent.handle(Message(huge, b"L1"), "leads")

    [(_, value)] = topics.sent["dead_letters"]
    letter = orjson.loads(value)
    assert letter["error_type"] == "too_large"
    assert (letter["raw_size"], letter["truncated"]) == (len(huge), True)
    assert len(value) < 100 * 1024


async def test_dead_letter_log_lines_carry_no_values_and_cannot_be_forged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead_agent, _, topics = agent()
    bad = [
        # invalid field values
        event("lead.created", 1, parent_name="Sarah Mitchell", child_age="+15550100"),
        # a key that tries to start a log line of its own
        Message(created().value, b"L1\nCRITICAL forged line"),
        # a type that is not a string
        Message(orjson.dumps({"type": {"name": "Sarah Mitchell"}, "lead_id": "L1"}), b"L1"),
        # extra fields that carry values
        event("lead.created", 4, parent_name="Ana", notes="Jake's phone +15550100"),
    ]
    with caplog.at_level(logging.WARNING, logger="stream_app.worker.agents.lead"):
        for message in bad:
            await lead_agent.handle(message, "leads")

    assert len(caplog.records) == len(bad)
    for record in caplog.records:
        line = record.getMessage()
        assert "\n" not in line
        assert not [value for value in PII if value in line], line
    letters = [orjson.loads(value) for _, value in topics.sent["dead_letters"]]
    assert len(letters) == len(bad)
    for letter in letters:
        assert not [value for value in PII if value in letter["error"]], letter["error"]
    assert "Sarah Mitchell" in letters[0]["raw"], "the raw payload is kept, by design"


# --- time rules on per-partition stream time ------------------------------------------

WALL = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""The wall clock of the stream-time tests (the agent's `utcnow`, patched)."""
AHEAD = WALL + timedelta(hours=23, minutes=30)
"""A far-future event time the door still accepts (less than a day ahead)."""


def lead_on(partition: int, name: str) -> str:
    """A lead id that murmur2 (producers' partitioner, and `reindex`'s) sends to `partition`."""
    partitions = Settings.model_fields["partitions"].default
    return next(
        lead_id
        for n in range(10_000)
        if partition_for(lead_id := f"{name}-{n}", partitions) == partition
    )


def at(
    type_: str, lead_id: str, n: int, when: datetime, partition: int, **fields: Any
) -> tuple[Message, str]:
    body = {
        "type": type_,
        "event_id": f"{lead_id}-e{n}",
        "lead_id": lead_id,
        "occurred_at": when.isoformat(),
        **fields,
    }
    topic = {"sms": "sms-messages", "attendance": "attendance"}.get(type_.split(".")[0], "leads")
    message = Message(orjson.dumps(body), lead_id.encode(), topic, partition, n)
    return message, topic


def journeys(lead_ids: dict[str, str], partition: int) -> list[tuple[Message, str]]:
    """Per partition, one lead due for each time rule, each due after `WALL`, before `AHEAD`:
    an SMS thread's flush, a reminder, and (once its older reminder ran) a decay."""
    texted, reminded, at_risk = lead_ids["texted"], lead_ids["reminded"], lead_ids["at_risk"]
    start = WALL - timedelta(days=14)
    sms = {"message_id": "m1", "body": "Hi, what ages do you take?"}
    rows: list[tuple[str, str, datetime, dict[str, Any]]] = [
        ("sms.received", texted, WALL - timedelta(minutes=1), sms),
        ("lead.created", reminded, WALL - timedelta(hours=1), {"parent_name": "Ana"}),
        ("lead.created", at_risk, start, {"parent_name": "Bo"}),
        ("lead.milestone", at_risk, start + timedelta(hours=2), {"milestone": "enrolled"}),
        *(
            (
                "attendance.recorded",
                at_risk,
                start + timedelta(hours=h),
                {"session_id": f"s{h}", "status": status},
            )
            for status, h in [("attended", 4), ("missed", 6), ("missed", 8)]
        ),
    ]
    return [
        at(type_, lead_id, n, when, partition, **fields)
        for n, (type_, lead_id, when, fields) in enumerate(rows, start=1)
    ]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def timers_sent(topics: Any) -> list[dict[str, Any]]:
    timers = [orjson.loads(value) for _, value in topics.sent["lead_timers"]]
    topics.sent["lead_timers"].clear()
    return timers


async def apply_timers(lead_agent: LeadAgent, timers: list[dict[str, Any]]) -> None:
    for n, timer in enumerate(timers):
        lead_id = timer["lead_id"]
        partition = partition_for(lead_id, lead_agent.settings.partitions)
        message = Message(orjson.dumps(timer), lead_id.encode(), "lead-timers", partition, n)
        await lead_agent.handle(message, "lead-timers")


async def populated(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[LeadAgent, dict[str, bytes], FakeTopics, dict[int, dict[str, str]]]:
    """Both partitions' leads written, their past-due rules run: each lead's next rule is
    due after the wall clock and by `AHEAD`."""
    monkeypatch.setattr("stream_app.worker.agents.lead.utcnow", lambda: WALL)
    lead_agent, leads, topics = agent()
    names = ("texted", "reminded", "at_risk")
    ids = {p: {name: lead_on(p, f"{name}-p{p}") for name in names} for p in (0, 1)}
    for partition in (0, 1):
        for message, topic in journeys(ids[partition], partition):
            await lead_agent.handle(message, topic)
    await lead_agent.sweep(recovering)
    await apply_timers(lead_agent, timers_sent(topics))  # the at_risk leads' old reminders
    for partition in (0, 1):
        for lead_id in ids[partition].values():
            due = next_due(read_lead(leads[lead_id]), lead_agent.params)
            assert due is not None and WALL < due <= AHEAD, (lead_id, due)
    assert read_lead(leads[ids[1]["at_risk"]]).status == "at_risk"
    await lead_agent.sweep(recovering)
    assert timers_sent(topics) == [], "the wall clock alone fires nothing yet"
    return lead_agent, leads, topics, ids


async def test_a_far_future_event_fires_the_rules_of_its_own_partitions_leads_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lead_agent, leads, topics, ids = await populated(monkeypatch)
    ahead = lead_on(0, "ahead")
    await lead_agent.handle(*at("lead.created", ahead, 1, AHEAD, 0, parent_name="Cy"))

    await lead_agent.sweep(recovering)

    timers = timers_sent(topics)
    assert {t["lead_id"] for t in timers} == set(ids[0].values()), "partition 1's wait"
    assert {(when(t["now"]), when(t["wall_now"])) for t in timers} == {(AHEAD, WALL)}
    assert lead_agent.clock.now(1, WALL) == WALL
    await apply_timers(lead_agent, timers)
    assert read_lead(leads[ids[0]["at_risk"]]).status == "inactive", "the decay ran"
    assert read_lead(leads[ids[0]["texted"]]).sms.messages == (), "the thread flushed"
    assert read_lead(leads[ids[0]["reminded"]]).reminder is None, "the reminder went out"
    sent = [orjson.loads(value)["lead_id"] for _, value in topics.sent["reminders"]]
    assert ids[0]["reminded"] in sent and ids[1]["reminded"] not in sent
    assert read_lead(leads[ids[1]["at_risk"]]).status == "at_risk"
    assert len(read_lead(leads[ids[1]["texted"]]).sms.messages) == 1
    assert read_lead(leads[ids[1]["reminded"]]).reminder is not None


async def test_stream_time_is_restored_from_the_stored_leads_after_a_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lead_agent, leads, _, ids = await populated(monkeypatch)
    ahead = lead_on(0, "ahead")
    await lead_agent.handle(*at("lead.created", ahead, 1, AHEAD, 0, parent_name="Cy"))

    restarted = restarted_on(lead_agent, leads)
    await restarted.sweep(recovered(1))  # a first recovery: re-index from the table

    assert restarted.clock.newest() == {0: AHEAD, 1: WALL - timedelta(minutes=1)}
    timers = timers_sent(restarted.topics)
    assert {t["lead_id"] for t in timers} == set(ids[0].values())
    assert {when(t["now"]) for t in timers} == {AHEAD}


async def test_an_unreadable_stored_state_does_not_stop_the_re_index_of_the_others() -> None:
    lead_agent, leads, _ = agent()
    await lead_agent.handle(created("L1"), "leads")
    await lead_agent.handle(created("L2"), "leads")
    leads["L1"] = invalidated(leads["L1"])

    await lead_agent.reindex(recovered(1))  # the sweep's rebuild after a recovery: must not raise

    assert set(lead_agent.facts) == {"L2"}


@dataclass
class Taken:
    """A record as the agent's loop takes it from the stream (an event, weakly referable
    like Faust's)."""

    message: Message


async def test_a_held_batch_is_flushed_and_acked_when_a_rebalance_drains_it() -> None:
    """A rebalance clears the queue the loop expected its next record from, then waits
    for the held records' acks: the drain must flush them, or the group never re-forms."""
    lead_agent, leads, topics = agent()
    acked: list[Any] = []

    async def ack(record: Any) -> None:
        acked.append(record)

    held = lead_module.HeldBatch(lead_agent, ack, lead_agent.batch())
    first, second = (Taken(created(lead)) for lead in ("L1", "L2"))
    await held.take(first, "leads", more=True)
    await held.take(second, "leads", more=True)
    assert (acked, leads, dict(topics.sent)) == ([], {}, {}), "held: nothing sent or written"

    await held.drain()
    assert acked == [first, second] and set(leads) == {"L1", "L2"}
    assert len(topics.sent["next_best_actions"]) == 2
    await held.drain()
    assert len(acked) == 2, "an empty drain flushes nothing"


async def test_the_app_drains_held_records_before_the_rebalance_waits_for_acks() -> None:
    order: list[str] = []

    async def drain() -> None:
        order.append("drain")

    async def wait_empty() -> None:
        order.append("wait_empty")

    app = FixedApp("drain-test")
    app.drains["lead-agent"] = drain
    await app._consumer_wait_empty(cast(Any, SimpleNamespace(wait_empty=wait_empty)), log)
    assert order == ["drain", "wait_empty"]


class Unscanned(FakeTable):
    """A table that fails the gauges if they count its keys or read every row."""

    def __len__(self) -> int:
        raise AssertionError("the report counted the table's keys")

    def values(self) -> Any:
        raise AssertionError("the report read every row")


def gauges() -> dict[str, float | None]:
    sample = metrics.REGISTRY.get_sample_value
    return {
        "keys": sample("stream_app_table_keys", {"table": "leads"}),
        "buffered": sample("stream_app_sms_buffered_messages"),
        "open": sample("stream_app_sms_threads_open"),
        **{s.value: sample("stream_app_leads_by_status", {"status": s.value}) for s in Status},
    }


def recount(leads: dict[str, bytes], unreadable: int = 0) -> dict[str, float | None]:
    """What the gauges must say, counted from the table's rows."""
    states = [read_lead(raw) for raw in leads.values()]
    by_status = Counter(state.status for state in states)
    return {
        "keys": float(len(states) + unreadable),
        "buffered": float(sum(len(state.sms.messages) for state in states)),
        "open": float(sum(1 for state in states if state.sms.messages)),
        **{s.value: float(by_status[s]) for s in Status},
    }


async def test_the_gauges_follow_every_write_and_erasure_without_scanning_the_table() -> None:
    lead_agent, _, _ = agent()
    leads = Unscanned()
    lead_agent.leads = leads
    for lead_id in ("L1", "L2", "L3"):
        await lead_agent.handle(created(lead_id), "leads")
    for n, lead_id in ((2, "L1"), (3, "L1"), (2, "L2")):
        sms = event("sms.received", n, lead_id, message_id=f"m{n}", body="Is there a class?")
        await lead_agent.handle(sms, "sms-messages")
    call = event(
        "interaction.completed",
        4,
        "L3",
        channel="voice",
        direction="outbound",
        outcome="no_answer",
        interaction_id="c4",
    )
    call.topic = "interactions"
    await lead_agent.handle(call, "interactions")

    lead_agent.report()
    expected = recount(dict(leads.items()))
    assert expected["buffered"] == 3 and expected["open"] == 2, "the SMS are buffered"
    assert gauges() == expected

    await lead_agent.handle(event("lead.erased", 5, "L1", reason="parent request"), "leads")
    lead_agent.report()
    assert gauges() == recount(dict(leads.items())) and gauges()["keys"] == 2


async def test_the_gauges_facts_cost_the_garbage_collector_nothing_per_lead() -> None:
    """Every full collection walks each tracked object: with the status's enum member
    in each lead's entry, one per stored lead (a million at 1M leads)."""
    lead_agent, _, _ = agent()
    for lead_id in ("L1", "L2"):
        await lead_agent.handle(created(lead_id), "leads")
    gc.collect()  # the collector stops tracking a tuple of strings and ints when it meets one
    entries = list(lead_agent.facts._of.values())
    assert len(entries) == 2
    assert not any(gc.is_tracked(entry) for entry in entries)


async def test_a_revoked_partitions_leads_leave_the_gauges() -> None:
    lead_agent, leads, _ = agent()
    on_0, on_1 = created("A"), created("B")
    on_1.partition = 1
    await lead_agent.handle(on_0, "leads")
    await lead_agent.handle(on_1, "leads")

    lead_agent.revoked({1})
    lead_agent.report()

    assert gauges() == recount({"A": leads["A"]})


async def test_an_unreadable_row_is_still_a_key_of_the_table() -> None:
    lead_agent, leads, _ = agent()
    await lead_agent.handle(created("L1"), "leads")
    await lead_agent.handle(created("L2"), "leads")
    leads["L1"] = invalidated(leads["L1"])

    await lead_agent.reindex(recovered(1))
    lead_agent.report()

    assert gauges() == recount({"L2": leads["L2"]}, unreadable=1)


# --- the re-index runs beside the agent; the sweep's burst is bounded ------------------


class Watched(FakeTable):
    """A table that says when a re-index has read `pause_at` rows (its `get` calls),
    so a test acts at a known point part-way through the pass."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.pause_at = 0
        self.reached = asyncio.Event()
        self.listing = asyncio.Event()

    def keys(self) -> Any:
        """The dict's own key iterator, saying when a re-index began listing."""
        for n, key in enumerate(super().keys()):
            if n == 1:
                self.listing.set()
            yield key

    def watch(self, pause_at: int) -> None:
        self.reads, self.pause_at = 0, pause_at
        self.reached.clear()

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        if self.reads == self.pause_at:
            self.reached.set()
        return super().get(key, default)


def on_own_partition(message: Message) -> Message:
    """The message in the partition murmur2 gives its key, as producers send it (and as
    the re-index files the lead)."""
    assert message.key is not None
    message.partition = partition_for(message.key.decode(), Settings().partitions)
    return message


async def stored(count: int) -> tuple[LeadAgent, Watched, FakeTopics]:
    lead_agent, _, topics = agent()
    leads = lead_agent.leads = Watched()
    for n in range(count):
        await lead_agent.handle(on_own_partition(created(f"L{n}")), "leads")
    return lead_agent, leads, topics


def sms_to(lead_id: str, n: int) -> Message:
    return on_own_partition(
        event("sms.received", n, lead_id, message_id=f"m{n}", body="Is there a class?")
    )


def erasure_of(lead_id: str, n: int) -> Message:
    return on_own_partition(event("lead.erased", n, lead_id, reason="parent request"))


def memory(lead_agent: LeadAgent) -> dict[str, Any]:
    """What a re-index leaves: each partition's pending rules, the gauges' facts and
    totals, and the stream clocks."""
    facts = lead_agent.facts
    indexes = lead_agent.index._indexes
    return {
        "dues": {p: dict(indexes[p]._dues) for p in sorted(indexes) if indexes[p]._dues},
        "partition_of": dict(lead_agent.index._partition_of),
        "facts": dict(facts._of),
        "totals": (dict(+facts.by_status), facts.buffered, facts.threads_open, facts.unreadable),
        "clocks": lead_agent.clock.newest(),
    }


def restarted_on(lead_agent: LeadAgent, leads: Any) -> LeadAgent:
    """A new agent with the same settings and params over `leads`: a restarted worker,
    whose memory is only what a re-index of the table gives it."""
    return LeadAgent(
        lead_agent.settings,
        cast(Any, FakeTopics()),
        leads,
        FakeTable(),
        cast(Any, FakeView()),
        lead_agent.params,
    )


def quiet(remembered: dict[str, Any]) -> dict[str, Any]:
    """A re-index's memory without its clocks: an agent's clock also saw the events of
    leads erased since (and never moves back), which no row holds any more."""
    return {key: value for key, value in remembered.items() if key != "clocks"}


async def fresh(lead_agent: LeadAgent) -> dict[str, Any]:
    """The memory of a re-index of the same table with nothing running beside it."""
    other = restarted_on(lead_agent, lead_agent.leads)
    await other.reindex(recovered(1))
    return memory(other)


async def test_the_agent_writes_and_erases_leads_while_a_re_index_is_part_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lead_module, "REINDEX_SLICE_ROWS", 2)
    lead_agent, leads, _ = await stored(60)
    leads.watch(pause_at=4)
    reindex = asyncio.create_task(lead_agent.reindex(recovered(1)))
    await leads.reached.wait()  # two slices read, the loop handed back

    assert not lead_agent.complete and {"L0", "L3"} <= set(lead_agent.facts)
    assert not {"L50", "L55", "L59"} & set(lead_agent.facts), "not read yet"
    await lead_agent.handle(sms_to("L55", 2), "sms-messages")  # before the pass reads it
    await lead_agent.handle(erasure_of("L59", 2), "leads")  # before the pass reads it
    await lead_agent.handle(sms_to("L1", 2), "sms-messages")  # after the pass read it
    await lead_agent.handle(erasure_of("L0", 2), "leads")  # after the pass read it
    await lead_agent.handle(on_own_partition(created("L60")), "leads")  # a new lead
    assert not reindex.done(), "the agent's records were applied mid-pass"

    assert await reindex == 1 and lead_agent.complete
    after = memory(lead_agent)
    await lead_agent.reindex(recovered(2))
    assert memory(lead_agent) == after, "what a pass with nothing beside it gives"
    assert quiet(after) == quiet(await fresh(lead_agent))
    assert after["facts"]["L55"][1] == 1 and after["facts"]["L1"][1] == 1, "the newest states"
    assert "L59" not in after["facts"] and "L0" not in after["facts"], "no erased lead is back"
    assert "L59" not in lead_agent.index and "L0" not in lead_agent.index
    assert "L60" in after["facts"] and len(after["facts"]) == 59


async def test_a_recovery_mid_way_restarts_the_re_index_and_a_rebalance_stops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lead_module, "REINDEX_SLICE_ROWS", 2)
    lead_agent, leads, topics = await stored(30)
    partitions = lead_agent.settings.partitions
    moved = partition_for("L0", partitions)  # read in the first slice
    gone = {f"L{n}" for n in range(30) if partition_for(f"L{n}", partitions) == moved}
    read_first = {f"L{n}" for n in range(4)} & gone
    assert len(gone) < 30
    generation: list[int | None] = [1]
    leads.watch(pause_at=4)
    reindex = asyncio.create_task(lead_agent.reindex(lambda: generation[0]))
    await leads.reached.wait()
    assert read_first <= set(lead_agent.facts)

    # A rebalance moved L0's partition to another worker, and the recovery completed.
    lead_agent.revoked({moved})
    for lead_id in gone:
        del leads[lead_id]
    generation[0] = 2

    assert await reindex == 2 and lead_agent.indexed_generation == 2
    assert leads.reads == 4 + 30 - len(gone), "the pass started over on the rows left"
    assert quiet(memory(lead_agent)) == quiet(await fresh(lead_agent))
    assert not gone & set(lead_agent.facts)

    # A rebalance begins part-way: the pass stops, and the sweep fires nothing from the
    # partial index until a settled generation's pass completes.
    monkeypatch.setattr(lead_module, "utcnow", lambda: AT + timedelta(days=400))
    generation[0] = 3
    leads.watch(pause_at=4)
    sweep = asyncio.create_task(lead_agent.sweep(lambda: generation[0]))
    await leads.reached.wait()
    generation[0] = None
    await sweep
    assert not lead_agent.complete and lead_agent.indexed_generation == 2
    assert topics.sent["lead_timers"] == [], "nothing fired from a partial index"
    await lead_agent.sweep(lambda: None)
    assert topics.sent["lead_timers"] == [], "still partial while the rebalance runs"
    await lead_agent.sweep(recovered(4))
    assert lead_agent.complete and lead_agent.indexed_generation == 4
    assert len(timers_sent(topics)) == len(lead_agent.facts), "a year on, every lead's rule"


async def sweeps_until_idle(lead_agent: LeadAgent, topics: FakeTopics) -> list[list[str]]:
    """The leads each sweep sends a timer for, call by call, until one sends none."""
    calls: list[list[str]] = []
    while True:
        await lead_agent.sweep(recovering)
        sent = [timer["lead_id"] for timer in timers_sent(topics)]
        if not sent:
            return calls
        calls.append(sent)


async def ahead_in_both_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[LeadAgent, FakeTopics]:
    """Both partitions' clocks at `AHEAD`: each partition's three leads are due."""
    lead_agent, _, topics, _ = await populated(monkeypatch)
    for partition in (0, 1):
        ahead = lead_on(partition, f"ahead-p{partition}")
        await lead_agent.handle(*at("lead.created", ahead, 1, AHEAD, partition, parent_name="Cy"))
    return lead_agent, topics


async def test_a_sweep_sends_at_most_its_budget_and_every_due_timer_over_later_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unbounded, unbounded_topics = await ahead_in_both_partitions(monkeypatch)
    [everything] = await sweeps_until_idle(unbounded, unbounded_topics)
    monkeypatch.setattr(lead_module, "SWEEP_TIMERS_MAX", 2)
    lead_agent, topics = await ahead_in_both_partitions(monkeypatch)

    calls = await sweeps_until_idle(lead_agent, topics)

    assert len(everything) == 6 and [len(call) for call in calls] == [2, 2, 2]
    sent = [lead_id for call in calls for lead_id in call]
    assert sorted(sent) == sorted(everything), "every due timer, once"
    partitions = lead_agent.settings.partitions
    assert [partition_for(lead, partitions) for lead in calls[1]] == [1, 1], (
        "the call after one that ran out in partition 0 begins with partition 1"
    )
    for partition in (0, 1):
        order = [lead for lead in sent if partition_for(lead, partitions) == partition]
        assert order == [
            lead for lead in everything if partition_for(lead, partitions) == partition
        ], "each partition's leads in due order, as one unbounded sweep sends them"


async def test_a_lead_created_while_the_keys_are_listed_leaves_the_index_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A memory store's dict cannot be listed across a change of its size: the pass
    lists it again at once and still ends as a fresh one."""
    monkeypatch.setattr(lead_module, "REINDEX_KEYS_SLICE", 2)
    monkeypatch.setattr(lead_module, "REINDEX_SLICE_ROWS", 2)
    lead_agent, leads, _ = await stored(20)
    reindex = asyncio.create_task(lead_agent.reindex(recovered(1)))
    await leads.listing.wait()

    await lead_agent.handle(on_own_partition(created("L20")), "leads")
    await lead_agent.handle(erasure_of("L19", 2), "leads")
    assert not reindex.done()

    assert await reindex == 1
    assert quiet(memory(lead_agent)) == quiet(await fresh(lead_agent))
    assert "L20" in lead_agent.facts and "L19" not in lead_agent.facts


# --- the re-index reads a row lean, or whole where its version asks for it --------------


def rewritten(stored: bytes, version: int | None, frame: bool, **extra: Any) -> bytes:
    """A stored state as another release writes it: `version` (None: from before the
    version existed), plain JSON or a frame, with `extra` fields."""
    state = orjson.loads(zstandard.ZstdDecompressor().decompress(stored))
    if version is None:
        del state["schema_version"]
    else:
        state["schema_version"] = version
    raw = orjson.dumps({**state, **extra})
    return zstandard.ZstdCompressor().compress(raw) if frame else raw


def read_whole(lead_agent: LeadAgent, rows: dict[str, bytes]) -> dict[str, Any]:
    """The index and facts a re-index must leave, from each row read whole."""
    partitions = lead_agent.settings.partitions
    dues: dict[int, dict[str, Any]] = {}
    facts = {}
    for lead_id, raw in rows.items():
        state = read_lead(raw)
        partition = partition_for(lead_id, partitions)
        facts[lead_id] = (state.status, len(state.sms.messages), partition)
        due = (lead_module.next_due(state, lead_agent.params), lead_module.next_deadline(state))
        if due != (None, None):
            dues.setdefault(partition, {})[lead_id] = due
    return {"dues": dict(sorted(dues.items())), "facts": facts}


async def test_the_re_index_reads_every_stored_form_as_the_whole_read_does(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lead_agent, leads, _ = agent()
    forms = ("frame", "json", "v1", "v0", "newer", "damaged", "invalid decision")
    for n, lead_id in enumerate(forms):
        await lead_agent.handle(on_own_partition(created(lead_id)), "leads")
        sms = event("sms.received", 2 + n, lead_id, message_id=f"m{n}", body="Is there a class?")
        if n % 2:
            await lead_agent.handle(on_own_partition(sms), "sms-messages")
    good = dict(leads)
    leads["json"] = zstandard.ZstdDecompressor().decompress(leads["json"])
    leads["v1"] = rewritten(leads["v1"], 1, frame=False)
    leads["v0"] = rewritten(leads["v0"], None, frame=False)
    leads["newer"] = rewritten(leads["newer"], 6, frame=True, loyalty={"tier": "gold"})
    leads["damaged"] = leads["damaged"][:-12]
    state = orjson.loads(zstandard.ZstdDecompressor().decompress(leads["invalid decision"]))
    state["decisions"][0]["action"] = "Sarah Mitchell"
    leads["invalid decision"] = zstandard.ZstdCompressor().compress(orjson.dumps(state))
    readable = {k: v for k, v in leads.items() if k not in ("damaged", "invalid decision")}
    assert {k: read_lead(v).model_dump() for k, v in readable.items()} == {
        k: read_lead(good[k]).model_dump() for k in readable
    }, "every form holds the same state"

    restarted = restarted_on(lead_agent, leads)
    with caplog.at_level(logging.WARNING):
        await restarted.reindex(recovered(1))

    remembered = memory(restarted)
    # A value invalid only in a record the lean read leaves out is indexed as it was.
    expected = read_whole(restarted, {**readable, "invalid decision": good["invalid decision"]})
    assert {k: remembered[k] for k in ("dues", "facts")} == expected
    assert restarted.facts.unreadable == 1
    newest: dict[int, datetime] = {}
    for lead_id, (_, _, partition) in expected["facts"].items():
        updated = read_lead(good[lead_id]).updated_at
        assert updated is not None
        newest[partition] = max(newest.get(partition, updated), updated)
    assert remembered["clocks"] == dict(sorted(newest.items())), "each row's time, lean or not"
    text = caplog.text
    assert "re-index skipped 1 unreadable lead states (ValidationError)" in text
    assert "schema version 6" in text, "the newer release's row was read whole, and noted"
    assert not [value for value in PII if value in text] and "damaged" not in text


async def test_a_lead_indexed_lean_whose_state_is_unreadable_dead_letters_its_timer() -> None:
    lead_agent, leads, topics = agent()
    await lead_agent.handle(on_own_partition(created("L1")), "leads")
    good = leads["L1"]
    state = orjson.loads(zstandard.ZstdDecompressor().decompress(good))
    state["decisions"][0]["action"] = "teleport"
    leads["L1"] = zstandard.ZstdCompressor().compress(orjson.dumps(state))
    lead_agent.revoked({partition_for("L1", lead_agent.settings.partitions)})

    await lead_agent.reindex(recovered(1))
    assert "L1" in lead_agent.index and lead_agent.facts.unreadable == 0
    due = lead_module.next_due(read_lead(good), lead_agent.params)
    assert due is not None
    timer = {"timer_id": "t1", "lead_id": "L1", "now": due.isoformat(), "wall_now": due.isoformat()}
    await apply_timers(lead_agent, [timer])

    [letter] = dead_letters(topics)
    assert letter["error_type"] == "unreadable_state" and "decisions" in letter["error"]
