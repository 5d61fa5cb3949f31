"""Segments, the CSV export, the learning page and the weekly report, from the store.

Pure helpers (percentages, the heat colour, the confidence interval, the CSV cell rule,
outcome tracking) are plain functions tested directly; the rest gathers rows.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from stream_app.console.store import Store
from stream_app.console.views import RISK_ORDER, current_items
from stream_app.domain.actions import Action
from stream_app.domain.lifecycle import Status

SAVED: Final = frozenset({Status.ENROLLED.value, Status.ACTIVE.value})
CHURNED: Final = frozenset({Status.DECLINED.value, Status.OPTED_OUT.value, Status.INACTIVE.value})
CONVERTED: Final = frozenset({Status.ENROLLED.value, Status.ACTIVE.value})
CSV_COLUMNS: Final = (
    "lead_id",
    "name",
    "owner",
    "value_tier",
    "status",
    "rl_state",
    "risk_segment",
    "urgency",
    "action",
    "channel",
    "scheduled_for",
    "due",
    "requires_approval",
    "approval",
    "outcome",
    "decided_at",
    "decisions",
    "reward_total",
)


def shares(counts: Mapping[str, int], order: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Count and percentage of each key, in `order` first, then by count."""
    total = sum(counts.values())
    keys = [k for k in order if k in counts] + sorted(
        (k for k in counts if k not in order), key=lambda k: (-counts[k], k)
    )
    return [
        {"key": k, "count": counts[k], "pct": round(100 * counts[k] / total, 1) if total else 0.0}
        for k in keys
    ]


def outcome_tracking(statuses: Iterable[str]) -> dict[str, int]:
    """Saved (enrolled or active), churned (declined, opted out, inactive), pending."""
    tally = Counter(
        "saved" if s in SAVED else "churned" if s in CHURNED else "pending" for s in statuses
    )
    return {"saved": tally["saved"], "churned": tally["churned"], "pending": tally["pending"]}


def mean_ci(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean and a 95 % normal-approximation interval (None below two samples)."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "low": None, "high": None}
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "low": None, "high": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = 1.96 * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half}


def heat(q: float, low: float, high: float) -> str:
    """A cell colour: red for the lowest Q, white at zero, green for the highest."""
    if q >= 0:
        share = 0.0 if high <= 0 else min(1.0, q / high)
        return (
            f"rgb({round(255 - 155 * share)},{round(255 - 55 * share)},{round(255 - 155 * share)})"
        )
    share = 0.0 if low >= 0 else min(1.0, q / low)
    return f"rgb({round(255 - 35 * share)},{round(255 - 155 * share)},{round(255 - 155 * share)})"


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or
    carriage return) is a formula to Excel and LibreOffice, so it gets a leading quote."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r" and not _number(text):
        return "'" + text
    return text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _rewards_by_lead(store: Store) -> dict[str, float]:
    rows = store.query("SELECT lead_id, sum(reward) AS total FROM transitions GROUP BY lead_id")
    return {r["lead_id"]: r["total"] for r in rows}


def _decisions_by_lead(store: Store) -> dict[str, int]:
    rows = store.query("SELECT lead_id, count(*) AS n FROM decisions GROUP BY lead_id")
    return {r["lead_id"]: r["n"] for r in rows}


def segments(store: Store, now: datetime) -> dict[str, Any]:
    items = current_items(store, now)
    return {
        "as_of": now.isoformat(),
        "leads": len(items),
        "risk_segments": shares(Counter(i["risk_segment"] for i in items), RISK_ORDER),
        "statuses": shares(Counter(i["status"] for i in items), [s.value for s in Status]),
        "urgency": shares(Counter(i["urgency"] for i in items), ("7d", "30d", "90d", "none")),
    }


def segments_csv(store: Store, now: datetime) -> str:
    """Every lead with a decision, with its computed columns."""
    rewards, counts = _rewards_by_lead(store), _decisions_by_lead(store)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for item in sorted(current_items(store, now), key=lambda i: i["lead_id"]):
        row = {
            **item,
            "decisions": counts.get(item["lead_id"], 0),
            "reward_total": round(rewards.get(item["lead_id"], 0.0), 4),
        }
        writer.writerow([csv_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _conversions(store: Store, since: str = "") -> list[dict[str, Any]]:
    """Transitions into enrolled (or straight to active) from a status before it."""
    rows = store.query(
        "SELECT lead_id, occurred_at, state_before, state_after FROM transitions "
        "WHERE occurred_at >= ? ORDER BY occurred_at",
        (since,),
    )
    return [
        dict(r)
        for r in rows
        if r["state_after"].split(":")[0] in CONVERTED
        and r["state_before"].split(":")[0] not in CONVERTED
    ]


def conversion_series(store: Store) -> list[dict[str, Any]]:
    """Per day: decisions made, leads converted, and conversions so far."""
    decided = Counter(
        r["day"] for r in store.query("SELECT substr(decided_at, 1, 10) AS day FROM decisions")
    )
    converted = Counter(r["occurred_at"][:10] for r in _conversions(store))
    total = 0
    series = []
    for day in sorted(set(decided) | set(converted)):
        total += converted[day]
        series.append(
            {
                "day": day,
                "decisions": decided[day],
                "converted": converted[day],
                "cumulative": total,
            }
        )
    return series


def _outcomes_per_action(store: Store, since: str = "") -> dict[str, Counter[str]]:
    rows = store.query(
        "SELECT d.action, o.outcome FROM outcomes o JOIN decisions d "
        "ON d.decision_id = o.decision_id WHERE o.occurred_at >= ?",
        (since,),
    )
    per: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        per[row["action"]][row["outcome"]] += 1
    return per


def learning(store: Store, now: datetime) -> dict[str, Any]:
    entries = store.query("SELECT state, action, q, visits, q_version FROM q_entries")
    states = sorted({e["state"] for e in entries})
    actions = [a.value for a in Action if any(e["action"] == a.value for e in entries)]
    qs = [e["q"] for e in entries]
    low, high = (min(qs), max(qs)) if qs else (0.0, 0.0)
    cells: dict[str, dict[str, Any]] = defaultdict(dict)
    for e in entries:
        cells[e["state"]][e["action"]] = {
            "q": e["q"],
            "visits": e["visits"],
            "colour": heat(e["q"], low, high),
        }
    per_action = _outcomes_per_action(store)
    acceptance = []
    for action in sorted(per_action):
        counts = per_action[action]
        decided = counts["accepted"] + counts["rejected"]
        acceptance.append(
            {
                "action": action,
                **{k: counts[k] for k in ("accepted", "rejected", "delivered", "completed")},
                "expired": counts["expired"],
                "acceptance": round(counts["accepted"] / decided, 3) if decided else None,
            }
        )
    arms: defaultdict[str, list[float]] = defaultdict(list)
    for row in store.query(
        "SELECT d.arm, t.reward FROM transitions t "
        "JOIN decisions d ON d.decision_id = t.decision_id"
    ):
        arms[row["arm"]].append(row["reward"])
    decisions_per_arm = {
        r["arm"]: r["n"]
        for r in store.query("SELECT arm, count(*) AS n FROM decisions GROUP BY arm")
    }
    recent = store.query(
        "SELECT transition_id, state, action, q_version, td_error FROM q_log "
        "ORDER BY q_version DESC, transition_id LIMIT 30"
    )
    version = store.query("SELECT max(q_version) AS v, count(*) AS n FROM q_log")[0]
    return {
        "as_of": now.isoformat(),
        "q_version": version["v"],
        "q_updates": version["n"],
        "heatmap": {"states": states, "actions": actions, "cells": cells, "low": low, "high": high},
        "recent_td_errors": [dict(r) for r in recent],
        "acceptance": acceptance,
        "arms": [
            {
                "arm": arm,
                "decisions": decisions_per_arm.get(arm, 0),
                "reward": mean_ci(arms.get(arm, [])),
            }
            for arm in sorted(set(decisions_per_arm) | set(arms))
        ],
        "outcomes": outcome_tracking(i["status"] for i in current_items(store, now)),
        "conversion": conversion_series(store),
    }


def weekly_report(store: Store, now: datetime, since: datetime | None) -> dict[str, Any]:
    """The weekly review: the queue now, segments, and what happened since `since`
    (default: seven days before the read model's clock)."""
    start = since or now - timedelta(days=7)
    mark = start.astimezone(UTC).isoformat()  # the store's times are UTC text, compared as such
    items = current_items(store, now)
    open_items = [i for i in items if i["open"]]
    blocks = Counter(
        r["override"].removeprefix("guardrail:")
        for r in store.query(
            "SELECT override FROM decisions WHERE override LIKE 'guardrail:%' AND decided_at >= ?",
            (mark,),
        )
    )
    decided = store.query("SELECT count(*) AS n FROM decisions WHERE decided_at >= ?", (mark,))[0]
    per_action = _outcomes_per_action(store, mark)
    return {
        "generated_at": now.isoformat(),
        "since": mark,
        "queue": {
            "open": len(open_items),
            "overdue": sum(i["due"] == "overdue" for i in open_items),
            "due_soon": sum(i["due"] == "due_soon" for i in open_items),
            "awaiting_approval": sum(i["approval"] == "pending" for i in open_items),
            "escalations": sum(
                i["risk_segment"] == "critical" and i["due"] == "overdue" for i in open_items
            ),
            "by_owner": dict(Counter(i["owner"] for i in open_items).most_common()),
        },
        "segments": segments(store, now),
        "conversion": {
            "converted_since": len(_conversions(store, mark)),
            "outcomes": outcome_tracking(i["status"] for i in items),
        },
        "decisions_since": decided["n"],
        "outcomes_per_action": {a: dict(c) for a, c in sorted(per_action.items())},
        "guardrail_blocks": dict(blocks.most_common()),
        # Records the console could not read (by topic and error type): a report built
        # over them says so instead of silently counting less.
        "unreadable_records": {
            f"{topic}:{error}": n for (topic, error), n in sorted(store.skipped_counts().items())
        },
    }
