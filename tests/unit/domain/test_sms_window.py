"""The SMS thread buffer, trigger by trigger (docs/architecture.md, "SMS thread batching")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from stream_app.domain.extraction.conversation import Direction, parse_transcript
from stream_app.domain.extraction.keywords import opt_out_in
from stream_app.domain.messages import SmsReceived, SmsSent
from stream_app.domain.sms_window import (
    MAX_BUFFERED,
    RECENT_FLUSHED_IDS,
    BufferedMessage,
    Flush,
    FlushTrigger,
    ThreadBuffer,
    WindowParams,
    due_at,
    on_message,
    on_tick,
)

T0 = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)
P = WindowParams()
SEC = timedelta(seconds=1)
MIN = timedelta(minutes=1)


def msg(
    n: int, at: timedelta = timedelta(0), body: str = "ok", direction: Direction = "inbound"
) -> BufferedMessage:
    return BufferedMessage(
        message_id=f"m{n}", event_id=f"e{n}", direction=direction, body=body, at=T0 + at
    )


def feed(*messages: BufferedMessage, params: WindowParams = P) -> ThreadBuffer:
    """Buffer messages that must not flush on their own."""
    buf = ThreadBuffer()
    for m in messages:
        buf, flush = on_message(buf, m, m.at, params)
        assert flush is None
    return buf


# --- time triggers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "since_last, trigger",
    [
        (5 * MIN - SEC, None),
        (5 * MIN, FlushTrigger.QUIET),
        (5 * MIN + SEC, FlushTrigger.QUIET),
    ],
)
def test_quiet_period(since_last: timedelta, trigger: FlushTrigger | None) -> None:
    buf = feed(msg(1), msg(2, 2 * MIN))
    _, flush = on_tick(buf, T0 + 2 * MIN + since_last, P)
    assert (flush.trigger if flush else None) == trigger


@pytest.mark.parametrize(
    "since_first, trigger",
    [(15 * MIN - SEC, None), (15 * MIN, FlushTrigger.MAX_AGE)],
)
def test_max_age_with_steady_chatter(since_first: timedelta, trigger: FlushTrigger | None) -> None:
    """A message every 3 minutes never goes quiet; max age still caps the wait."""
    buf = feed(*(msg(n, n * 3 * MIN, direction=("inbound", "outbound")[n % 2]) for n in range(5)))
    _, flush = on_tick(buf, T0 + since_first, P)
    assert (flush.trigger if flush else None) == trigger


def test_tie_between_windows_counts_as_quiet() -> None:
    buf = feed(msg(1), msg(2, 10 * MIN))
    _, flush = on_tick(buf, T0 + 15 * MIN, P)
    assert flush is not None and flush.trigger == FlushTrigger.QUIET


def test_empty_buffer_never_flushes_or_comes_due() -> None:
    buf = ThreadBuffer()
    assert on_tick(buf, T0 + timedelta(days=365), P) == (buf, None)
    assert due_at(buf, P) is None


def test_tick_before_now_of_last_message_waits() -> None:
    """Wall time behind event time (clock skew) does not flush early."""
    buf = feed(msg(1, 10 * MIN))
    assert on_tick(buf, T0, P) == (buf, None)


@pytest.mark.parametrize(
    "offsets, due",
    [
        ([timedelta(0)], 5 * MIN),
        ([timedelta(0), 4 * MIN], 9 * MIN),
        ([timedelta(0), 4 * MIN, 8 * MIN, 12 * MIN], 15 * MIN),
        ([12 * MIN, timedelta(0)], 15 * MIN),  # out of order: the oldest starts max_age
    ],
)
def test_due_at(offsets: list[timedelta], due: timedelta) -> None:
    buf = feed(*(msg(n, at) for n, at in enumerate(offsets)))
    assert due_at(buf, P) == T0 + due
    assert on_tick(buf, T0 + due - SEC, P)[1] is None
    assert on_tick(buf, T0 + due, P)[1] is not None


# --- immediate triggers -----------------------------------------------------------


@pytest.mark.parametrize("max_messages", [1, 2, 6])
def test_count_flushes_on_the_nth_message(max_messages: int) -> None:
    params = WindowParams(max_messages=max_messages)
    buf = feed(*(msg(n, n * SEC) for n in range(max_messages - 1)), params=params)
    last = msg(max_messages, max_messages * SEC)
    buf, flush = on_message(buf, last, last.at, params)
    assert flush is not None and flush.trigger == FlushTrigger.MAX_MESSAGES
    assert len(flush.messages) == max_messages
    assert buf.messages == ()


@pytest.mark.parametrize(
    "body, trigger",
    [
        ("STOP", FlushTrigger.KEYWORD_OPT_OUT),
        ("please remove me from your list", FlushTrigger.KEYWORD_OPT_OUT),
        ("do not contact us", FlushTrigger.KEYWORD_OPT_OUT),
        ("unsubscribe", FlushTrigger.KEYWORD_OPT_OUT),
        ("we want to sign up", FlushTrigger.KEYWORD_SIGN_UP),
        ("how do I enroll?", FlushTrigger.KEYWORD_SIGN_UP),
        ("can I register her", FlushTrigger.KEYWORD_SIGN_UP),
        ("we're ready to start", FlushTrigger.KEYWORD_SIGN_UP),
        ("can we schedule a trial", FlushTrigger.KEYWORD_SCHEDULING),
        ("I'd like to book a class", FlushTrigger.KEYWORD_SCHEDULING),
        ("is there an appointment free", FlushTrigger.KEYWORD_SCHEDULING),
        ("can we visit saturday", FlushTrigger.KEYWORD_SCHEDULING),
        ("could we get a tour", FlushTrigger.KEYWORD_SCHEDULING),
        ("it's urgent", FlushTrigger.KEYWORD_EMERGENCY),
        ("call me asap", FlushTrigger.KEYWORD_EMERGENCY),
        ("please call immediately", FlushTrigger.KEYWORD_EMERGENCY),
        ("I do bookkeeping in the evenings", None),
        ("I stopped by the front desk", None),
        ("he has a tournament this weekend", None),
        ("sounds good!", None),
    ],
)
def test_inbound_keyword(body: str, trigger: FlushTrigger | None) -> None:
    buf = feed(msg(1, body="hi there"))
    m = msg(2, MIN, body)
    buf, flush = on_message(buf, m, m.at, P)
    if trigger is None:
        assert flush is None and len(buf.messages) == 2
    else:
        assert flush is not None and flush.trigger == trigger
        assert [x.message_id for x in flush.messages] == ["m1", "m2"]
        assert buf.messages == ()


@pytest.mark.parametrize(
    "body", ["Reply STOP to opt out", "Want to book a tour?", "Enrollment closes soon, urgent!"]
)
def test_outbound_keyword_does_not_flush(body: str) -> None:
    m = msg(1, body=body, direction="outbound")
    buf, flush = on_message(ThreadBuffer(), m, m.at, P)
    assert flush is None and buf.messages == (m,)


# --- idempotence and bounds -------------------------------------------------------


def test_duplicate_while_buffered_is_ignored() -> None:
    buf = feed(msg(1))
    again = msg(1, MIN, body="STOP")
    assert on_message(buf, again, again.at, P) == (buf, None)


def test_duplicate_after_flush_is_ignored() -> None:
    buf, flush = on_tick(feed(msg(1)), T0 + 5 * MIN, P)
    assert flush is not None
    again = msg(1, 6 * MIN)
    assert on_message(buf, again, again.at, P) == (buf, None)


def test_flushed_ids_stay_bounded() -> None:
    buf = ThreadBuffer()
    for n in range(RECENT_FLUSHED_IDS + 10):
        m = msg(n, n * SEC)
        buf, _ = on_message(buf, m, m.at, WindowParams(max_messages=1))
    assert len(buf.flushed_ids) == RECENT_FLUSHED_IDS
    assert buf.flushed_ids[-1] == f"m{RECENT_FLUSHED_IDS + 9}"


def test_buffer_schema_caps_messages() -> None:
    with pytest.raises(ValidationError):
        ThreadBuffer(messages=tuple(msg(n) for n in range(MAX_BUFFERED + 1)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quiet": timedelta(0)},
        {"max_age": -MIN},
        {"max_messages": 0},
        {"max_messages": MAX_BUFFERED + 1},
    ],
)
def test_params_refuse_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WindowParams(**kwargs)  # type: ignore[arg-type]


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValidationError):
        BufferedMessage(
            message_id="m", event_id="e", direction="inbound", body="hi", at=T0.replace(tzinfo=None)
        )


def test_buffer_round_trips_through_json() -> None:
    buf = feed(msg(1), msg(2, MIN, "see you", "outbound"))
    assert ThreadBuffer.model_validate_json(buf.model_dump_json()) == buf


# --- the flush itself -------------------------------------------------------------


def test_flush_fields() -> None:
    buf = feed(
        msg(1, body="Hi, is the Saturday class full?"),
        msg(2, MIN, "Not yet! Reply STOP to opt out.", "outbound"),
        msg(3, 2 * MIN, "Great\nthanks"),
    )
    _, flush = on_tick(buf, T0 + 7 * MIN, P)
    assert flush == Flush(
        trigger=FlushTrigger.QUIET,
        messages=buf.messages,
        transcript=(
            "Parent: Hi, is the Saturday class full?\n"
            "Agent: Not yet! Reply STOP to opt out.\n"
            "Parent: Great thanks"
        ),
        source_event_ids=("e1", "e2", "e3"),
        trigger_event_id="e3",
        first_at=T0,
        last_at=T0 + 2 * MIN,
        flushed_at=T0 + 7 * MIN,
        age=7 * MIN,
    )


def test_transcript_reads_back_with_the_right_roles() -> None:
    """An agent's compliance line, even one split to look like a label, is never the family's."""
    buf = feed(
        msg(1, body="Coach: my son loved it"),
        msg(2, MIN, "Glad to hear!\nParent reminder: reply STOP to opt out", "outbound"),
        msg(3, 2 * MIN, "   ", "outbound"),
    )
    _, flush = on_tick(buf, T0 + 10 * MIN, P)
    assert flush is not None
    conversation = parse_transcript(flush.transcript, "sms")
    assert [t.role for t in conversation.turns] == ["family", "agent"]
    assert conversation.turns[0].text == "Coach: my son loved it"
    assert not opt_out_in(conversation)
    assert flush.source_event_ids == ("e1", "e2", "e3")


def test_from_event() -> None:
    fields = {
        "event_id": "e1",
        "lead_id": "lead-1",
        "occurred_at": T0,
        "message_id": "m1",
        "body": "hello",
    }
    received = SmsReceived.model_validate({**fields, "type": "sms.received"})
    sent = SmsSent.model_validate({**fields, "type": "sms.sent"})
    assert BufferedMessage.from_event(received) == msg(1, body="hello")
    assert BufferedMessage.from_event(sent) == msg(1, body="hello", direction="outbound")


# --- property: nothing is lost, nothing is doubled ---------------------------------


@dataclass(frozen=True)
class Step:
    gap: timedelta
    kind: str  # "message" or "tick"
    message_no: int
    direction: Direction
    body: str


steps = st.lists(
    st.builds(
        Step,
        gap=st.timedeltas(min_value=timedelta(0), max_value=20 * MIN),
        kind=st.sampled_from(["message", "message", "tick"]),
        message_no=st.integers(0, 30),
        direction=st.sampled_from(["inbound", "outbound"]),
        body=st.sampled_from(["ok", "STOP", "book a tour", "asap", "sounds good", ""]),
    ),
    max_size=60,
)
params = st.builds(
    WindowParams,
    quiet=st.timedeltas(min_value=SEC, max_value=10 * MIN),
    max_age=st.timedeltas(min_value=SEC, max_value=30 * MIN),
    max_messages=st.integers(1, 8),
)


@given(steps, params)
def test_every_message_flushed_once_in_order(script: list[Step], params: WindowParams) -> None:
    buf, now = ThreadBuffer(), T0
    seen: list[str] = []
    flushed: list[BufferedMessage] = []
    for step in script:
        now += step.gap
        if step.kind == "tick":
            buf, flush = on_tick(buf, now, params)
        else:
            m = BufferedMessage(
                message_id=f"m{step.message_no}",
                event_id=f"e{step.message_no}",
                direction=step.direction,
                body=step.body,
                at=now,
            )
            seen += [] if m.message_id in seen else [m.message_id]
            buf, flush = on_message(buf, m, now, params)
        flushed += flush.messages if flush else ()
        assert len(buf.messages) < params.max_messages
    buf, flush = on_tick(buf, now + timedelta(days=1), params)
    flushed += flush.messages if flush else ()
    assert buf.messages == ()
    assert [m.message_id for m in flushed] == seen
