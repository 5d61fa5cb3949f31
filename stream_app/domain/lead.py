"""A lead's state record and how one input event changes it.

This is the walking-skeleton version: profile, interaction count and a simple
first-contact decision. The decision core replaces `_choose` and grows `LeadState`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from stream_app.models import (
    InputEvent,
    InteractionCompleted,
    InteractionOutcome,
    LeadCreated,
    NextBestAction,
)


class Profile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    parent_name: str = ""
    phone: str | None = None
    email: str | None = None
    child_name: str | None = None
    child_age: int | None = None
    campaign_goal: str | None = None
    value_tier: str | None = None
    timezone: str | None = None


class LeadState(BaseModel):
    """Everything the worker remembers about one lead, written back as one value.

    The remembered event ids live in the same value as the state they guard, so
    the dedup marker and the change it marks reach the changelog atomically.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    lead_id: str
    profile: Profile = Profile()
    status: str = "new"
    interaction_count: int = 0
    seen_event_ids: tuple[str, ...] = ()
    last_decision: NextBestAction | None = None


@dataclass(frozen=True, slots=True)
class Params:
    policy_version: str = "ucb-v1"
    remembered_event_ids: int = 256


@dataclass(frozen=True, slots=True)
class Effects:
    decisions: list[NextBestAction] = field(default_factory=list)


def decision_id(lead_id: str, trigger_event_id: str) -> str:
    """Deterministic, so a redelivered trigger yields the same id downstream."""
    digest = hashlib.sha256(f"{lead_id}\x1f{trigger_event_id}".encode()).hexdigest()
    return f"d-{digest[:24]}"


def apply_event(
    state: LeadState | None, event: InputEvent, params: Params
) -> tuple[LeadState, Effects]:
    """Apply one input event; a redelivered event changes nothing and emits nothing."""
    current = state or LeadState(lead_id=event.lead_id)
    if event.event_id in current.seen_event_ids:
        return current, Effects()
    seen = (*current.seen_event_ids, event.event_id)[-params.remembered_event_ids :]
    updated = current.model_copy(update={"seen_event_ids": seen})
    if isinstance(event, LeadCreated):
        profile = Profile(**event.model_dump(include=set(Profile.model_fields)))
        updated = updated.model_copy(update={"profile": profile})
    elif isinstance(event, InteractionCompleted):
        status = updated.status
        if event.outcome is InteractionOutcome.COMPLETED and status == "new":
            status = "contacted"
        updated = updated.model_copy(
            update={"interaction_count": updated.interaction_count + 1, "status": status}
        )
    else:
        return updated, Effects()
    decision = _choose(updated, event, params)
    return updated.model_copy(update={"last_decision": decision}), Effects([decision])


def _choose(state: LeadState, event: InputEvent, params: Params) -> NextBestAction:
    action, channel = ("warm_follow_up", "voice")
    unreached = isinstance(event, InteractionCompleted) and (
        event.outcome is not InteractionOutcome.COMPLETED
    )
    if unreached:
        action, channel = ("gentle_nudge", "sms")
    return NextBestAction(
        decision_id=decision_id(state.lead_id, event.event_id),
        lead_id=state.lead_id,
        decided_at=event.occurred_at,
        trigger_event_id=event.event_id,
        action=action,
        channel=channel,
        rl_state=f"{state.status}:neutral",
        q_value=0.0,
        score=0.0,
        candidates=(),
        filtered_out={},
        override=None,
        brief={},
        risk_segment="on_track",
        urgency="none",
        requires_approval=False,
        policy_version=params.policy_version,
        q_version=0,
    )
