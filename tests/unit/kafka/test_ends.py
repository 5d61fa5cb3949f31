"""End offsets from ListOffsets and a Fetch's high watermark: the pure parts."""

from __future__ import annotations

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import LeaderNotAvailableError

from stream_app.kafka.ends import READ_COMMITTED, fetch_plan, fetched_ends, true_ends

A0, A1, B0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)


def test_the_fetch_asks_each_partition_from_its_listed_end_at_its_leader() -> None:
    plan = fetch_plan({A0: 7, A1: 0, B0: 3}, {A0: 1, A1: 2, B0: 1})
    assert plan == {1: [("a", [(0, 7, 1)]), ("b", [(0, 3, 1)])], 2: [("a", [(1, 0, 1)])]}


@pytest.mark.parametrize("leader", [None, -1])
def test_a_partition_without_a_leader_is_an_error_not_the_listed_end(leader: int | None) -> None:
    with pytest.raises(LeaderNotAvailableError):
        fetch_plan({A0: 7, A1: 0}, {A0: 1, A1: leader})


# Fetch v11 partitions: (partition, error, high watermark, last stable offset,
# log start, aborted transactions, preferred read replica, records).
def _partition(partition: int, error: int, highwater: int, stable: int) -> tuple[object, ...]:
    return (partition, error, highwater, stable, 0, [], -1, b"")


@pytest.mark.parametrize(
    "isolation_level, expected",
    [(0, {A0: 10, A1: 0}), (READ_COMMITTED, {A0: 8, A1: 0})],
)
def test_the_end_is_the_high_watermark_or_for_read_committed_the_last_stable_offset(
    isolation_level: int, expected: dict[TopicPartition, int]
) -> None:
    topics = [("a", [_partition(0, 0, 10, 8), _partition(1, 0, 0, 0)])]
    assert fetched_ends(topics, isolation_level) == expected


def test_a_partition_answered_with_an_error_or_no_offset_says_nothing() -> None:
    offset_out_of_range, not_leader = 1, 6
    topics = [
        ("a", [_partition(0, offset_out_of_range, 10, 10), _partition(1, 0, -1, -1)]),
        ("b", [_partition(0, not_leader, 5, 5)]),
    ]
    assert fetched_ends(topics, 0) == {}


@pytest.mark.parametrize(
    "listed, fetched, end",
    [
        (7, 10, 10),  # Tansu after a batch at 6-9: ListOffsets says 7, the fetch 10
        (10, 10, 10),  # batches of one record, or Kafka: both agree
        (10, 9, 10),  # a stale fetch answer never moves the end back
        (0, 0, 0),  # an empty partition
        (4, None, 4),  # no fetch answer (an error): the listed end stands
    ],
)
def test_the_end_is_the_larger_answer(listed: int, fetched: int | None, end: int) -> None:
    answers = {} if fetched is None else {A0: fetched}
    assert true_ends({A0: listed, A1: 3}, answers) == {A0: end, A1: 3}
