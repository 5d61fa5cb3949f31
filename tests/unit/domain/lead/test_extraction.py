"""Work handed to the extractor: the request, the pending record that owns it, and the
flush of an SMS thread. The lead must never wait forever, nor extract what decided."""

from __future__ import annotations

from datetime import timedelta

import pytest

from stream_app.domain.lead import LeadState, stable_id
from stream_app.domain.lead.extraction import flushed, request_extraction
from stream_app.domain.lifecycle import ContactChannel, Status
from stream_app.domain.sms_window import BufferedMessage, Flush, ThreadBuffer, on_message, on_tick
from tests.unit.domain.lead.helpers import NOW, PARAMS, T0


def test_a_request_is_owned_by_the_lead_with_a_deadline_and_decides_nothing() -> None:
    lead = LeadState(lead_id="L1")
    after, effects = request_extraction(
        lead,
        trigger_event_id="e7",
        trigger_at=T0,
        channel=ContactChannel.VOICE,
        transcript="Parent: yes",
        sources=("e6", "e7"),
        credit="d-1",
        params=PARAMS,
        now=NOW,
    )
    [pending] = after.pending
    [request] = effects.extraction_requests
    assert pending.extraction_id == request.extraction_id == stable_id("x", "L1", "e7")
    assert (pending.trigger_event_id, pending.trigger_at) == ("e7", T0)
    assert (pending.deadline, pending.credit_decision_id) == (
        NOW + PARAMS.extraction_deadline,
        "d-1",
    )
    assert (request.requested_at, request.source_event_ids) == (T0, ("e6", "e7"))
    assert not effects.decisions and after.decisions == lead.decisions


def _flush(*messages: tuple[str, str]) -> Flush:
    """The flush of a thread of (direction, body) messages, a minute apart."""
    buffer, flush = ThreadBuffer(), None
    for i, (direction, body) in enumerate(messages):
        at = T0 + timedelta(minutes=i)
        message = BufferedMessage(
            message_id=f"m{i}", event_id=f"e{i}", direction=direction, body=body, at=at
        )
        buffer, flush = on_message(buffer, message, at, PARAMS.sms)
    if flush is None:
        _, flush = on_tick(buffer, T0 + timedelta(days=1), PARAMS.sms)
    assert flush is not None
    return flush


ASKS = (("inbound", "Hi, got your message"), ("inbound", "what ages do you take?"))


@pytest.mark.parametrize(
    "status, messages, requests",
    [
        (Status.CONTACTED, ASKS, True),
        (Status.CONTACTED, (("outbound", "Reply STOP to opt out"), *ASKS), True),
        (Status.DECLINED, ASKS, False),  # closed: nothing left to decide
        (Status.OPTED_OUT, ASKS, False),
        (Status.CONTACTED, (*ASKS, ("inbound", "STOP")), False),  # the opt-out decided
        (Status.CONTACTED, (("inbound", "   "),), False),  # nothing to read
    ],
    ids=["open", "agent says stop", "declined", "opted out", "family opts out", "blank"],
)
def test_a_flushed_thread_is_extracted_once_unless_there_is_nothing_to_decide(
    status: Status, messages: tuple[tuple[str, str], ...], requests: bool
) -> None:
    flush = _flush(*messages)
    lead = LeadState(lead_id="L1", status=status)
    after, effects = flushed(lead, flush, PARAMS, NOW)
    assert effects.sms_flushes == [flush]  # counted whatever happens next
    if not requests:
        assert not effects.extraction_requests and after == lead
        return
    [request] = effects.extraction_requests
    [pending] = after.pending
    assert (request.transcript, request.source_event_ids) == (
        flush.transcript,
        flush.source_event_ids,
    )
    assert request.channel == ContactChannel.SMS
    assert (pending.trigger_event_id, pending.trigger_at) == (flush.trigger_event_id, flush.last_at)
    assert pending.deadline == NOW + PARAMS.extraction_deadline
