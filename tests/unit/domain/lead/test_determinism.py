"""Speed work must not change a decision: a fixed seeded stream, compared with a golden log.

The stream walks the decision path the worker runs (guardrails, exploration, the
holdout arm, the voice calendar, risk, briefs from extracted signals, credit,
time rules, redeliveries) through `domain.lead.apply`. Every step's outputs
(decisions, transitions, reminders, requests, counted moves) are hashed in order
and compared with `tests/data/decision_stream_golden.json`, written by the code
before the performance work. Extraction results are built here, not read by the
rules extractor, so the log pins the lead step alone.

A change that alters decisions on purpose (a new rule, a retuned default)
regenerates the log, and its commit says why:

    .venv/bin/python -m tests.unit.domain.lead.test_determinism
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stream_app.domain.exploration import Exploration
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Extraction,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    Objection,
    SchedulingSignals,
    Sentiment,
)
from stream_app.domain.lead import Effects, LeadRecord, LeadState, Params, Policy, Tick, apply
from stream_app.domain.messages import ExtractionResult, InputEvent, NextBestAction
from stream_app.domain.qlearning import seeded_priors
from stream_app.domain.scheduling import VoiceCalendar
from stream_app.wire.models import INPUT_EVENT

GOLDEN = Path(__file__).resolve().parents[3] / "data" / "decision_stream_golden.json"
SEED = 20261201
LEADS = 60
START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
CLOCK = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # processing time: extraction deadlines only
# Exploration and a holdout share on, as a production worker may run them, and a
# small voice capacity so the calendar moves and refuses calls.
PARAMS = replace(
    Params(),
    exploration=Exploration(epsilon=0.2),
    holdout_share=0.2,
    contact=replace(Params().contact, voice_per_hour=2),
)
TRANSCRIPT = "Agent: Hi, this is the academy.\nParent: Thanks for calling back."


def _extraction(rng: random.Random) -> Extraction:
    """An extraction with a random mix of the signals briefs and buckets read."""
    return Extraction(
        summary="call",
        intent=rng.choice(list(Intent)),
        sentiment=rng.choice(list(Sentiment)),
        open_questions=tuple(rng.sample(["price?", "schedule?", "coach?"], rng.randint(0, 2))),
        financial=FinancialSignals(
            concern_level=rng.choice(list(Level)),
            mentions=("cost",) if rng.random() < 0.5 else (),
        ),
        scheduling=SchedulingSignals(
            constraints=("weekends only",) if rng.random() < 0.3 else (),
            preferred_times=("Saturday morning",) if rng.random() < 0.4 else (),
        ),
        family=FamilyContext(
            siblings=("Mia",) if rng.random() < 0.3 else (),
            decision_makers=("spouse",) if rng.random() < 0.3 else (),
        ),
        objections=tuple(
            Objection(topic=t, detail="said so", severity=rng.choice(list(Level)))
            for t in rng.sample(["price", "distance", "time"], rng.randint(0, 2))
        ),
        additional_signals=tuple(
            AdditionalSignal(signal="injury", detail="knee", urgency=rng.choice(list(Level)))
            for _ in range(rng.randint(0, 1))
        ),
    )


class _Journey:
    """One lead's random events, each after the previous one in event time."""

    def __init__(self, lead_id: str, rng: random.Random) -> None:
        self.lead_id, self.rng, self.n = lead_id, rng, 0
        self.at = START + timedelta(minutes=rng.randint(0, 600))
        self.sent: list[InputEvent] = []

    def event(self, type_: str, **fields: Any) -> InputEvent:
        self.n += 1
        self.at += timedelta(minutes=self.rng.choice([3, 20, 90, 300, 1500, 4000]))
        event = INPUT_EVENT.validate_python(
            {
                "type": type_,
                "event_id": f"{self.lead_id}-e{self.n}",
                "lead_id": self.lead_id,
                "occurred_at": self.at.isoformat(),
                **fields,
            }
        )
        self.sent.append(event)
        return event

    def next(self, last_decision: str | None) -> InputEvent:
        rng, i = self.rng, self.n
        kind = rng.randrange(13)
        call = {"interaction_id": f"i{i}", "channel": "voice", "direction": "outbound"}
        if kind == 0 and self.sent:
            return rng.choice(self.sent)  # at-least-once: a redelivery
        if kind <= 3:
            outcome = rng.choice(["no_answer", "voicemail", "busy", "completed"])
            return self.event(
                "interaction.completed", **call, outcome=outcome, decision_id=last_decision
            )
        if kind == 4:
            return self.event(
                "interaction.completed", **call, outcome="completed", transcript=TRANSCRIPT
            )
        if kind == 5:
            body = rng.choice(["Can we book a visit?", "ok thanks", "maybe later", "STOP"])
            return self.event("sms.received", message_id=f"m{i}", body=body)
        if kind == 6:
            status = rng.choice(["attended", "attended", "missed", "cancelled"])
            return self.event("attendance.recorded", session_id=f"s{i}", status=status)
        if kind == 7:
            status = rng.choice(["succeeded", "late", "missed", "refunded"])
            return self.event("payment.recorded", payment_id=f"p{i}", status=status)
        if kind == 8:
            milestone = rng.choice(["trial_booked", "trial_attended", "enrolled", "withdrawn"])
            return self.event("lead.milestone", milestone=milestone)
        if kind == 9:
            channel = rng.choice(["sms", "voice", "email", "all"])
            return self.event("lead.consent", channel=channel, granted=rng.random() < 0.6)
        if kind == 10 and last_decision is not None:
            outcome = rng.choice(["delivered", "accepted", "rejected", "completed", "expired"])
            return self.event("action.outcome", decision_id=last_decision, outcome=outcome)
        if kind == 11:
            return self.event("lead.updated", timezone=rng.choice(["America/New_York", "UTC"]))
        return self.event(
            "interaction.completed",
            interaction_id=f"i{i}",
            channel="sms",
            direction="inbound",
            outcome="completed",
        )


def _digest(effects: Effects) -> str:
    """Everything a step publishes or counts, in order, as one short hash."""
    parts = [
        *(m.model_dump_json() for m in effects.decisions),
        *(m.model_dump_json() for m in effects.transitions),
        *(m.model_dump_json() for m in effects.reminders),
        *(m.model_dump_json() for m in effects.extraction_requests),
        repr([(f.trigger_event_id, f.source_event_ids) for f in effects.sms_flushes]),
        repr([(m.before.value, m.after.value, m.reward) for m in effects.moves]),
        repr((effects.decays, effects.guardrail_changes, effects.outcomes, effects.erased)),
        effects.voice_budget.model_dump_json() if effects.voice_budget else "",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def run_stream() -> tuple[list[str], list[NextBestAction]]:
    """The hashed outputs of every step of the seeded stream, in order, and its decisions."""
    rng = random.Random(SEED)
    table = seeded_priors()
    states: dict[str, LeadState | None] = {}
    calendar: VoiceCalendar | None = None
    journeys = {f"L{k:03d}": _Journey(f"L{k:03d}", rng) for k in range(LEADS)}
    log: list[str] = []
    decisions: list[NextBestAction] = []

    def step(record: LeadRecord) -> Effects:
        nonlocal calendar
        policy = Policy(table, 3, voice_budget=calendar)
        state, effects = apply(states.get(record.lead_id), record, policy, PARAMS, CLOCK)
        states[record.lead_id] = state
        calendar = effects.voice_budget or calendar
        log.append(_digest(effects))
        decisions.extend(effects.decisions)
        for request in effects.extraction_requests:
            step(
                ExtractionResult(
                    extraction_id=request.extraction_id,
                    lead_id=request.lead_id,
                    extracted_at=request.requested_at,
                    source_event_ids=request.source_event_ids,
                    extraction=_extraction(rng),
                )
            )
        return effects

    for j in journeys.values():
        profile: dict[str, Any] = {"parent_name": "Sam Rivera", "child_name": "Leo"}
        if rng.random() < 0.8:
            profile["phone"] = "+15550100"
        if rng.random() < 0.5:
            profile["email"] = "sam@example.com"
        profile["value_tier"] = rng.choice(["standard", "premium", "platinum"])
        if rng.random() < 0.5:
            profile["timezone"] = rng.choice(["America/Los_Angeles", "Europe/Madrid"])
        step(j.event("lead.created", **profile))
    last: dict[str, str | None] = dict.fromkeys(journeys)
    for _ in range(12):
        for lead_id, j in journeys.items():
            effects = step(j.next(last[lead_id]))
            if effects.decisions:
                last[lead_id] = effects.decisions[-1].decision_id
            if rng.random() < 0.15:  # the lead's time rules, at a later stream time
                step(Tick(lead_id, j.at + timedelta(days=rng.choice([1, 15, 40]))))
    return log, decisions


def test_decisions_match_the_golden_log() -> None:
    golden = json.loads(GOLDEN.read_text())
    log, _ = run_stream()
    assert len(log) == len(golden["steps"])
    pairs = enumerate(zip(log, golden["steps"], strict=True))
    first = next((i for i, (a, b) in pairs if a != b), None)
    assert first is None, f"step {first} differs from the golden log"


def test_the_stream_walks_the_decision_path() -> None:
    """The stream is worth pinning: it makes decisions the guardrails, the calendar,
    exploration and the holdout arm each shaped."""
    _, decisions = run_stream()
    overrides = {d.override.split(":")[0] for d in decisions if d.override}
    assert {"guardrail", "declined", "opted_out"} <= overrides
    calls = Counter(
        d.brief.scheduled_for.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        for d in decisions
        if d.channel == "voice"
    )
    assert max(calls.values()) == PARAMS.contact.voice_per_hour  # the calendar is full at times
    assert {d.arm for d in decisions} == {"learning", "holdout"}
    assert any(d.propensity is not None and d.propensity < 0.5 for d in decisions)  # explored
    assert len({d.risk_segment for d in decisions}) == 3
    assert len({d.rl_state for d in decisions}) >= 15
    assert any(len(d.brief.content_directives) >= 3 for d in decisions)


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({"seed": SEED, "steps": run_stream()[0]}, indent=0) + "\n")
