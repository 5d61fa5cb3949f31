"""The read model: SQLite (standard library, WAL), written only by the feed.

Every table is keyed by the deterministic id its records carry (`event_id`,
`decision_id`, `transition_id`, ...), and every write is `INSERT OR IGNORE` or an
upsert that keeps the newer value, so a redelivered record changes nothing and
records of different topics may arrive in any order: pages join them when they read.
A `lead.erased` deletes the lead's personal rows and leaves a marker, so an older
record of that lead read later (another topic's backlog, a redelivery) stays out.

One writer (the feed) and many readers (the web views) share the file; WAL lets the
readers go on while a batch is written. A batch of records and the positions it
reached commit in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stream_app.console.projection import Outcome, Position, Projected, Skipped, Tombstone
from stream_app.domain.messages import (
    ActionOutcome,
    ExtractionResult,
    LeadErased,
    LeadTransition,
    NextBestAction,
    Reminder,
)
from stream_app.wire.models import OperatorReminder, QUpdate

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition));
CREATE TABLE IF NOT EXISTS skipped (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    error_type TEXT NOT NULL, PRIMARY KEY (topic, partition, offset));
CREATE TABLE IF NOT EXISTS erasures (lead_id TEXT PRIMARY KEY, erased_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    lead_id TEXT NOT NULL, event_id TEXT NOT NULL, topic TEXT NOT NULL, type TEXT NOT NULL,
    occurred_at TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (lead_id, event_id));
CREATE INDEX IF NOT EXISTS events_by_lead ON events (lead_id, occurred_at);
CREATE TABLE IF NOT EXISTS outcomes (
    lead_id TEXT NOT NULL, event_id TEXT NOT NULL, decision_id TEXT NOT NULL,
    outcome TEXT NOT NULL, reason TEXT, operator TEXT, occurred_at TEXT NOT NULL,
    PRIMARY KEY (lead_id, event_id));
CREATE INDEX IF NOT EXISTS outcomes_by_decision ON outcomes (decision_id);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id TEXT PRIMARY KEY, lead_id TEXT NOT NULL, decided_at TEXT NOT NULL,
    partition INTEGER NOT NULL, offset INTEGER NOT NULL, action TEXT NOT NULL,
    channel TEXT NOT NULL, rl_state TEXT NOT NULL, risk_segment TEXT NOT NULL,
    urgency TEXT NOT NULL, requires_approval INTEGER NOT NULL, override TEXT,
    arm TEXT NOT NULL, scheduled_for TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS decisions_by_lead ON decisions (lead_id, offset);
CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (decided_at);
CREATE TABLE IF NOT EXISTS current (
    lead_id TEXT PRIMARY KEY, decision_id TEXT NOT NULL, partition INTEGER NOT NULL,
    offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transitions (
    transition_id TEXT PRIMARY KEY, lead_id TEXT NOT NULL, decision_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL, state_before TEXT NOT NULL, action TEXT NOT NULL,
    reward REAL NOT NULL, state_after TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS transitions_by_lead ON transitions (lead_id, occurred_at);
CREATE TABLE IF NOT EXISTS extractions (
    extraction_id TEXT PRIMARY KEY, lead_id TEXT NOT NULL, extracted_at TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS extractions_by_lead ON extractions (lead_id, extracted_at);
CREATE TABLE IF NOT EXISTS fired_reminders (
    reminder_id TEXT PRIMARY KEY, lead_id TEXT NOT NULL, decision_id TEXT NOT NULL,
    remind_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS operator_reminders (
    event_id TEXT PRIMARY KEY, lead_id TEXT NOT NULL, reminder_id TEXT NOT NULL,
    occurred_at TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS q_entries (
    state TEXT NOT NULL, action TEXT NOT NULL, q REAL NOT NULL, visits INTEGER NOT NULL,
    q_version INTEGER NOT NULL, PRIMARY KEY (state, action));
CREATE TABLE IF NOT EXISTS q_log (
    transition_id TEXT NOT NULL, state TEXT NOT NULL, action TEXT NOT NULL,
    q_version INTEGER NOT NULL, td_error REAL NOT NULL,
    PRIMARY KEY (transition_id, state, action));
"""

_PERSONAL = (
    "events",
    "outcomes",
    "decisions",
    "current",
    "extractions",
    "fired_reminders",
    "operator_reminders",
)
"""Tables whose rows carry a lead's personal data (names, phones, words): an erasure
deletes the lead's rows. Transitions and Q updates carry states and rewards only."""


def _iso(at: datetime) -> str:
    """Sortable UTC text: every stored time compares as a string."""
    return at.astimezone(UTC).isoformat()


class Store:
    """The SQLite read model. `path` None: in memory (tests)."""

    def __init__(self, path: Path | None) -> None:
        target = ":memory:" if path is None else str(path)
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    def close(self) -> None:
        self._db.close()

    # --- writing -------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def apply(self, outcomes: Iterable[Outcome]) -> None:
        """Write one batch and the positions it reached, atomically."""
        with self._transaction() as db:
            for outcome in outcomes:
                _write(db, outcome)
                at = outcome.at
                db.execute(
                    "INSERT INTO positions VALUES (?, ?, ?) ON CONFLICT (topic, partition) DO "
                    "UPDATE SET next_offset = max(next_offset, excluded.next_offset)",
                    (at.topic, at.partition, at.offset + 1),
                )

    def clear(self) -> None:
        """Forget everything, positions included (`--rebuild`)."""
        with self._transaction() as db:
            for (table,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'meta'"
            ).fetchall():
                db.execute(f"DELETE FROM {table}")

    # --- reading -------------------------------------------------------------

    def positions(self) -> dict[tuple[str, int], int]:
        rows = self._db.execute("SELECT topic, partition, next_offset FROM positions")
        return {(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Read rows; the views own their SQL (read-only statements)."""
        return self._db.execute(sql, params).fetchall()

    def skipped_counts(self) -> dict[tuple[str, str], int]:
        rows = self._db.execute(
            "SELECT topic, error_type, count(*) AS n FROM skipped GROUP BY topic, error_type"
        )
        return {(r["topic"], r["error_type"]): r["n"] for r in rows}


def _erased_after(db: sqlite3.Connection, lead_id: str, at: datetime) -> bool:
    """The lead was erased at or after `at`: this record predates the erasure."""
    row = db.execute("SELECT erased_at FROM erasures WHERE lead_id = ?", (lead_id,)).fetchone()
    return row is not None and _iso(at) <= row["erased_at"]


def _write(db: sqlite3.Connection, outcome: Outcome) -> None:
    at: Position = outcome.at
    if isinstance(outcome, Skipped):
        db.execute(
            "INSERT OR IGNORE INTO skipped VALUES (?, ?, ?, ?)",
            (at.topic, at.partition, at.offset, outcome.error_type),
        )
        return
    if isinstance(outcome, Tombstone):
        state, _, action = outcome.key.partition("|")
        db.execute("DELETE FROM q_entries WHERE state = ? AND action = ?", (state, action))
        return
    _write_record(db, outcome)


def _write_record(db: sqlite3.Connection, projected: Projected) -> None:
    record, at = projected.record, projected.at
    if isinstance(record, QUpdate):
        db.execute(
            "INSERT INTO q_entries VALUES (?, ?, ?, ?, ?) ON CONFLICT (state, action) DO UPDATE "
            "SET q = excluded.q, visits = excluded.visits, q_version = excluded.q_version "
            "WHERE excluded.q_version >= q_entries.q_version",
            (record.state, record.action, record.q_after, record.visits, record.q_version),
        )
        db.execute(
            "INSERT OR IGNORE INTO q_log VALUES (?, ?, ?, ?, ?)",
            (record.transition_id, record.state, record.action, record.q_version, record.td_error),
        )
        return
    if isinstance(record, LeadTransition):
        db.execute(
            "INSERT OR IGNORE INTO transitions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.transition_id,
                record.lead_id,
                record.decision_id,
                _iso(record.occurred_at),
                record.state_before,
                record.action,
                record.reward,
                record.state_after,
            ),
        )
        return
    if isinstance(record, LeadErased):
        _erase(db, record)
        return
    if isinstance(record, NextBestAction):
        _decision(db, record, at)
        return
    if isinstance(record, ExtractionResult):
        if not _erased_after(db, record.lead_id, record.extracted_at):
            db.execute(
                "INSERT OR IGNORE INTO extractions VALUES (?, ?, ?, ?)",
                (
                    record.extraction_id,
                    record.lead_id,
                    _iso(record.extracted_at),
                    record.model_dump_json(),
                ),
            )
        return
    if isinstance(record, Reminder):
        if not _erased_after(db, record.lead_id, record.remind_at):
            db.execute(
                "INSERT OR IGNORE INTO fired_reminders VALUES (?, ?, ?, ?, ?)",
                (
                    record.reminder_id,
                    record.lead_id,
                    record.decision_id,
                    _iso(record.remind_at),
                    record.model_dump_json(),
                ),
            )
        return
    if isinstance(record, OperatorReminder):
        if not _erased_after(db, record.lead_id, record.occurred_at):
            db.execute(
                "INSERT OR IGNORE INTO operator_reminders VALUES (?, ?, ?, ?, ?)",
                (
                    record.event_id,
                    record.lead_id,
                    record.reminder_id,
                    _iso(record.occurred_at),
                    record.model_dump_json(),
                ),
            )
        return
    if _erased_after(db, record.lead_id, record.occurred_at):
        return
    db.execute(
        "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?)",
        (
            record.lead_id,
            record.event_id,
            at.topic,
            record.type,
            _iso(record.occurred_at),
            record.model_dump_json(),
        ),
    )
    if isinstance(record, ActionOutcome):
        db.execute(
            "INSERT OR IGNORE INTO outcomes VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.lead_id,
                record.event_id,
                record.decision_id,
                record.outcome.value,
                record.reason,
                record.operator,
                _iso(record.occurred_at),
            ),
        )


def _decision(db: sqlite3.Connection, nba: NextBestAction, at: Position) -> None:
    if _erased_after(db, nba.lead_id, nba.decided_at):
        return
    db.execute(
        "INSERT OR IGNORE INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            nba.decision_id,
            nba.lead_id,
            _iso(nba.decided_at),
            at.partition,
            at.offset,
            nba.action,
            nba.channel,
            nba.rl_state,
            nba.risk_segment,
            nba.urgency,
            int(nba.requires_approval),
            nba.override,
            nba.arm,
            _iso(nba.brief.scheduled_for),
            nba.model_dump_json(),
        ),
    )
    # The decision in force is the latest published for the lead: its partition's
    # order. A redelivered older decision (lower offset) does not take it back.
    db.execute(
        "INSERT INTO current VALUES (?, ?, ?, ?) ON CONFLICT (lead_id) DO UPDATE SET "
        "decision_id = excluded.decision_id, partition = excluded.partition, "
        "offset = excluded.offset WHERE excluded.partition != current.partition "
        "OR excluded.offset > current.offset",
        (nba.lead_id, nba.decision_id, at.partition, at.offset),
    )


def _erase(db: sqlite3.Connection, event: LeadErased) -> None:
    when = _iso(event.occurred_at)
    db.execute(
        "INSERT INTO erasures VALUES (?, ?) ON CONFLICT (lead_id) DO UPDATE SET "
        "erased_at = max(erased_at, excluded.erased_at)",
        (event.lead_id, when),
    )
    for table in _PERSONAL:
        db.execute(f"DELETE FROM {table} WHERE lead_id = ?", (event.lead_id,))
