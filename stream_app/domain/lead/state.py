"""What the worker remembers about one lead, written back to the table as one value.

Stored state tolerates unknown fields and carries a version, so rolling updates and
rollbacks can read each other's records:

- Every record in the state is `Stored` (frozen.py): a field a newer release added
  is ignored by an older one, which drops it when it next writes the lead. An added
  field therefore needs a default (the older records lack it), and a newer release
  must not rely on a field surviving a write by an older one.
- `LeadState.schema_version` is written with every state. `read_state` reads every
  stored state: it applies `migrate` to the raw JSON first, then validates. A state
  from a newer release (a higher version) is read as well, as far as this code
  understands it, and is written back under this code's version, since what is
  written is what this code knows. A change that is not additive (a field renamed,
  retyped or given a new meaning) bumps `SCHEMA_VERSION` and adds a step to
  `_MIGRATIONS` that upgrades the raw JSON of the version before, so an older
  record is brought forward, step by step, before it is validated. The one step
  today stamps the records written before the version existed (version 0, the
  same shape as version 1).
- Version 2 is version 1's JSON, stored as a zstd frame (`encode_state`): the
  same fields and values, a third of the bytes. `read_state` reads both forms, so
  the step from version 1 only restamps the version. A release before version 2
  cannot read a frame at all: a rollback to it finds every lead written since
  unreadable (docs/architecture.md, "Stored state across releases").
- Not covered: a value this code does not know in a known field (a new `Status`,
  `Action` or channel) still fails validation; a release that adds one must ship
  the reading side first.
- `read_indexed` is the sweep's lean read: the fields its index and gauges read
  (`IndexedLead`), for a state of this code's version only; every other state is
  read whole by `read_state`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

import zstandard
from pydantic import Field
from pydantic_core import ValidationError, from_json

from stream_app.domain.actions import Action
from stream_app.domain.context import LeadContext, with_status
from stream_app.domain.frozen import Stored
from stream_app.domain.guardrails import ContactHistory
from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import NextBestAction, Reminder
from stream_app.domain.profile import Profile
from stream_app.domain.sms_window import ThreadBuffer


class DecisionRecord(Stored):
    """What the learner needs of a past decision to credit it later.

    `closed` marks a decision whose step a transition already closed, so a late
    contact naming it cannot credit it a second time. `first` marks the lead's
    first decision: the transition that closes it opens the lead's episode, which
    is how the running guard counts leads per arm (`domain/guard.py`).
    """

    decision_id: str
    action: Action
    rl_state: str
    status: Status
    decided_at: datetime
    trigger_event_id: str
    outcomes: tuple[str, ...] = ()
    closed: bool = False
    first: bool = False


class PendingExtraction(Stored):
    """Work handed to the extractor; the lead owns it until the result or the deadline."""

    extraction_id: str
    trigger_event_id: str
    trigger_at: datetime
    deadline: datetime
    credit_decision_id: str | None = None


class InteractionNote(Stored):
    event_id: str
    occurred_at: datetime
    channel: str
    direction: str
    outcome: str
    excerpt: str = ""


class LeadState(Stored):
    """Everything the worker remembers about one lead, written back as one value.

    The remembered event ids live in the same value as the state they guard, so
    the dedup marker and the change it marks reach the changelog atomically.
    `schema_version` is the version of the code that wrote the value (module
    docstring); a value in memory is always of this code's `SCHEMA_VERSION`.
    """

    SCHEMA_VERSION: ClassVar[int] = 2

    schema_version: int = Field(default=SCHEMA_VERSION, strict=True, ge=1)
    lead_id: str
    profile: Profile = Profile()
    status: Status = Status.NEW
    context: LeadContext = LeadContext()
    opted_out_channels: tuple[str, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    pending: tuple[PendingExtraction, ...] = ()
    last_nba: NextBestAction | None = None
    """The last decision as published, less its `candidates` and `filtered_out` (kept
    empty: see `shown`): the lead step never reads it back; the lead's HTTP views
    and context pack show it."""
    recent_interactions: tuple[InteractionNote, ...] = ()
    sms: ThreadBuffer = ThreadBuffer()
    contact_history: ContactHistory = ContactHistory()
    reminder: Reminder | None = None
    updated_at: datetime | None = None

    @property
    def decision_in_force(self) -> DecisionRecord | None:
        return self.decisions[-1] if self.decisions else None


def shown(nba: NextBestAction) -> NextBestAction:
    """The copy of a decision a lead's state keeps: all of it but the ranking.

    `candidates` and `filtered_out` (every allowed action with its Q, visits and
    score, every filtered one with its reason) were over a third of a stored state
    (1.0 KB of 2.4 KB of `last_nba` at p50), read only by whoever reads the
    `next-best-actions` topic, which keeps them in full. Empty rather than absent,
    so a release before this one still reads the record.
    """
    return nba.model_copy(update={"candidates": (), "filtered_out": {}})


def moved_to(lead: LeadState, status: Status, at: datetime) -> LeadState:
    """The lead in `status` since `at`; its context remembers when each status began."""
    ctx = with_status(lead.context, lead.status, status, at)
    return lead.model_copy(update={"status": status, "context": ctx})


Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _stamp_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0, the states written before the version existed, has version 1's shape."""
    return {**raw, "schema_version": 1}


def _stamp_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 2 is version 1's JSON, compressed: the shape is the same."""
    return {**raw, "schema_version": 2}


_MIGRATIONS: dict[int, Migration] = {0: _stamp_v1, 1: _stamp_v2}
"""From version v to v + 1, one step for each version below `LeadState.SCHEMA_VERSION`."""


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """The raw JSON of a stored state, upgraded to this code's `SCHEMA_VERSION`.

    A state without a version is version 0. An older state goes through each step
    of `_MIGRATIONS` from its version on. A state from a newer release, or one whose
    version is not a non-negative int, is returned unchanged: validation reads the
    former and rejects the latter.
    """
    version = raw.get("schema_version", 0)
    if type(version) is not int or version < 0:
        return raw
    while version < LeadState.SCHEMA_VERSION:
        raw = _MIGRATIONS[version](raw)
        version += 1
    return raw


_CURRENT_PREFIX = f'{{"schema_version":{LeadState.SCHEMA_VERSION},'
"""How `encode_state` begins: `schema_version` is the model's first field."""


def _is_current(raw: bytes | str) -> bool:
    """Written by this code's version, so no migration applies (exact: the prefix
    names the version, and a state of any other version does not begin with it)."""
    if isinstance(raw, bytes):
        return raw.startswith(_CURRENT_PREFIX_BYTES)
    return raw.startswith(_CURRENT_PREFIX)


def encode_state(state: LeadState, compressed: bool = True) -> bytes:
    """A state as its table value: a zstd frame of pydantic's JSON, no defaults.

    The JSON is version 1's: `schema_version` first (so `_is_current` sees the
    version once the frame is opened), and a field at its default (an empty list,
    a False flag, a None, a nested record still blank) left out, since every
    stored field has a default that `read_state` fills back in. Compressed, the
    bench mix's states went from 4.2 KB to 1.6 KB at p50 and 6.2 KB to 2.0 KB at
    p99 (a simulated population's, with longer histories, 11.2 KB to 3.0 KB at p99):
    the decision records, contacts and briefs repeat the same keys and values.

    `compressed=False` (`STREAM_APP_STATE_ENCODING=json`) writes the same JSON
    unframed, which a release before version 2 reads as a newer version's state
    (unknown fields ignored): the way to roll out this version beside older pods,
    or to keep a rollback possible, before frames are written.
    """
    body = _LEAD_STATE_JSON(state, exclude_defaults=True, exclude=_VERSION)
    json = _CURRENT_PREFIX_BYTES + body[1:]
    return _CODECS.compressor.compress(json) if compressed else json


_VERSION = {"schema_version"}
_CURRENT_PREFIX_BYTES = _CURRENT_PREFIX.encode()
_LEAD_STATE_JSON = LeadState.__pydantic_serializer__.to_json
"""`model_dump_json` without its decode to str: the frame is made of bytes."""

_FRAME_MAGIC = b"\x28\xb5\x2f\xfd"
"""How every zstd frame begins; no JSON text does."""

MAX_STATE_BYTES = 1024 * 1024
"""The most a stored frame may open to: a bounded state is a few KB, so a frame that
claims more is damaged, and is refused before anything is allocated for it."""

_ZSTD_LEVEL = 1
"""Level 3 (zstd's default) measured 1% smaller on the bench mix's states (1,546 B
against 1,561 B at p50) and no faster; no level changes what `read_state` reads."""


class _Codecs(threading.local):
    """One compressor and decompressor per thread: zstandard's are not to be shared
    by threads at once, and making them per call cost ~8 us of each ~30 us."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


_CODECS = _Codecs()


def _opened(frame: bytes) -> bytes:
    """The JSON a stored frame holds, or pydantic's json_invalid error for a frame
    that is damaged, truncated or claims more than `MAX_STATE_BYTES`."""
    try:
        size = zstandard.frame_content_size(frame)
        if 0 <= size <= MAX_STATE_BYTES:
            return _CODECS.decompressor.decompress(frame)
        error = f"a frame of {size} bytes, over {MAX_STATE_BYTES}" if size > 0 else "no size"
    except zstandard.ZstdError as exc:
        error = str(exc)
    raise ValidationError.from_exception_data(
        LeadState.__name__,
        [{"type": "json_invalid", "loc": (), "input": frame[:16], "ctx": {"error": error}}],
        input_type="json",
    )


def read_state(raw: bytes | str, on_newer: Callable[[int], None] | None = None) -> LeadState:
    """A stored state, migrated and validated: the one way to read a lead's record.

    Unknown fields (a newer release's) are ignored. A state a newer release wrote
    comes back as what this code understands of it, under this code's version (it
    is written back so); `on_newer` is told the version it was written with, for
    the caller to note. A zstd frame (version 2 on) is opened first; plain JSON is
    an older release's (version 0 or 1). An unreadable state raises pydantic's
    `ValidationError`.
    """
    if isinstance(raw, bytes) and raw.startswith(_FRAME_MAGIC):
        raw = _opened(raw)
    if _is_current(raw):
        # What this code writes: the model's own JSON parser, no dict in between
        # (measured 224 us against 434 us for a 5.7 KB state). Same validation.
        return LeadState.model_validate_json(raw)
    try:
        data = from_json(raw)
    except ValueError:
        return LeadState.model_validate_json(raw)  # raises pydantic's json_invalid error
    if isinstance(data, dict):
        data = migrate(data)
    state = LeadState.model_validate(data)  # anything but an object: a model_type error
    if state.schema_version > LeadState.SCHEMA_VERSION:
        if on_newer is not None:
            on_newer(state.schema_version)
        state = state.model_copy(update={"schema_version": LeadState.SCHEMA_VERSION})
    return state


class IndexedClocks(Stored):
    """The two dates of a lead's context its decay clock runs from (`decay_due_at`)."""

    last_attendance_at: datetime | None = None
    at_risk_since: datetime | None = None


class IndexedLead(Stored):
    """What the sweep's re-index reads of a stored state: its time rules' inputs
    (`timers.Timed`), the gauges' status and buffered count, and `updated_at`.

    Each field is `LeadState`'s, with its type and default (a test holds them to it),
    so a value reads the same here as in the whole state. Left out, as unknown
    fields, are the five records that are three quarters of a full validation
    (measured on the bench mix's states: ~80 of ~105 us): the context but for its
    two dates, the decision records, the last decision, the contact history and the
    interaction notes. The profile and the id lists cost ~5 us and are read, so a
    state damaged there is unreadable here as in `read_state`; one whose only
    invalid value is inside the records left out reads here, and fails when the
    lead agent reads it (its records, and a timer the sweep sends it, are dead
    letters).
    """

    schema_version: int = Field(default=LeadState.SCHEMA_VERSION, strict=True, ge=1)
    lead_id: str
    profile: Profile = Profile()
    status: Status = Status.NEW
    context: IndexedClocks = IndexedClocks()
    opted_out_channels: tuple[str, ...] = ()
    seen_event_ids: tuple[str, ...] = ()
    pending: tuple[PendingExtraction, ...] = ()
    sms: ThreadBuffer = ThreadBuffer()
    reminder: Reminder | None = None
    updated_at: datetime | None = None


def read_indexed(raw: bytes | str) -> IndexedLead | None:
    """A stored state of this code's version as the sweep's `IndexedLead`; None for
    any other version, which only `read_state` reads right (migrated, or a newer
    release's noted). A damaged frame or JSON raises pydantic's `ValidationError`,
    as `read_state` does.

    The prefix `encode_state` writes tells the version exactly, before any parsing
    (`_is_current`). pydantic-core then parses the JSON whole but builds only these
    fields: ~25 us a state against ~105 us for the whole `LeadState`.
    """
    if isinstance(raw, bytes) and raw.startswith(_FRAME_MAGIC):
        raw = _opened(raw)
    return IndexedLead.model_validate_json(raw) if _is_current(raw) else None
