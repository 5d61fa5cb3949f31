"""Deciding: the next-best-action for a lead, with its brief, provenance and credit."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from stream_app.domain.actions import Action, Channel, allowed_actions, channel_for, hard_override
from stream_app.domain.briefs import build_brief
from stream_app.domain.exploration import Exploration, draw_for, explore, thompson
from stream_app.domain.guardrails import Block, apply_policy, is_outreach, without_cooldown
from stream_app.domain.lead.credit import close_step, closing_transition
from stream_app.domain.lead.effects import Effects
from stream_app.domain.lead.ids import decision_id, stable_id
from stream_app.domain.lead.policy import Params, Policy
from stream_app.domain.lead.state import DecisionRecord, LeadState, shown
from stream_app.domain.learner import seeded
from stream_app.domain.messages import NextBestAction, Reminder
from stream_app.domain.qlearning import Selection, select_action
from stream_app.domain.risk import requires_approval, risk_segment, urgency
from stream_app.domain.scheduling import lead_zone, schedule, schedule_call
from stream_app.domain.state_model import state_key

NO_EXPLORATION = Exploration()
_NEXT_BEST_ACTION = NextBestAction.__pydantic_validator__.validate_python


def decide(
    lead: LeadState,
    trigger_event_id: str,
    decided_at: datetime,
    credit_decision_id: str | None,
    policy: Policy,
    params: Params,
) -> tuple[LeadState, Effects]:
    """Select by UCB (or the baseline's random pick), then apply the contact policy.

    The policy walks the candidates best-first and publishes the first one every
    rule allows; when none is allowed the lead waits, with the reason on record.
    A call then books the hour it is scheduled for in the partition's voice
    calendar (`policy.voice_budget`), which may move it later; a call no hour of
    the horizon has room for waits (`guardrail:voice_rate_limit`). The decision
    closes the step the previous one opened (see `credit`).
    """
    status, ctx = lead.status, lead.context
    state = state_key(status, ctx, params.state_model, params.buckets)
    forced = hard_override(status)
    if forced is not None:
        allowed: list[Action] = [forced]
        filtered: dict[Action, str] = {}
    else:
        allowed, filtered = allowed_actions(status, ctx, decided_at, params.filter)
    table, group = policy.table_for(lead.lead_id, params.holdout_share)
    # The holdout arm is the rule book: it never explores. The guard can stop the
    # learning arm's exploration too (greedy over the learned Q).
    exploring = policy.explore and group == "learning"
    selection = select_action(table, state, allowed, params.ucb_c if exploring else 0.0)
    did = decision_id(lead.lead_id, trigger_event_id)
    ranked, pick, propensity = _ranked(selection, state, allowed, did, policy, params, exploring)
    last_channel = ctx.last_contact_channel._value_ if ctx.last_contact_channel else None
    prefer_email = not lead.profile.phone and bool(lead.profile.email)
    # The cooldown spaces contacts out: it moves `scheduled_for` (`scheduling`)
    # instead of blocking, or every decision made right after a call would be a wait.
    checked = apply_policy(
        [(action, channel_for(action, last_channel, prefer_email)) for action in ranked],
        opted_out_channels=lead.opted_out_channels,
        history=lead.contact_history,
        now=decided_at,
        policy=without_cooldown(params.contact),
        last_channel=last_channel,
    )
    action, channel, override = checked.action, checked.channel, checked.override
    for blocked, code in checked.blocked.items():
        filtered[blocked] = f"guardrail:{code.value}"
    top = ranked[0] if ranked else action
    changed = [checked.blocked[top].value] if top in checked.blocked else []
    timed = partial(
        schedule,
        ctx=ctx,
        decided_at=decided_at,
        history=lead.contact_history,
        timezone=lead.profile.timezone,
        contact=params.contact,
        briefs=params.briefs,
    )
    when = timed(action)
    calendar = policy.voice_budget
    if channel == Channel.VOICE:
        zone = lead_zone(lead.profile.timezone, params.contact.default_timezone)
        booked = schedule_call(when, calendar, zone, params.contact)
        if booked is not None:
            calendar, when = booked
        else:  # no hour within the horizon has room: the call cannot be scheduled
            full = Block.VOICE_RATE_LIMIT.value
            filtered[action] = f"guardrail:{full}"
            changed = [full]
            action, channel, override = Action.WAIT, Channel.NONE, f"guardrail:{full}"
            when = timed(action)
    # A guardrail fallback under exploration has no simple propensity: left unknown.
    randomized = policy.rng is not None or (exploring and params.exploration != NO_EXPLORATION)
    exact = action == pick or not randomized
    chosen = next((c for c in selection.candidates if c.action == action), None)
    brief = build_brief(action, channel, lead.profile, ctx, when, params.briefs)
    # One validation in pydantic-core, candidates included as plain dicts: building
    # each `Candidate` in Python first cost more than validating all of it at once.
    # Strings come from the enum members' `_value_` (the `value` property is a
    # Python-level descriptor, 4x slower, read ~25 times per decision).
    nba: NextBestAction = _NEXT_BEST_ACTION(
        {
            "decision_id": did,
            "lead_id": lead.lead_id,
            "decided_at": decided_at,
            "trigger_event_id": trigger_event_id,
            "action": action._value_,
            "channel": channel._value_,
            "rl_state": state,
            "q_value": chosen.q if chosen else 0.0,
            "score": chosen.score if chosen else 0.0,
            "candidates": [
                {"action": c.action._value_, "q": c.q, "visits": c.visits, "score": c.score}
                for c in selection.candidates
            ],
            "filtered_out": {a._value_: reason for a, reason in filtered.items()},
            "override": status._value_ if forced is not None else override,
            "brief": brief,
            "risk_segment": risk_segment(status, ctx, decided_at, params.risk)._value_,
            "urgency": urgency(status, ctx, decided_at, params.risk)._value_,
            "requires_approval": requires_approval(lead.profile.value_tier, action, params.risk),
            "policy_version": params.policy_version,
            "q_version": policy.version,
            "propensity": propensity if exact else None,
            "arm": group,
        }
    )
    effects = Effects(decisions=[nba], voice_budget=calendar, guardrail_changes=changed)
    lead, credit = close_step(lead, nba, credit_decision_id, params)
    if credit is not None:
        effects.learn(*credit)
    if action == Action.STOP and forced is None:
        effects.learn(*closing_transition(lead, nba, params))
    return _remembered(lead, nba, action, params), effects


def _ranked(
    selection: Selection,
    state: str,
    allowed: list[Action],
    did: str,
    policy: Policy,
    params: Params,
    exploring: bool,
) -> tuple[list[Action], Action, float]:
    """Candidates best-first with the pick on top, the pick, and its propensity.

    The baseline picks uniformly at random. Otherwise, when exploring, Thompson
    sampling or epsilon exploration over UCB as configured; every draw comes from
    the decision id, so a redelivered event or a replay makes the same pick. Not
    exploring, the best score is the pick, with propensity 1.
    """
    ranked = [c.action for c in sorted(selection.candidates, key=lambda c: -c.score)]
    if policy.rng is not None:
        pick = policy.rng.choice(allowed)
        return [a for a in ranked if a == pick], pick, 1 / len(allowed)
    exploration = params.exploration if exploring else NO_EXPLORATION
    if exploration.thompson:
        candidates = [
            (
                c.action,
                c.q,
                c.visits + 1 + (params.prior_visits if seeded(state, c.action) else 0),
            )
            for c in selection.candidates
        ]
        pick, propensity = thompson(candidates, exploration.thompson, did)
    else:
        pick, propensity = explore(ranked, exploration, draw_for(did))
    return sorted(ranked, key=lambda a: a != pick), pick, propensity


def _remembered(lead: LeadState, nba: NextBestAction, action: Action, params: Params) -> LeadState:
    """The lead after the decision: its record kept for credit, and its reminder set."""
    record = DecisionRecord(
        decision_id=nba.decision_id,
        action=action,
        rl_state=nba.rl_state,
        status=lead.status,
        decided_at=nba.decided_at,
        trigger_event_id=nba.trigger_event_id,
        first=not lead.decisions,
    )
    reminder = None
    if is_outreach(action) and nba.brief.scheduled_for > nba.decided_at:
        reminder = Reminder(
            reminder_id=stable_id("r", nba.decision_id),
            lead_id=lead.lead_id,
            decision_id=nba.decision_id,
            remind_at=nba.brief.scheduled_for,
            action=action._value_,
            note=nba.brief.timing_rationale,
        )
    return lead.model_copy(
        update={
            "decisions": (*lead.decisions, record)[-params.recent_decisions :],
            "last_nba": shown(nba),
            # A newer decision supersedes whatever reminder was pending.
            "reminder": reminder,
        }
    )
