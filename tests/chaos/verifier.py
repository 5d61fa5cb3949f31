"""The chaos run's invariants, each checked from the topics themselves.

Everything is read back from the broker: the `leads` changelog (the last value per
key is the state a worker recovers), the output topics, the committed offsets of
the group, the `q-learner` changelog, and the workers' `/q-table`. A check returns
violations; it never stops at the first, so one run reports everything it saw.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from stream_app.domain.actions import Action
from stream_app.domain.guardrails import is_outreach
from stream_app.domain.lead.ids import decision_id, stable_id
from stream_app.domain.lead.state import read_state
from stream_app.domain.learner import LearnerParams
from stream_app.domain.lifecycle import CLOSED
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QTable
from stream_app.offline.pipeline import Learner
from stream_app.worker.agents.qlearner import GUARD_KEY
from tests.chaos.logs import Rec
from tests.chaos.workload import Sent

INPUT_TOPICS = (
    "leads",
    "interactions",
    "sms-messages",
    "attendance",
    "payments",
    "action-outcomes",
)


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.invariant}] {self.detail}"


@dataclass
class Leads:
    """The `leads` changelog as read so far: last value per lead, and every event id
    any value of the lead ever remembered (state only grows: ids are capped at 256)."""

    latest: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    ever_seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    partition: dict[str, int] = field(default_factory=dict)

    def add(self, rec: Rec) -> None:
        lead = rec.text_key
        if lead is None:
            return
        state = _full(rec.value)
        self.latest[lead] = state
        self.partition[lead] = rec.partition
        if isinstance(state, dict):
            self.ever_seen[lead].update(state.get("seen_event_ids", ()))

    def buffered(self) -> list[str]:
        """Leads with SMS waiting in their thread buffer."""
        return [lead for lead, s in self.latest.items() if s and s.get("sms", {}).get("messages")]

    def busy(self) -> list[str]:
        """Leads with work in flight: buffered SMS or a pending extraction."""
        return [
            lead
            for lead, s in self.latest.items()
            if s and (s.get("sms", {}).get("messages") or s.get("pending"))
        ]


def _full(raw: bytes | str | None) -> dict[str, Any] | None:
    """A stored lead state with every field, as the worker reads it.

    The changelog leaves fields at their defaults out (`write_state`); the verifier
    compares and reads the state the worker would serve.
    """
    if raw is None:
        return None
    try:
        return read_state(raw).model_dump(mode="json")
    except ValueError:
        return None


def _by_id(sent: Iterable[Sent]) -> dict[str, Sent]:
    return {s.event_id: s for s in sent}


# --- every input applied once ------------------------------------------------------


def applied_once(
    sent: list[Sent], never_applied: list[Sent], leads: Leads, http_states: Mapping[str, Any]
) -> list[Violation]:
    out = [
        Violation("input applied", f"{s.topic} {s.event_id} ({s.type}) not in the lead's state")
        for s in never_applied
        if s.event_id not in leads.ever_seen.get(s.lead_id, set())
    ]
    by_lead: dict[str, list[Sent]] = defaultdict(list)
    for s in sent:
        by_lead[s.lead_id].append(s)
    for lead, events in sorted(by_lead.items()):
        state = leads.latest.get(lead)
        if not state:
            out.append(Violation("input applied", f"{lead}: no state on the changelog"))
            continue
        seen = list(state["seen_event_ids"])
        wanted = {s.event_id for s in events}
        missing = sorted(wanted - set(seen))
        if missing:
            out.append(Violation("input applied", f"{lead}: events not applied: {missing}"))
        twice = [e for e, n in Counter(seen).items() if n > 1]
        if twice:
            out.append(Violation("applied once", f"{lead}: ids remembered twice: {twice}"))
        interactions = sum(1 for s in events if s.type == "interaction.completed")
        inbound_sms = sum(1 for s in events if s.type == "sms.received")
        count = state["context"]["interaction_count"]
        # A received SMS counts as a completed contact, as a call does.
        if count != interactions + inbound_sms:
            out.append(
                Violation(
                    "applied once",
                    f"{lead}: interaction_count {count}, expected {interactions + inbound_sms}",
                )
            )
        attended = sum(
            1 for s in events if s.type == "attendance.recorded" and s.event["status"] == "attended"
        )
        if state["context"]["attended_sessions"] != attended:
            out.append(
                Violation(
                    "applied once",
                    f"{lead}: attended_sessions {state['context']['attended_sessions']}, "
                    f"expected {attended}",
                )
            )
        served = http_states.get(lead)
        if served is not None:
            served = _full(orjson.dumps(served))
        if served is not None and served != state:
            diff = sorted(k for k in state if state.get(k) != served.get(k))
            out.append(
                Violation(
                    "state served = changelog",
                    f"{lead}: GET /leads differs from the changelog's last value in {diff}",
                )
            )
    return out


# --- decisions, extractions, SMS threads, transitions --------------------------------


@dataclass
class Expected:
    """What the inputs must have caused, from the rules of docs/architecture.md."""

    triggers: dict[tuple[str, str], str] = field(default_factory=dict)
    """(lead, trigger event id) -> why it decides."""
    transcript_calls: list[Sent] = field(default_factory=list)
    sms: list[Sent] = field(default_factory=list)
    rejections: dict[str, Sent] = field(default_factory=dict)
    """expected rejection transition id -> the outcome event."""
    sms_triggers: set[tuple[str, str]] = field(default_factory=set)
    """(lead, message id) of every SMS: a thread's decision waits for its extraction."""
    position: dict[tuple[str, str], int] = field(default_factory=dict)
    """(lead, event id) -> its place in the production order (a lead's events apply
    in that order: each is produced once the one before is in its state)."""
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    """(lead, event id) -> the decision a contact event names."""
    carried_out: dict[str, int] = field(default_factory=dict)
    """decision id -> the position of the first outcome saying it was delivered or
    completed."""


def expected(sent: list[Sent]) -> Expected:
    exp = Expected()
    for place, s in enumerate(sent):
        e = s.event
        exp.position[(s.lead_id, s.event_id)] = place
        if s.type == "interaction.completed" and e.get("decision_id"):
            exp.names[(s.lead_id, s.event_id)] = e["decision_id"]
        if s.type == "action.outcome" and e["outcome"] in ("delivered", "completed"):
            exp.carried_out.setdefault(e["decision_id"], place)
        if s.type == "interaction.completed":
            if e["outcome"] == "completed" and e.get("transcript"):
                exp.transcript_calls.append(s)
                exp.triggers[(s.lead_id, s.event_id)] = EXTRACTED
            else:
                exp.triggers[(s.lead_id, s.event_id)] = "interaction without transcript"
        elif s.type in ("sms.received", "sms.sent"):
            exp.sms.append(s)
            exp.sms_triggers.add((s.lead_id, s.event_id))
        elif s.type == "action.outcome":
            if e["outcome"] == "rejected":
                tid = stable_id("t", s.lead_id, e["decision_id"], "rejected")
                exp.rejections[tid] = s
        else:
            exp.triggers[(s.lead_id, s.event_id)] = s.type
    return exp


def _distinct(records: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        grouped[r["extraction_id"] if "extraction_id" in r else r["decision_id"]].append(r)
    return grouped


def sms_threads(
    exp: Expected, requests: list[dict[str, Any]]
) -> tuple[list[Violation], dict[tuple[str, str], str]]:
    """Every SMS in exactly one extraction, each thread a run of the lead's messages in
    order; returns the decisions the threads must cause (trigger = last message)."""
    out: list[Violation] = []
    triggers: dict[tuple[str, str], str] = {}
    sms_ids = {s.event_id for s in exp.sms}
    by_id = _distinct(requests)
    containing: dict[str, set[str]] = defaultdict(set)
    for xid, copies in by_id.items():
        sources = {tuple(c["source_event_ids"]) for c in copies}
        if len(sources) > 1:
            out.append(Violation("extraction once", f"{xid} sent with different sources"))
        for events in sources:
            for event in events:
                containing[event].add(xid)
    lead_sms: dict[str, list[str]] = defaultdict(list)
    for s in exp.sms:
        lead_sms[s.lead_id].append(s.event_id)
    for s in exp.sms:
        ids = containing.get(s.event_id, set())
        if not ids:
            out.append(Violation("SMS extracted", f"{s.event_id} ({s.lead_id}) in no extraction"))
        elif len(ids) > 1:
            out.append(
                Violation("SMS extracted once", f"{s.event_id} in {len(ids)} extractions: {ids}")
            )
    for xid, copies in by_id.items():
        source = list(copies[0]["source_event_ids"])
        if not source or source[0] not in sms_ids:
            continue
        lead = copies[0]["lead_id"]
        order = lead_sms[lead]
        start = order.index(source[0]) if source[0] in order else -1
        if order[start : start + len(source)] != source:
            out.append(
                Violation("SMS thread", f"{xid}: {source} is not a run of {lead}'s messages")
            )
        triggers[(lead, source[-1])] = f"SMS thread of {len(source)} ({xid})"
    return out, triggers


def transcripts(exp: Expected, requests: list[dict[str, Any]]) -> list[Violation]:
    out = []
    by_id = _distinct(requests)
    for s in exp.transcript_calls:
        xid = stable_id("x", s.lead_id, s.event_id)
        copies = by_id.get(xid, [])
        if not copies:
            out.append(Violation("extraction requested", f"{s.event_id}: no request {xid}"))
        elif {tuple(c["source_event_ids"]) for c in copies} != {(s.event_id,)}:
            out.append(Violation("extraction once", f"{xid}: sources differ from the call"))
    return out


def decisions(
    triggers: Mapping[tuple[str, str], str], nbas: list[dict[str, Any]]
) -> tuple[list[Violation], list[str]]:
    """Each expected trigger decided, under its one deterministic id; nothing else.

    Returns the violations and notes on duplicates whose content differs (the same
    id re-decided from a Q-table that moved in between).
    """
    out: list[Violation] = []
    notes: list[str] = []
    by_trigger: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in nbas:
        by_trigger[(r["lead_id"], r["trigger_event_id"])].append(r)
    for (lead, trigger), why in sorted(triggers.items()):
        found = by_trigger.get((lead, trigger), [])
        if not found:
            out.append(Violation("decision present", f"{lead} {trigger} ({why}): no decision"))
            continue
        ids = {r["decision_id"] for r in found}
        if ids != {decision_id(lead, trigger)}:
            out.append(Violation("duplicates share their id", f"{lead} {trigger}: ids {ids}"))
        contents = {orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in found}
        if len(contents) > 1:
            changed = sorted(
                {k for r in found for k in r if r[k] != found[0][k]}  # fields that differ
            )
            notes.append(f"{lead} {trigger}: {len(found)} copies differ in {changed}")
    for key, found in sorted(by_trigger.items()):
        if key not in triggers:
            out.append(
                Violation(
                    "no unexpected decision",
                    f"{key[0]} {key[1]}: {len(found)} decision(s) for a trigger that "
                    f"decides nothing",
                )
            )
    return out, notes


def transitions(
    exp: Expected, nbas: list[dict[str, Any]], logged: list[dict[str, Any]]
) -> list[Violation]:
    """One transition per executed step (docs/architecture.md, "Learning"), and none
    for a step that was not: as each decision is made, the decision its trigger names
    (else the one in force, the lead's previous decision) is credited if it is still
    open and was carried out (a contact named it, the CRM said delivered or completed
    before the trigger, or it needs no one: not outreach) or the status moved under
    it. A stop chosen for an open lead is closed at once; each rejection teaches once.
    """
    out: list[Violation] = []
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in logged:
        by_id[t["transition_id"]].append(t)
    for tid, copies in by_id.items():
        if len({orjson.dumps(c, option=orjson.OPT_SORT_KEYS) for c in copies}) > 1:
            out.append(Violation("duplicates share their content", f"transition {tid} differs"))
    order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[str] = set()
    last = {r["decision_id"]: r for r in nbas}  # a redelivery's copy is what state keeps
    for r in nbas:  # a lead's decisions are on one partition, in decision order
        if r["decision_id"] not in seen:
            seen.add(r["decision_id"])
            order[r["lead_id"]].append(last[r["decision_id"]])
    stops = {
        stable_id("t", r["lead_id"], r["decision_id"], "stop")
        for made in order.values()
        for r in made
        if r["action"] == "stop" and r["override"] is None
    }
    wanted: set[str] = set(exp.rejections) | stops
    causes: dict[tuple[str, str], set[str]] = defaultdict(set)
    for t in logged:  # transitions that close a step, by the trigger that closed it
        if t["transition_id"] not in wanted:
            causes[(t["lead_id"], t["cause_event_id"])].add(t["transition_id"])
    stepped: set[tuple[str, str]] = set()
    for lead, made in order.items():
        by_decision = {r["decision_id"]: r for r in made}
        closed: set[str] = set()
        late = _landed_late(exp, lead, made)
        for before, after in itertools.pairwise(made):
            trigger = after["trigger_event_id"]
            named = exp.names.get((lead, trigger))
            credited = by_decision.get(named, before) if named else before
            closes = _closes_step(exp, lead, credited, after, named is not None, closed)
            if closes is not None and not named and before["decision_id"] in late:
                closes = None
            if closes is None:  # either way is right: allowed, not required
                if causes.get((lead, trigger)):
                    closed.add(credited["decision_id"])
                stepped.add((lead, trigger))
            elif closes:
                closed.add(credited["decision_id"])
                stepped.add((lead, trigger))
                if not causes.get((lead, trigger)):
                    out.append(
                        Violation(
                            "transition present",
                            f"{lead}: no transition closes {credited['decision_id']} at {trigger}",
                        )
                    )
    for tid in sorted(wanted - set(by_id)):
        rejected = exp.rejections.get(tid)
        what = f"rejection {rejected.event_id}" if rejected else "closing stop"
        out.append(Violation("transition present", f"{tid} ({what}) not on lead-transitions"))
    for (lead, cause), ids in sorted(causes.items()):
        if (lead, cause) not in stepped:
            out.append(Violation("no unexpected transition", f"{lead} {cause}: {sorted(ids)}"))
    return out


CLOSED_STATUSES = frozenset(status.value for status in CLOSED)


EXTRACTED = "call with a transcript (extracted)"


def _landed_late(exp: Expected, lead: str, made: list[dict[str, Any]]) -> set[str]:
    """Decisions published after one whose trigger came later (an extraction that
    outlasted the lead's next events): which of them a redelivered or re-made later
    decision found in force depends on timing, so the step they credit is not fixed."""
    late, newest = set(), -1
    for r in made:
        at = exp.position.get((lead, r["trigger_event_id"]), -1)
        if at < newest:
            late.add(r["decision_id"])
        newest = max(newest, at)
    return late


def _status(decision: Mapping[str, Any]) -> str:
    return str(decision["rl_state"]).split(":", 1)[0]


def _closes_step(
    exp: Expected,
    lead: str,
    credited: Mapping[str, Any],
    after: Mapping[str, Any],
    named: bool,
    closed: set[str],
) -> bool:
    """Whether making `after` closes the credited decision's step (the rule above);
    None when either is right. A decision that waits for an extraction is made after
    its trigger, while the lead's next events go on applying: an outcome produced
    after the trigger may or may not have been applied when it was made."""
    if credited["decision_id"] in closed or credited["action"] == "stop":
        return False
    if credited["override"] in ("declined", "opted_out") or _status(credited) in CLOSED_STATUSES:
        return False
    moved = _status(after) != _status(credited)
    if moved or named or not is_outreach(Action(credited["action"])):
        return True
    trigger = after["trigger_event_id"]
    at = exp.position.get((lead, trigger), len(exp.position))
    carried_at = exp.carried_out.get(credited["decision_id"])
    if carried_at is None:
        return False
    if carried_at < at:
        return True
    waits = exp.triggers.get((lead, trigger)) == EXTRACTED or (lead, trigger) in exp.sms_triggers
    return None if waits else False


# --- committed offsets ---------------------------------------------------------------


def committed_inputs(
    kill: str,
    prefix: str,
    committed: Mapping[tuple[str, int], int],
    log: Mapping[str, list[Rec]],
    leads: Leads,
) -> list[Violation]:
    """No committed offset of an input partition past a record not applied to state."""
    out = []
    for topic in INPUT_TOPICS:
        for rec in log.get(prefix + topic, []):
            if rec.offset >= committed.get((topic, rec.partition), 0):
                continue
            event = rec.json
            lead, eid = event["lead_id"], event["event_id"]
            if eid not in leads.ever_seen.get(lead, set()):
                out.append(
                    Violation(
                        "commit after apply",
                        f"{kill}: {topic}[{rec.partition}] committed "
                        f"{committed[(topic, rec.partition)]} past offset {rec.offset} "
                        f"({eid}), not in {lead}'s state",
                    )
                )
    return out


def committed_transitions(
    kill: str,
    committed: int,
    log: list[Rec],
    learned: Mapping[str, dict[str, Any] | None],
) -> list[Violation]:
    """No committed `lead-transitions` offset past a transition the learner has not
    stored (its id on the entry, or the entry's version at or past it)."""
    out = []
    for rec in log:
        if rec.offset >= committed:
            continue
        t = rec.json
        key = f"{t['state_before']}|{t['action']}"
        entry = learned.get(key)
        ok = entry is not None and (
            t["transition_id"] in entry["recent_ids"] or entry["q_version"] >= rec.offset + 1
        )
        if not ok:
            out.append(
                Violation(
                    "commit after learn",
                    f"{kill}: lead-transitions committed {committed} past offset {rec.offset} "
                    f"({t['transition_id']}), not on the q-learner entry {key}",
                )
            )
    return out


# --- stored state never goes back -----------------------------------------------------


def leads_never_regress(changelog: list[Rec]) -> list[Violation]:
    """Each lead's state only gains event ids (they are capped at 256, far above a
    script's ~26): a value that forgets one was written from a stale state, i.e. the
    writer recovered the lead without its newest value. Says whether and where a
    later value remembers the forgotten ids again (a redelivery re-applied them)."""
    out = []
    history: dict[str, list[tuple[Rec, set[str]]]] = defaultdict(list)
    for rec in sorted(changelog, key=lambda r: (r.partition, r.offset)):
        state, lead = rec.json, rec.text_key
        if lead is not None and isinstance(state, dict):
            history[lead].append((rec, set(state.get("seen_event_ids", ()))))
    for lead, values in history.items():
        for (before, had), (now, seen) in itertools.pairwise(values):
            if had <= seen:
                continue
            lost = had - seen
            back = next(
                (r.offset for r, later in values if r.offset > now.offset and lost <= later),
                None,
            )
            where = f"remembered again @{back}" if back is not None else "never again"
            out.append(
                Violation(
                    "state never regresses",
                    f"{lead}: leads-changelog[{now.partition}]@{now.offset} ({now.wall}) "
                    f"forgets {sorted(lost)} remembered @{before.offset} ({before.wall}; "
                    f"{where}; {len(values)} values of this lead)",
                )
            )
    return out


def learner_never_regresses(changelog: list[Rec]) -> list[Violation]:
    """Each q-learner entry's visits only grow (every write follows one learned
    transition): a value with no more visits than the one before it was learned from a
    stale entry (a recovery that missed the newest). The running guard's per-arm
    totals share the table: their lead counts never fall."""
    out = []
    last: dict[str, tuple[Rec, int]] = {}
    for rec in sorted(changelog, key=lambda r: r.offset):
        entry, key = rec.json, rec.text_key
        if key is None or not isinstance(entry, dict):
            continue
        if key == GUARD_KEY:
            leads = sum(int(arm["leads"]) for arm in entry.values())
            if key in last and leads < last[key][1]:
                before, had = last[key]
                out.append(
                    Violation(
                        "state never regresses",
                        f"{key}: q-learner-changelog@{rec.offset} counts {leads} leads after "
                        f"{had} @{before.offset}: written from stale totals",
                    )
                )
            last[key] = (rec, leads)
            continue
        visits = int(entry["visits"])
        if key in last and visits <= last[key][1]:
            before, had = last[key]
            out.append(
                Violation(
                    "state never regresses",
                    f"{key}: q-learner-changelog@{rec.offset} ({rec.wall}) has {visits} visits "
                    f"after {had} @{before.offset} ({before.wall}): learned from a stale entry",
                )
            )
        last[key] = (rec, visits)
    return out


# --- the Q-table ----------------------------------------------------------------------


def relearned(log: list[Rec], params: LearnerParams) -> Learner:
    """The pure learner over the `lead-transitions` log, in offset order: what the
    single-writer Q-learner must have computed, whatever crashed in between."""
    learner = Learner(params)
    for expected_offset, rec in enumerate(log):
        assert rec.offset == expected_offset, "lead-transitions offsets are contiguous"
        learner.apply(LeadTransition.model_validate_json(rec.value or b""))
    return learner


def _rows(table: QTable) -> dict[tuple[str, str], tuple[float, int]]:
    return {(s, a.value): (e.q, e.visits) for (s, a), e in table.items()}


def q_tables(
    learner: Learner,
    log: list[Rec],
    updates: list[Rec],
    served: Mapping[str, Mapping[str, Any]],
) -> list[Violation]:
    """Exact: each worker's table = the last q-update per key = the relearned table,
    and every key's visits = the distinct transitions logged for it."""
    out = []
    want = _rows(learner.table)
    distinct: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rec in log:
        t = rec.json
        distinct[(t["state_before"], t["action"])].add(t["transition_id"])
    for key, ids in sorted(distinct.items()):
        visits = want.get(key, (0.0, 0))[1]
        if visits != len(ids):
            out.append(
                Violation("learned once", f"{key}: {visits} visits for {len(ids)} transitions")
            )
    last: dict[tuple[str, str], tuple[float, int]] = {}
    for rec in updates:
        u = rec.json
        last[(u["state"], u["action"])] = (u["q_after"], u["visits"])
    for key, value in sorted(last.items()):
        if want.get(key) != value:
            out.append(
                Violation(
                    "q-updates = relearned",
                    f"{key}: last q-update {value}, relearned {want.get(key)}",
                )
            )
    for key in sorted(set(distinct) - set(last)):
        out.append(Violation("q-updates = relearned", f"{key}: learned but no q-update"))
    for worker, table in served.items():
        rows = {
            (state, action): (entry["q"], entry["visits"])
            for state, actions in table["states"].items()
            for action, entry in actions.items()
        }
        differ = sorted(k for k in set(rows) | set(want) if rows.get(k) != want.get(k))
        for key in differ[:10]:
            out.append(
                Violation(
                    "served Q-table = relearned",
                    f"worker {worker} {key}: serves {rows.get(key)}, relearned {want.get(key)}",
                )
            )
        if len(differ) > 10:
            out.append(Violation("served Q-table = relearned", f"... {len(differ) - 10} more"))
        if table["q_version"] != learner.version:
            out.append(
                Violation(
                    "served Q-table = relearned",
                    f"worker {worker}: q_version {table['q_version']}, relearned {learner.version}",
                )
            )
    return out


def per_state_visits(table: QTable) -> dict[str, int]:
    """Visits summed over a state's actions: how often each RL state was left."""
    totals: Counter[str] = Counter()
    for (state, _action), entry in table.items():
        totals[state] += entry.visits
    return {s: n for s, n in totals.items() if n}
