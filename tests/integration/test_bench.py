"""`stream-app bench` at tiny sizes, end to end, so the command cannot rot.

It starts its own embedded broker, the bare Faust baseline and a real worker;
the test checks that every number the README quotes is measured, and that the
JSON it writes says the same as what it prints.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

pytestmark = pytest.mark.integration


def test_the_bench_command_measures_every_number_in_one_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "stream_app",
            "bench",
            "--leads",
            "40",
            "--latency-leads",
            "15",
            "--rate",
            "50",
            "--baseline-events",
            "300",
            "--partitions",
            "4",
            "--timeout-s",
            "240",
            "--json",
            str(out),
            "--workdir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=290,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = orjson.loads(out.read_bytes())
    baseline, pipeline, latency = result["baseline"], result["pipeline"], result["latency"]
    assert baseline["events"] == 300 and baseline["events_per_s"] > 0
    assert pipeline["events"] >= 40 * 3 and pipeline["events_per_s"] > 0
    for phase in (baseline, pipeline):
        assert phase["cpu_s_per_1k_events"] > 0 and phase["peak_rss_mb"] > 10
        assert phase["broker_cpu_s_per_1k_events"] > 0
    assert result["ratio"] == pytest.approx(
        pipeline["events_per_s"] / baseline["events_per_s"], rel=0.01
    )
    assert latency["missing"] == 0 and latency["decisions"] >= 15 * 3
    assert 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["p99_ms"]
    sizes = result["state_sizes"]
    assert sizes["samples"] == 40 + 15
    assert 0 < sizes["p50_bytes"] <= sizes["p99_bytes"] <= sizes["max_bytes"]
    assert f"ratio (b)/(a): {result['ratio']:.2f}" in run.stdout
    assert f"p99 {latency['p99_ms']:.1f} ms" in run.stdout
