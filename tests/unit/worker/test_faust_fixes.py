"""The Faust fixes: the release check, and commits across offset gaps and slow records."""

from __future__ import annotations

import asyncio
import itertools
import tomllib
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.consumer.fetcher import Fetcher, FetchResult, PartitionRecords
from aiokafka.consumer.subscription_state import SubscriptionState
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust import Event
from packaging.requirements import Requirement

from stream_app.worker.faust_fixes import (
    TESTED_VERSIONS,
    ContiguousCommitConsumer,
    FetchedOffsets,
    FetchedRecords,
    FixedApp,
    SeekBeforeResumeRecovery,
    check_versions,
    next_commit,
    start_offset,
)
from tests.integration.harness import commit_marker_batch, record_batch

ROOT = Path(__file__).resolve().parents[3]


def versions(**found: str | None) -> dict[str, str | None]:
    return {**TESTED_VERSIONS, **{k.replace("_", "-"): v for k, v in found.items()}}


def test_the_tested_versions_pass() -> None:
    check_versions(versions().get)


@pytest.mark.parametrize(
    "found",
    [
        {"faust_streaming": "0.15.4"},
        {"faust_streaming": "0.16.0"},
        {"faust_streaming": "0.15.2"},
        {"aiokafka": "0.14.1"},
        {"aiokafka": "0.13.0"},
        {"faust_streaming": "0.16.0", "aiokafka": "0.15.0"},
    ],
)
def test_any_other_version_is_refused_naming_installed_and_tested(
    found: dict[str, str],
) -> None:
    installed = versions(**found)
    with pytest.raises(RuntimeError) as caught:
        check_versions(installed.get)
    message = str(caught.value)
    for package, tested in TESTED_VERSIONS.items():
        assert f"{package}=={tested}" in message
    for package in found:
        name = package.replace("_", "-")
        assert f"{name} {installed[name]}" in message


def test_a_missing_package_is_refused() -> None:
    with pytest.raises(RuntimeError, match="aiokafka not installed"):
        check_versions(versions(aiokafka=None).get)


def test_the_installed_environment_is_the_tested_one() -> None:
    check_versions()  # what the import did; here so a failure reads as a test failure


def test_pyproject_pins_exactly_the_tested_versions() -> None:
    """The pins and the check move together (dependencies and the rocksdb extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["rocksdb"]]
    pinned: dict[str, list[str]] = {}
    for spec in specs:
        requirement = Requirement(spec)
        if requirement.name in TESTED_VERSIONS:
            pinned.setdefault(requirement.name, []).append(str(requirement.specifier))
    faust, aiokafka = TESTED_VERSIONS["faust-streaming"], TESTED_VERSIONS["aiokafka"]
    assert pinned == {"faust-streaming": [f"=={faust}"] * 2, "aiokafka": [f"=={aiokafka}"]}


# --- Commits across offset gaps (docs/runtime-notes.md, "Commits past records the
# stream never saw"): a transaction marker, an aborted batch or compaction leaves
# offsets that no fetch returns; the commit follows the fetch, not offset + 1.


def test_the_commit_passes_offsets_the_fetch_never_returned() -> None:
    # 10 and 11, then 15: 12..14 do not exist (the fetch returned 15 after 11).
    after = {10: 11, 11: 15, 15: 16}
    assert next_commit(10, {10, 11, 15}, after, {}) == 16
    # What offset + 1 arithmetic did: stop at 12 for good.
    assert next_commit(10, {10, 11, 15}, {}, {}) == 12


def test_the_commit_stops_at_the_first_record_not_acknowledged() -> None:
    after = {10: 11, 11: 15, 15: 16}
    assert next_commit(10, {10, 15}, after, {}) == 11
    assert next_commit(10, {11, 15}, after, {}) == 10
    assert next_commit(10, set(), after, {}) == 10


def test_a_hole_where_a_read_began_is_passed_with_or_without_acks() -> None:
    # A marker at 12, where the commit stood: the read from 12 found 13 first.
    assert next_commit(12, {13}, {13: 14}, {12: 13}) == 14
    # The partition ends with a marker: nothing to acknowledge, the commit moves on.
    assert next_commit(8, set(), {}, {8: 9}) == 9


def test_inconsistent_bookkeeping_never_loops_or_goes_back() -> None:
    assert next_commit(10, {10}, {10: 10}, {}) == 10
    assert next_commit(10, set(), {}, {10: 7}) == 10


def test_a_read_is_learnt_as_records_and_holes() -> None:
    known = FetchedOffsets()
    known.record(10, [10, 11, 15], 16)
    known.record(16, [19], 21)  # the read began at 16, found 19 first
    known.record(21, [], 22)  # a read that found only a control batch
    assert known.after == {10: 11, 11: 15, 15: 16, 19: 21}
    assert known.holes == {16: 19, 21: 22}
    assert next_commit(10, {10, 11, 15, 19}, known.after, known.holes) == 22
    known.forget_below(19)
    assert (known.after, known.holes) == ({19: 21}, {21: 22})


@pytest.mark.parametrize(
    ("start", "offsets", "end"),
    [(10, [12, 11], 13), (10, [9, 10], 11), (10, [], 10), (10, [10, 12], 12)],
)
def test_a_read_out_of_order_teaches_nothing(start: int, offsets: list[int], end: int) -> None:
    known = FetchedOffsets()
    known.record(start, offsets, end)
    assert (known.after, known.holes) == ({}, {})


# The real consumer, in process: Faust's ack bookkeeping, aiokafka's fetch objects.

TP_IN = TopicPartition("in", 0)


@pytest.fixture
async def consumer() -> ContiguousCommitConsumer:
    app = FixedApp("unit-faust-fixes", broker="kafka://127.0.0.1:9", web_enabled=False)
    app.topics._acking_topics.add(TP_IN.topic)  # what subscribing an agent to "in" does
    made = app.consumer
    assert isinstance(made, ContiguousCommitConsumer)
    return made


def _record(offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=TP_IN.topic,
        partition=TP_IN.partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"v",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=1,
        headers=(),
    )


async def _deliver(consumer: ContiguousCommitConsumer, fetched: Any) -> list[Any]:
    """Records through the consumer's `_getmany`, tracked as Faust tracks a delivery."""

    async def getmany(active: Any, timeout: float) -> Any:
        return fetched

    consumer._thread.getmany = getmany  # type: ignore[method-assign]
    records = await consumer._getmany({TP_IN}, 0.1)
    messages = [consumer._to_message(TP_IN, r) for r in records.get(TP_IN, ())]
    for message in messages:
        consumer.track_message(message)
    return messages


async def test_the_consumer_commits_past_a_gap_its_fetch_reported(
    consumer: ContiguousCommitConsumer,
) -> None:
    consumer._committed_offset[TP_IN] = 10
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 15)]}, {TP_IN: (10, 16)})
    for message in await _deliver(consumer, fetched):
        assert consumer.ack(message)
    assert consumer._new_offset(TP_IN) == 16
    assert consumer._acked[TP_IN] == []
    assert consumer._fetched[TP_IN] == FetchedOffsets()


async def test_without_a_reported_read_the_consumer_waits_at_the_gap(
    consumer: ContiguousCommitConsumer,
) -> None:
    consumer._committed_offset[TP_IN] = 10
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 15)]}, {})
    for message in await _deliver(consumer, fetched):
        consumer.ack(message)
    assert consumer._new_offset(TP_IN) == 12  # safe: never past an offset that may exist


def _reread_calls(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[Any, int]]:
    calls: list[tuple[Any, int]] = []

    async def reread(tp: Any, committed: int, reason: str) -> None:
        calls.append((tp, committed))

    monkeypatch.setattr(consumer, "_reread", reread)
    monkeypatch.setattr(consumer, "heal_after_s", 0.0)
    return calls


async def test_a_slow_head_record_in_flight_is_never_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent with concurrency > 1 acknowledges 11 and 12 while 10 is still in an
    LLM call: the commit waits for 10, nothing is sent to the LLM again."""
    calls = _reread_calls(consumer, monkeypatch)
    consumer._committed_offset[TP_IN] = 10
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 12)]}, {TP_IN: (10, 13)})
    slow, *later = await _deliver(consumer, fetched)
    for message in later:
        consumer.ack(message)
    for _ in range(3):
        assert consumer._new_offset(TP_IN) is None
        await asyncio.sleep(0)
    assert calls == []
    consumer.ack(slow)
    assert consumer._new_offset(TP_IN) == 13


async def test_a_head_record_never_delivered_is_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record the fetch returned but the stream never got (dropped in a rebalance)."""
    calls = _reread_calls(consumer, monkeypatch)
    consumer._committed_offset[TP_IN] = 10
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 12)]}, {TP_IN: (10, 13)})
    dropped, *delivered = await _deliver(consumer, fetched)
    consumer._unacked_messages.discard(dropped)  # as if it had never been tracked
    for message in delivered:
        consumer.ack(message)
    assert consumer._new_offset(TP_IN) is None
    await asyncio.sleep(0.01)
    assert calls == [(TP_IN, 10)]


async def test_records_deleted_below_the_committed_offset_are_a_hole(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Retention deleted 12..19 before the group read them (Tansu cannot, so here):
    aiokafka resets the fetch to the log start and the commit follows, on a restart
    (`perform_seek`) as while running (`_reread`)."""

    async def earliest_offsets(*tps: Any) -> dict[Any, int]:
        return dict.fromkeys(tps, 20)

    async def seek_to_committed() -> dict[Any, int]:
        return {TP_IN: 12}

    seeks: list[tuple[Any, int]] = []

    async def seek(tp: Any, offset: int) -> None:
        seeks.append((tp, offset))

    monkeypatch.setattr(consumer, "earliest_offsets", earliest_offsets)
    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "assignment", lambda: {TP_IN})
    monkeypatch.setattr(consumer, "seek", seek)
    await consumer.perform_seek()
    assert consumer._committed_offset[TP_IN] == 12
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (20, 21)]}, {TP_IN: (20, 22)})
    for message in await _deliver(consumer, fetched):
        consumer.ack(message)
    assert consumer._new_offset(TP_IN) == 22

    consumer._committed_offset[TP_IN] = 25  # while running: reset past 25..29
    monkeypatch.setattr(consumer, "earliest_offsets", lambda *tps: _at(tps, 30))
    await consumer._reread(TP_IN, 25, "stalled")
    assert seeks == []  # nothing to re-read below the log start
    assert consumer._new_offset(TP_IN) == 30


async def _at(tps: Any, offset: int) -> dict[Any, int]:
    return dict.fromkeys(tps, offset)


class _Fetcher:
    """The parts of aiokafka's Fetcher its `fetched_records` uses, around real results."""

    _closed = False
    _wait_consume_future = None
    fetched_records = Fetcher.fetched_records

    def __init__(self, subscriptions: SubscriptionState, records: dict[Any, Any]) -> None:
        self._subscriptions = subscriptions
        self._records = records

    def _notify(self, future: Any) -> None:
        pass

    def _create_fetch_waiter(self) -> asyncio.Future[None]:
        return asyncio.get_running_loop().create_future()


async def test_the_consumer_thread_reports_what_aiokafka_skipped(
    consumer: ContiguousCommitConsumer,
) -> None:
    """The log Tansu returned in tests/integration/test_offset_gaps.py: a batch with
    records 2, 3 and 7 (4..6 compacted away), a commit marker at 8, a record at 9,
    read with real aiokafka fetch results, two records per call."""
    log = (
        record_batch([(0, b"k", b"a"), (1, b"k", b"b"), (5, b"k", b"c")], base_offset=2)
        + commit_marker_batch(base_offset=8)
        + record_batch([(0, b"k", b"d")], base_offset=9)
    )
    subscriptions = SubscriptionState()
    subscriptions.assign_from_user({TP_IN})
    subscriptions.seek(TP_IN, 2)
    assignment = subscriptions.subscription.assignment
    partition = PartitionRecords(TP_IN, MemoryRecords(log), [], 2, None, None, True, 0)
    result = FetchResult(TP_IN, assignment=assignment, partition_records=partition, backoff=0)
    fetcher = _Fetcher(subscriptions, {TP_IN: result})
    aiokafka_consumer = SimpleNamespace(_fetcher=fetcher, _closed=False)

    thread = consumer._thread
    first = await thread._fetch_records(aiokafka_consumer, {TP_IN}, timeout=0.1, max_records=2)
    second = await thread._fetch_records(aiokafka_consumer, {TP_IN}, timeout=0.1, max_records=2)
    assert [r.offset for r in first[TP_IN]] == [2, 3]
    assert first.spans == {TP_IN: (2, 4)}
    assert [r.offset for r in second[TP_IN]] == [7, 9]
    assert second.spans == {TP_IN: (4, 10)}  # past the marker and the compacted offsets
    assert assignment.state_value(TP_IN).position == 10

    consumer._committed_offset[TP_IN] = 2
    for fetched in (first, second):
        for message in await _deliver(consumer, fetched):
            consumer.ack(message)
    assert consumer._new_offset(TP_IN) == 10


def test_reading_a_changelog_starts_at_its_recorded_offset_or_the_beginning() -> None:
    assert [start_offset(o) for o in (None, -1, 0, 7)] == [0, 0, 0, 7]


async def test_a_partition_assigned_mid_recovery_is_sought_from_the_start() -> None:
    """Faust's own `_seek_offsets` passed a None offset (a partition `Recovery._add`ed
    while a recovery ran) to aiokafka, whose ValueError crashed the recovery."""
    sought: dict[TopicPartition, int] = {}

    async def seek_wait(offsets: dict[TopicPartition, int]) -> None:
        sought.update(offsets)

    consumer = SimpleNamespace(seek_wait=seek_wait)
    added, fresh, read = (TopicPartition("changelog", p) for p in range(3))
    offsets: Counter[TopicPartition] = Counter({read: 41, fresh: -1})
    offsets[added] = None  # type: ignore[assignment]  # what Recovery._add stores
    recovery = SeekBeforeResumeRecovery.__new__(SeekBeforeResumeRecovery)
    await recovery._seek_offsets(consumer, {added, fresh, read}, offsets, "standby")  # type: ignore[arg-type]
    assert sought == {added: 0, fresh: 0, read: 41}


# --- The healer and a backlog (docs/runtime-notes.md, "Stall healer"): records that
# wait in a buffer between the broker and the stream are on their way, not lost.


def _fetch_buffer(consumer: ContiguousCommitConsumer, first: int, last: int) -> None:
    """aiokafka's buffer holding a fetched, not yet returned result of records first..last."""
    log = record_batch([(o - first, b"k", b"v") for o in range(first, last + 1)], first)
    subscriptions = SubscriptionState()
    subscriptions.assign_from_user({TP_IN})
    subscriptions.seek(TP_IN, first)
    assignment = subscriptions.subscription.assignment
    partition = PartitionRecords(TP_IN, MemoryRecords(log), [], first, None, None, True, 0)
    result = FetchResult(TP_IN, assignment=assignment, partition_records=partition, backoff=0)
    consumer._thread._consumer = SimpleNamespace(_fetcher=_Fetcher(subscriptions, {TP_IN: result}))


def _queued(consumer: ContiguousCommitConsumer, offsets: list[int]) -> None:
    """Records of TP_IN in the stream buffer of the agent reading "in", not yet taken."""
    channel = consumer.app.topic(TP_IN.topic).clone(is_iterator=True)
    for offset in offsets:
        message = consumer._to_message(TP_IN, _record(offset))
        channel.queue.put_nowait(Event(consumer.app, b"k", b"v", {}, message))
    consumer.app.topics._tp_index[TP_IN].add(channel)  # type: ignore[attr-defined]


_clock = itertools.count(1)


async def _idle_check(consumer: ContiguousCommitConsumer, rounds: int = 3) -> None:
    """Faust's periodic check, `rounds` times, each long after the last one."""
    for _ in range(rounds):
        consumer.verify_event_path(1000.0 * next(_clock), TP_IN)
    await asyncio.gather(*consumer._futures)


@pytest.fixture
def waiting(consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records 10..19 of TP_IN wait past committed offset 10; nothing was delivered."""
    monkeypatch.setattr(consumer._thread, "verify_event_path", lambda now, tp: None)
    monkeypatch.setattr(consumer, "highwater", lambda tp: 20)
    consumer._committed_offset[TP_IN] = 10
    consumer._set_active_tps({TP_IN})


@pytest.mark.usefixtures("waiting")
async def test_a_partition_that_delivers_nothing_with_nothing_held_is_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _reread_calls(consumer, monkeypatch)
    await _idle_check(consumer)
    assert calls == [(TP_IN, 10), (TP_IN, 10)]  # every heal_after_s while it stays so


@pytest.mark.usefixtures("waiting")
async def test_records_waiting_in_aiokafkas_buffer_are_not_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bench's stalls: a small partition's result waited in aiokafka's buffer behind
    other partitions' results, and each re-read sent it to the back again."""
    calls = _reread_calls(consumer, monkeypatch)
    _fetch_buffer(consumer, 10, 19)
    await _idle_check(consumer)
    assert calls == []
    consumer._thread._consumer = SimpleNamespace(_fetcher=None)  # dropped, never returned
    await _idle_check(consumer)
    assert calls == [(TP_IN, 10)] * 3  # idle all along: at the first check with nothing held


@pytest.mark.usefixtures("waiting")
async def test_records_in_a_paused_partitions_buffer_are_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka never returns records of a partition Faust no longer asks for: a pause
    that was never lifted is a stall, and the healer resumes the partition."""
    calls = _reread_calls(consumer, monkeypatch)
    _fetch_buffer(consumer, 10, 19)
    consumer.pause_partitions({TP_IN})
    await _idle_check(consumer, rounds=2)
    assert calls == [(TP_IN, 10)]
    assert TP_IN in consumer._active_partitions


@pytest.mark.usefixtures("waiting")
async def test_records_queued_for_the_stream_or_being_handed_over_are_not_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _reread_calls(consumer, monkeypatch)
    _queued(consumer, [10, 11])  # behind other partitions' records in the agent's buffer
    await _idle_check(consumer)
    assert calls == []
    channel = next(iter(consumer.app.topics._tp_index[TP_IN]))  # type: ignore[attr-defined]
    channel.queue._queue.clear()  # taken: in flight now, or dropped

    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 12)]}, {TP_IN: (10, 13)})
    await _deliver(consumer, fetched)
    consumer._unacked_messages.clear()  # the drain loop is still handing them over
    await _idle_check(consumer)
    assert calls == []
    consumer._read_offset[TP_IN] = 12  # handed over, and since dropped
    await _idle_check(consumer)
    assert calls == [(TP_IN, 10), (TP_IN, 10)]


async def test_a_head_record_held_on_its_way_is_not_re_read(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a re-read from 10, records 11 and 12 still queued from before it are
    acknowledged while the re-fetched 10 waits behind them."""
    calls = _reread_calls(consumer, monkeypatch)
    consumer._committed_offset[TP_IN] = 10
    consumer._set_active_tps({TP_IN})
    fetched = FetchedRecords({TP_IN: [_record(o) for o in (10, 11, 12)]}, {TP_IN: (10, 13)})
    head, *later = await _deliver(consumer, fetched)
    consumer._unacked_messages.discard(head)
    for message in later:
        consumer.ack(message)
    _fetch_buffer(consumer, 10, 12)
    consumer._read_offset[TP_IN] = 12
    assert consumer._new_offset(TP_IN) is None
    await asyncio.gather(*consumer._futures)
    assert calls == []
    consumer._thread._consumer = SimpleNamespace(_fetcher=None)  # and never delivered
    assert consumer._new_offset(TP_IN) is None
    await asyncio.gather(*consumer._futures)
    assert calls == [(TP_IN, 10)]


async def test_the_re_read_seeks_in_the_consumers_thread(
    consumer: ContiguousCommitConsumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Faust's `seek` runs aiokafka's from the caller's thread, deleting a buffered result
    while the consumer's thread iterates them: a KeyError in `fetched_records` stopped a
    bench worker. `seek_wait` runs it in the consumer's thread."""

    def seek(tp: Any, offset: int) -> None:
        raise AssertionError("aiokafka's seek called from Faust's thread")

    sought: list[dict[Any, int]] = []

    async def seek_wait(partitions: dict[Any, int]) -> None:
        sought.append(dict(partitions))

    monkeypatch.setattr(consumer._thread, "seek", seek)
    monkeypatch.setattr(consumer._thread, "seek_wait", seek_wait)
    monkeypatch.setattr(consumer, "earliest_offsets", lambda *tps: _at(tps, 0))
    await consumer._reread(TP_IN, 10, "stalled")
    assert sought == [{TP_IN: 10}]
