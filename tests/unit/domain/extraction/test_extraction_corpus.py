"""Per-dimension accuracy of the rules extractor on the hand-labelled corpus.

Labelling guide the corpus follows (written before the rules):
- intent, first that applies: declining (refuses or asks to stop), scheduling (asks to
  book/enroll or fixes a time), objecting (states a barrier as a reason it won't work),
  unclear (wrong number, "can't talk now"), requesting_info, considering, interested;
  no_response when the family said nothing. A decision-maker deferral outweighs an
  objection; an objection the family moved past in a later turn no longer counts.
- financial: none; low for neutral price questions; moderate for worry, pushback or
  asking for aid; high for "can't afford" or lost income.
- sentiment is the family's attitude; refusals are neutral at best.

The main corpus was read while the rules were written, so it must score (almost)
perfectly; the holdout set is the nearer estimate of unseen text, and its floors
catch a rules change that quietly trades holdout accuracy for something else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.extraction.scoring import DIMENSIONS, Report, evaluate, parse_records

DATA = Path(__file__).resolve().parents[3] / "data"

HOLDOUT_FLOORS: dict[str, float] = {
    # Measured 29/30, 29/30 and 28/30; each floor allows one more miss in 30.
    "intent": 0.93,
    "sentiment": 0.93,
    "financial_concern": 0.89,
    # Measured 30/30; one miss in 30 (0.967) still passes, two fail.
    "has_objection": 0.96,
    "objection_topics": 0.96,
    "has_family_context": 0.96,
    "signals": 0.96,
    "scheduling": 0.96,
    # Missing an opt-out keeps messaging a family that asked to stop: no slack.
    "opt_out": 1.0,
}
"""The rules provider's holdout accuracy when these floors were set, less a margin."""


def _records(name: str) -> list[dict[str, Any]]:
    return parse_records((DATA / name).read_text())


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, Any]]:
    return _records("extraction_corpus.jsonl")


@pytest.fixture(scope="module")
def holdout() -> list[dict[str, Any]]:
    return _records("extraction_holdout.jsonl")


@pytest.mark.parametrize(("name", "minimum"), [("corpus", 70), ("holdout", 30)])
def test_labelled_sets_are_large_and_well_formed(
    name: str, minimum: int, request: pytest.FixtureRequest
) -> None:
    records: list[dict[str, Any]] = request.getfixturevalue(name)
    assert len(records) >= minimum
    ids = [record["id"] for record in records]
    assert len(ids) == len(set(ids))
    for record in records:
        labels = record["labels"]
        assert isinstance(labels, dict)
        assert set(labels) == set(DIMENSIONS)
        assert labels["has_objection"] == bool(labels["objection_topics"])
        assert ("messages" in record) == (record["kind"] == "sms")


def test_the_sets_do_not_overlap(
    corpus: list[dict[str, Any]], holdout: list[dict[str, Any]]
) -> None:
    """A holdout conversation also in the corpus would flatter the holdout score."""
    assert not {r["id"] for r in corpus} & {r["id"] for r in holdout}
    seen = {_said(r) for r in corpus}
    assert not [r["id"] for r in holdout if _said(r) in seen]


def _said(record: dict[str, Any]) -> str:
    if record["kind"] == "sms":
        return "\n".join(m["body"] for m in record["messages"])
    return str(record["text"])


def _shortfall(report: Report, floors: dict[str, float]) -> dict[str, str]:
    return {
        d: f"{report.accuracy(d):.3f} < {floor}"
        for d, floor in floors.items()
        if report.accuracy(d) < floor
    }


def test_rules_accuracy(
    corpus: list[dict[str, Any]],
    holdout: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    extract = RulesExtractor().extract_sync
    report = evaluate(corpus, extract)
    held = evaluate(holdout, extract)
    with capsys.disabled():
        print(f"\nrules extractor, {report.total} corpus conversations\n{report.table()}")
        print(f"rules extractor, {held.total} holdout conversations\n{held.table()}")
    assert set(HOLDOUT_FLOORS) == set(DIMENSIONS)
    assert report.accuracy("intent") >= 0.90, report.misses
    assert report.accuracy("financial_concern") >= 0.90, report.misses
    assert report.accuracy("opt_out") == 1.0, report.misses
    assert held.total == len(holdout)
    assert not _shortfall(held, HOLDOUT_FLOORS), (_shortfall(held, HOLDOUT_FLOORS), held.misses)
