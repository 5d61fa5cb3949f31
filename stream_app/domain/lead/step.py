"""The one lead step: every record a lead's partition carries, applied by one function.

The lead agent, offline replay, the simulator and the benchmarks all call
`apply`, so a rule changed here changes every one of them alike. Input is
at-least-once: a redelivered record changes nothing (event ids are remembered,
results nobody waits for are ignored, rules that already fired are gone, an
erased lead has nothing left to erase).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from stream_app.domain.lead.effects import Effects
from stream_app.domain.lead.events import handle_event
from stream_app.domain.lead.extraction import handle_extraction
from stream_app.domain.lead.policy import Params, Policy
from stream_app.domain.lead.state import LeadState
from stream_app.domain.lead.timers import handle_tick
from stream_app.domain.messages import ExtractionResult, InputEvent


@dataclass(frozen=True, slots=True)
class Tick:
    """Run the lead's time rules due by stream time `now` (no event of its own)."""

    lead_id: str
    now: datetime


LeadRecord = InputEvent | ExtractionResult | Tick
"""What a lead's partition carries: input events, extraction results, timer ticks."""


def apply(
    state: LeadState | None,
    record: LeadRecord,
    policy: Policy,
    params: Params,
    clock: datetime,
) -> tuple[LeadState | None, Effects]:
    """The lead after `record`, and what to publish, store and count.

    `clock` is processing (wall) time: it dates the deadline of work handed to
    the extractor and decides which deadlines have passed. Every business rule
    runs on event time (the event's `occurred_at`, or the tick's stream time).
    None means the lead does not exist and nothing is to be written; with
    `effects.erased` it means the stored lead must be deleted (`events.erase`).
    """
    if isinstance(record, Tick):
        return handle_tick(state, record.now, clock, policy, params)
    if isinstance(record, ExtractionResult):
        if state is None:
            # Nobody waits for it: the lead was erased while its extraction ran (a
            # result never precedes its request). Writing a blank lead here would
            # bring an erased lead id back.
            return None, Effects()
        return handle_extraction(state, record, policy, params)
    return handle_event(state, record, policy, params, clock)
