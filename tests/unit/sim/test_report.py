"""Interval math and the report's table and plot."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from stream_app.sim.engine import LeadResult, PolicyKind, RunResult
from stream_app.sim.report import Report, mean_ci, plot, score, t95, table


@pytest.mark.parametrize(
    ("df", "t"), [(1, 12.706), (4, 2.776), (9, 2.262), (12, 2.131), (60, 1.96)]
)
def test_t_quantiles(df: int, t: float) -> None:
    assert t95(df) == t


def test_mean_ci_matches_the_textbook() -> None:
    # mean 5, sample sd sqrt(2.5), n 5: half width 2.776 * 1.5811 / 2.2361 = 1.963
    estimate = mean_ci([3.0, 4.0, 5.0, 6.0, 7.0])
    assert estimate.mean == 5.0
    assert math.isclose(estimate.high - estimate.mean, 1.9630, abs_tol=1e-3)
    assert math.isclose(estimate.mean - estimate.low, estimate.high - estimate.mean)


def test_rates_are_clipped_to_their_range() -> None:
    estimate = mean_ci([0.0, 0.0, 1.0], bounds=(0.0, 1.0))
    assert estimate.low == 0.0 and estimate.high == 1.0


def test_one_value_is_a_point() -> None:
    assert mean_ci([0.4]) == mean_ci([0.4, 0.4])


def _run(seed: int, enrolled: list[bool]) -> RunResult:
    leads = tuple(
        LeadResult(i, e, "paid" if e else "declined", 2.0 if e else -1.0, 4)
        for i, e in enumerate(enrolled)
    )
    return RunResult(PolicyKind.PRIORS, seed, leads, 4 * len(leads), 3 * len(leads))


def test_score_uses_replicate_means() -> None:
    runs = [_run(1, [True, False, True, True]), _run(2, [True, False, False, False])]
    scored = score(PolicyKind.PRIORS, runs, batch=2)
    assert scored.enrollment.mean == pytest.approx(0.5)
    assert scored.mean_return.mean == pytest.approx(0.5)
    assert scored.decisions_per_lead == 4.0
    assert [p.mean for p in scored.curve_enrollment] == [0.5, 0.5]


def test_table_and_plot(tmp_path: Path) -> None:
    runs = [_run(1, [True, False] * 5), _run(2, [False, True] * 5)]
    scores = tuple(score(kind, runs, batch=5) for kind in PolicyKind)
    report = Report(seed=1, leads=10, replicates=2, batch=5, scores=scores)
    assert table(report).row_count == 3
    path = plot(report, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
