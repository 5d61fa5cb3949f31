"""Work handed to the extractor: requested by the lead, owned by it until done.

The lead remembers each request with a deadline, so a result lost in a crash or
by a concurrent extractor never leaves it waiting: past the deadline it decides
without the extraction.
"""

from __future__ import annotations

from datetime import datetime

from stream_app.domain.context import LeadContext, with_extraction
from stream_app.domain.extraction.evidence import signal_quotes
from stream_app.domain.extraction.keywords import is_opt_out
from stream_app.domain.extraction.model import Extraction, ExtractionStatus
from stream_app.domain.lead.decide import decide
from stream_app.domain.lead.effects import Effects
from stream_app.domain.lead.ids import stable_id
from stream_app.domain.lead.policy import Params, Policy
from stream_app.domain.lead.state import LeadState, PendingExtraction, moved_to
from stream_app.domain.lifecycle import CLOSED, ContactChannel, on_intent, on_opt_out
from stream_app.domain.messages import ExtractionRequest, ExtractionResult
from stream_app.domain.sms_window import Flush


def request_extraction(
    lead: LeadState,
    *,
    trigger_event_id: str,
    trigger_at: datetime,
    channel: ContactChannel,
    transcript: str,
    sources: tuple[str, ...],
    credit: str | None,
    params: Params,
    now: datetime,
) -> tuple[LeadState, Effects]:
    """Hand a conversation to the extractor; the decision waits for its result."""
    extraction_id = stable_id("x", lead.lead_id, trigger_event_id)
    pending = PendingExtraction(
        extraction_id=extraction_id,
        trigger_event_id=trigger_event_id,
        trigger_at=trigger_at,
        deadline=now + params.extraction_deadline,
        credit_decision_id=credit,
    )
    request = ExtractionRequest(
        extraction_id=extraction_id,
        lead_id=lead.lead_id,
        requested_at=trigger_at,
        channel=channel,
        transcript=transcript,
        source_event_ids=sources,
    )
    lead = lead.model_copy(update={"pending": (*lead.pending, pending)})
    return lead, Effects(extraction_requests=[request])


def flushed(
    lead: LeadState, flush: Flush, params: Params, now: datetime
) -> tuple[LeadState, Effects]:
    """Hand a flushed SMS thread to the extractor (one request for the whole thread)."""
    effects = Effects(sms_flushes=[flush])
    if lead.status in CLOSED or not flush.transcript.strip():
        return lead, effects
    keywords = params.sms.keywords
    if any(m.direction == "inbound" and is_opt_out(m.body, keywords) for m in flush.messages):
        return lead, effects  # the opt-out decided already; nothing left to read for
    lead, more = request_extraction(
        lead,
        trigger_event_id=flush.trigger_event_id,
        trigger_at=flush.last_at,
        channel=ContactChannel.SMS,
        transcript=flush.transcript,
        sources=flush.source_event_ids,
        credit=None,
        params=params,
        now=now,
    )
    return lead, effects.extend(more)


def handle_extraction(
    state: LeadState | None, result: ExtractionResult, policy: Policy, params: Params
) -> tuple[LeadState, Effects]:
    """Fold an extraction into the lead and make the decision its trigger was waiting for.

    A result nobody is waiting for (a duplicate, or one that arrived after the
    deadline already decided) changes nothing.
    """
    if state is None:
        return LeadState(lead_id=result.lead_id), Effects()
    pending = next((p for p in state.pending if p.extraction_id == result.extraction_id), None)
    if pending is None:
        return state, Effects()
    remaining = tuple(p for p in state.pending if p is not pending)
    lead = state.model_copy(update={"pending": remaining})
    extraction = result.extraction
    if extraction.status == ExtractionStatus.OK:
        ctx = with_extraction(lead.context, extraction, params.limits)
        ctx = with_evidence(ctx, extraction, result.extraction_id, params.limits.signals * 2)
        lead = lead.model_copy(update={"context": ctx})
        status = (
            on_opt_out(lead.status)
            if extraction.opt_out
            else on_intent(lead.status, extraction.intent)
        )
        lead = moved_to(lead, status, pending.trigger_at)
    return decide(
        lead,
        pending.trigger_event_id,
        pending.trigger_at,
        pending.credit_decision_id,
        policy,
        params,
    )


_LATEST_ONLY = ("intent", "sentiment", "financial")
"""Signals the latest extraction sets outright: its quote (or its silence) replaces."""


def with_evidence(
    ctx: LeadContext, extraction: Extraction, extraction_id: str, cap: int
) -> LeadContext:
    """The context with this extraction's quotes: one per signal, the newest kept.

    Signals that accumulate (objections, additional signals, family, scheduling)
    keep an older quote until a newer one for the same signal replaces it or the
    cap pushes it out; intent, tone and concern are the latest extraction's, so an
    older quote for them is dropped even when the new extraction has none.
    """
    new = signal_quotes(extraction, extraction_id)
    kept = [q for q in ctx.evidence if q.signal not in _LATEST_ONLY]
    merged = {q.signal: q for q in kept}
    for q in new:
        merged.pop(q.signal, None)
        merged[q.signal] = q
    return ctx.model_copy(update={"evidence": tuple(merged.values())[-cap:]})


def overdue_extractions(state: LeadState, now: datetime) -> list[PendingExtraction]:
    """Pending work whose deadline passed: the lead decides without it."""
    return [p for p in state.pending if p.deadline <= now]


def deadline_result(lead_id: str, pending: PendingExtraction, now: datetime) -> ExtractionResult:
    """The failed result the lead decides with once a request's deadline passed."""
    return ExtractionResult(
        extraction_id=pending.extraction_id,
        lead_id=lead_id,
        extracted_at=now,
        source_event_ids=(pending.trigger_event_id,),
        extraction=Extraction.failed("deadline", "no extraction before the deadline"),
    )
