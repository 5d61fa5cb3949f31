"""The lead agent's batches: apply in memory, send all, await once, write once, ack.

Fakes stand in for Faust's topics and tables, as in test_lead_agent.py; the table
fake records which partition Faust would take each write's changelog record (and
RocksDB database) from, which is the current event's. The broker-level guarantees
(effects once across kills, per-lead order) are in tests/integration.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
import pytest
import zstandard

from stream_app.config.params import lead_params
from stream_app.config.settings import Settings
from stream_app.domain.lead.state import LeadState, encode_state, read_state
from stream_app.worker.agents import lead as lead_module
from stream_app.worker.agents.lead import LeadAgent
from stream_app.worker.tables import LeadCache, read_lead
from tests.unit.worker.fakes import NotedTopics
from tests.unit.worker.test_lead_agent import (
    FakeChangelog,
    FakeTable,
    FakeTopics,
    FakeView,
    Message,
    agent,
    created,
    event,
)


class Event:
    """What Faust's stream yields: the event, carrying its message."""

    def __init__(self, message: Message) -> None:
        self.message = message


class CountingTable(FakeTable):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return super().get(key, default)


def interaction(*args: Any, **fields: Any) -> Message:
    message = event(*args, **fields)
    message.topic = "interactions"
    return message


def on(partition: int, message: Message) -> Message:
    message.partition = partition
    return message


async def run_batch(lead_agent: LeadAgent, messages: list[Message]) -> None:
    batch = lead_agent.batch()
    for message in messages:
        lead_agent.add(batch, Event(message), message, message.topic)
    await lead_agent.flush(batch)


async def test_a_lead_touched_twice_in_a_batch_is_loaded_once_and_written_once() -> None:
    lead_agent, _, topics = agent()
    table = CountingTable()
    lead_agent.leads = table
    calls = [
        interaction(
            "interaction.completed",
            n,
            channel="voice",
            direction="outbound",
            outcome="no_answer",
            interaction_id=f"c{n}",
        )
        for n in (2, 3)
    ]
    await run_batch(lead_agent, [created(), *calls])

    assert table.reads == 1, "read once, when the batch first met the lead"
    state = read_lead(table["L1"])
    assert state.seen_event_ids[-3:] == ("L1-e1", "L1-e2", "L1-e3"), "applied in order"
    assert len(topics.sent["next_best_actions"]) == 3, "every record decided"


async def test_every_write_goes_to_the_partition_of_its_own_leads_record() -> None:
    lead_agent, _, _ = agent()
    table = FakeTable()
    lead_agent.leads = table
    await run_batch(lead_agent, [on(3, created("A")), on(1, created("B")), on(6, created("C"))])

    assert sorted(table.writes) == [("A", 3), ("B", 1), ("C", 6)], "the store's partitions"


async def test_the_state_encoding_setting_chooses_frames_or_plain_json() -> None:
    framed, leads, _ = agent()
    await run_batch(framed, [created()])
    assert leads["L1"].startswith(b"\x28\xb5\x2f\xfd"), "zstd by default"

    settings = Settings(_env_file=None, state_encoding="json")  # type: ignore[call-arg]
    plain_leads = FakeTable()
    plain = LeadAgent(
        settings,
        cast(Any, FakeTopics()),
        plain_leads,
        FakeTable(),
        cast(Any, FakeView()),
        lead_params(settings),
    )
    await run_batch(plain, [created()])
    assert orjson.loads(plain_leads["L1"])["schema_version"] == LeadState.SCHEMA_VERSION
    assert read_lead(plain_leads["L1"]) == read_lead(leads["L1"])


async def test_all_outputs_are_acknowledged_before_any_state_is_written() -> None:
    lead_agent, _, _ = agent()
    topics = NotedTopics()  # every send and every ack wait, in order
    lead_agent.topics = cast(Any, topics)
    lead_agent.leads = FakeTable(topics.log)
    await run_batch(lead_agent, [created("A"), created("B"), created("C")])

    log = topics.log

    def where(kind: str) -> list[int]:
        return [i for i, line in enumerate(log) if line.startswith(kind)]

    sends, acks = where("send"), where("ack")
    changelog, logged, writes = where("changelog"), where("logged"), where("write")
    assert len(sends) == len(acks) == len(changelog) == len(logged) == len(writes) == 3
    assert max(sends) < min(acks), "every output is sent before the first ack is awaited"
    assert max(acks) < min(changelog), "no state reaches the changelog before the last ack"
    assert max(changelog) < min(logged), "every changelog record is sent before any ack"
    assert max(logged) < min(writes), "the store takes a state once the changelog has it"


async def test_each_write_reaches_the_changelog_in_its_leads_partition() -> None:
    lead_agent, leads, _ = agent()
    await run_batch(lead_agent, [on(3, created("A")), on(1, created("B")), on(3, created("C"))])

    assert sorted((key, partition) for key, _, partition in leads.changelog) == [
        ("A", 3),
        ("B", 1),
        ("C", 3),
    ]
    assert [value for key, value, _ in leads.changelog] == [leads[k] for k in "ABC"]
    # The store's own record of the changelog offset it holds, per partition (what a
    # RocksDB store starts its recovery after): the partition's last record.
    last = {partition: n for n, (_, _, partition) in enumerate(leads.changelog, start=1)}
    assert leads.persisted == {("changelog", p): n for p, n in last.items()}


async def test_a_changelog_send_that_fails_leaves_the_store_and_the_cache_as_they_were() -> None:
    lead_agent, leads, _ = agent()
    await run_batch(lead_agent, [created("A")])
    stored, cached = dict(leads), lead_agent.cache.get("A")

    class Refused(FakeChangelog):
        async def send(self, *_: Any) -> Any:
            refused: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            refused.set_exception(ConnectionError("broker gone"))
            return refused

    leads.changelog_topic = Refused(leads)
    update = event("lead.updated", 2, "A", owner="crm")
    with pytest.raises(ConnectionError):
        await run_batch(lead_agent, [update, created("B")])

    assert leads == stored, "nothing stored: the batch is read again from the old rows"
    assert lead_agent.cache.get("A") == cached and lead_agent.cache.get("B") is None
    assert "B" not in lead_agent.facts


async def test_a_poison_record_in_a_batch_leaves_the_others_applied() -> None:
    lead_agent, leads, topics = agent()
    await run_batch(lead_agent, [created("A"), Message(b"{not json", b"B"), created("C")])

    assert set(leads) == {"A", "C"}
    [letter] = [orjson.loads(v) for _, v in topics.sent["dead_letters"]]
    assert letter["error_type"] == "invalid_json"
    assert len(topics.sent["next_best_actions"]) == 2


async def test_a_state_that_cannot_be_encoded_dead_letters_its_leads_records_only(
    monkeypatch: Any,
) -> None:
    lead_agent, leads, topics = agent()

    def encode(state: LeadState, compressed: bool) -> bytes:
        if state.lead_id == "B":
            raise ValueError("cannot encode")
        return encode_state(state, compressed)

    monkeypatch.setattr(lead_module, "encode_state", encode)
    await run_batch(lead_agent, [created("A"), created("B")])

    assert set(leads) == {"A"}
    [letter] = [orjson.loads(v) for _, v in topics.sent["dead_letters"]]
    assert letter["error_type"] == "unencodable_state"
    decided = {orjson.loads(v)["lead_id"] for _, v in topics.sent["next_best_actions"]}
    assert decided == {"A"}, "the unwritable lead's decision is not published either"


async def test_a_redelivered_batch_changes_nothing() -> None:
    lead_agent, leads, topics = agent()
    messages = [created("A"), created("B")]
    await run_batch(lead_agent, messages)
    stored, sent = dict(leads), sum(len(v) for v in topics.sent.values())

    await run_batch(lead_agent, messages)

    assert leads == stored
    assert sum(len(v) for v in topics.sent.values()) == sent


async def test_the_cache_serves_a_hot_lead_without_reading_the_table() -> None:
    lead_agent, _, _ = agent()
    table = CountingTable()
    lead_agent.leads = table
    await run_batch(lead_agent, [created("A")])
    reads = table.reads
    update = event("lead.updated", 2, "A", owner="crm")

    await run_batch(lead_agent, [update])

    assert table.reads == reads, "the cached state was used"
    assert read_lead(table["A"]).profile.owner == "crm"


async def test_a_revoked_partition_is_read_from_the_table_again() -> None:
    lead_agent, leads, _ = agent()
    await run_batch(lead_agent, [on(2, created("A"))])
    stored = read_lead(leads["A"])
    moved = stored.profile.model_copy(update={"owner": "elsewhere"})
    # another worker's write while it owned partition 2:
    leads["A"] = encode_state(stored.model_copy(update={"profile": moved}))

    lead_agent.revoked({2})
    await run_batch(lead_agent, [on(2, event("lead.updated", 2, "A", segment="s"))])

    state = read_lead(leads["A"])
    assert state.profile.owner == "elsewhere" and state.profile.segment == "s"


async def test_a_batch_that_spans_a_revoke_caches_nothing() -> None:
    lead_agent, _, _ = agent()
    batch = lead_agent.batch()
    message = on(2, created("A"))
    lead_agent.add(batch, Event(message), message, message.topic)
    lead_agent.revoked({2})
    await lead_agent.flush(batch)

    assert len(lead_agent.cache) == 0


def test_the_cache_is_bounded_and_forgets_the_least_recently_used_first() -> None:
    cache = LeadCache(2)
    a, b, c = (LeadState(lead_id=x) for x in "abc")
    cache.put("a", 0, a)
    cache.put("b", 1, b)
    assert cache.get("a") == a  # a is now the most recent
    cache.put("c", 0, c)
    assert cache.get("b") is None and cache.get("a") == a and cache.get("c") == c
    cache.drop_partitions({0})
    assert len(cache) == 0


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = LeadCache(0)
    cache.put("a", 0, LeadState(lead_id="a"))
    assert cache.get("a") is None


def test_a_state_round_trips_through_the_fast_read_path() -> None:
    state = LeadState(lead_id="L9", seen_event_ids=("e1",))
    raw = encode_state(state)
    assert zstandard.ZstdDecompressor().decompress(raw).startswith(b'{"schema_version":2,')
    assert read_state(raw) == state


def test_a_newer_versions_state_takes_the_migrating_path_not_the_fast_one() -> None:
    raw = orjson.loads(
        zstandard.ZstdDecompressor().decompress(encode_state(LeadState(lead_id="L9")))
    )
    raw["schema_version"] = 12
    noted: list[int] = []
    state = read_state(orjson.dumps(raw), on_newer=noted.append)
    assert noted == [12] and state.schema_version == LeadState.SCHEMA_VERSION
