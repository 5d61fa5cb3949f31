"""Records handed to the agents without four tasks each."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, cast

from mode import Service
from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds


class PromptDelivery(Service):
    """A consumer whose drain loop hands a record over at once when nothing blocks it.

    Faust's drain loop delivers every fetched record with
    `wait_first(callback(message), suspend_flow.wait())`, so that a suspended flow or
    a stop cancels a delivery that waits (a full agent queue, flow control, the
    producer's buffer). mode's `wait_first` makes a task of each argument and two
    more for the service's stopped and crashed events, waits for the first, then
    cancels the other three: 26 us of CPU per record with a callback that returns at
    once, against 2.6 us here (`tests/unit/worker/test_prompt_delivery.py` has the
    cases; the worker reads ~2 records per input event). The callback (the
    conductor putting the record into its agents' queues) nearly always returns
    without waiting. Here it runs its first step in place: finished, the record is
    delivered and the unstarted waits are closed; waiting, it goes on in a task under
    mode's `wait_first`, which cancels it as before. The first step runs in the drain
    loop's context rather than a task's copy of it; the conductor sets no context
    variable.
    """

    async def wait_first(self, *coros: WaitArgT, timeout: Seconds | None = None) -> WaitResults:
        first, *rest = coros
        prompt = (
            timeout is None
            and asyncio.iscoroutine(first)
            and all(asyncio.iscoroutine(c) for c in rest)
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        )
        if not prompt:
            # mode types `timeout` without None, its default.
            return await super().wait_first(*coros, timeout=timeout)  # type: ignore[arg-type]
        started = cast(Coroutine[Any, Any, Any], first)
        try:
            yielded = started.send(None)
        except StopIteration as done:
            _close(rest)
            return WaitResults([first], [done.value], False)
        except BaseException:
            _close(rest)
            raise
        return await super().wait_first(resuming(started, yielded), *rest)


def resuming(coro: Coroutine[Any, Any, Any], yielded: Any) -> asyncio.Future[Any]:
    """A task that runs `coro` on from its first step (`resumed`); should the task be
    cancelled before its first turn, `resumed` never runs, and `coro` is closed."""
    task = asyncio.ensure_future(resumed(coro, yielded))
    task.add_done_callback(lambda _: coro.close())
    return task


async def resumed(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Run to its end a coroutine whose first step yielded `yielded`, as a task would.

    asyncio's task does the same with what a step yields: a future is waited for and
    its exception (a cancellation included) thrown into the coroutine, its result
    resumed with None; a bare yield (`asyncio.sleep(0)`) waits one loop turn. A
    cancellation of this task reaches the coroutine the same way.
    """
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                yielded._asyncio_future_blocking = False
                await yielded
        except BaseException as exc:
            try:
                yielded = coro.throw(exc)
            except StopIteration as done:
                return done.value
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as done:
            return done.value


def _close(coros: list[Any]) -> None:
    """Close coroutines never started (no "never awaited" warning)."""
    for coro in coros:
        coro.close()
