"""What the worklist, a lead's page and the reminder queue show, read from the store.

The pure rules (how late a decision is, what ranks first, which outcome closes an item,
where a reminder stands) are plain functions over values, tested directly; the view
functions only gather rows and apply them. `now` is passed in: it is the worker's
stream time as the console sees it (`clock`), so "overdue" on a page means what it
means to the worker that fires the reminders.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from stream_app.console.store import Store
from stream_app.domain.actions import Action
from stream_app.domain.guardrails import is_outreach
from stream_app.domain.lead.ids import stable_id
from stream_app.domain.messages import NextBestAction
from stream_app.wire.models import OperatorReminder

DUE_SOON: Final = timedelta(hours=24)
CLOSING_OUTCOMES: Final = frozenset({"delivered", "completed", "rejected", "expired"})
"""An outcome that takes a decision off the queue: carried out, refused or lapsed."""
NOT_WORK: Final = frozenset({Action.WAIT.value, Action.STOP.value})
RISK_ORDER: Final = ("critical", "moderate", "on_track")
URGENCY_ORDER: Final = ("7d", "30d", "90d", "none")
DUE_ORDER: Final = ("overdue", "due_soon", "on_track")
SORTS: Final = ("priority", "scheduled_for", "risk", "owner", "action", "lead")
UNASSIGNED: Final = "(unassigned)"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def clock(store: Store, wall: datetime) -> datetime:
    """The console's now: the later of the wall clock and the newest decision time read.

    That is the worker's own rule for time rules (`StreamClock`: the later of the wall
    clock and the newest event), so a reminder the worker fired is overdue here too and
    an item turns overdue when staff, who work in real time, should act on it. A decision's
    `decided_at` is an event time the worker already accepted (bounded by
    STREAM_APP_EVENT_MAX_AHEAD_S), unlike a raw input record the worker may have
    dead-lettered, so one far-future record cannot make every item overdue. The worker
    keeps this time per partition; here it is one clock, ahead of a partition's by at
    most that bound, and only when event times run ahead of the wall clock.
    """
    row = store.query("SELECT max(decided_at) AS t FROM decisions")[0]
    return wall if row["t"] is None else max(wall, parse_time(row["t"]))


# --- pure rules ------------------------------------------------------------------


def due_state(scheduled_for: datetime, now: datetime) -> str:
    """overdue (its time passed), due_soon (within a day) or on_track."""
    if scheduled_for <= now:
        return "overdue"
    return "due_soon" if scheduled_for - now <= DUE_SOON else "on_track"


def _rank(order: Sequence[str], value: str) -> int:
    return order.index(value) if value in order else len(order)


def priority_key(item: Mapping[str, Any]) -> tuple[int, int, int, int, str, str]:
    """Overdue first; within a due band an item awaiting approval (nothing goes out until
    someone decides it), then the riskier lead, the more urgent, the earlier, the lead id."""
    return (
        _rank(DUE_ORDER, item["due"]),
        0 if item.get("approval") == "pending" else 1,
        _rank(RISK_ORDER, item["risk_segment"]),
        _rank(URGENCY_ORDER, item["urgency"]),
        item["scheduled_for"],
        item["lead_id"],
    )


def approval_state(requires_approval: bool, outcomes: Sequence[str]) -> str | None:
    """pending until an operator (or the CRM) accepted or rejected the decision."""
    if not requires_approval:
        return None
    for outcome in reversed(outcomes):
        if outcome in ("accepted", "rejected"):
            return outcome
    return "pending"


def is_open(action: str, outcomes: Sequence[str]) -> bool:
    """On the queue: work to do (not wait or stop) that no outcome has closed."""
    return action not in NOT_WORK and not CLOSING_OUTCOMES & set(outcomes)


def fold_profile(bodies: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The lead's profile from its `leads` events in event-time order: later fields win,
    an absent field keeps the earlier value (a `lead.updated` names only what changed)."""
    profile: dict[str, Any] = {}
    for body in bodies:
        if body["type"] not in ("lead.created", "lead.updated"):
            continue
        for name, value in body.items():
            if name not in ("type", "event_id", "lead_id", "occurred_at") and value is not None:
                profile[name] = value
    return profile


@dataclass(frozen=True, slots=True)
class ReminderState:
    reminder_id: str
    lead_id: str
    decision_id: str | None
    action: str | None
    note: str | None
    remind_at: datetime
    source: str  # "decision" (the worker's follow-up) or "operator"
    fired: bool = False
    dismissed: bool = False


def decision_reminder(nba: NextBestAction, outcomes: Sequence[str]) -> ReminderState | None:
    """The follow-up a decision leaves pending, as the lead step sets it (same id).

    None once an outcome closed the decision (carried out, refused or lapsed): the worker
    keeps the reminder until a newer decision supersedes it, but a reminder to do work
    that is done is noise on the operator's queue, and the worklist drops the item too.
    """
    try:
        action = Action(nba.action)
    except ValueError:
        return None
    if not is_outreach(action) or nba.brief.scheduled_for <= nba.decided_at:
        return None
    if CLOSING_OUTCOMES & set(outcomes):
        return None
    return ReminderState(
        reminder_id=stable_id("r", nba.decision_id),
        lead_id=nba.lead_id,
        decision_id=nba.decision_id,
        action=nba.action,
        note=nba.brief.timing_rationale,
        remind_at=nba.brief.scheduled_for,
        source="decision",
    )


def fold_reminders(
    pending: Iterable[ReminderState], fired: set[str], acts: Iterable[OperatorReminder]
) -> list[ReminderState]:
    """Where each reminder stands after the operators' acts, in event-time order.

    A set creates one, a snooze moves it (and un-fires it), a dismiss closes it; an act
    on a reminder no one knows (its decision was superseded) changes nothing.
    """
    states = {r.reminder_id: r for r in pending}
    for rid in fired:
        if rid in states:
            states[rid] = _replace(states[rid], fired=True)
    for act in sorted(acts, key=lambda a: (a.occurred_at, a.event_id)):
        current = states.get(act.reminder_id)
        if act.type == "reminder.set" and act.remind_at is not None and current is None:
            states[act.reminder_id] = ReminderState(
                reminder_id=act.reminder_id,
                lead_id=act.lead_id,
                decision_id=act.decision_id,
                action=None,
                note=act.note,
                remind_at=act.remind_at,
                source="operator",
            )
        elif current is None:
            continue
        elif act.type == "reminder.snoozed" and act.remind_at is not None:
            states[act.reminder_id] = _replace(current, remind_at=act.remind_at, fired=False)
        elif act.type == "reminder.dismissed":
            states[act.reminder_id] = _replace(current, dismissed=True)
    return sorted(states.values(), key=lambda r: (r.remind_at, r.reminder_id))


def reminder_state(reminder: ReminderState, now: datetime) -> str:
    """dismissed, overdue (its time passed, or the worker fired it) or upcoming.

    A fired reminder is overdue whatever `now` says: the worker's clock said it came due,
    and the console must not show work the worker already called for as upcoming.
    """
    if reminder.dismissed:
        return "dismissed"
    return "overdue" if reminder.fired or reminder.remind_at <= now else "upcoming"


def _replace(state: ReminderState, **changes: Any) -> ReminderState:
    values = {name: getattr(state, name) for name in ReminderState.__slots__}
    return ReminderState(**{**values, **changes})


# --- gathering -------------------------------------------------------------------


def profiles(store: Store, lead_ids: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
    rows = store.query(
        "SELECT lead_id, body FROM events WHERE topic = 'leads' ORDER BY occurred_at, event_id"
    )
    wanted = None if lead_ids is None else set(lead_ids)
    by_lead: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if wanted is None or row["lead_id"] in wanted:
            by_lead[row["lead_id"]].append(json.loads(row["body"]))
    return {lead: fold_profile(bodies) for lead, bodies in by_lead.items()}


def _outcomes_by_decision(store: Store) -> dict[str, list[dict[str, Any]]]:
    rows = store.query(
        "SELECT o.decision_id, o.outcome, o.reason, o.operator, o.occurred_at FROM outcomes o "
        "JOIN current c ON c.decision_id = o.decision_id ORDER BY o.occurred_at, o.event_id"
    )
    found: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        found[row["decision_id"]].append(dict(row))
    return found


def current_items(store: Store, now: datetime) -> list[dict[str, Any]]:
    """One row per lead with a decision in force, with everything the queue ranks by."""
    rows = store.query(
        "SELECT d.decision_id, d.lead_id, d.decided_at, d.action, d.channel, d.rl_state, "
        "d.risk_segment, d.urgency, d.requires_approval, d.override, d.arm, d.scheduled_for "
        "FROM current c JOIN decisions d ON d.decision_id = c.decision_id"
    )
    outcomes = _outcomes_by_decision(store)
    people = profiles(store)
    items = []
    for row in rows:
        said = [o["outcome"] for o in outcomes.get(row["decision_id"], [])]
        profile = people.get(row["lead_id"], {})
        last = outcomes.get(row["decision_id"], [])
        items.append(
            {
                **dict(row),
                "requires_approval": bool(row["requires_approval"]),
                "status": row["rl_state"].split(":")[0],
                "name": profile.get("parent_name"),
                "owner": profile.get("owner") or UNASSIGNED,
                "value_tier": profile.get("value_tier"),
                "due": due_state(parse_time(row["scheduled_for"]), now),
                "approval": approval_state(bool(row["requires_approval"]), said),
                "outcome": said[-1] if said else None,
                "reason": last[-1]["reason"] if last else None,
                "open": is_open(row["action"], said),
            }
        )
    return items


@dataclass(frozen=True, slots=True)
class WorkFilter:
    """The worklist's query string, each value already checked against its choices."""

    show: str = "open"  # open | approval | all
    risk: str = ""
    due: str = ""
    action: str = ""
    channel: str = ""
    owner: str = ""
    search: str = ""
    sort: str = "priority"

    def keeps(self, item: Mapping[str, Any]) -> bool:
        if self.show == "open" and not item["open"]:
            return False
        if self.show == "approval" and item["approval"] != "pending":
            return False
        for name in ("risk", "due", "action", "channel", "owner"):
            wanted = getattr(self, name)
            column = "risk_segment" if name == "risk" else name
            if wanted and item[column] != wanted:
                return False
        needle = self.search.casefold()
        return not needle or needle in f"{item['lead_id']} {item['name'] or ''}".casefold()


def _sort(items: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    if sort == "scheduled_for":
        return sorted(items, key=lambda i: (i["scheduled_for"], i["lead_id"]))
    if sort == "risk":
        return sorted(items, key=lambda i: (_rank(RISK_ORDER, i["risk_segment"]), i["lead_id"]))
    if sort in ("owner", "action"):
        return sorted(items, key=lambda i: (i[sort], priority_key(i)))
    if sort == "lead":
        return sorted(items, key=lambda i: i["lead_id"])
    return sorted(items, key=priority_key)


def worklist(store: Store, now: datetime, wanted: WorkFilter, limit: int = 500) -> dict[str, Any]:
    """The queue (filtered, sorted, at most `limit` rows), owner load and escalations."""
    items = current_items(store, now)
    open_items = [i for i in items if i["open"]]
    load: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for item in open_items:
        counts = load[item["owner"]]
        counts["open"] += 1
        counts["overdue"] += item["due"] == "overdue"
        counts["awaiting_approval"] += item["approval"] == "pending"
    shown = _sort([i for i in items if wanted.keeps(i)], wanted.sort)
    escalations = [
        i for i in open_items if i["risk_segment"] == "critical" and i["due"] == "overdue"
    ]
    return {
        "as_of": now.isoformat(),
        "total": len(shown),
        "items": shown[:limit],
        "owner_load": [
            {"owner": owner, **counts}
            for owner, counts in sorted(load.items(), key=lambda kv: (-kv[1]["open"], kv[0]))
        ],
        "escalations": sorted(escalations, key=priority_key)[:50],
        "escalation_count": len(escalations),
        "choices": {
            "owners": sorted({i["owner"] for i in items}),
            "actions": sorted({i["action"] for i in items}),
            "channels": sorted({i["channel"] for i in items}),
        },
    }


def lead_page(store: Store, lead_id: str, now: datetime) -> dict[str, Any] | None:
    """Everything the console knows about one lead, or None for a lead it never saw."""
    events = [
        json.loads(r["body"])
        for r in store.query(
            "SELECT body FROM events WHERE lead_id = ? ORDER BY occurred_at, event_id", (lead_id,)
        )
    ]
    decisions = [
        NextBestAction.model_validate_json(r["body"])
        for r in store.query(
            "SELECT body FROM decisions WHERE lead_id = ? ORDER BY partition, offset", (lead_id,)
        )
    ]
    transitions = [
        dict(r)
        for r in store.query(
            "SELECT transition_id, decision_id, occurred_at, state_before, action, reward, "
            "state_after FROM transitions WHERE lead_id = ? ORDER BY occurred_at, transition_id",
            (lead_id,),
        )
    ]
    if not events and not decisions and not transitions:
        return None
    extractions = [
        json.loads(r["body"])
        for r in store.query(
            "SELECT body FROM extractions WHERE lead_id = ? ORDER BY extracted_at", (lead_id,)
        )
    ]
    outcomes: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in store.query(
        "SELECT decision_id, outcome, reason, operator, occurred_at FROM outcomes "
        "WHERE lead_id = ? ORDER BY occurred_at, event_id",
        (lead_id,),
    ):
        outcomes[row["decision_id"]].append(dict(row))
    profile = fold_profile(e for e in events if e["type"].startswith("lead."))
    current = decisions[-1] if decisions else None
    reminders = lead_reminders(store, lead_id)
    return {
        "lead_id": lead_id,
        "as_of": now.isoformat(),
        "profile": profile,
        "status": current.rl_state.split(":")[0] if current else None,
        "timeline": [_timeline_entry(e) for e in events],
        "sms_thread": [
            {
                "at": e["occurred_at"],
                "direction": "in" if e["type"] == "sms.received" else "out",
                "body": e["body"],
            }
            for e in events
            if e["type"] in ("sms.received", "sms.sent")
        ],
        "transitions": transitions,
        "decisions": [
            {
                **d.model_dump(mode="json"),
                "outcomes": outcomes.get(d.decision_id, []),
                "approval": approval_state(
                    d.requires_approval, [o["outcome"] for o in outcomes.get(d.decision_id, [])]
                ),
                "current": d is current,
            }
            for d in reversed(decisions)
        ],
        "context_pack": _context_pack(profile, extractions, current),
        "reminders": [_reminder_json(r, now) for r in reminders],
    }


def _timeline_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """One line per input event: when, what, and the few fields that say what happened."""
    kind = event["type"]
    keep = {
        "interaction.completed": ("channel", "direction", "outcome", "transcript", "duration_s"),
        "sms.received": ("body",),
        "sms.sent": ("body",),
        "attendance.recorded": ("status", "program"),
        "payment.recorded": ("status", "amount"),
        "action.outcome": ("outcome", "reason", "operator", "decision_id"),
        "lead.milestone": ("milestone",),
        "lead.consent": ("channel", "granted"),
    }.get(kind, ())
    return {
        "at": event["occurred_at"],
        "type": kind,
        "event_id": event["event_id"],
        "details": {name: event[name] for name in keep if event.get(name) is not None},
    }


def _context_pack(
    profile: Mapping[str, Any], extractions: Sequence[Mapping[str, Any]], nba: NextBestAction | None
) -> dict[str, Any]:
    """The pack an operator reads before a call, from what the topics carried: the
    profile, what every extraction found (latest summary, accumulated signals) and the
    decision in force."""
    found = [x["extraction"] for x in extractions]
    latest = found[-1] if found else {}

    def gathered(name: str) -> list[Any]:
        seen: list[Any] = []
        for extraction in found:
            for item in extraction.get(name, ()):
                if item not in seen:
                    seen.append(item)
        return seen

    child = profile.get("child_name")
    age = profile.get("child_age")
    return {
        "lead_name": profile.get("parent_name"),
        "phone": profile.get("phone"),
        "email": profile.get("email"),
        "child_info": None if not child else f"{child}" + (f" (age {age})" if age else ""),
        "campaign_goal": profile.get("campaign_goal"),
        "latest_summary": latest.get("summary") or None,
        "intent": latest.get("intent"),
        "sentiment": latest.get("sentiment"),
        "known_facts": gathered("facts"),
        "open_questions": gathered("open_questions"),
        "financial": latest.get("financial"),
        "scheduling": latest.get("scheduling"),
        "family": latest.get("family"),
        "objections": gathered("objections"),
        "additional_signals": gathered("additional_signals"),
        "current_nba": None
        if nba is None
        else {"decision_id": nba.decision_id, "action": nba.action, "channel": nba.channel},
    }


def _all_reminders(store: Store, lead_id: str | None) -> list[ReminderState]:
    where, params = ("WHERE c.lead_id = ?", (lead_id,)) if lead_id else ("", ())
    said = _outcomes_by_decision(store)
    pending = []
    for row in store.query(
        "SELECT d.decision_id, d.body FROM current c "
        "JOIN decisions d ON d.decision_id = c.decision_id " + where,
        params,
    ):
        outcomes = [o["outcome"] for o in said.get(row["decision_id"], [])]
        nba = NextBestAction.model_validate_json(row["body"])
        if (reminder := decision_reminder(nba, outcomes)) is not None:
            pending.append(reminder)
    lead_filter, lead_params = ("WHERE lead_id = ?", (lead_id,)) if lead_id else ("", ())
    fired = {
        row["reminder_id"]
        for row in store.query(
            "SELECT reminder_id FROM fired_reminders " + lead_filter, lead_params
        )
    }
    acts = [
        OperatorReminder.model_validate_json(row["body"])
        for row in store.query("SELECT body FROM operator_reminders " + lead_filter, lead_params)
    ]
    return fold_reminders(pending, fired, acts)


def lead_reminders(store: Store, lead_id: str) -> list[ReminderState]:
    return _all_reminders(store, lead_id)


def _reminder_json(reminder: ReminderState, now: datetime) -> dict[str, Any]:
    return {
        "reminder_id": reminder.reminder_id,
        "lead_id": reminder.lead_id,
        "decision_id": reminder.decision_id,
        "action": reminder.action,
        "note": reminder.note,
        "remind_at": reminder.remind_at.astimezone(UTC).isoformat(),
        "source": reminder.source,
        "fired": reminder.fired,
        "dismissed": reminder.dismissed,
        "state": reminder_state(reminder, now),
    }


def reminders_page(store: Store, now: datetime) -> dict[str, Any]:
    """Open reminders, overdue first, then upcoming by time; names from the profiles."""
    states = [_reminder_json(r, now) for r in _all_reminders(store, None) if not r.dismissed]
    names = profiles(store, {s["lead_id"] for s in states})
    for state in states:
        state["name"] = names.get(state["lead_id"], {}).get("parent_name")
    return {
        "as_of": now.isoformat(),
        "overdue": [s for s in states if s["state"] == "overdue"],
        "upcoming": [s for s in states if s["state"] == "upcoming"],
    }
