"""The live summary's arithmetic; the run through the topics is in tests/integration."""

from __future__ import annotations

import pytest

from stream_app.sim.client import LiveStats


def test_learning_minus_holdout_is_the_arms_conversion_difference() -> None:
    stats = LiveStats(leads=10)
    stats.arm = {f"l{i}": "learning" for i in range(6)} | {f"h{i}": "holdout" for i in range(4)}
    stats.converted = {"l0", "l1", "l2", "h0"}  # 3/6 vs 1/4
    difference = stats.learning_minus_holdout()
    assert difference is not None
    assert difference.mean == pytest.approx(0.5 - 0.25)
    assert difference.low < difference.mean < difference.high
    assert difference.low >= -1.0 and difference.high <= 1.0


def test_no_difference_without_both_arms() -> None:
    stats = LiveStats(leads=2)
    stats.arm = {"l0": "learning", "l1": "learning"}
    stats.converted = {"l0"}
    assert stats.learning_minus_holdout() is None
