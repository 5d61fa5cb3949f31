"""Shared by the lead step's tests: a lead fed event by event, and the seed knobs.

The tests drive real `LeadState`s through the rule book instead of building their
internals by hand, so a state that a test relies on is one the step can produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from stream_app.domain.actions import Action
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    handle_event,
    handle_extraction,
)
from stream_app.domain.messages import ExtractionRequest, ExtractionResult, InputEvent
from stream_app.domain.qlearning import seeded_priors
from stream_app.wire.models import INPUT_EVENT

T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)  # processing time, unrelated to event time
POLICY = Policy(seeded_priors(), 7)
PARAMS = Params()

CALL = "Agent: Hi Sarah!\nParent: Yes we're really interested, when can Jake start?"
"""A completed call the extractor must read before the lead decides."""


class Lead:
    """Feeds events to the rule book and keeps the state between them.

    Each event comes `gap` after the previous one (event time); `now` passed to
    `send` is processing time, which only dates extraction deadlines.
    """

    def __init__(
        self, lead_id: str = "L1", policy: Policy = POLICY, params: Params = PARAMS
    ) -> None:
        self.lead_id = lead_id
        self.policy = policy
        self.params = params
        self.state: LeadState | None = None
        self.n = 0
        self.clock = T0

    def event(
        self, type_: str, gap: timedelta = timedelta(hours=5), /, **fields: Any
    ) -> InputEvent:
        self.n += 1
        self.clock += gap
        return INPUT_EVENT.validate_python(
            {
                "type": type_,
                "event_id": f"{self.lead_id}-e{self.n}",
                "lead_id": self.lead_id,
                "occurred_at": self.clock.isoformat(),
                **fields,
            }
        )

    def send(self, event: InputEvent, now: datetime = NOW) -> Effects:
        self.state, effects = handle_event(self.state, event, self.policy, self.params, now)
        return effects

    def created(self, **fields: Any) -> Effects:
        defaults = {"parent_name": "Sarah Mitchell", "child_name": "Jake", "phone": "+15550100"}
        return self.send(self.event("lead.created", **{**defaults, **fields}))

    def call_event(
        self, outcome: str = "completed", transcript: str | None = None, **f: Any
    ) -> InputEvent:
        """An outbound voice call, not yet sent (tests that apply it themselves)."""
        fields = {"interaction_id": f"i{self.n}", "channel": "voice", "direction": "outbound"}
        if transcript is not None:
            fields["transcript"] = transcript
        return self.event("interaction.completed", outcome=outcome, **fields, **f)

    def call(self, outcome: str = "completed", transcript: str | None = None, **f: Any) -> Effects:
        return self.send(self.call_event(outcome, transcript, **f))

    def extracted(self, effects: Effects, extraction: Extraction) -> Effects:
        [request] = effects.extraction_requests
        self.state, out = handle_extraction(
            self.state, result_for(request, extraction), self.policy, self.params
        )
        return out

    def to_at_risk(self) -> None:
        """Enrol, attend once, then miss twice: at_risk with the decay clock running."""
        for type_, fields in [
            ("lead.milestone", {"milestone": "enrolled"}),
            ("attendance.recorded", {"session_id": "s1", "status": "attended"}),
            ("attendance.recorded", {"session_id": "s2", "status": "missed"}),
            ("attendance.recorded", {"session_id": "s3", "status": "missed"}),
        ]:
            self.send(self.event(type_, **fields))


class Always:
    """A chooser (`Policy.rng`) that always picks `action`, and checks it was allowed."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def choice(self, seq: Sequence[Action]) -> Action:
        assert self.action in seq
        return self.action


def result_for(
    request: ExtractionRequest, extraction: Extraction, at: datetime = NOW
) -> ExtractionResult:
    """The extractor's answer to `request`."""
    return ExtractionResult(
        extraction_id=request.extraction_id,
        lead_id=request.lead_id,
        extracted_at=at,
        source_event_ids=request.source_event_ids,
        extraction=extraction,
    )
