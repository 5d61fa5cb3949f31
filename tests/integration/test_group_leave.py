"""A worker stopping while another joins its group leaves a group that forms again.

The embedded broker (Tansu 0.6.0) removes a member that sends LeaveGroup while its
group is forming but keeps it as the group's leader, so no SyncGroup completes again:
the other members rejoin the same generation every few seconds, for good. With
`STREAM_APP_KAFKA_LEAVE_GROUP_ON_STOP=false` a stopping worker just stops; the broker
drops it, and its leadership, after the session timeout. The chaos suite runs its two
workers so; this test is that suite's stall, made to happen every time.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient, CoordinationType
from aiokafka.errors import MemberIdRequired, for_code
from aiokafka.protocol.group import (
    HeartbeatRequest,
    JoinGroupRequest,
    LeaveGroupRequest,
    MemberAssignment,
    ProtocolMetadata,
    SyncGroupRequest,
)

from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import IsolatedWorkers
from tests.integration.harness import WorkerProcess

STAYS = {"STREAM_APP_KAFKA_LEAVE_GROUP_ON_STOP": "false"}


def _await_log(worker: WorkerProcess, line: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in worker.log_text():
        assert time.monotonic() < deadline, f"no {line!r} in:\n{worker.log_tail()}"
        time.sleep(0.01)


def test_the_leader_stopping_as_a_member_joins_leaves_a_group_that_forms_again(
    workers: IsolatedWorkers,
) -> None:
    leader = workers.start(**STAYS)
    # A second member moves the group past generation 0 (aiokafka sends no LeaveGroup
    # from generation 0, the embedded broker's first).
    member = workers.start(peer_of=leader, **STAYS)
    joining = workers.start(peer_of=leader, ready=False, **STAYS)
    # The joiner's JoinGroup has reached the broker: the group is forming, with the
    # running first worker as its leader. Stopping that worker now is the chaos
    # suite's race.
    _await_log(joining, "(Re-)joining group")
    leader.stop(signal.SIGTERM)
    assert "Signal received: 15" in leader.log_text()
    assert "LeaveGroup request succeeded" not in leader.log_text()
    joining.wait_ready(timeout_s=60)
    member.wait_ready(timeout_s=60)
    leader.start()
    leader.wait_ready(timeout_s=60)


# --- the broker's behaviour, step by step -----------------------------------------
# A hand-driven leader (raw JoinGroup, SyncGroup, Heartbeat) forms the group; a real
# aiokafka consumer joins; the leader then either leaves or just stops talking.


@dataclass
class RawLeader:
    client: AIOKafkaClient
    node: int
    group: str
    member_id: str
    generation: int

    async def heartbeats(self) -> None:
        while True:
            request = HeartbeatRequest(self.group, self.generation, self.member_id)
            await self.client.send(self.node, request)
            await asyncio.sleep(0.5)


@asynccontextmanager
async def _formed_group(broker: EmbeddedBroker) -> AsyncIterator[tuple[RawLeader, str]]:
    topic, group = f"leave-{uuid.uuid4().hex[:8]}", f"leave-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 2, 1)])
    finally:
        await admin.close()
    client = AIOKafkaClient(bootstrap_servers=broker.bootstrap)
    await client.bootstrap()
    try:
        node = await client.coordinator_lookup(CoordinationType.GROUP, group)
        protocols = [("roundrobin", ProtocolMetadata(0, [topic], b"").encode())]
        member = ""
        while True:
            join = JoinGroupRequest(group, 6000, 6000, member, None, "consumer", protocols)
            joined = await client.send(node, join)
            if for_code(joined.error_code) is not MemberIdRequired:
                break
            member = joined.member_id
        assert joined.error_code == 0 and joined.leader_id == joined.member_id
        assignment = MemberAssignment(0, [(topic, [0, 1])], b"").encode()
        sync = SyncGroupRequest(group, joined.generation_id, member, None, [(member, assignment)])
        assert (await client.send(node, sync)).error_code == 0
        yield RawLeader(client, node, group, member, joined.generation_id), topic
    finally:
        await client.close()


async def _joiner_started_within(
    broker: EmbeddedBroker, leave: bool, timeout_s: float
) -> float | None:
    """Seconds until a consumer that joined the leader's group got its assignment."""
    async with _formed_group(broker) as (leader, topic):
        beating = asyncio.ensure_future(leader.heartbeats())
        joiner = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            group_id=leader.group,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            rebalance_timeout_ms=6000,
            enable_auto_commit=False,
        )
        joiner.subscribe([topic])
        starting = asyncio.ensure_future(joiner.start())
        try:
            # The broker gave the joiner a member id: the group is forming, the raw
            # member still its leader.
            deadline = time.monotonic() + 30
            while not (joiner._coordinator and joiner._coordinator.member_id):
                assert time.monotonic() < deadline, "the joiner never reached the broker"
                await asyncio.sleep(0.005)
            beating.cancel()
            if leave:
                leaving = LeaveGroupRequest(leader.group, leader.member_id)
                assert (await leader.client.send(leader.node, leaving)).error_code == 0
            began = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.shield(starting), timeout_s)
            except TimeoutError:
                return None
            while not joiner.assignment():
                assert time.monotonic() - began < timeout_s, "started without an assignment"
                await joiner.getmany(timeout_ms=200)
            return time.monotonic() - began
        finally:
            beating.cancel()
            starting.cancel()
            await joiner.stop()


async def test_a_leader_that_leaves_a_forming_group_strands_it(broker: EmbeddedBroker) -> None:
    """Pins the embedded broker's flaw; if this fails, Tansu fixed it and
    `kafka_leave_group_on_stop=false` is no longer needed for it."""
    assert await _joiner_started_within(broker, leave=True, timeout_s=15) is None


async def test_a_leader_that_stops_talking_is_dropped_and_the_group_forms(
    broker: EmbeddedBroker,
) -> None:
    """What a worker with `kafka_leave_group_on_stop=false` does: one session timeout."""
    took = await _joiner_started_within(broker, leave=False, timeout_s=40)
    assert took is not None and took >= 3
