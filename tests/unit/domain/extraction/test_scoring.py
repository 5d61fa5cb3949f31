"""Precision, recall, F1, bootstrap intervals and the confusion matrix, on hand-computed cases."""

from __future__ import annotations

from typing import Any

import pytest

from stream_app.domain.extraction.scoring import (
    DIMENSIONS,
    Pair,
    bootstrap,
    confusion,
    metrics,
    resample,
)

_BASE: dict[str, Any] = {
    "intent": "unclear",
    "sentiment": "neutral",
    "financial_concern": "none",
    "has_objection": False,
    "objection_topics": [],
    "has_family_context": False,
    "signals": [],
    "scheduling": False,
    "opt_out": False,
}


def _pair(i: int, expected: dict[str, Any], predicted: dict[str, Any]) -> Pair:
    return Pair(f"p{i}", {**_BASE, **expected}, {**_BASE, **predicted})


def test_binary_dimension_counts_the_positive_class() -> None:
    # tp=1 (p0), fp=1 (p1), fn=1 (p2), tn=1 (p3)
    pairs = [
        _pair(0, {"opt_out": True}, {"opt_out": True}),
        _pair(1, {}, {"opt_out": True}),
        _pair(2, {"opt_out": True}, {}),
        _pair(3, {}, {}),
    ]
    s = metrics("opt_out", pairs)
    assert (s.accuracy, s.precision, s.recall, s.f1) == (0.5, 0.5, 0.5, 0.5)


def test_set_dimension_is_micro_averaged_over_names() -> None:
    pairs = [
        _pair(0, {"signals": ["health", "job_loss"]}, {"signals": ["health"]}),
        _pair(1, {"signals": []}, {"signals": ["relocation"]}),
    ]
    s = metrics("signals", pairs)
    assert s.accuracy == 0.0
    assert s.precision == pytest.approx(1 / 2)
    assert s.recall == pytest.approx(1 / 2)


def test_multiclass_dimension_is_macro_averaged() -> None:
    pairs = [
        _pair(0, {"intent": "declining"}, {"intent": "declining"}),
        _pair(1, {"intent": "declining"}, {"intent": "objecting"}),
        _pair(2, {"intent": "scheduling"}, {"intent": "scheduling"}),
    ]
    s = metrics("intent", pairs)
    # declining P=1 R=.5; objecting P=0 R=0; scheduling P=1 R=1
    assert s.accuracy == pytest.approx(2 / 3)
    assert s.precision == pytest.approx(2 / 3)
    assert s.recall == pytest.approx(1.5 / 3)


def test_resampling_is_seeded_and_with_replacement() -> None:
    draw = resample(50, seed=3, draw=0)
    assert draw == resample(50, seed=3, draw=0)
    assert draw != resample(50, seed=4, draw=0)
    assert all(0 <= i < 50 for i in draw)
    assert len(set(draw)) < 50  # with replacement, some items repeat


def test_bootstrap_interval_contains_the_point_and_narrows_with_more_items() -> None:
    small = [
        _pair(i, {"intent": "declining"}, {"intent": "declining" if i % 4 else "unclear"})
        for i in range(20)
    ]
    large = small * 10
    a, b = bootstrap(small, seed=1, draws=300), bootstrap(large, seed=1, draws=300)
    assert set(a) == set(DIMENSIONS)
    for r in (a["intent"], b["intent"]):
        assert r.ci["accuracy"].low <= r.point.accuracy <= r.ci["accuracy"].high
    width = lambda r: r.ci["accuracy"].high - r.ci["accuracy"].low  # noqa: E731
    assert width(b["intent"]) < width(a["intent"])
    assert a["intent"].point.accuracy == 0.75


def test_confusion_counts_labelled_against_predicted() -> None:
    pairs = [
        _pair(0, {"intent": "declining"}, {"intent": "objecting"}),
        _pair(1, {"intent": "declining"}, {"intent": "objecting"}),
        _pair(2, {"intent": "scheduling"}, {"intent": "scheduling"}),
    ]
    assert confusion(pairs) == {("declining", "objecting"): 2, ("scheduling", "scheduling"): 1}
