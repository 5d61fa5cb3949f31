"""The bench's arithmetic: percentiles, /proc readings, profile summaries, phases."""

from __future__ import annotations

import os

import pytest

from stream_app.sim.benchmark import Usage, _phase, percentile, top_frames, usage


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        (list(range(1, 101)), 50, 50.5),
        (list(range(1, 101)), 99, 99.01),
        ([5.0], 99, 5.0),
        ([], 50, 0.0),
    ],
)
def test_percentile(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected, abs=0.02)


def test_usage_reads_this_process_cpu_and_peak_rss() -> None:
    before = usage(os.getpid())
    sum(i * i for i in range(300_000))
    after = usage(os.getpid())
    assert after.cpu_s >= before.cpu_s > 0
    assert after.peak_rss_mb > 10


def test_a_phase_sums_cpu_over_processes_and_takes_the_largest_peak() -> None:
    phase = _phase(
        2_000,
        4.0,
        [Usage(1.0, 50), Usage(2.0, 60)],
        [Usage(2.0, 80), Usage(4.0, 70)],
        (Usage(10.0, 30), Usage(11.0, 30)),
    )
    assert phase.events_per_s == 500
    assert phase.cpu_s_per_1k_events == 1.5
    assert phase.peak_rss_mb == 80
    assert phase.broker_cpu_s_per_1k_events == 0.5


def test_top_frames_ranks_functions_by_inclusive_samples() -> None:
    lines = [
        "main (a.py:1);step (b.py:2);decode (c.py:3) 6",
        "main (a.py:1);step (b.py:2) 2",
        "main (a.py:1);idle (d.py:9) 2",
        "not a sample line",
    ]
    frames = top_frames(lines, count=3)
    assert frames[0] == "100.0% main (a.py)"
    assert frames[1] == " 80.0% step (b.py)"
    assert frames[2] == " 60.0% decode (c.py)"
