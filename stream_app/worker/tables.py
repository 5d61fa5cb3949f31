"""Changelogged state: one value per lead, one per learned Q-table entry."""

from __future__ import annotations

from typing import Any

import faust

from stream_app.config.settings import Settings
from stream_app.domain.lead import LeadState


def lead_table(app: faust.App, settings: Settings) -> Any:
    """lead_id -> LeadState JSON; co-partitioned with every lead-keyed topic."""
    return app.Table(
        "leads", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_table(app: faust.App, settings: Settings) -> Any:
    """ "voice:p<N>" -> that partition's voice budget; written only from partition N."""
    return app.Table(
        "budgets", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_key(partition: int) -> str:
    """The budgets-table key of a partition's voice budget (written only from it)."""
    return f"voice:p{partition}"


def learner_table(app: faust.App) -> Any:
    """ "state|action" -> learned entry JSON; one partition, like lead-transitions."""
    return app.Table("q-learner", default=None, partitions=1, key_type=str, value_type=bytes)


def load_lead(leads: Any, lead_id: str) -> LeadState | None:
    """The stored state of a lead this worker owns, or None for a lead never seen."""
    raw = leads.get(lead_id)
    return LeadState.model_validate_json(raw) if raw else None
