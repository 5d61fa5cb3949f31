"""How long `stream-app simulate --report` takes, and where the time goes.

Two numbers: the CPU time of one in-process run (one policy, one seed's families,
single-threaded pure Python: the report's unit of work) per policy, and the wall
time of the whole report (5 runs per seed over a process pool). The report's
wall time is about runs x CPU per run / processes when nothing else runs.

    .venv/bin/python bench/simulate_report.py [--leads 600] [--seeds report] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

from stream_app.sim.engine import PolicyKind, RunConfig, run
from stream_app.sim.report import SEED_SETS, evaluate, runs_total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--seeds", default="report", choices=sorted(SEED_SETS))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--skip-report", action="store_true", help="only time single runs")
    args = parser.parse_args()
    seeds = list(SEED_SETS[args.seeds])
    config = RunConfig(seed=seeds[0], leads=args.leads)
    for kind in (PolicyKind.LEARNING, PolicyKind.PRIORS, PolicyKind.RANDOM):
        cpu, wall = time.process_time(), time.monotonic()
        result = run(kind, config)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        print(
            f"{kind.value:9s} one run: {args.leads} families, {result.decisions} decisions, "
            f"{cpu:.1f}s CPU ({wall:.1f}s wall), {result.decisions / cpu:,.0f} decisions/s"
        )
    if args.skip_report:
        return
    started = time.monotonic()
    report = evaluate(seeds, args.leads, workers=args.workers, seed_set=args.seeds)
    print(
        f"report: {args.leads} families x {len(seeds)} seeds = {runs_total(seeds)} runs, "
        f"{time.monotonic() - started:.0f}s wall on {report.workers} process(es)"
    )


if __name__ == "__main__":
    main()
