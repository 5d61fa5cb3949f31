"""The per-lead rule book: state in, (state, effects) out. No broker, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.exploration import Exploration
from stream_app.domain.extraction.model import Extraction, FamilyContext, Intent
from stream_app.domain.lead import (
    Policy,
    arm,
    deadline_result,
    decision_id,
    handle_event,
    handle_extraction,
    handle_tick,
    next_due,
    overdue_extractions,
)
from stream_app.domain.lifecycle import Status, decay_due_at
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from tests.unit.domain.lead.helpers import CALL, NOW, PARAMS, POLICY, Always, Lead


def test_created_lead_gets_one_decision_with_provenance() -> None:
    lead = Lead()
    effects = lead.created()
    [nba] = effects.decisions
    assert nba.decision_id == decision_id("L1", "L1-e1")
    assert nba.trigger_event_id == "L1-e1"
    assert nba.decided_at == lead.clock
    assert nba.rl_state == "new:neutral"
    assert nba.action in {c.action for c in nba.candidates}
    assert "stop" in nba.filtered_out  # no interactions yet
    assert (nba.q_version, nba.policy_version, nba.override) == (7, "ucb-v1", None)
    assert nba.brief.scheduled_for >= nba.decided_at
    assert not effects.transitions  # nothing was in force before


def test_redelivered_event_changes_nothing_and_emits_nothing() -> None:
    lead = Lead()
    event = lead.event("lead.created", parent_name="Ana")
    lead.send(event)
    before = lead.state
    effects = lead.send(event)
    assert not effects
    assert lead.state == before


def test_unanswered_call_decides_at_once_and_closes_the_step_with_a_stall_penalty() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    effects = lead.call(outcome="no_answer", decision_id=first.decision_id)
    [nba] = effects.decisions
    [transition] = effects.transitions
    assert not effects.extraction_requests
    assert nba.rl_state == "new:unreached"
    assert transition.decision_id == first.decision_id
    assert (transition.state_before, transition.action) == (first.rl_state, first.action)
    assert transition.state_after == nba.rl_state
    assert transition.reward == pytest.approx(-0.02)


def test_a_conversation_waits_for_its_extraction_then_decides_for_its_trigger() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    pending = lead.call(transcript=CALL)
    assert not pending.decisions and not pending.transitions
    [request] = pending.extraction_requests
    assert request.source_event_ids == ("L1-e2",)
    assert lead.state is not None and lead.state.status == Status.CONTACTED
    call_time = lead.clock

    effects = lead.extracted(pending, Extraction(intent=Intent.INTERESTED, summary="Keen."))
    [nba] = effects.decisions
    [transition] = effects.transitions
    assert (nba.trigger_event_id, nba.decided_at) == ("L1-e2", call_time)
    assert nba.rl_state.startswith("interested:")
    assert transition.reward == pytest.approx(0.1 + 0.4)  # new -> interested skips a step
    assert transition.decision_id == first.decision_id
    assert lead.state.context.summary == "Keen."
    assert not lead.state.pending


def test_a_duplicate_extraction_result_is_ignored() -> None:
    lead = Lead()
    lead.created()
    pending = lead.call(transcript=CALL)
    lead.extracted(pending, Extraction(intent=Intent.INTERESTED))
    state = lead.state
    assert not lead.extracted(pending, Extraction(intent=Intent.DECLINING))
    assert lead.state == state


def test_overdue_extraction_is_decided_without_it() -> None:
    lead = Lead()
    lead.created()
    lead.call(transcript=CALL)
    assert lead.state is not None
    assert not overdue_extractions(lead.state, NOW + timedelta(seconds=30))
    [overdue] = overdue_extractions(lead.state, NOW + PARAMS.extraction_deadline)
    result = deadline_result("L1", overdue, NOW + PARAMS.extraction_deadline)
    lead.state, effects = handle_extraction(lead.state, result, POLICY, PARAMS)
    [nba] = effects.decisions
    assert nba.trigger_event_id == "L1-e2"
    assert nba.rl_state.startswith("contacted:")  # what is known without the extraction


def test_opt_out_in_the_familys_words_stops_at_once_without_extraction() -> None:
    lead = Lead()
    lead.created()
    effects = lead.call(transcript="Agent: Hi!\nParent: Please do not contact us again.")
    [nba] = effects.decisions
    assert not effects.extraction_requests
    assert (nba.action, nba.override) == ("stop", "opted_out")
    assert lead.state is not None and lead.state.status == Status.OPTED_OUT


def test_the_agent_mentioning_stop_does_not_opt_the_family_out() -> None:
    lead = Lead()
    lead.created()
    effects = lead.call(transcript="Agent: You can reply STOP to opt out.\nParent: Sounds good!")
    assert effects.extraction_requests and not effects.decisions


def test_an_sms_stop_is_immediate() -> None:
    lead = Lead()
    lead.created()
    effects = lead.send(lead.event("sms.received", message_id="m1", body="STOP"))
    [nba] = effects.decisions
    assert (nba.action, nba.override) == ("stop", "opted_out")


def test_a_closed_lead_keeps_stopping_and_teaches_nothing_more() -> None:
    lead = Lead()
    lead.created()
    lead.send(lead.event("lead.milestone", milestone="withdrawn"))
    effects = lead.send(lead.event("lead.updated", phone="+15550199"))
    [nba] = effects.decisions
    assert (nba.action, nba.override) == ("stop", "declined")
    assert not effects.transitions


def test_a_contact_that_names_its_decision_credits_that_decision() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    lead.call(outcome="no_answer")
    effects = lead.call(outcome="no_answer", decision_id=first.decision_id)
    [transition] = effects.transitions
    assert transition.decision_id == first.decision_id
    assert transition.action == first.action


def test_consent_withdrawn_on_one_channel_keeps_the_lead_open() -> None:
    lead = Lead()
    lead.created()
    lead.send(lead.event("lead.consent", channel="sms", granted=False))
    assert lead.state is not None
    assert (lead.state.status, lead.state.opted_out_channels) == (Status.NEW, ("sms",))
    lead.send(lead.event("lead.consent", channel="all", granted=False))
    assert lead.state.status == Status.OPTED_OUT
    lead.send(lead.event("lead.consent", channel="all", granted=True))
    assert lead.state.status == Status.NEW and lead.state.opted_out_channels == ()


def test_milestones_and_attendance_walk_the_funnel_with_seed_rewards() -> None:
    lead = Lead()
    lead.created()
    rewards = []
    for type_, fields in [
        ("lead.milestone", {"milestone": "trial_booked"}),
        ("lead.milestone", {"milestone": "enrolled"}),
        ("attendance.recorded", {"session_id": "s1", "status": "attended"}),
        ("attendance.recorded", {"session_id": "s2", "status": "missed"}),
        ("attendance.recorded", {"session_id": "s3", "status": "missed"}),
    ]:
        [transition] = lead.send(lead.event(type_, **fields)).transitions
        rewards.append(transition.reward)
    assert rewards == pytest.approx([0.1 + 0.4 + 0.7, 1.0, 0.3, -0.02, -0.5])
    assert lead.state is not None and lead.state.status == Status.AT_RISK


def test_family_context_from_an_extraction_reaches_the_brief() -> None:
    lead = Lead()
    lead.created()
    pending = lead.call(transcript=CALL)
    family = FamilyContext(decision_makers=("her husband",))
    effects = lead.extracted(pending, Extraction(intent=Intent.CONSIDERING, family=family))
    [nba] = effects.decisions
    assert "family_engage" not in nba.filtered_out


def test_state_per_lead_stays_bounded() -> None:
    lead = Lead()
    lead.created()
    for _ in range(PARAMS.remembered_event_ids + 20):
        lead.call(outcome="no_answer")
    assert lead.state is not None
    assert len(lead.state.seen_event_ids) == PARAMS.remembered_event_ids
    assert len(lead.state.decisions) == PARAMS.recent_decisions
    assert len(lead.state.recent_interactions) == PARAMS.recent_interactions


# --- contact policy, outcomes and reminders ------------------------------------


def test_quiet_hours_move_scheduled_for_to_the_morning_in_the_leads_time_zone() -> None:
    lead2 = Lead("L2")
    lead2.clock = datetime(2026, 11, 3, 2, 30, tzinfo=UTC) - timedelta(hours=5)
    [late] = lead2.created(timezone="America/New_York").decisions  # 21:30 in New York
    local = late.brief.scheduled_for.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (8, 0)
    assert late.brief.scheduled_for > late.decided_at


def test_cooldown_spaces_contacts_instead_of_blocking_them() -> None:
    lead = Lead()
    lead.created()
    [nba] = lead.call(outcome="no_answer").decisions
    assert nba.action != "wait"
    assert nba.brief.scheduled_for >= lead.clock + PARAMS.contact.cooldown


def test_weekly_cap_reached_publishes_the_next_allowed_action_or_wait() -> None:
    lead = Lead()
    lead.created()
    for _ in range(PARAMS.contact.sms_per_week):
        lead.send(lead.event("sms.sent", message_id=f"m{lead.n}", body="Hi!"))
    [nba] = lead.call(outcome="no_answer").decisions
    assert nba.channel != "sms"
    assert any(reason == "guardrail:cap_sms_week" for reason in nba.filtered_out.values())


def test_sms_only_opt_out_still_allows_voice() -> None:
    lead = Lead()
    lead.created()
    effects = lead.send(lead.event("lead.consent", channel="sms", granted=False))
    [nba] = effects.decisions
    assert nba.channel != "sms"
    assert nba.action != "stop"


def test_a_rejection_teaches_once_however_often_it_is_reported() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    once = lead.send(
        lead.event("action.outcome", decision_id=first.decision_id, outcome="rejected")
    )
    twice = lead.send(
        lead.event("action.outcome", decision_id=first.decision_id, outcome="rejected")
    )
    [transition] = once.transitions
    assert transition.reward == pytest.approx(PARAMS.rewards.operator_rejected)
    assert (transition.state_before, transition.action) == (first.rl_state, first.action)
    assert not twice.transitions
    assert once.outcomes == [(first.action, "rejected")]
    assert lead.state is not None
    assert lead.state.decisions[-1].outcomes == ("rejected", "rejected")


def test_the_next_transition_credits_the_decision_in_force_not_the_last_delivered() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    lead.send(lead.event("action.outcome", decision_id=first.decision_id, outcome="delivered"))
    [stalled] = lead.send(lead.event("lead.updated", phone="+15550111")).transitions
    assert (stalled.decision_id, stalled.reward) == (first.decision_id, -0.02)
    assert lead.state is not None and lead.state.decision_in_force is not None
    in_force = lead.state.decision_in_force.decision_id  # newer, not reported delivered
    [transition] = lead.send(lead.event("lead.milestone", milestone="trial_booked")).transitions
    assert transition.decision_id == in_force


def test_a_reminder_fires_once_when_due_and_a_newer_decision_supersedes_it() -> None:
    lead = Lead()
    [first] = lead.created().decisions
    assert lead.state is not None and lead.state.reminder is not None
    assert lead.state.reminder.decision_id == first.decision_id
    [second] = lead.call(outcome="no_answer").decisions
    assert lead.state.reminder is not None
    assert lead.state.reminder.decision_id == second.decision_id
    due = lead.state.reminder.remind_at
    state, early = handle_tick(lead.state, due - timedelta(minutes=1), NOW, POLICY, PARAMS)
    assert not early.reminders
    state, effects = handle_tick(state, due, NOW, POLICY, PARAMS)
    [reminder] = effects.reminders
    assert (reminder.decision_id, reminder.remind_at) == (second.decision_id, due)
    _, again = handle_tick(state, due + timedelta(days=1), NOW, POLICY, PARAMS)
    assert not again.reminders


def test_at_risk_with_no_attendance_decays_to_inactive_at_its_due_time() -> None:
    lead = Lead()
    lead.created()
    for type_, fields in [
        ("lead.milestone", {"milestone": "enrolled"}),
        ("attendance.recorded", {"session_id": "s1", "status": "attended"}),
        ("attendance.recorded", {"session_id": "s2", "status": "missed"}),
        ("attendance.recorded", {"session_id": "s3", "status": "missed"}),
    ]:
        lead.send(lead.event(type_, **fields))
    assert lead.state is not None and lead.state.status == Status.AT_RISK
    ctx = lead.state.context
    due = decay_due_at(Status.AT_RISK, ctx.last_attendance_at, at_risk_since=ctx.at_risk_since)
    assert due is not None
    state, nothing = handle_tick(lead.state, due - timedelta(seconds=1), NOW, POLICY, PARAMS)
    assert state is not None and state.status == Status.AT_RISK and not nothing.transitions
    state, effects = handle_tick(state, due + timedelta(days=3), NOW, POLICY, PARAMS)
    assert state is not None and state.status == Status.INACTIVE
    [nba] = effects.decisions
    [transition] = effects.transitions
    assert nba.decided_at == due  # the rule fired at its due time, not at the sweep
    assert transition.reward == pytest.approx(-0.7)
    _, repeat = handle_tick(state, due + timedelta(days=4), NOW, POLICY, PARAMS)
    assert not repeat.decisions


def test_an_sms_thread_is_extracted_once_after_it_goes_quiet() -> None:
    lead = Lead()
    lead.created()
    for body in ("Hi, got your message", "Jake is curious", "what ages do you take?"):
        message = lead.event(
            "sms.received", timedelta(minutes=1), message_id=f"m{lead.n}", body=body
        )
        effects = lead.send(message)
        assert not effects.extraction_requests
    assert lead.state is not None
    due = next_due(lead.state, PARAMS)
    assert due is not None and due <= lead.clock + PARAMS.sms.quiet
    state, flushed = handle_tick(lead.state, due, NOW, POLICY, PARAMS)
    [request] = flushed.extraction_requests
    assert len(request.source_event_ids) == 3
    assert request.transcript.count("Parent:") == 3
    [flush] = flushed.sms_flushes
    assert flush.trigger.value == "quiet"
    _, again = handle_tick(state, due + timedelta(hours=1), NOW, POLICY, PARAMS)
    assert not again.extraction_requests


def test_stopping_an_open_lead_closes_its_step_at_once_and_only_once() -> None:
    lead = Lead()
    lead.created()
    stop_only = Policy(POLICY.table, 0, rng=Always(Action.STOP))
    for _ in range(3):
        lead.call(outcome="no_answer")
    assert lead.state is not None
    lead.state, effects = handle_event(
        lead.state, lead.event("lead.updated", phone="+15550123"), stop_only, PARAMS, NOW
    )
    [nba] = effects.decisions
    assert nba.action == "stop" and nba.override is None
    closing = [t for t in effects.transitions if t.decision_id == nba.decision_id]
    assert [(t.action, t.reward) for t in closing] == [("stop", 0.0)]
    later = lead.call(outcome="completed")
    assert not later.transitions  # the stop's episode is over; nothing credits it again


def test_attendance_that_arrives_before_its_enrolment_still_makes_the_lead_active() -> None:
    lead = Lead()
    lead.created()
    lead.send(lead.event("lead.milestone", milestone="trial_booked"))
    enrolled = lead.event("lead.milestone", milestone="enrolled")
    attended = lead.event("attendance.recorded", session_id="s1", status="attended")
    lead.send(attended)  # delivered first, from the attendance topic
    assert lead.state is not None and lead.state.status == Status.TRIAL
    [transition] = lead.send(enrolled).transitions
    assert lead.state.status == Status.ACTIVE
    assert transition.reward == pytest.approx(1.0 + 0.3)


def test_decisions_log_their_propensity_under_exploration() -> None:
    lead = Lead()
    [deterministic] = lead.created().decisions
    assert deterministic.propensity == 1.0
    exploring = replace(PARAMS, exploration=Exploration(epsilon=0.5))
    picks = set()
    for i in range(30):
        _, effects = handle_event(
            None, Lead(f"X{i}").event("lead.created", parent_name="Ana"), POLICY, exploring, NOW
        )
        [nba] = effects.decisions
        assert nba.propensity is not None and 0.0 < nba.propensity <= 1.0
        picks.add(nba.action)
    assert len(picks) > 1  # some decisions explored away from the UCB choice


def test_a_stable_share_of_leads_is_decided_by_the_frozen_holdout_policy() -> None:
    leads = [f"lead-{i}" for i in range(2000)]
    share = sum(arm(lead, 0.2) == "holdout" for lead in leads) / len(leads)
    assert 0.17 < share < 0.23
    assert all(arm(lead, 0.2) == arm(lead, 0.2) for lead in leads[:50])
    assert {arm(lead, 0.0) for lead in leads} == {"learning"}

    learned = QTable().with_entry("new:neutral", Action.GENTLE_NUDGE, QEntry(9.0, 50))
    policy = Policy(learned, 3, holdout=seeded_priors())
    everyone = replace(PARAMS, holdout_share=1.0)
    _, effects = handle_event(
        None, Lead().event("lead.created", parent_name="A"), policy, everyone, NOW
    )
    [nba] = effects.decisions
    assert nba.arm == "holdout"
    _, effects = handle_event(
        None, Lead().event("lead.created", parent_name="A"), policy, PARAMS, NOW
    )
    [learning] = effects.decisions
    assert (learning.arm, learning.action) == ("learning", "gentle_nudge")
    assert nba.action != "gentle_nudge"
