"""End offsets that stay right when producers batch, on a broker whose ListOffsets is short.

Tansu 0.6.0 (the embedded broker) answers ListOffsets(latest) with the last batch's
base offset + 1: after a batch at offsets 6-9 it says 7. The high watermark in its
Fetch responses is right (10), whatever offset the fetch asks for. So `end_offsets`
asks ListOffsets, then sends one Fetch per leader from that answer and takes the
larger of the two. On Kafka both agree and the fetch changes nothing; its cost is
one round trip, plus up to `FETCH_WAIT_MS` where nothing follows the listed end.

Every reader that stops "at the end" takes its ends from here: Faust's changelog
recovery (`worker/faust_fixes`), the Q snapshot's catch-up, the console feed's, the
bench's state sizes and the tests' read helpers. A short end made a recovery stop
early (a lead's state went back, a Q entry lost a visit) or fail its consistency check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import LeaderNotAvailableError
from aiokafka.protocol.fetch import FetchRequest

READ_COMMITTED = 1
"""Kafka's isolation level number for read_committed (0 is read_uncommitted)."""

FETCH_WAIT_MS = 1
"""The Fetch's max wait. Not 0: Tansu answers a Fetch with max wait 0 with no topics at
all (measured); with 1 ms it answers every partition, at once where records follow
the fetch offset, after the 1 ms where none do (min bytes 0 does not stop the wait)."""

FetchTopics = list[tuple[str, list[tuple[int, int, int]]]]
"""A Fetch request's topics: (topic, [(partition, fetch offset, max bytes)])."""


def fetch_plan(
    listed: Mapping[TopicPartition, int], leaders: Mapping[TopicPartition, int | None]
) -> dict[int, FetchTopics]:
    """Per leader node, the Fetch topics that ask each partition from its listed end.

    From the listed end, not the log start: the answer then carries at most the last
    batch (on Kafka, nothing), and one byte per partition asks for no more (Kafka
    still sends a first batch that is larger; Tansu ignores the limit). A
    partition without a known leader cannot be checked, which must not pass as "the
    end is what ListOffsets said": it raises.
    """
    by_node: dict[int, dict[str, list[tuple[int, int, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for tp in sorted(listed):
        node = leaders.get(tp)
        if node is None or node < 0:
            raise LeaderNotAvailableError(f"no leader known for {tp}")
        by_node[node][tp.topic].append((tp.partition, listed[tp], 1))
    return {node: list(topics.items()) for node, topics in by_node.items()}


def fetched_ends(
    topics: Iterable[Sequence[Any]], isolation_level: int
) -> dict[TopicPartition, int]:
    """Each partition's end from a Fetch response's topics: the high watermark, or the
    last stable offset for a read_committed reader (what ListOffsets means for it).

    Partitions answered with an error are left out: their listed end stands.
    """
    ends: dict[TopicPartition, int] = {}
    for topic, partitions in topics:
        for partition, error_code, highwater, *rest in partitions:
            if error_code != 0:
                continue
            end = rest[0] if isolation_level == READ_COMMITTED else highwater
            if end is not None and end >= 0:
                ends[TopicPartition(topic, partition)] = int(end)
    return ends


def true_ends(
    listed: Mapping[TopicPartition, int], fetched: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The larger of both answers per partition: each can only fall short of the end."""
    return {tp: max(end, fetched.get(tp, end)) for tp, end in listed.items()}


async def end_offsets(
    consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition]
) -> dict[TopicPartition, int]:
    """Where each partition's log ends now, right even after multi-record batches.

    Uses the consumer's own connections; its positions and fetches are untouched.
    """
    wanted = list(partitions)
    listed: dict[TopicPartition, int] = dict(await consumer.end_offsets(wanted))
    if not listed:
        return listed
    client: Any = consumer._client
    isolation_level = int(consumer._fetcher._isolation_level)
    leaders = {tp: client.cluster.leader_for_partition(tp) for tp in listed}
    fetched: dict[TopicPartition, int] = {}
    for node, topics in fetch_plan(listed, leaders).items():
        request = FetchRequest(
            max_wait_time=FETCH_WAIT_MS,
            min_bytes=0,
            max_bytes=len(listed),
            isolation_level=isolation_level,
            topics=topics,
        )
        response = await client.send(node, request)
        fetched.update(fetched_ends(response.topics, isolation_level))
    return true_ends(listed, fetched)
