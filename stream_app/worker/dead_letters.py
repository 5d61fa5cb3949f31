"""Nothing stops a worker: the one rule every agent and the Q-table view follow.

A record that cannot be applied, for any reason (it does not decode or validate,
its key is missing or wrong, its event time is out of bounds, the stored state it
needs is unreadable, or the pure step raised on it), is poison: the same record
fails the same way on every retry. It goes to `dead-letters` with its error (fields
and error types, never input values) and its payload cut to a bound (so the dead
letter always fits the producer's max request size), is counted in
`stream_app_dead_letters_total{topic, error_type}`, and is acked; the worker goes on.

A transient failure of the shell (the broker does not acknowledge a send) is not
the record's fault and is never dead-lettered: it propagates, the record stays
unacknowledged and is read again. That includes the dead letter's own send, which
is awaited to the broker's ack before the record is acked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from stream_app.wire.codec import InvalidEvent, dead_letter, dead_letter_key, encode
from stream_app.worker import metrics

Send = Callable[[bytes | None, bytes], Awaitable[None]]
"""Produce one record (key, value) and return once the broker acknowledged it."""


def via_topic(topic: Any) -> Send:
    """A `Send` through a Faust topic: its send returns the delivery future, awaited."""

    async def send(key: bytes | None, value: bytes) -> None:
        delivered = await topic.send(key=key, value=value)
        await delivered

    return send


async def divert(
    send: Send,
    log: logging.Logger,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    raw: bytes | None,
    error: InvalidEvent,
) -> None:
    """Send the record's dead letter, then log and count it (`topic`: its logical name).

    Counted only once the broker has it: a send that fails propagates (transient) and
    the record, read again, is counted when its dead letter is finally sent.
    """
    letter = dead_letter(topic, partition, offset, raw, error, datetime.now(UTC))
    await send(dead_letter_key(key), encode(letter))
    # error.message names fields and error types, never values (wire.codec).
    log.warning(
        "dead letter %s[%d]@%d %s: %s",
        topic,
        partition,
        offset,
        error.error_type,
        error.message,
    )
    metrics.DEAD_LETTERS.labels(topic, error.error_type).inc()
