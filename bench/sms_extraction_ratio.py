"""Extraction requests per SMS on an SMS-heavy workload (issue 5 goal: <= 0.3).

Families text in bursts: threads of 1-8 messages, 10-90 s apart, both directions,
separated by hours. Runs the lead step with the live sweep's cadence (every `--sweep` seconds of
event time the sweep ticks the leads its index says are due) and counts
extraction requests.

    .venv/bin/python bench/sms_extraction_ratio.py [--leads 300] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from stream_app.domain.lead import (
    Effects,
    LeadRecord,
    LeadState,
    Params,
    Policy,
    Tick,
    TimerIndex,
    apply,
)
from stream_app.domain.qlearning import seeded_priors
from stream_app.wire.models import INPUT_EVENT

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODIES = [
    "hi",
    "ok",
    "thanks!",
    "what time is class?",
    "Jake loved it",
    "can we do saturdays?",
    "how much is it",
    "sounds good",
    "my husband wants to ask something",
    "see you then",
]


def workload(rng: random.Random, leads: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i in range(leads):
        lead, at, n = f"L{i}", START + timedelta(minutes=rng.randint(0, 600)), 0
        events.append(_event(lead, n, at, "lead.created", parent_name="Pat"))
        for _ in range(rng.randint(2, 6)):
            at += timedelta(hours=rng.randint(2, 48))
            for _ in range(rng.randint(1, 8)):
                n += 1
                at += timedelta(seconds=rng.randint(10, 90))
                kind = "sms.received" if rng.random() < 0.6 else "sms.sent"
                events.append(
                    _event(lead, n, at, kind, message_id=f"{lead}-m{n}", body=rng.choice(BODIES))
                )
    return sorted(events, key=lambda e: e["occurred_at"])


def _event(lead: str, n: int, at: datetime, type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": f"{lead}-e{n}", "lead_id": lead, "occurred_at": at, **fields}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sweep", type=float, default=5.0, help="seconds between sweeps")
    args = parser.parse_args()
    params, policy = Params(), Policy(seeded_priors())
    states: dict[str, LeadState] = {}
    index = TimerIndex(params)
    messages = requests = 0

    def step(record: LeadRecord, clock: datetime) -> Effects:
        state, effects = apply(states.get(record.lead_id), record, policy, params, clock)
        if state is not None:
            states[record.lead_id] = state
            index.update(state)
        return effects

    def sweep_at(now: datetime, wall_now: datetime) -> int:
        requested = 0
        while (due := index.pop_next(now, wall_now)) is not None:
            requested += len(step(Tick(due[1], now), wall_now).extraction_requests)
        return requested

    clock = START
    sweep = timedelta(seconds=args.sweep)
    for raw in workload(random.Random(args.seed), args.leads):
        event = INPUT_EVENT.validate_python(raw)
        while clock + sweep <= event.occurred_at:  # the sweeps that ran since the last event
            clock += sweep
            requests += sweep_at(clock, clock)
        messages += event.type.startswith("sms.")
        requests += len(step(event, event.occurred_at).extraction_requests)
    requests += sweep_at(clock + timedelta(days=1), clock)
    print(f"{messages} SMS, {requests} extraction requests: {requests / messages:.3f} per message")


if __name__ == "__main__":
    main()
