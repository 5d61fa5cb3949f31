"""Per-event state cost and memory as the number of stored leads grows: 10k, 100k, 1M.

What grows with the number of leads is the store, so this times the lead agent's
state work against a store of each size: read the lead's value, decode it
(`read_state`), encode the new one (`encode_state`) and write it back, for leads
drawn at random (a cold cache: the worst case; the batched agent's cache takes
the decode away for hot leads). The store is RocksDB through `rocksdict`, the
driver Faust's `rocksdb://` store uses, or a dict (Faust's `memory://` store is
a dict). Values are real stored states: the bench mix (`stream_app.sim.bench_mix`)
run through the worker's own lead step, each copied under new lead ids.

Also prints the serialized state size distribution (p50/p99; target p99 <= 4 KB).

    .venv/bin/python bench/state_scale.py [--sizes 10000,100000,1000000] [--store rocksdb]
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.lead.state import encode_state, read_state
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.bench_mix import realistic_mix
from stream_app.sim.benchmark import percentile


def stored_states(leads: int, seed: int) -> list[tuple[str, bytes]]:
    settings = Settings(_env_file=None)
    pipeline = InProcess(lead_params(settings), Learner(learner_params(settings)))
    start = datetime.now(UTC) - timedelta(days=25)
    for event in realistic_mix("scale", leads, seed, start):
        for _ in pipeline.feed(event, partition_for(event.lead_id, 8), event.occurred_at):
            pass
    return [(state.lead_id, encode_state(state)) for state in pipeline.states.values()]


def open_store(kind: str, path: Path) -> Any:
    if kind == "memory":
        return {}
    from rocksdict import Rdict

    return Rdict(str(path))


def fill(store: Any, templates: list[tuple[str, bytes]], size: int) -> None:
    """`size` leads, each a template's value with the template's id replaced by its own."""
    for i in range(size):
        old, template = templates[i % len(templates)]
        lead_id = f"L{i:07d}"
        store[lead_id.encode()] = template.replace(f'"{old}"'.encode(), f'"{lead_id}"'.encode())


def time_events(store: Any, size: int, events: int, rng: random.Random) -> float:
    """Microseconds per event of read + decode + encode + write for random leads."""
    keys = [f"L{rng.randrange(size):07d}".encode() for _ in range(events)]
    began = time.perf_counter()
    for key in keys:
        state = read_state(store[key])
        store[key] = encode_state(state.model_copy(update={"updated_at": state.updated_at}))
    return (time.perf_counter() - began) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--store", choices=("rocksdb", "memory"), default="rocksdb")
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    templates = stored_states(args.templates, args.seed)
    sizes = [len(value) for _, value in templates]
    print(
        f"stored lead state: p50 {percentile(sizes, 50):,.0f} B, "
        f"p99 {percentile(sizes, 99):,.0f} B, max {max(sizes):,} B "
        f"({len(sizes)} leads of the bench mix; target p99 <= 4,096 B)"
    )
    rng = random.Random(args.seed)
    for size in (int(s) for s in args.sizes.split(",")):
        workdir = Path(tempfile.mkdtemp(prefix="state-scale-"))
        store = open_store(args.store, workdir / "db")
        try:
            began = time.perf_counter()
            fill(store, templates, size)
            filled = time.perf_counter() - began
            rounds = [time_events(store, size, args.events, rng) for _ in range(args.rounds)]
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            on_disk = sum(f.stat().st_size for f in workdir.rglob("*") if f.is_file())
            print(
                f"{size:>9,} leads ({args.store}): {statistics.median(rounds):,.1f} us/event "
                f"median of {args.rounds} (rounds {min(rounds):,.1f}-{max(rounds):,.1f}); "
                f"filled in {filled:.0f}s; peak RSS {peak_mb:,.0f} MB; "
                f"on disk {on_disk / 1e6:,.0f} MB"
            )
        finally:
            if hasattr(store, "close"):
                store.close()
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
