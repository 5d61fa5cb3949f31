"""Changelogged state: one value per lead, one per learned Q-table entry."""

from __future__ import annotations

import logging
from typing import Any

import faust

from stream_app.config.settings import Settings
from stream_app.domain.lead import LeadState
from stream_app.domain.lead.state import read_state

log = logging.getLogger(__name__)


def lead_table(app: faust.App, settings: Settings) -> Any:
    """lead_id -> LeadState JSON; co-partitioned with every lead-keyed topic."""
    return app.Table(
        "leads", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_table(app: faust.App, settings: Settings) -> Any:
    """ "voice-calendar:p<N>" -> that partition's voice calendar; written only from partition N."""
    return app.Table(
        "budgets", default=None, partitions=settings.partitions, key_type=str, value_type=bytes
    )


def budget_key(partition: int) -> str:
    """The budgets-table key of a partition's voice calendar (written only from it).

    A new key, not the old `voice:p<N>`: records under the old key hold the old
    single-hour budget (`{hour_start, used}`), which must never be read as a
    calendar. The old key is no longer read (its records stay in the changelog,
    harmless); a partition's calendar starts empty on the first deploy.
    """
    return f"voice-calendar:p{partition}"


def learner_table(app: faust.App) -> Any:
    """ "state|action" -> learned entry JSON; one partition, like lead-transitions."""
    return app.Table("q-learner", default=None, partitions=1, key_type=str, value_type=bytes)


def load_lead(leads: Any, lead_id: str) -> LeadState | None:
    """The stored state of a lead this worker owns, or None for a lead never seen.

    Read with `read_state`: migrated from an older release's version, and readable
    when a newer release wrote it (its unknown fields ignored, which is noted once
    per version and process: during a rolling update or after a rollback).
    """
    raw = leads.get(lead_id)
    return read_lead(raw) if raw else None


def read_lead(raw: bytes) -> LeadState:
    """A `leads` table value as a state; what `load_lead` and the sweep's re-index read."""
    return read_state(raw, on_newer=_note_newer)


_newer_seen: set[int] = set()


def _note_newer(version: int) -> None:
    """Log, once per version, that a newer release's states are read (no lead, no values)."""
    if version not in _newer_seen:
        _newer_seen.add(version)
        log.warning(
            "reading lead states of schema version %d with version %d: fields this "
            "release does not know are ignored and dropped when the lead is written",
            version,
            LeadState.SCHEMA_VERSION,
        )
