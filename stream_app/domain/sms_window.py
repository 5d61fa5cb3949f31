"""SMS thread buffer: store each message at once, extract once per thread.

A quick back-and-forth of texts ("ok", "sounds good!", "what time?") is one
conversation, and one extraction over the whole thread reads it better and costs
less than one per message (docs/architecture.md, "SMS thread batching"). So messages
wait here until the thread settles (`quiet` since the last one), has waited long
enough (`max_age` since the first one), grows long (`max_messages`), or a family
message carries an urgent keyword, which cannot wait.

The buffer lives inside the lead's changelogged state, so it is an immutable
pydantic value: `on_message` and `on_tick` take a buffer and return a new one plus
at most one `Flush`. Time is always an argument: the caller passes event time, or
wall time for a live worker's idle timer, and `due_at` tells that timer when to
come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field

from stream_app.domain.extraction.conversation import (
    AGENT_SPEAKER,
    Direction,
    Role,
    sms_thread,
)
from stream_app.domain.extraction.keywords import (
    DEFAULT_KEYWORDS,
    Keywords,
    UrgentFamily,
    urgent_keyword_family,
)
from stream_app.domain.frozen import Stored
from stream_app.domain.messages import SmsReceived, SmsSent

MAX_BUFFERED = 50
"""Hard cap on buffered messages, far above any sensible `max_messages`.

`WindowParams` refuses a `max_messages` above it, so `on_message` always flushes
first; the cap makes the bound part of the stored schema as well (state per lead
is bounded: docs/architecture.md, "Reliability contract").
"""

RECENT_FLUSHED_IDS = 64
"""How many flushed message ids a buffer remembers to ignore late redeliveries."""

PARENT_LABEL = "Parent"
"""The inbound speaker label: `speaker_role` reads it as the family."""

_LABELS: dict[Role, str] = {"family": PARENT_LABEL, "agent": AGENT_SPEAKER}


class FlushTrigger(StrEnum):
    """Why a thread was flushed; the values are metric labels, so they never change."""

    QUIET = "quiet"
    MAX_AGE = "max_age"
    MAX_MESSAGES = "max_messages"
    KEYWORD_OPT_OUT = "keyword_opt_out"
    KEYWORD_SIGN_UP = "keyword_sign_up"
    KEYWORD_SCHEDULING = "keyword_scheduling"
    KEYWORD_EMERGENCY = "keyword_emergency"


_KEYWORD_TRIGGERS: dict[UrgentFamily, FlushTrigger] = {
    "opt_out": FlushTrigger.KEYWORD_OPT_OUT,
    "sign_up": FlushTrigger.KEYWORD_SIGN_UP,
    "scheduling": FlushTrigger.KEYWORD_SCHEDULING,
    "emergency": FlushTrigger.KEYWORD_EMERGENCY,
}


@dataclass(frozen=True, slots=True)
class WindowParams:
    """Flush thresholds; the defaults: 5 min quiet, 15 min oldest, 6 messages.

    `keywords` is the keyword scan (languages, extra opt-out phrases) the urgent
    flush uses, and the lead's opt-out checks on every channel use the same one.
    """

    quiet: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(minutes=15)
    max_messages: int = 6
    keywords: Keywords = DEFAULT_KEYWORDS

    def __post_init__(self) -> None:
        if self.quiet <= timedelta(0) or self.max_age <= timedelta(0):
            raise ValueError("quiet and max_age must be positive")
        if not 1 <= self.max_messages <= MAX_BUFFERED:
            raise ValueError(f"max_messages must be between 1 and {MAX_BUFFERED}")


class BufferedMessage(Stored):
    """One SMS as the thread needs it: who sent it, what it said, when."""

    message_id: Annotated[str, Field(min_length=1, max_length=128)]
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    direction: Direction
    body: Annotated[str, Field(max_length=2_000)]
    at: AwareDatetime

    @classmethod
    def from_event(cls, event: SmsReceived | SmsSent) -> BufferedMessage:
        """Received texts are the family's words, sent ones the academy's."""
        return cls(
            message_id=event.message_id,
            event_id=event.event_id,
            direction="inbound" if isinstance(event, SmsReceived) else "outbound",
            body=event.body,
            at=event.occurred_at,
        )


class ThreadBuffer(Stored):
    """The unflushed messages of one lead's SMS thread, in arrival order.

    Arrival order is the lead's partition order, the order every other rule sees.
    `flushed_ids` remembers recently flushed messages so a redelivery after its
    thread was flushed is not extracted twice.
    """

    messages: Annotated[tuple[BufferedMessage, ...], Field(max_length=MAX_BUFFERED)] = ()
    flushed_ids: Annotated[tuple[str, ...], Field(max_length=RECENT_FLUSHED_IDS)] = ()

    @property
    def first_at(self) -> datetime | None:
        """The oldest message time, the start of the `max_age` window."""
        return min((m.at for m in self.messages), default=None)

    @property
    def last_at(self) -> datetime | None:
        """The newest message time, the start of the `quiet` window."""
        return max((m.at for m in self.messages), default=None)


@dataclass(frozen=True, slots=True)
class Flush:
    """A settled thread, ready for one extraction.

    `transcript` labels each line with its side, because the extractor parses the
    labels back (`parse_transcript`) and only the family's words are signals: an
    outbound "reply STOP to opt out" must never read as the family opting out.
    The decision waits on `trigger_event_id`, the thread's last message.
    """

    trigger: FlushTrigger
    messages: tuple[BufferedMessage, ...]
    transcript: str
    source_event_ids: tuple[str, ...]
    trigger_event_id: str
    first_at: datetime
    last_at: datetime
    flushed_at: datetime
    age: timedelta


def transcript(messages: tuple[BufferedMessage, ...]) -> str:
    """One labelled line per non-empty message, in thread order.

    Each body is folded onto its own line: a body's second line that looks like a
    label ("Parent reminder: reply STOP") would otherwise be parsed as a new speaker.
    """
    thread = sms_thread([(m.direction, " ".join(m.body.split())) for m in messages])
    return "\n".join(f"{_LABELS[t.role]}: {t.text}" for t in thread.turns)


def due_at(buf: ThreadBuffer, params: WindowParams) -> datetime | None:
    """The earliest time `on_tick` flushes this buffer; None when there is nothing to flush."""
    first, last = buf.first_at, buf.last_at
    if first is None or last is None:
        return None
    return min(last + params.quiet, first + params.max_age)


def on_message(
    buf: ThreadBuffer, msg: BufferedMessage, now: datetime, params: WindowParams
) -> tuple[ThreadBuffer, Flush | None]:
    """Store one message and flush at once if it cannot wait.

    `now` is the message's event time. A family keyword flushes immediately (an
    agent's words never do); so does reaching `max_messages`. The time rules are
    `on_tick`'s: tick with the message's time first, so a thread that went quiet
    before this message is flushed alone rather than merged with it, as a live
    worker's timer would have done. A message already buffered or recently flushed
    changes nothing.
    """
    if msg.message_id in buf.flushed_ids or any(
        m.message_id == msg.message_id for m in buf.messages
    ):
        return buf, None
    buf = buf.model_copy(update={"messages": (*buf.messages, msg)})
    family = (
        urgent_keyword_family(msg.body, params.keywords) if msg.direction == "inbound" else None
    )
    if family is not None:
        return _flush(buf, _KEYWORD_TRIGGERS[family], now)
    if len(buf.messages) >= params.max_messages:
        return _flush(buf, FlushTrigger.MAX_MESSAGES, now)
    return buf, None


def on_tick(
    buf: ThreadBuffer, now: datetime, params: WindowParams
) -> tuple[ThreadBuffer, Flush | None]:
    """Flush a thread that has gone quiet or waited `max_age`, as of `now`.

    `now` is event time in replay and wall time in a live worker's timer; the
    rules are the same. When both windows have passed, the one that closed first
    names the trigger (a tie counts as quiet: the thread had settled).
    """
    first, last = buf.first_at, buf.last_at
    if first is None or last is None:
        return buf, None
    quiet_at, max_age_at = last + params.quiet, first + params.max_age
    if now < min(quiet_at, max_age_at):
        return buf, None
    trigger = FlushTrigger.QUIET if quiet_at <= max_age_at else FlushTrigger.MAX_AGE
    return _flush(buf, trigger, now)


def _flush(buf: ThreadBuffer, trigger: FlushTrigger, now: datetime) -> tuple[ThreadBuffer, Flush]:
    messages = buf.messages
    first, last = min(m.at for m in messages), max(m.at for m in messages)
    flushed_ids = (*buf.flushed_ids, *(m.message_id for m in messages))[-RECENT_FLUSHED_IDS:]
    flush = Flush(
        trigger=trigger,
        messages=messages,
        transcript=transcript(messages),
        source_event_ids=tuple(m.event_id for m in messages),
        trigger_event_id=messages[-1].event_id,
        first_at=first,
        last_at=last,
        flushed_at=now,
        age=now - first,
    )
    return ThreadBuffer(flushed_ids=flushed_ids), flush
