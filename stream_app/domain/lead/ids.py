"""Deterministic ids: the same inputs always name the same derived event.

A redelivered input therefore re-emits byte-identical outputs under the same ids,
and every consumer can drop the duplicate (effects once, at-least-once input).
"""

from __future__ import annotations

import hashlib
from datetime import datetime


def stable_id(prefix: str, *parts: str) -> str:
    """A short id derived from its parts."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{prefix}-{digest[:24]}"


def decision_id(lead_id: str, trigger_event_id: str) -> str:
    return stable_id("d", lead_id, trigger_event_id)


def rule_trigger_id(lead_id: str, rule: str, due: datetime) -> str:
    """Time rules decide without an event; their trigger id comes from the rule."""
    return stable_id("rule", lead_id, rule, due.isoformat())
