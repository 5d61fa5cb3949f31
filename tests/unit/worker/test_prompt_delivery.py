"""The drain's delivery: at once when the callback never waits, cancellable when it does.

`PromptDelivery.wait_first` is called as Faust's drain loop calls it,
`wait_first(callback(message), suspend_flow.wait())`, on a mode service of its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stream_app.worker.faust_fixes.app import FixedConsumer
from stream_app.worker.faust_fixes.delivery import PromptDelivery, resumed, resuming


class Drain(PromptDelivery):
    """The consumer's delivery alone: a mode service with nothing else."""


@pytest.fixture
def drain() -> Drain:
    return Drain()


async def test_a_callback_that_never_waits_is_delivered_without_a_task(drain: Drain) -> None:
    suspend = asyncio.Event()
    delivered: list[int] = []

    async def callback(n: int) -> int:
        delivered.append(n)
        return n * 2

    loop = asyncio.get_running_loop()
    created: list[Any] = []
    factory = loop.get_task_factory()

    def counting(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        created.append(coro)
        return asyncio.Task(coro, loop=loop, **kwargs)

    wait = suspend.wait()
    loop.set_task_factory(counting)
    try:
        results = await drain.wait_first(callback(21), wait)
    finally:
        loop.set_task_factory(factory)
    assert delivered == [21]
    assert results.results == [42] and not results.stopped
    assert created == []  # nothing else runs meanwhile: the call never yields
    assert wait.cr_frame is None  # closed unstarted: no "never awaited" warning


async def test_a_callback_that_waits_is_delivered_once_its_wait_ends(drain: Drain) -> None:
    suspend, room = asyncio.Event(), asyncio.Event()
    steps: list[str] = []

    async def callback() -> str:
        steps.append("full")
        await room.wait()  # a full queue
        await asyncio.sleep(0)  # a bare yield on the way
        steps.append("put")
        return "put"

    delivery = asyncio.ensure_future(drain.wait_first(callback(), suspend.wait()))
    await asyncio.sleep(0.01)
    assert steps == ["full"] and not delivery.done()
    room.set()
    results = await asyncio.wait_for(delivery, 5)
    assert steps == ["full", "put"]
    assert "put" in results.results


async def test_a_suspended_flow_cancels_a_waiting_delivery(drain: Drain) -> None:
    suspend = asyncio.Event()
    seen: list[str] = []

    async def callback() -> None:
        try:
            await asyncio.Event().wait()  # a queue that never drains
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    delivery = asyncio.ensure_future(drain.wait_first(callback(), suspend.wait()))
    await asyncio.sleep(0.01)
    suspend.set()  # a rebalance suspends the flow
    await asyncio.wait_for(delivery, 5)
    await asyncio.sleep(0)  # the cancelled delivery runs its handler
    assert seen == ["cancelled"]


async def test_a_waiting_delivery_cancelled_before_it_resumes_is_closed(drain: Drain) -> None:
    seen: list[str] = []

    async def callback() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            seen.append("closed")

    coro = callback()
    task = resuming(coro, coro.send(None))
    task.cancel()  # before its first turn
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["closed"]


async def test_an_error_raised_at_once_propagates_and_the_waits_are_closed(drain: Drain) -> None:
    suspend = asyncio.Event()
    wait = suspend.wait()

    async def callback() -> None:
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        await drain.wait_first(callback(), wait)
    assert wait.cr_frame is None  # closed, never started


async def test_an_error_raised_after_a_wait_propagates(drain: Drain) -> None:
    async def callback() -> None:
        await asyncio.sleep(0.001)
        raise ValueError("late")

    with pytest.raises(ValueError, match="late"):
        await drain.wait_first(callback(), asyncio.Event().wait())


async def test_a_stopped_service_waits_as_mode_does(drain: Drain) -> None:
    calls: list[str] = []

    async def callback() -> None:
        calls.append("ran")

    drain._stopped.set()
    results = await drain.wait_first(callback(), asyncio.Event().wait())
    assert results.stopped  # mode's own answer: the service is stopping
    assert calls == ["ran"]


async def test_a_resumed_coroutine_sees_its_future_s_result_and_errors() -> None:
    loop = asyncio.get_running_loop()
    ok: asyncio.Future[int] = loop.create_future()
    bad: asyncio.Future[int] = loop.create_future()

    async def reader() -> tuple[int, str]:
        value = await ok
        try:
            await bad
        except KeyError as exc:
            return value, str(exc)
        return value, "no error"

    coro = reader()
    first: Any = coro.send(None)
    assert first is ok
    task = asyncio.ensure_future(resumed(coro, first))
    ok.set_result(7)
    await asyncio.sleep(0.01)
    bad.set_exception(KeyError("gone"))
    assert await asyncio.wait_for(task, 5) == (7, "'gone'")


def test_the_worker_s_consumer_delivers_promptly() -> None:
    assert issubclass(FixedConsumer, PromptDelivery)
    assert FixedConsumer.wait_first is PromptDelivery.wait_first
