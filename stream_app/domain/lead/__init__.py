"""The lead: its state record and the one pure step that applies every record to it.

`step.apply` is the whole per-lead rule book: state in, (new state, effects) out.
Effects carry deterministic ids, so a redelivered input produces either nothing
(its event id is remembered) or byte-identical outputs.
"""

from stream_app.domain.lead.effects import Effects, StatusMove
from stream_app.domain.lead.events import handle_event
from stream_app.domain.lead.extraction import (
    deadline_result,
    handle_extraction,
    overdue_extractions,
)
from stream_app.domain.lead.ids import decision_id, rule_trigger_id, stable_id
from stream_app.domain.lead.policy import FROZEN_PRIORS, Arm, Chooser, Params, Policy, arm
from stream_app.domain.lead.state import LeadState
from stream_app.domain.lead.step import LeadRecord, Tick, apply
from stream_app.domain.lead.timers import (
    StreamClock,
    TimerIndex,
    handle_tick,
    next_deadline,
    next_due,
)
from stream_app.domain.profile import Profile

__all__ = [
    "FROZEN_PRIORS",
    "Arm",
    "Chooser",
    "Effects",
    "LeadRecord",
    "LeadState",
    "Params",
    "Policy",
    "Profile",
    "StatusMove",
    "StreamClock",
    "Tick",
    "TimerIndex",
    "apply",
    "arm",
    "deadline_result",
    "decision_id",
    "handle_event",
    "handle_extraction",
    "handle_tick",
    "next_deadline",
    "next_due",
    "overdue_extractions",
    "rule_trigger_id",
    "stable_id",
]
