"""Decisions per second of the lead step on one core: the decision path the worker runs.

The states and the voice calendars are the ones the worker has mid-stream: the
bench mix (`stream_app.sim.bench_mix`, the mix `stream-app bench` drives the
pipeline with) is run through the in-process pipeline (`offline.pipeline`,
the worker's own lead step and rules extractor) with the worker's `Params` from
`Settings` plus epsilon exploration and a holdout share, so decisions walk
every part the worker runs: dedup, the event's rules, bucket, action filter,
holdout arm, UCB with exploration, the contact policy (consent, caps, cooldown,
quiet hours, the partition's voice calendar), risk, urgency, approval, the
brief and the credit transition. Then, timed, each lead gets one more event of
a kind that decides at once (an unanswered call, an attendance, a payment),
applied to its stored state with its partition's calendar.

Two numbers per round:
- `core`: `domain.lead.apply` alone (the pure core; target >= 50k decisions/s);
- `shell`: what the lead agent does per record without I/O: decode the record
  with the wire codec, apply, check the timer index, encode every output and the
  new state (`encode_state`). The state is a cache hit, as in the batched agent.

    .venv/bin/python bench/core_decisions.py [--leads 2000] [--rounds 5] [--seed 7]

`--profile core|shell` runs that loop once under cProfile instead and prints its
top frames by own and by cumulative time (where the next optimisation should go);
`--profile-out FILE` keeps the profile for `pstats`.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.exploration import Exploration
from stream_app.domain.lead import LeadState, Params, Policy, apply
from stream_app.domain.lead.state import encode_state
from stream_app.domain.lead.timers import next_deadline, next_due
from stream_app.domain.messages import InputEvent
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.bench_mix import TOPIC_OF, realistic_mix
from stream_app.wire.codec import EventTimeBounds, decode_lead_record, encode
from stream_app.wire.models import INPUT_EVENT

PARTITIONS = 8


def one_more(state: LeadState, i: int, at: datetime) -> InputEvent:
    """An event of a kind that decides at once, after everything the lead has seen."""
    kinds: tuple[dict[str, object], ...] = (
        {
            "type": "interaction.completed",
            "interaction_id": f"x{i}",
            "channel": "voice",
            "direction": "outbound",
            "outcome": "no_answer",
        },
        {"type": "attendance.recorded", "session_id": f"s{i}", "status": "attended"},
        {"type": "payment.recorded", "payment_id": f"p{i}", "status": "succeeded"},
    )
    return INPUT_EVENT.validate_python(
        {
            **kinds[i % len(kinds)],
            "event_id": f"{state.lead_id}-bench-{i}",
            "lead_id": state.lead_id,
            "occurred_at": at.isoformat(),
        }
    )


Work = tuple[LeadState, InputEvent, Policy, str, bytes]
"""A lead's stored state, its next event, its partition's policy, the event's topic and bytes."""


def prepare(settings: Settings, leads: int, seed: int, wall: datetime) -> tuple[Params, list[Work]]:
    """The worker's params and, per lead of the bench mix run through the pipeline, its work."""
    start = wall - timedelta(days=25)
    # Exploration and a holdout share on, as a production worker may run them.
    params: Params = replace(
        lead_params(settings), exploration=Exploration(epsilon=0.05), holdout_share=0.1
    )
    pipeline = InProcess(params, Learner(learner_params(settings)))
    for event in realistic_mix("core", leads, seed, start):
        partition = partition_for(event.lead_id, PARTITIONS)
        for _ in pipeline.feed(event, partition, event.occurred_at):
            pass
    states = list(pipeline.states.values())
    at = max(s.updated_at or start for s in states) + timedelta(hours=1)
    work: list[Work] = []
    for i, state in enumerate(states):
        event = one_more(state, i, at)
        partition = partition_for(state.lead_id, PARTITIONS)
        calendar = pipeline._calendars.get(partition)  # the partition's calendar, as booked
        policy = Policy(pipeline.learner.table, pipeline.learner.version, voice_budget=calendar)
        raw = event.model_dump_json().encode()
        work.append((state, event, policy, TOPIC_OF[event.type], raw))
    return params, work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=("core", "shell"))
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--profile-out", type=Path, help="also dump the profile here")
    args = parser.parse_args()

    settings = Settings(_env_file=None)
    wall = datetime.now(UTC)
    params, work = prepare(settings, args.leads, args.seed, wall)
    states = [state for state, *_ in work]
    bounds, max_bytes = EventTimeBounds.of(settings), settings.max_event_bytes
    print(f"{len(states)} leads, stored state p50 {_p50([len(encode_state(s)) for s in states])} B")

    def core(n: int) -> None:
        for i in range(n):
            state, event, policy, _, _ = work[i % len(work)]
            apply(state, event, policy, params, wall)

    def shell(n: int) -> None:
        for i in range(n):
            state, _, policy, topic, raw = work[i % len(work)]
            record = decode_lead_record(  # an input topic's record: an input event
                topic, state.lead_id.encode(), raw, max_bytes, now=wall, bounds=bounds
            )
            after, effects = apply(state, cast(InputEvent, record), policy, params, wall)
            assert after is not None
            next_due(after, params)
            next_deadline(after)
            for message in (*effects.decisions, *effects.transitions, *effects.reminders):
                encode(message)
            encode_state(after)

    core(min(1_000, args.decisions))  # warm up caches and the interpreter
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(core if args.profile == "core" else shell, args.decisions)
        if args.profile_out:
            profile.dump_stats(args.profile_out)
        stats = pstats.Stats(profile).strip_dirs()
        calls = sum(n for _, n, *_ in stats.stats.values())  # type: ignore[attr-defined]
        print(f"{args.profile}: {calls / args.decisions:.0f} Python calls per decision")
        for order in ("tottime", "cumtime"):
            stats.sort_stats(order).print_stats(args.top)
        return
    for name, run in (("core", core), ("shell", shell)):
        rates, cpu_rates = [], []
        for _ in range(args.rounds):
            began, began_cpu = time.perf_counter(), time.process_time()
            run(args.decisions)
            rates.append(args.decisions / (time.perf_counter() - began))
            cpu_rates.append(args.decisions / (time.process_time() - began_cpu))
        # A shared VM swings a single round by +-10%; the median of rounds is the number.
        # Per CPU second is the steadier one when other processes share the cores.
        # Under contention even CPU time swings; the best round is the least disturbed.
        median, cpu = statistics.median(rates), statistics.median(cpu_rates)
        spread = f"{min(rates):,.0f}-{max(rates):,.0f}"
        print(
            f"{name}: median of {args.rounds} rounds {median:,.0f} decisions/s "
            f"({1e6 / median:.1f} us each; rounds {spread}); "
            f"{cpu:,.0f} per CPU second ({1e6 / cpu:.1f} us CPU each; best {max(cpu_rates):,.0f})"
        )


def _p50(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


if __name__ == "__main__":
    main()
