"""`stream-app bench`: the pipeline against a bare Faust table, in one run (sim/benchmark.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from stream_app.sim.benchmark import BenchConfig, BenchResult, run_bench


def bench(
    leads: Annotated[
        int, typer.Option(help="Leads in the throughput mix (~4 events each).")
    ] = 10_000,
    latency_leads: Annotated[
        int, typer.Option(help="Fresh leads produced at --rate for the latency phase.")
    ] = 1_000,
    rate: Annotated[float, typer.Option(help="Input events/s of the latency phase.")] = 1_000.0,
    baseline_events: Annotated[
        int, typer.Option(help="Records through the bare Faust baseline.")
    ] = 20_000,
    workers: Annotated[int, typer.Option(min=1, max=2, help="Pipeline workers (1 or 2).")] = 1,
    partitions: Annotated[int, typer.Option(help="Partitions per lead-keyed topic.")] = 8,
    store: Annotated[
        str, typer.Option(help="Table store of every process: memory:// or rocksdb://.")
    ] = "memory://",
    seed: Annotated[int, typer.Option(help="Seed of the event mix.")] = 1,
    profile_s: Annotated[
        float, typer.Option(help="Sample the worker with py-spy for this many seconds.")
    ] = 0.0,
    timeout_s: Annotated[float, typer.Option(help="Give up on a phase after this.")] = 1_800.0,
    json_path: Annotated[Path, typer.Option("--json", help="Where to write the results.")] = Path(
        "bench-results.json"
    ),
    workdir: Annotated[
        Path | None, typer.Option(help="Logs and data (default: a new temporary folder).")
    ] = None,
) -> None:
    """Measure the bare Faust baseline and the full pipeline on one embedded broker."""
    config = BenchConfig(
        leads=leads,
        latency_leads=latency_leads,
        rate=rate,
        baseline_events=baseline_events,
        workers=workers,
        partitions=partitions,
        store=store,
        seed=seed,
        timeout_s=timeout_s,
        workdir=workdir,
        profile_s=profile_s,
    )
    result = asyncio.run(run_bench(config, say=typer.echo))
    json_path.write_bytes(result.as_json())
    for line in summary(result):
        typer.echo(line)
    typer.echo(f"written to {json_path}")


def summary(result: BenchResult) -> list[str]:
    """The numbers, one per line, as the README's Performance section quotes them."""
    a, b, lat = result.baseline, result.pipeline, result.latency
    lines = [
        f"machine: {result.machine['cpus']} cpus, load {result.machine['load_before']} "
        f"-> {result.machine['load_after']}",
        f"(a) bare Faust table: {a.events_per_s:,.0f} events/s, "
        f"{a.cpu_s_per_1k_events:.3f} CPU s/1k events (broker {a.broker_cpu_s_per_1k_events:.3f}),"
        f" peak RSS {a.peak_rss_mb:.0f} MB",
        f"(b) pipeline: {b.events_per_s:,.0f} input events/s, "
        f"{b.cpu_s_per_1k_events:.3f} CPU s/1k events (broker {b.broker_cpu_s_per_1k_events:.3f}),"
        f" peak RSS {b.peak_rss_mb:.0f} MB",
        f"ratio (b)/(a): {result.ratio:.2f}",
        f"decision latency at {lat.achieved_rate:,.0f}/s (target {lat.target_rate:g}/s): "
        f"p50 {lat.p50_ms:.1f} ms, p95 {lat.p95_ms:.1f} ms, p99 {lat.p99_ms:.1f} ms "
        f"({lat.decisions} decisions)",
    ]
    if result.state_sizes is not None:
        s = result.state_sizes
        lines.append(
            f"stored lead state: p50 {s.p50_bytes:,.0f} B, p99 {s.p99_bytes:,.0f} B, "
            f"max {s.max_bytes:,} B ({s.samples} leads)"
        )
    lines.extend(f"  {frame}" for frame in result.top_frames)
    return lines
