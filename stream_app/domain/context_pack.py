"""The context pack an operator or a voice agent reads before a call.

Assembled on demand from the lead's state (docs/architecture.md, "Context pack");
when assembly fails, `minimal_pack` still gives the name and phone. Every signal
extracted from a conversation is shown with the family's quote it came from (its
extraction, turn and character span), and so is every directive of the current
brief: the chain from transcript span to signal to action an operator can check.
"""

from __future__ import annotations

from typing import Any

from stream_app.domain.lead import LeadState


def child_info(state: LeadState) -> str | None:
    profile = state.profile
    if not profile.child_name:
        return None
    age = f" (age {profile.child_age})" if profile.child_age is not None else ""
    return f"{profile.child_name}{age}"


def context_pack(state: LeadState) -> dict[str, Any]:
    ctx = state.context
    nba = state.last_nba
    quotes = {q.signal: q.model_dump(mode="json") for q in ctx.evidence}
    return {
        "lead_id": state.lead_id,
        "lead_name": state.profile.parent_name,
        "phone": state.profile.phone,
        "child_info": child_info(state),
        "campaign_goal": state.profile.campaign_goal,
        "current_status": state.status.value,
        "latest_summary": ctx.summary,
        "known_facts": list(ctx.facts),
        "open_questions": list(ctx.open_questions),
        "financial_signals": {
            "concern_level": ctx.financial_concern.value,
            "mentions": list(ctx.financial_mentions),
            "payment_concern": ctx.payment_concern,
            "evidence": quotes.get("financial"),
        },
        "scheduling_constraints": {
            "constraints": list(ctx.scheduling_constraints),
            "preferred_times": list(ctx.preferred_times),
            "evidence": quotes.get("scheduling"),
        },
        "family_context": {
            "siblings": list(ctx.siblings),
            "decision_makers": list(ctx.decision_makers),
            "notes": list(ctx.family_notes),
            "evidence": quotes.get("family"),
        },
        "latest_intent": {
            "intent": ctx.last_intent.value if ctx.last_intent else None,
            "evidence": quotes.get("intent"),
        },
        "latest_sentiment": {
            "sentiment": ctx.recent_sentiments[-1].value if ctx.recent_sentiments else None,
            "evidence": quotes.get("sentiment"),
        },
        "objections": [o.model_dump(mode="json") for o in ctx.objections],
        "additional_signals": [s.model_dump(mode="json") for s in ctx.signals],
        "evidence": list(quotes.values()),
        "recent_interactions": [n.model_dump(mode="json") for n in state.recent_interactions],
        "current_nba": None
        if nba is None
        else {
            "decision_id": nba.decision_id,
            "action": nba.action,
            "channel": nba.channel,
            "action_brief": nba.brief.model_dump(mode="json"),
            "risk_segment": nba.risk_segment,
            "urgency": nba.urgency,
            "requires_approval": nba.requires_approval,
        },
    }


def minimal_pack(lead_id: str, parent_name: str | None, phone: str | None) -> dict[str, Any]:
    """What a caller still gets when the full pack cannot be assembled."""
    return {"lead_id": lead_id, "lead_name": parent_name, "phone": phone, "degraded": True}
