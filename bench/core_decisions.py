"""Decisions per second of the pure decision core on one core.

One decision = hard override check, bucket encoding, action filter, UCB selection
over a learned-looking Q-table, channel choice and the action brief: everything the
lead agent runs per event, minus I/O. Contexts are varied (every status, bucket and
signal mix) and built before timing starts, as the agent gets them from its table.

    .venv/bin/python bench/core_decisions.py [--decisions 200000] [--rounds 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from stream_app.domain.actions import allowed_actions, channel_for, hard_override
from stream_app.domain.briefs import LeadProfile, build_brief
from stream_app.domain.buckets import bucket, rl_state
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Intent,
    Level,
    Objection,
    Sentiment,
)
from stream_app.domain.lifecycle import ContactChannel, ContactOutcome, Status
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors, select_action

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


def decide(q: QTable, status: Status, ctx: LeadContext, profile: LeadProfile) -> object:
    override = hard_override(status)
    b = bucket(ctx)
    state = rl_state(status, b)
    allowed, _filtered = allowed_actions(status, ctx, NOW)
    action = override or select_action(q, state, allowed).action
    channel = channel_for(action, ctx.last_contact_channel)
    return build_brief(action, channel, profile, ctx, NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--contexts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    leads = [synthetic_context(rng) for _ in range(args.contexts)]
    q = learned_table(rng)
    profile = LeadProfile("Sarah Mitchell", "Jake Mitchell", "Summer basketball intensive")
    for status, ctx in leads[:1000]:  # warm up caches and the interpreter
        decide(q, status, ctx, profile)

    n = args.decisions
    rates = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for i in range(n):
            status, ctx = leads[i % len(leads)]
            decide(q, status, ctx, profile)
        elapsed = time.perf_counter() - start
        rates.append(n / elapsed)
        print(f"{n} decisions in {elapsed:.2f}s: {n / elapsed:,.0f} decisions/s")
    # A shared VM swings a single round by +-10%; the median of rounds is the number.
    median = statistics.median(rates)
    print(f"median of {args.rounds} rounds: {median:,.0f} decisions/s ({1e6 / median:.1f} us each)")


if __name__ == "__main__":
    main()
