"""The report's intervals against textbook values and against what they must contain."""

from __future__ import annotations

import math
import random

import pytest

from stream_app.sim.stats import (
    Estimate,
    normal_interval,
    paired_difference,
    t95,
    t_interval,
    unpaired_difference,
    wilson,
)


@pytest.mark.parametrize(
    ("df", "t"), [(1, 12.706), (4, 2.776), (9, 2.262), (12, 2.131), (60, 1.959964)]
)
def test_t_quantiles(df: int, t: float) -> None:
    assert t95(df) == t


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    # Textbook Wilson score intervals (z = 1.96).
    [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (81, 263, 0.2553, 0.3662), (10, 10, 0.7225, 1)],
)
def test_wilson_matches_the_textbook(successes: int, n: int, low: float, high: float) -> None:
    got = wilson(successes, n)
    assert got.mean == successes / n
    assert got.low == pytest.approx(low, abs=1e-3) and got.high == pytest.approx(high, abs=1e-3)


def test_t_interval_matches_the_textbook() -> None:
    # mean 5, sample sd sqrt(2.5), n 5: half width 2.776 * 1.5811 / 2.2361 = 1.963
    got = t_interval([3.0, 4.0, 5.0, 6.0, 7.0])
    assert got.mean == 5.0 and got.high - 5.0 == pytest.approx(1.9630, abs=1e-3)


def test_normal_interval_half_width() -> None:
    values = [0.0, 1.0] * 50
    got = normal_interval(values)
    assert got.high - got.mean == pytest.approx(1.959964 * 0.50252 / 10, abs=1e-4)


def test_pairing_removes_the_families_own_variance() -> None:
    """B is A plus a constant 0.1: the paired difference is exactly 0.1, however spread A is."""
    rng = random.Random(3)
    a = [[rng.uniform(-2, 2) for _ in range(200)] for _ in range(3)]
    b = [[x - 0.1 for x in seed] for seed in a]
    got = paired_difference(a, b, samples=300)
    assert got.mean == pytest.approx(0.1)
    assert got.high - got.low < 1e-9
    unpaired = unpaired_difference(a, b, samples=300)
    assert unpaired.mean == pytest.approx(0.1) and unpaired.high - unpaired.low > 0.2


def test_bootstrap_covers_a_known_difference_and_is_seeded() -> None:
    rng = random.Random(9)
    a = [[float(rng.random() < 0.6) for _ in range(500)] for _ in range(4)]
    b = [[float(rng.random() < 0.4) for _ in range(500)] for _ in range(4)]
    got = paired_difference(a, b)
    assert got.low < 0.2 < got.high
    assert got.high - got.low == pytest.approx(2 * 1.96 * math.sqrt(0.48 / 2000), rel=0.25)
    assert got == paired_difference(a, b)
    assert got != paired_difference(a, b, seed=1)


def test_above_means_no_overlap() -> None:
    assert Estimate(0.6, 0.55, 0.65).above(Estimate(0.5, 0.45, 0.54))
    assert not Estimate(0.6, 0.55, 0.65).above(Estimate(0.5, 0.45, 0.56))
