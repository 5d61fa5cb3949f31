"""Hypothesis strategies for poison records on every topic a worker reads.

Each case starts from a valid record of its topic (a fresh lead id per case, so no
case touches another) and breaks it in one way, named by its `category`:

- bytes that are not JSON: not UTF-8, a proper prefix of the JSON text (never valid
  JSON), an invalid UTF-8 sequence or a lone surrogate escape inside a string;
- JSON that is not an object, a tombstone (no value);
- an unknown `type`, a required field removed, a field replaced by an object or a
  list (no field of any record accepts one in its place), nesting deeper than any
  parser allows, a huge unknown field;
- timestamps at the edges: naive, year 1, year 9999, year 2999, extreme offsets;
- the key: another lead's id, or none at all.

The first groups are malformed by any reading of the contract. The timestamp and
key categories are valid JSON of the right shape: which of them must be dead-lettered
is what the event-time bounds and missing-key rules decide (docs/architecture.md,
"Not yet done"); the fuzz test expects every case in `dead-letters`, per category.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from stream_app.domain.extraction.model import Extraction

WHEN = "2026-11-02T15:00:00+00:00"


@dataclass(frozen=True, slots=True)
class Case:
    topic: str
    category: str
    key: bytes | None
    value: bytes | None
    note: str = ""
    """What was changed, when a field was (`field=value`)."""

    def describe(self) -> str:
        shown = self.value[:80] if self.value is not None else None
        size = len(self.value) if self.value is not None else 0
        what = f" ({self.note})" if self.note else ""
        return f"{self.topic}/{self.category}{what} key={self.key!r} value[{size}]={shown!r}"


def _valid(topic: str, lead: str, n: int) -> list[dict[str, Any]]:
    """Valid records of `topic` for `lead` (each event type of an input topic)."""
    base = {"event_id": f"{lead}-e{n}", "lead_id": lead, "occurred_at": WHEN}
    if topic == "leads":
        return [
            {**base, "type": "lead.created", "parent_name": "Ana", "child_age": 9},
            {**base, "type": "lead.updated", "phone": "+15550001"},
            {**base, "type": "lead.milestone", "milestone": "trial_booked"},
            {**base, "type": "lead.consent", "channel": "sms", "granted": False},
            {**base, "type": "lead.erased"},
        ]
    if topic == "interactions":
        return [
            {
                **base,
                "type": "interaction.completed",
                "interaction_id": f"c-{n}",
                "channel": "voice",
                "direction": "outbound",
                "outcome": "completed",
                "transcript": "Agent: Hi.\nParent: We'd love a trial.",
                "duration_s": 60.0,
            }
        ]
    if topic == "sms-messages":
        return [
            {**base, "type": t, "message_id": f"m-{n}", "body": "hello"}
            for t in ("sms.received", "sms.sent")
        ]
    if topic == "attendance":
        return [
            {
                **base,
                "type": "attendance.recorded",
                "session_id": f"s-{n}",
                "status": "attended",
                "session_at": WHEN,
            }
        ]
    if topic == "payments":
        return [
            {
                **base,
                "type": "payment.recorded",
                "payment_id": f"p-{n}",
                "status": "late",
                "amount": 10.0,
                "due_at": WHEN,
            }
        ]
    if topic == "action-outcomes":
        return [{**base, "type": "action.outcome", "decision_id": "d-x", "outcome": "rejected"}]
    if topic == "extractions":
        extraction = Extraction.failed("rules", "fuzz").model_dump(mode="json")
        return [
            {
                "extraction_id": f"x-{n}",
                "lead_id": lead,
                "extracted_at": WHEN,
                "source_event_ids": [f"{lead}-e1"],
                "extraction": extraction,
            }
        ]
    if topic == "lead-timers":
        return [{"timer_id": f"tm-{n}", "lead_id": lead, "now": WHEN, "wall_now": WHEN}]
    if topic == "extraction-requests":
        return [
            {
                "extraction_id": f"x-{n}",
                "lead_id": lead,
                "requested_at": WHEN,
                "channel": "sms",
                "transcript": "Parent: hello",
                "source_event_ids": [f"{lead}-e1"],
            }
        ]
    if topic == "lead-transitions":
        return [
            {
                "transition_id": f"t-{n}",
                "lead_id": lead,
                "occurred_at": WHEN,
                "state_before": "new:unreached",
                "action": "warm_follow_up",
                "decision_id": f"d-{n}",
                "reward": -0.02,
                "state_after": "new:unreached",
                "cause_event_id": f"{lead}-e2",
            }
        ]
    if topic == "q-updates":
        return [
            {
                "state": "new:unreached",
                "action": "warm_follow_up",
                "q_before": 0.1,
                "q_after": 0.2,
                "visits": 1,
                "td_error": 0.1,
                "transition_id": f"t-{n}",
                "q_version": 1,
            }
        ]
    raise ValueError(topic)


REQUIRED = {
    "leads": ("event_id", "lead_id", "occurred_at", "type"),
    "extractions": ("extraction_id", "lead_id", "extracted_at", "source_event_ids", "extraction"),
    "lead-timers": ("timer_id", "lead_id", "now", "wall_now"),
    "extraction-requests": ("extraction_id", "lead_id", "requested_at", "channel", "transcript"),
    "lead-transitions": ("transition_id", "lead_id", "state_before", "action", "reward"),
    "q-updates": ("state", "action", "q_after", "visits", "q_version"),
}
TIME_FIELDS = (
    "occurred_at",
    "extracted_at",
    "now",
    "wall_now",
    "requested_at",
    "session_at",
    "due_at",
)
MALFORMED_TIMES = (
    "2026-11-02T15:00:00",  # naive
    "2026-11-02",  # a date
    "not a time",
    "2026-13-45T25:61:61Z",
    "",
)
EDGE_TIMES = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "2999-06-01T00:00:00Z",
)
KNOWN_TYPES = frozenset(
    {
        "lead.created",
        "lead.updated",
        "lead.milestone",
        "lead.consent",
        "lead.erased",
        "interaction.completed",
        "sms.received",
        "sms.sent",
        "attendance.recorded",
        "payment.recorded",
        "action.outcome",
    }
)
JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _nested(depth: int, kind: str) -> bytes:
    return (
        (b"[" * depth + b"]" * depth) if kind == "list" else b'{"a":' * depth + b"1" + b"}" * depth
    )


CATEGORIES = (
    "not utf-8",
    "truncated json",
    "invalid utf-8 in a string",
    "lone surrogate",
    "not an object",
    "tombstone",
    "unknown type",
    "missing field",
    "wrong type",
    "deeply nested",
    "huge",
    "malformed timestamp",
    "edge timestamp",
    "wrong key",
    "null key",
)
LEAD = "fuzz-LEAD"
"""Placeholder lead id; `generate` gives every case its own."""


@st.composite
def cases(draw: st.DrawFn, topic: str, category: str) -> Case:
    lead = LEAD
    record: dict[str, Any] = draw(st.sampled_from(_valid(topic, lead, 1)))
    # Keys as the catalog says: the lead id, or `state|action` on the compacted q-updates.
    proper = f"{record['state']}|{record['action']}" if topic == "q-updates" else lead
    key: bytes | None = proper.encode()
    text = orjson.dumps(record)
    value: bytes | None
    note = ""
    if category == "not utf-8":
        value = b"\xff" + draw(st.binary(max_size=64))
    elif category == "truncated json":
        value = text[: draw(st.integers(1, len(text) - 1))]
    elif category in ("invalid utf-8 in a string", "lone surrogate"):
        field = draw(st.sampled_from(sorted(k for k, v in record.items() if isinstance(v, str))))
        note = field
        record[field] = "@@BROKEN@@"
        broken = b'"\xc3\x28"' if category.startswith("invalid") else b'"\\ud800"'
        value = orjson.dumps(record).replace(b'"@@BROKEN@@"', broken)
    elif category == "not an object":
        value = orjson.dumps(draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict))))
    elif category == "tombstone":
        value = None
    elif category == "unknown type":
        # On internal topics (no `type` field) this is an unknown field as well.
        record["type"] = draw(
            st.text(min_size=1, max_size=30).filter(lambda t: t not in KNOWN_TYPES)
            | st.sampled_from(["lead.exploded", "LEAD.CREATED", "sms.received "])
        )
        value = orjson.dumps(record)
    elif category == "missing field":
        required = REQUIRED.get(topic, REQUIRED["leads"])
        note = draw(st.sampled_from([f for f in required if f in record]))
        del record[note]
        value = orjson.dumps(record)
    elif category == "wrong type":
        field = draw(st.sampled_from(sorted(record)))
        note = field
        record[field] = draw(
            st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3) | st.lists(JSON_VALUES)
        )
        value = orjson.dumps(record)
    elif category == "deeply nested":
        field = draw(st.sampled_from(sorted(record)))
        depth = draw(st.sampled_from([64, 600, 1100, 5000, 100_000]))
        note = f"{field} at depth {depth}"
        record[field] = "@@NESTED@@"
        value = orjson.dumps(record).replace(
            b'"@@NESTED@@"', _nested(depth, draw(st.sampled_from(["list", "dict"])))
        )
    elif category == "huge":
        record["padding"] = "x" * draw(st.integers(70_000, 300_000))
        value = orjson.dumps(record)
    elif category in ("malformed timestamp", "edge timestamp"):
        fields = [f for f in TIME_FIELDS if f in record]
        if not fields:  # q-updates carry no time: break the version instead
            record["q_version"] = draw(st.sampled_from(["soon", None, [1]]))
        else:
            pool = MALFORMED_TIMES if category == "malformed timestamp" else EDGE_TIMES
            field, when = draw(st.sampled_from(fields)), draw(st.sampled_from(pool))
            record[field] = when
            note = f"{field}={when}"
        value = orjson.dumps(record)
    elif category == "wrong key":
        key = f"{proper}-other".encode()
        value = text
    else:  # null key
        key = None
        value = text
    return Case(topic, category, key, value, note)


def generate(topic: str, examples: int, fixed_seed: int) -> list[Case]:
    """About `examples` cases for `topic`, spread over every category; the same ones
    for the same seed. Each case gets its own lead id (and key, unless it has none)."""
    drawn: list[Case] = []
    per_category = max(1, round(examples / len(CATEGORIES)))
    for category in CATEGORIES:

        @settings(
            max_examples=per_category,
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @seed(fixed_seed)
        @given(cases(topic, category))
        def collect(case: Case) -> None:
            drawn.append(case)

        collect()
    out = []
    for number, case in enumerate(drawn):
        lead = f"fuzz-{topic}-{number:04d}".encode()
        value = case.value.replace(LEAD.encode(), lead) if case.value is not None else None
        key = case.key.replace(LEAD.encode(), lead) if case.key is not None else None
        out.append(Case(case.topic, case.category, key, value, case.note))
    return out
