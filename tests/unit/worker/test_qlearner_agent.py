"""The Q-learner's loop: batches of ready transitions, sent together, stored once acked.

The agent's own loop runs, registered on a stand-in app, over a stand-in stream
whose queue says whether the next record is ready; the table and the topics are
the fakes of the lead agent's tests, and every send, ack, store write and record
ack is noted in one log, in order. The broker-level guarantees (a q-update per
transition across kills) are in tests/integration/test_crash_recovery.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest

from stream_app.config.params import learner_params
from stream_app.config.settings import LearningMode, Settings
from stream_app.domain.learner import Learned
from stream_app.worker.agents import qlearner
from stream_app.worker.agents.qlearner import GUARD_KEY, dump_learned, load_learned, read_guard
from tests.unit.worker.fakes import FakeTable, NotedTopics

STATE, ACTION = "new:neutral", "wait"
OTHER = "warm_follow_up"
AT = "2026-01-05T10:00:00+00:00"


def test_a_stored_entry_keeps_its_format_and_reads_back() -> None:
    entry = Learned(
        q=0.5,
        visits=3,
        recent_ids=tuple(f"t-{i}" for i in range(64)),
        q_version=7,
        q_before=0.25,
        td_error=0.125,
        transition_id="t-63",
    )
    raw = dump_learned(entry)
    # The format every release before this one wrote and reads (a rolling update).
    assert orjson.loads(raw) == {
        "q": 0.5,
        "visits": 3,
        "recent_ids": [f"t-{i}" for i in range(64)],
        "q_version": 7,
        "q_before": 0.25,
        "td_error": 0.125,
        "transition_id": "t-63",
    }
    assert load_learned(raw) == entry


class Message:
    def __init__(self, value: bytes, key: bytes, offset: int) -> None:
        self.value, self.key, self.offset = value, key, offset
        self.topic, self.partition = "lead-transitions", 0


class Record:
    """What Faust's stream yields: an event carrying its message (weakly referable)."""

    def __init__(self, message: Message) -> None:
        self.message = message


def transition(offset: int, action: str = ACTION, tid: str | None = None) -> Record:
    body = {
        "transition_id": tid or f"t-{offset}",
        "lead_id": f"L{offset}",
        "occurred_at": AT,
        "state_before": STATE,
        "action": action,
        "decision_id": f"d-{offset}",
        "reward": 1.0,
        "state_after": "interested:neutral",
        "cause_event_id": f"e-{offset}",
    }
    return Record(Message(orjson.dumps(body), f"L{offset}".encode(), offset))


def poisoned(offset: int) -> Record:
    return Record(Message(b"{not json", b"L9", offset))


class Stream:
    """The agent's stream: yields what the test puts, and its queue tells the loop
    whether the next record is ready. Once `closed` it ends when the queue is empty
    (the loop then returns); else it waits for the next record."""

    def __init__(self, log: list[str], closed: bool = False) -> None:
        self.log, self.closed = log, closed
        self.queue: asyncio.Queue[Record] = asyncio.Queue()
        self.channel = SimpleNamespace(queue=self.queue)
        self.acked: list[Record] = []
        self.waiting = asyncio.Event()
        """Set while the loop waits for a record that is not there."""

    def put(self, *records: Record) -> None:
        for record in records:
            self.queue.put_nowait(record)

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Record]:
        while True:
            if self.queue.empty():
                if self.closed:
                    return
                self.waiting.set()
            record = await self.queue.get()
            self.waiting.clear()
            yield record

    async def ack(self, record: Record) -> None:
        self.log.append(f"ack {record.message.offset}")
        self.acked.append(record)


class Ready:
    """A queue that always says a record is ready: the loop holds its batch."""

    def empty(self) -> bool:
        return False


class App:
    """The Faust app as `register` uses it: the agent decorator and the drains."""

    def __init__(self) -> None:
        self.agents: dict[str, Callable[..., Any]] = {}
        self.drains: dict[str, Callable[[], Any]] = {}

    def agent(self, channel: Any, *, concurrency: int, name: str) -> Callable[..., Any]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.agents[name] = fn
            return fn

        return register


class Learner:
    """One registered Q-learner over one table: `run` drives its loop over a stream."""

    def __init__(self, log: list[str] | None = None, **settings: Any) -> None:
        self.log: list[str] = [] if log is None else log
        self.settings = Settings(_env_file=None, **settings)  # type: ignore[call-arg]
        self.table = FakeTable(self.log)
        self.topics = NotedTopics(self.log, acked="acked {}")
        self.app = App()
        qlearner.register(
            cast(Any, self.app),
            self.settings,
            cast(Any, self.topics),
            self.table,
            learner_params(self.settings),
        )

    async def run(self, *records: Record) -> Stream:
        """All records ready at once, then the stream ends: the loop runs to its end."""
        stream = Stream(self.log, closed=True)
        stream.put(*records)
        await self.app.agents["q-learner"](stream)
        return stream

    def updates(self) -> list[dict[str, Any]]:
        return [orjson.loads(value) for _, value in self.topics.sent["q_updates"]]

    def entry(self, action: str = ACTION) -> Learned:
        return load_learned(self.table[f"{STATE}|{action}"])


def counted(raw: bytes) -> float:
    """Transitions the guard's totals counted: each returns 1.0 (`transition`)."""
    totals = read_guard(raw)
    return totals.learning.return_sum + totals.holdout.return_sum


def kinds(log: list[str]) -> list[str]:
    """The log by kind of step, each run of the same kind once."""
    out: list[str] = []
    for line in log:
        kind = line.split(" ", 1)[0]
        if not out or out[-1] != kind:
            out.append(kind)
    return out


async def test_a_batch_sends_everything_awaits_all_acks_once_then_stores_then_acks() -> None:
    learner = Learner()
    await learner.run(transition(0), transition(1, OTHER))

    assert kinds(learner.log) == ["send", "changelog", "acked", "logged", "write", "ack"]
    assert learner.log.count("send q_updates") == 2
    changelog = [key for key, _, _ in learner.table.changelog]
    assert changelog == [f"{STATE}|{ACTION}", f"{STATE}|{OTHER}", GUARD_KEY]
    assert [u["q_version"] for u in learner.updates()] == [1, 2], "offset + 1, in log order"
    assert counted(learner.table[GUARD_KEY]) == 2, "each transition counted once"


async def test_a_key_learned_twice_in_a_batch_reads_its_batch_entry_and_is_written_once() -> None:
    batched = Learner()
    await batched.run(transition(0), transition(1))
    one_by_one = Learner()
    await one_by_one.run(transition(0))
    await one_by_one.run(transition(1))

    key = f"{STATE}|{ACTION}"
    assert [k for k, _, _ in batched.table.changelog] == [key, GUARD_KEY], "once each"
    assert batched.entry().visits == 2
    assert batched.entry().recent_ids == ("t-0", "t-1")
    assert batched.table[key] == one_by_one.table[key], "the same entry as one at a time"
    assert batched.table[GUARD_KEY] == one_by_one.table[GUARD_KEY]
    assert batched.updates() == one_by_one.updates(), "the same q-updates, in order"


async def test_a_redelivered_transition_changes_nothing_and_republishes_its_update() -> None:
    learner = Learner()
    await learner.run(transition(0))
    entry, totals = learner.table[f"{STATE}|{ACTION}"], learner.table[GUARD_KEY]
    learner.table.changelog.clear()

    await learner.run(transition(0), transition(1, OTHER))  # redelivered, then a new one

    first, again, new = learner.updates()
    assert again == first, "the stored entry's update, q_version included"
    assert learner.table[f"{STATE}|{ACTION}"] == entry
    assert [k for k, _, _ in learner.table.changelog] == [f"{STATE}|{OTHER}", GUARD_KEY]
    assert counted(learner.table[GUARD_KEY]) == counted(totals) + 1, "the new one only"
    assert new["q_version"] == 2


async def test_a_transition_twice_in_one_batch_counts_and_learns_once() -> None:
    learner = Learner()
    await learner.run(transition(0), transition(1, tid="t-0"))

    first, again = learner.updates()
    assert again == first
    assert learner.entry().visits == 1
    assert counted(learner.table[GUARD_KEY]) == 1


async def test_poison_mid_batch_is_a_dead_letter_acked_with_the_batch() -> None:
    learner = Learner()
    stream = await learner.run(transition(0), poisoned(1), transition(2))

    [(_, letter)] = learner.topics.sent["dead_letters"]
    assert orjson.loads(letter)["error_type"] == "invalid_json"
    assert [r.message.offset for r in stream.acked] == [0, 1, 2]
    assert learner.entry().visits == 2, "both good transitions learned"
    assert [u["q_version"] for u in learner.updates()] == [1, 3]
    last_ack = max(i for i, line in enumerate(learner.log) if line.startswith("acked"))
    assert last_ack < learner.log.index("ack 0"), "the dead letter acked before any record"


@pytest.mark.parametrize("refused", ["q_updates", "dead_letters"])
async def test_a_refused_send_propagates_stores_nothing_and_acks_nothing(refused: str) -> None:
    learner = Learner()
    learner.topics.refused = frozenset({refused})
    with pytest.raises(ConnectionError):
        await learner.run(transition(0), poisoned(1), transition(2))
    assert dict(learner.table) == {}, "nothing stored"
    assert not [line for line in learner.log if line.startswith("ack ")], "nothing acked"

    # Read again once the broker answers: learned as if the failed batch never ran.
    learner.topics.refused = frozenset()
    await learner.run(transition(0), poisoned(1), transition(2))
    assert learner.entry().visits == 2
    assert learner.entry().recent_ids == ("t-0", "t-2")


async def test_a_refused_changelog_record_stores_nothing() -> None:
    learner = Learner()
    changelog = learner.table.changelog_topic
    real_send = changelog.send

    async def refused(*args: Any) -> Any:
        await real_send(*args)
        failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failed.set_exception(ConnectionError("broker gone"))
        return failed

    changelog.send = refused  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await learner.run(transition(0))
    assert dict(learner.table) == {} and not learner.table.writes


async def test_a_lone_record_is_applied_at_once() -> None:
    learner = Learner()
    stream = Stream(learner.log)
    loop = asyncio.ensure_future(learner.app.agents["q-learner"](stream))
    stream.put(transition(0))
    await asyncio.wait_for(stream.waiting.wait(), 5)  # waiting for a second record
    assert [r.message.offset for r in stream.acked] == [0], "not held for more"
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop


async def test_a_batch_holds_at_most_the_batch_maximum() -> None:
    learner = Learner(lead_batch_max=2)
    await learner.run(*(transition(n) for n in range(5)))

    assert learner.log.count(f"changelog {GUARD_KEY}") == 3, "batches of 2, 2 and 1"
    assert learner.entry().visits == 5


async def test_a_rebalance_drains_the_held_batch() -> None:
    learner = Learner()
    stream = Stream(learner.log)
    stream.channel = SimpleNamespace(queue=Ready())  # the next record always looks ready
    stream.put(transition(0), transition(1))
    loop = asyncio.ensure_future(learner.app.agents["q-learner"](stream))
    await asyncio.wait_for(stream.waiting.wait(), 5)
    assert stream.acked == [] and dict(learner.table) == {}, "held"

    await learner.app.drains["q-learner"]()
    assert [r.message.offset for r in stream.acked] == [0, 1]
    assert learner.entry().visits == 2
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop


async def test_batch_mode_only_acks() -> None:
    learner = Learner(learning_mode=LearningMode.BATCH)
    stream = await learner.run(transition(0), poisoned(1))

    assert [r.message.offset for r in stream.acked] == [0, 1]
    assert dict(learner.table) == {} and dict(learner.topics.sent) == {}
