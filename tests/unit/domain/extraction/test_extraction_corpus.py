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
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[4]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extraction_accuracy", ROOT / "bench" / "extraction_accuracy.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, object]]:
    items: list[dict[str, object]] = bench.load(bench.CORPUS)
    return items


def test_corpus_is_large_and_well_formed(corpus: list[dict[str, object]]) -> None:
    assert len(corpus) >= 70
    ids = [item["id"] for item in corpus]
    assert len(ids) == len(set(ids))
    for item in corpus:
        labels = item["labels"]
        assert isinstance(labels, dict)
        assert set(labels) == set(bench.DIMENSIONS)
        assert labels["has_objection"] == bool(labels["objection_topics"])
        assert ("messages" in item) == (item["kind"] == "sms")


def test_rules_accuracy(
    corpus: list[dict[str, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    report = bench.evaluate(corpus)
    holdout = bench.evaluate(bench.load(bench.HOLDOUT))
    with capsys.disabled():
        print(f"\nrules extractor, {report.total} corpus conversations\n{report.table()}")
        print(f"rules extractor, {holdout.total} holdout conversations\n{holdout.table()}")
    assert report.accuracy("intent") >= 0.90, report.misses
    assert report.accuracy("financial_concern") >= 0.90, report.misses
    assert report.accuracy("opt_out") == 1.0, report.misses
