"""Records as the worker and upstream systems put them on the topics, for console tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from stream_app.console.projection import Outcome, Position, project

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def created(lead: str, hours: float = 0, **fields: Any) -> dict[str, Any]:
    return {
        "type": "lead.created",
        "event_id": f"{lead}-created",
        "lead_id": lead,
        "occurred_at": at(hours),
        "parent_name": "Sarah Mitchell",
        "phone": "+15550100",
        **fields,
    }


def nba(lead: str, trigger: str, hours: float, **fields: Any) -> dict[str, Any]:
    """A decision as the lead agent publishes it (every field of the contract)."""
    return {
        "decision_id": f"d-{lead}-{trigger}",
        "lead_id": lead,
        "decided_at": at(hours),
        "trigger_event_id": trigger,
        "action": "warm_follow_up",
        "channel": "voice",
        "rl_state": "new:neutral",
        "q_value": 0.4,
        "score": 1.2,
        "candidates": [
            {"action": "warm_follow_up", "q": 0.4, "visits": 3, "score": 1.2},
            {"action": "info_send", "q": 0.2, "visits": 1, "score": 0.9},
        ],
        "filtered_out": {"stop": "needs 3+ interactions"},
        "override": None,
        "brief": {
            "content_directives": [{"directive": "Ask about the trial", "signal": "new"}],
            "overall_tone": "warm",
            "info_to_prepare": ["schedule"],
            "things_to_avoid": ["pressure"],
            "timing_rationale": "tomorrow morning",
            "message_draft": None,
            "scheduled_for": at(hours + 24),
        },
        "risk_segment": "moderate",
        "urgency": "30d",
        "requires_approval": False,
        "policy_version": "ucb-v1",
        "q_version": 1,
        **fields,
    }


def outcome(lead: str, decision_id: str, kind: str, hours: float, n: int = 1) -> dict[str, Any]:
    return {
        "type": "action.outcome",
        "event_id": f"{lead}-o{n}",
        "lead_id": lead,
        "occurred_at": at(hours),
        "decision_id": decision_id,
        "outcome": kind,
        "operator": "crm",
    }


def transition(
    lead: str, decision_id: str, hours: float, reward: float, after: str
) -> dict[str, Any]:
    return {
        "transition_id": f"t-{decision_id}",
        "lead_id": lead,
        "occurred_at": at(hours),
        "state_before": "new:neutral",
        "action": "warm_follow_up",
        "decision_id": decision_id,
        "reward": reward,
        "state_after": after,
        "cause_event_id": f"{lead}-cause",
    }


def q_update(state: str, action: str, q: float, version: int, td: float = 0.1) -> dict[str, Any]:
    return {
        "state": state,
        "action": action,
        "q_before": q - td,
        "q_after": q,
        "visits": version,
        "td_error": td,
        "transition_id": f"t-{version}",
        "q_version": version,
    }


def read(
    topic: str, value: dict[str, Any] | bytes | None, offset: int, key: str | None = None
) -> Outcome:
    """Project one record as the feed would, keyed by its lead (or its Q entry)."""
    raw = value if isinstance(value, bytes) or value is None else orjson.dumps(value)
    if key is None and isinstance(value, dict):
        key = value.get("lead_id") or f"{value['state']}|{value['action']}"
    return project(Position(topic, 0, offset), key.encode() if key else None, raw, 64 * 1024)
