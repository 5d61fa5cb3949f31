"""Commands that run the system: a worker, the all-in-one dev setup, the simulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from stream_app.cli import render
from stream_app.cli.settings import load_settings, refuse_unsafe_web
from stream_app.cli.topics import refuse_unreplicated


def worker() -> None:
    """Run one worker against STREAM_APP_BROKER (scale out by starting more)."""
    from stream_app.kafka.admin import apply_topics
    from stream_app.worker.run import run_worker

    settings = load_settings()
    refuse_unsafe_web(settings)
    refuse_unreplicated(settings)
    render.topics(asyncio.run(apply_topics(settings)))
    run_worker(settings)


def dev(
    partitions: Annotated[int, typer.Option(help="Partitions per lead-keyed topic.")] = 4,
    web_port: Annotated[int, typer.Option(help="Web server port (/metrics, /leads/...).")] = 6066,
    simulate: Annotated[
        int, typer.Option(help="Also run this many simulated families against the worker.")
    ] = 0,
    seed: Annotated[
        int, typer.Option(help="--simulate: run seed (the same seed makes the same families).")
    ] = 1,
    console_port: Annotated[int, typer.Option(help="Operator console port (0: none).")] = 6080,
    holdout_share: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of leads the frozen priors decide (default 0.5 with --simulate, so "
            "its summary compares the arms; else STREAM_APP_HOLDOUT_SHARE).",
        ),
    ] = None,
) -> None:
    """Start an embedded broker, create the topics and run a worker, all in one process."""
    from stream_app.console.process import start_console
    from stream_app.kafka.admin import apply_topics
    from stream_app.kafka.embedded import BrokerError, start_broker
    from stream_app.sim.process import DEV_HOLDOUT_SHARE, start_simulator
    from stream_app.worker.run import run_worker

    data_dir = Path(".stream-app")
    data_dir.mkdir(exist_ok=True)
    try:
        broker = start_broker(log_path=data_dir / "broker.log")
    except BrokerError as exc:
        render.broker_failed(exc)
        raise typer.Exit(1) from None
    try:
        settings = load_settings(
            broker=broker.url,
            partitions=partitions,
            web_port=web_port,
            data_dir=data_dir,
            session_timeout_s=6.0,
            heartbeat_interval_s=1.0,
            rebalance_timeout_s=6.0,
            # One embedded broker: one copy of each topic, no InitProducerId.
            env="dev",
            kafka_idempotence=False,
            holdout_share=(
                holdout_share if holdout_share is not None or not simulate else DEV_HOLDOUT_SHARE
            ),
        )
        refuse_unsafe_web(settings)
        render.topics(asyncio.run(apply_topics(settings)))
        render.dev_banner(broker, settings)
        simulator = start_simulator(settings, simulate, seed) if simulate else None
        # The console prints its own address once it serves.
        console = start_console(settings, console_port) if console_port else None
        try:
            run_worker(settings)
        finally:
            for child in (simulator, console):
                if child is not None and child.poll() is None:
                    child.terminate()
    finally:
        broker.stop()


def simulate(
    leads: Annotated[
        int | None,
        typer.Option(help="Simulated families (default 20; 600 per seed with --report)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Run seed: the same seed makes the same families.")] = 1,
    max_steps: Annotated[int, typer.Option(help="Decisions answered per family at most.")] = 25,
    report: Annotated[
        bool, typer.Option("--report", help="Compare policies in process instead (no broker).")
    ] = False,
    seeds: Annotated[
        str,
        typer.Option(
            help="--report: `report` (held out), `fresh` (the second held-out set), `tuning`, "
            "or seeds as a comma list (1,2,3)."
        ),
    ] = "report",
    workers: Annotated[
        int | None, typer.Option(min=1, help="--report: processes (default: one per core).")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="--report: also write the report as JSON here.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="--report: also write the decile curves as a PNG here.")
    ] = None,
    timeout_s: Annotated[float, typer.Option(help="Give up on the live run after this.")] = 600.0,
    ready_url: Annotated[
        str | None, typer.Option(help="Wait until this URL answers 200 (a worker's /readyz).")
    ] = None,
) -> None:
    """Simulated families that react to the published next-best-actions (or --report)."""
    if report:
        _simulation_report(
            _seed_list(seeds), seeds, leads or 600, max_steps, workers, json_out, plot
        )
        return
    families = leads or 20
    import uuid

    from stream_app.sim.client import simulate as simulate_live
    from stream_app.sim.client import wait_ready

    settings = load_settings()
    if ready_url:
        asyncio.run(wait_ready(ready_url, timeout_s))
    out = render.stdout()
    run_tag = uuid.uuid4().hex[:8]
    # The lead ids decide the arms: with them `sim.engine` can replay this run in process.
    out.print(f"seed {seed}, lead ids sim-{run_tag}-00000 to sim-{run_tag}-{families - 1:05d}")
    stats = asyncio.run(simulate_live(settings, families, seed, run_tag, max_steps, timeout_s, out))
    render.live_simulation(out, stats, families)
    if len(stats.finished) < families:
        raise typer.Exit(1)


def _seed_list(seeds: str) -> list[int]:
    from stream_app.sim.report import SEED_SETS

    if seeds in SEED_SETS:
        return list(SEED_SETS[seeds])
    try:
        return [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{seeds!r}: `report`, `fresh`, `tuning` or comma-separated seeds", param_hint="--seeds"
        ) from None


def _simulation_report(
    seeds: list[int],
    seed_set: str,
    leads: int,
    max_steps: int,
    workers: int | None,
    json_out: Path | None,
    plot: Path | None,
) -> None:
    from stream_app.sim.report import SEED_SETS, MatplotlibMissing, evaluate, runs_total, to_json
    from stream_app.sim.report import plot as plot_report

    if not seeds:
        raise typer.BadParameter("no seeds", param_hint="--seeds")
    out = render.stdout()
    name = seed_set if seed_set in SEED_SETS else "custom"
    with render.simulating(runs_total(seeds)) as on_run:
        result = evaluate(seeds, leads, max_steps, workers, on_run, seed_set=name)
    render.policies(out, result)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_bytes(to_json(result))
        render.wrote(json_out)
    if plot is not None:
        try:
            render.learning_curves(out, plot_report(result, plot))
        except MatplotlibMissing:
            render.matplotlib_missing()
            raise typer.Exit(1) from None
