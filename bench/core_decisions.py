"""Decisions per second of the pure lead step on one core.

One decision = `domain.lead.apply` on an event that decides at once (a lead
update, an unanswered call, an attendance or a payment, in turn): dedup, the
event's rules, bucket, action filter, holdout arm, UCB with exploration, the
contact policy (consent, caps, voice budget), risk, urgency, approval, the brief
and the credit transition: exactly what the lead agent runs per event, minus I/O
and the state's (de)serialisation. States are varied (every status, bucket and
signal mix) and built before timing starts, as the agent gets them from its table.

    .venv/bin/python bench/core_decisions.py [--decisions 200000] [--rounds 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from stream_app.domain.context import LeadContext
from stream_app.domain.exploration import Exploration
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Intent,
    Level,
    Objection,
    Sentiment,
)
from stream_app.domain.lead import LeadState, Params, Policy, Profile, apply
from stream_app.domain.lifecycle import ContactChannel, ContactOutcome, Status
from stream_app.domain.messages import InputEvent
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.wire.models import INPUT_EVENT

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def synthetic_context(rng: random.Random) -> tuple[Status, LeadContext]:
    def some(items: tuple[str, ...], p: float) -> tuple[str, ...]:
        return tuple(x for x in items if rng.random() < p)

    ago = timedelta(days=rng.randint(0, 60))
    ctx = LeadContext(
        financial_concern=rng.choice(list(Level)),
        financial_mentions=some(("asked about cost", "tight budget this term"), 0.3),
        objections=tuple(
            Objection(topic=t, detail="mentioned twice", severity=rng.choice(list(Level)))
            for t in some(("distance", "schedule", "price"), 0.25)
        ),
        siblings=some(("younger sister, 9",), 0.2),
        decision_makers=some(("spouse",), 0.2),
        scheduling_constraints=some(("busy weekends", "no Mondays"), 0.3),
        preferred_times=some(("weekday afternoons",), 0.3),
        signals=tuple(
            AdditionalSignal(signal=s, detail="from the call", urgency=rng.choice(list(Level)))
            for s in some(("referral_source", "special_needs", "job_loss"), 0.2)
        ),
        facts=some(("plays basketball", "age 14", "has a bike"), 0.5),
        open_questions=some(("early bird discount?",), 0.3),
        summary="Parent asked about the summer intensive." if rng.random() < 0.7 else "",
        last_intent=rng.choice([*Intent, None]),
        recent_sentiments=tuple(rng.choice(list(Sentiment)) for _ in range(rng.randint(0, 5))),
        interaction_count=rng.randint(0, 8),
        consecutive_unreached=rng.randint(0, 3),
        last_contact_outcome=rng.choice([*ContactOutcome, None]),
        last_contact_channel=rng.choice([*ContactChannel, None]),
        last_engagement_at=NOW - ago,
        payment_concern=rng.random() < 0.15,
        consecutive_misses=rng.randint(0, 2),
        missed_sessions=rng.randint(0, 3),
        attended_sessions=rng.randint(0, 10),
        last_attendance_at=NOW - ago,
        first_session_at=NOW + timedelta(days=rng.randint(-5, 5)),
        inactive_since=NOW - timedelta(days=rng.randint(0, 60)),
    )
    return rng.choice(list(Status)), ctx


def learned_table(rng: random.Random) -> QTable:
    """Priors plus visits and noise, so UCB bonuses are non-trivial."""
    table = seeded_priors()
    for state, action in list(table):
        entry = table.entry(state, action)
        table = table.with_entry(
            state, action, QEntry(entry.q + rng.uniform(-0.2, 0.2), rng.randint(0, 50))
        )
    return table


PROFILE = Profile(
    parent_name="Sarah Mitchell",
    child_name="Jake Mitchell",
    campaign_goal="Summer basketball intensive",
    phone="+15550100",
    timezone="America/New_York",
)
EVENT_FIELDS: tuple[dict[str, object], ...] = (
    {"type": "lead.updated", "owner": "coach-2"},
    {
        "type": "interaction.completed",
        "interaction_id": "i1",
        "channel": "voice",
        "direction": "outbound",
        "outcome": "no_answer",
    },
    {"type": "attendance.recorded", "session_id": "s1", "status": "attended"},
    {"type": "payment.recorded", "payment_id": "p1", "status": "succeeded"},
)


def lead_state(i: int, status: Status, ctx: LeadContext) -> LeadState:
    return LeadState(lead_id=f"L{i}", profile=PROFILE, status=status, context=ctx)


def event_for(i: int, state: LeadState) -> InputEvent:
    """An event of one of the kinds that decide at once, dated after the state."""
    fields = EVENT_FIELDS[i % len(EVENT_FIELDS)]
    return INPUT_EVENT.validate_python(
        {
            **fields,
            "event_id": f"{state.lead_id}-e{i}",
            "lead_id": state.lead_id,
            "occurred_at": (NOW + timedelta(minutes=i % 600)).isoformat(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--contexts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    states = [lead_state(i, *synthetic_context(rng)) for i in range(args.contexts)]
    work = [(state, event_for(i, state)) for i, state in enumerate(states)]
    policy = Policy(learned_table(rng), 1)
    # Exploration and a holdout share on, as a production worker may run them.
    params = Params(exploration=Exploration(epsilon=0.05), holdout_share=0.1)
    for state, event in work[:1000]:  # warm up caches and the interpreter
        apply(state, event, policy, params, NOW)

    n = args.decisions
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for i in range(n):
            state, event = work[i % len(work)]
            apply(state, event, policy, params, NOW)
        elapsed = time.perf_counter() - start
        rates.append(n / elapsed)
        print(f"{n} decisions in {elapsed:.2f}s: {n / elapsed:,.0f} decisions/s")
    # A shared VM swings a single round by +-10%; the median of rounds is the number.
    median = statistics.median(rates)
    print(f"median of {args.rounds} rounds: {median:,.0f} decisions/s ({1e6 / median:.1f} us each)")


if __name__ == "__main__":
    main()
