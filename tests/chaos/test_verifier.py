"""The verifier finds what it is meant to find (pure: no broker, no worker)."""

from __future__ import annotations

from typing import Any

import orjson

from stream_app.domain.actions import Action
from stream_app.domain.lead.ids import decision_id, stable_id
from stream_app.domain.learner import LearnerParams
from stream_app.worker.agents.qlearner import GUARD_KEY
from tests.chaos import verifier as v
from tests.chaos.logs import Rec
from tests.chaos.workload import Sent


def rec(topic: str, offset: int, value: dict[str, Any], key: str = "L1", partition: int = 0) -> Rec:
    return Rec(topic, partition, offset, key.encode(), orjson.dumps(value))


def state(*seen: str) -> dict[str, Any]:
    """A stored state as the changelog holds it: fields at their defaults left out."""
    return {"schema_version": 1, "lead_id": "L1", "seen_event_ids": list(seen)}


def event(eid: str, type_: str = "lead.created", **fields: Any) -> dict[str, Any]:
    return {"event_id": eid, "lead_id": "L1", "type": type_, **fields}


def test_a_commit_past_a_record_missing_from_state_is_a_violation() -> None:
    leads = v.Leads()
    leads.add(rec("x-leads-changelog", 0, state("L1-e1")))
    log = {"p.leads": [rec("p.leads", 0, event("L1-e1")), rec("p.leads", 1, event("L1-e2"))]}
    assert v.committed_inputs("k", "p.", {("leads", 0): 1}, log, leads) == []
    [found] = v.committed_inputs("k", "p.", {("leads", 0): 2}, log, leads)
    assert found.invariant == "commit after apply" and "L1-e2" in found.detail


def test_an_sms_in_two_extractions_or_in_none_is_a_violation() -> None:
    sms = [Sent("sms-messages", event(f"L1-e{n}", "sms.received")) for n in (1, 2, 3)]
    exp = v.expected(sms)
    requests = [
        {"extraction_id": "x-1", "lead_id": "L1", "source_event_ids": ["L1-e1", "L1-e2"]},
        {"extraction_id": "x-2", "lead_id": "L1", "source_event_ids": ["L1-e2"]},
    ]
    found, triggers = v.sms_threads(exp, requests)
    kinds = sorted(x.invariant for x in found)
    assert kinds == ["SMS extracted", "SMS extracted once"]
    assert set(triggers) == {("L1", "L1-e2")}


def test_a_missing_decision_and_a_second_id_are_violations() -> None:
    triggers = {("L1", "L1-e1"): "lead.created", ("L1", "L1-e2"): "lead.updated"}
    nbas = [
        {"lead_id": "L1", "trigger_event_id": "L1-e1", "decision_id": decision_id("L1", "L1-e1")},
        {"lead_id": "L1", "trigger_event_id": "L1-e1", "decision_id": "d-other"},
        {"lead_id": "L1", "trigger_event_id": "L1-e9", "decision_id": decision_id("L1", "L1-e9")},
    ]
    found, _ = v.decisions(triggers, nbas)
    assert sorted(x.invariant for x in found) == [
        "decision present",
        "duplicates share their id",
        "no unexpected decision",
    ]


def transition(tid: str, offset: int, reward: float = -0.02) -> Rec:
    return rec(
        "p.lead-transitions",
        offset,
        {
            "transition_id": tid,
            "lead_id": "L1",
            "occurred_at": "2026-11-02T15:00:00Z",
            "state_before": "new:unreached",
            "action": "warm_follow_up",
            "decision_id": "d-1",
            "reward": reward,
            "state_after": "new:unreached",
            "cause_event_id": "L1-e2",
        },
    )


def test_a_transition_learned_twice_or_a_table_off_by_one_update_is_a_violation() -> None:
    log = [transition("t-1", 0), transition("t-2", 1), transition("t-1", 2)]
    learner = v.relearned(log, LearnerParams())
    q, visits = learner.table[("new:unreached", Action("warm_follow_up"))]
    assert visits == 2, "the redelivered t-1 is not learned again"
    update = {"state": "new:unreached", "action": "warm_follow_up", "q_after": q, "visits": 2}
    served = {
        "states": {"new:unreached": {"warm_follow_up": {"q": q, "visits": visits}}},
        "q_version": learner.version,
    }
    assert v.q_tables(learner, log, [rec("p.q-updates", 0, update)], {}) == []
    stale = {**update, "visits": 1}
    [found] = v.q_tables(learner, log, [rec("p.q-updates", 0, stale)], {})
    assert found.invariant == "q-updates = relearned"
    off = {"states": {"new:unreached": {"warm_follow_up": {"q": q + 1e-12, "visits": 2}}}}
    found_served = v.q_tables(
        learner, log, [rec("p.q-updates", 0, update)], {"a": {**served, **off}}
    )
    assert {x.invariant for x in found_served} == {"served Q-table = relearned"}


def test_a_rejection_without_its_transition_is_a_violation() -> None:
    outcome = Sent(
        "action-outcomes", event("L1-e3", "action.outcome", decision_id="d-1", outcome="rejected")
    )
    exp = v.expected([outcome])
    [found] = v.transitions(exp, [], [])
    assert found.invariant == "transition present"
    assert stable_id("t", "L1", "d-1", "rejected") in found.detail


def test_a_state_or_learner_entry_written_from_a_stale_value_is_a_violation() -> None:
    leads = [
        rec("c", 0, state("L1-e1")),
        rec("c", 1, state("L1-e1", "L1-e2")),
        rec("c", 2, state("L1-e1", "L1-e3")),
    ]
    [found] = v.leads_never_regress(leads)
    assert "forgets ['L1-e2']" in found.detail
    entries = [rec("q", n, {"visits": visits}, key="s|a") for n, visits in enumerate((1, 2, 2))]
    [found] = v.learner_never_regresses(entries)
    assert "q-learner-changelog@2 (00:00:00.000) has 2 visits after 2 @1" in found.detail


def test_the_guard_totals_beside_the_entries_must_not_lose_leads() -> None:
    def totals(learning: int, holdout: int) -> dict[str, Any]:
        arm = {"conversions": 0, "return_sum": 0.0}
        return {"learning": {**arm, "leads": learning}, "holdout": {**arm, "leads": holdout}}

    grows = [rec("q", n, totals(*t), key=GUARD_KEY) for n, t in enumerate([(1, 0), (1, 1)])]
    assert v.learner_never_regresses(grows) == []
    stale = [*grows, rec("q", 2, totals(1, 0), key=GUARD_KEY)]
    [found] = v.learner_never_regresses(stale)
    assert "counts 1 leads after 2" in found.detail


def nba(trigger: str, action: str, status: str = "contacted") -> dict[str, Any]:
    return {
        "lead_id": "L1",
        "decision_id": decision_id("L1", trigger),
        "trigger_event_id": trigger,
        "action": action,
        "override": None,
        "rl_state": f"{status}:neutral",
    }


def closing(credited: dict[str, Any], trigger: str) -> dict[str, Any]:
    return {
        "transition_id": stable_id("t", "L1", credited["decision_id"], trigger),
        "lead_id": "L1",
        "cause_event_id": trigger,
    }


def test_only_an_executed_step_or_a_status_move_must_close_with_a_transition() -> None:
    """The credit rule: a re-decision before the planned call happened closes nothing;
    a delivery reported before the next trigger, or a status move, closes the step."""
    first, replanned, delivered, moved = (
        nba("L1-e1", "warm_follow_up"),
        nba("L1-e2", "warm_follow_up"),
        nba("L1-e4", "scheduling_push"),
        nba("L1-e5", "wait", status="trial_booked"),
    )
    sent = [
        Sent("leads", event("L1-e1")),
        Sent("leads", event("L1-e2", "lead.updated")),
        Sent(
            "action-outcomes",
            event(
                "L1-e3", "action.outcome", decision_id=replanned["decision_id"], outcome="delivered"
            ),
        ),
        Sent("leads", event("L1-e4", "lead.updated")),
        Sent("leads", event("L1-e5", "lead.milestone")),
    ]
    exp = v.expected(sent)
    decisions = [first, replanned, delivered, moved]
    right = [closing(replanned, "L1-e4"), closing(delivered, "L1-e5")]
    assert v.transitions(exp, decisions, right) == []
    [missing] = v.transitions(exp, decisions, right[:1])
    assert missing.invariant == "transition present" and "L1-e5" in missing.detail
    stall = closing(first, "L1-e2")  # the old rule's stall for a call never made
    [unexpected] = v.transitions(exp, decisions, [*right, stall])
    assert unexpected.invariant == "no unexpected transition" and "L1-e2" in unexpected.detail


def test_an_outcome_applied_while_an_extraction_ran_may_or_may_not_close_the_step() -> None:
    """A transcript call's decision waits for its extraction while the lead's next
    event (the CRM saying the previous decision completed) applies: either is right."""
    first = nba("L1-e1", "warm_follow_up")
    extracted = nba("L1-e2", "scheduling_push")
    completed = event("L1-e3", "action.outcome", decision_id=first["decision_id"])
    sent = [
        Sent("leads", event("L1-e1")),
        Sent(
            "interactions",
            event("L1-e2", "interaction.completed", outcome="completed", transcript="Yes"),
        ),
        Sent("action-outcomes", {**completed, "outcome": "completed"}),
    ]
    exp = v.expected(sent)
    assert v.transitions(exp, [first, extracted], []) == []
    assert v.transitions(exp, [first, extracted], [closing(first, "L1-e2")]) == []
