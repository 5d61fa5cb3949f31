"""Per-dimension agreement of an extractor with hand-labelled conversations.

The accuracy bench and the unit test that guards extraction quality both score
through this module, so the table an engineer prints and the numbers the test
asserts floors on are computed the same way. It is pure: callers read the
labelled files and pass their text in, and they choose the extractor (the rules
provider, or any other `Conversation -> Extraction` function), so the same
scoring judges a new provider against the same labels.

A labelled record is one JSON object per line: `id`, `kind` ("sms" with
`messages` of `direction` and `body`, or a transcript with `text` and
`channel`) and `labels`, one expected value per dimension in `DIMENSIONS`.

Accuracy alone hides what matters for a skewed label (most families voice no
money worry, so "none" everywhere scores 0.8), so `metrics` also gives precision,
recall and F1 per dimension: macro-averaged over the classes of a multi-class
dimension, of the positive class for a yes/no one, and micro over (item, name)
pairs for a set of names (objection topics, signals). `bootstrap` puts a 95%
interval on each by resampling items with replacement; its draws are derived
from a seed with hashlib, so the same seed gives the same interval on any machine.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from stream_app.domain.extraction.conversation import Conversation, parse_transcript, sms_thread
from stream_app.domain.extraction.model import Extraction

Record = Mapping[str, Any]
"""One labelled conversation, as decoded from its JSON line."""

DIMENSIONS: tuple[str, ...] = (
    "intent",
    "sentiment",
    "financial_concern",
    "has_objection",
    "objection_topics",
    "has_family_context",
    "signals",
    "scheduling",
    "opt_out",
)
"""What a labeller can judge from the text alone, in the order the table prints."""

Kind = Literal["multiclass", "binary", "set"]

KINDS: Mapping[str, Kind] = {
    "intent": "multiclass",
    "sentiment": "multiclass",
    "financial_concern": "multiclass",
    "has_objection": "binary",
    "objection_topics": "set",
    "has_family_context": "binary",
    "signals": "set",
    "scheduling": "binary",
    "opt_out": "binary",
}
"""How each dimension's precision and recall are counted (see the module docstring)."""

INTENTS: tuple[str, ...] = (
    "interested",
    "considering",
    "objecting",
    "scheduling",
    "requesting_info",
    "declining",
    "no_response",
    "unclear",
)
"""The rows and columns of the intent confusion matrix, in the model's order."""


def dimensions_of(e: Extraction) -> dict[str, Any]:
    """An extraction reduced to the values a label can be compared with.

    Free text (summaries, quoted constraints) cannot match a label exactly, so
    those dimensions are judged by presence; lists become sorted topic names.
    """
    return {
        "intent": e.intent.value,
        "sentiment": e.sentiment.value,
        "financial_concern": e.financial.concern_level.value,
        "has_objection": bool(e.objections),
        "objection_topics": sorted({o.topic for o in e.objections}),
        "has_family_context": bool(e.family.siblings or e.family.decision_makers or e.family.notes),
        "signals": sorted({s.signal for s in e.additional_signals}),
        "scheduling": bool(e.scheduling.constraints or e.scheduling.preferred_times),
        "opt_out": e.opt_out,
    }


@dataclass(frozen=True, slots=True)
class Miss:
    """One disagreement, for the bench's `--misses` listing and test failure output."""

    item_id: str
    dimension: str
    expected: Any
    predicted: Any


@dataclass(frozen=True, slots=True)
class Pair:
    """One item's labelled and predicted dimensions."""

    item_id: str
    expected: Mapping[str, Any]
    predicted: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Scores:
    accuracy: float
    precision: float
    recall: float
    f1: float


METRICS: tuple[str, ...] = ("accuracy", "precision", "recall", "f1")


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class DimensionResult:
    """A dimension's point scores and a 95% bootstrap interval for each metric."""

    point: Scores
    ci: Mapping[str, Interval]


@dataclass(frozen=True, slots=True)
class Report:
    total: int
    correct: Mapping[str, int]
    misses: tuple[Miss, ...]
    pairs: tuple[Pair, ...] = ()

    def accuracy(self, dimension: str) -> float:
        return self.correct[dimension] / self.total if self.total else 0.0

    def accuracies(self) -> dict[str, float]:
        return {d: self.accuracy(d) for d in DIMENSIONS}

    def table(self) -> str:
        lines = [f"{'dimension':<20} {'accuracy':>8}  correct/total", "-" * 44]
        lines += [
            f"{d:<20} {self.accuracy(d):>8.3f}  {self.correct[d]}/{self.total}" for d in DIMENSIONS
        ]
        return "\n".join(lines)


def parse_records(text: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file's text; blank lines are skipped."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def conversation_of(record: Record) -> Conversation:
    """The conversation an extractor reads, built the way the worker builds it."""
    if record["kind"] == "sms":
        return sms_thread([(m["direction"], m["body"]) for m in record["messages"]])
    return parse_transcript(record["text"], record["channel"])


def evaluate(records: Iterable[Record], extract: Callable[[Conversation], Extraction]) -> Report:
    """Score `extract` on every record, dimension by dimension."""
    return report_of(
        [Pair(r["id"], r["labels"], dimensions_of(extract(conversation_of(r)))) for r in records]
    )


def report_of(pairs: Sequence[Pair]) -> Report:
    """The accuracy report of already-made predictions (an async provider makes them itself)."""
    correct = dict.fromkeys(DIMENSIONS, 0)
    misses: list[Miss] = []
    for pair in pairs:
        for d in DIMENSIONS:
            if pair.predicted[d] == pair.expected[d]:
                correct[d] += 1
            else:
                misses.append(Miss(pair.item_id, d, pair.expected[d], pair.predicted[d]))
    return Report(total=len(pairs), correct=correct, misses=tuple(misses), pairs=tuple(pairs))


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def metrics(dimension: str, pairs: Sequence[Pair]) -> Scores:
    """Accuracy, precision, recall and F1 of one dimension over these items."""
    expected = [p.expected[dimension] for p in pairs]
    predicted = [p.predicted[dimension] for p in pairs]
    accuracy = _ratio(sum(e == g for e, g in zip(expected, predicted, strict=True)), len(pairs))
    kind = KINDS[dimension]
    if kind == "binary":
        tp = sum(bool(e) and bool(g) for e, g in zip(expected, predicted, strict=True))
        precision = _ratio(tp, sum(bool(g) for g in predicted))
        recall = _ratio(tp, sum(bool(e) for e in expected))
        return Scores(accuracy, precision, recall, _f1(precision, recall))
    if kind == "set":
        tp = sum(len(set(e) & set(g)) for e, g in zip(expected, predicted, strict=True))
        precision = _ratio(tp, sum(len(set(g)) for g in predicted))
        recall = _ratio(tp, sum(len(set(e)) for e in expected))
        return Scores(accuracy, precision, recall, _f1(precision, recall))
    classes = sorted(set(expected) | set(predicted))
    per_class = []
    for c in classes:
        tp = sum(e == c and g == c for e, g in zip(expected, predicted, strict=True))
        p = _ratio(tp, sum(g == c for g in predicted))
        r = _ratio(tp, sum(e == c for e in expected))
        per_class.append((p, r, _f1(p, r)))
    n = len(per_class)
    return Scores(
        accuracy,
        _ratio(sum(p for p, _, _ in per_class), n),
        _ratio(sum(r for _, r, _ in per_class), n),
        _ratio(sum(f for _, _, f in per_class), n),
    )


def resample(n: int, seed: int, draw: int) -> list[int]:
    """Item indices for one bootstrap draw: n picks with replacement, derived from the seed."""
    return [
        int.from_bytes(hashlib.sha256(f"{seed}:{draw}:{k}".encode()).digest()[:8], "big") % n
        for k in range(n)
    ]


def bootstrap(pairs: Sequence[Pair], seed: int, draws: int = 1000) -> dict[str, DimensionResult]:
    """Every dimension's scores with a percentile 95% interval over `draws` item resamples."""
    samples = [[pairs[i] for i in resample(len(pairs), seed, b)] for b in range(draws) if pairs]
    out: dict[str, DimensionResult] = {}
    for d in DIMENSIONS:
        per_draw = [metrics(d, sample) for sample in samples]
        ci = {}
        for m in METRICS:
            values = sorted(getattr(s, m) for s in per_draw)
            ci[m] = (
                Interval(
                    values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))]
                )
                if values
                else Interval(0.0, 0.0)
            )
        out[d] = DimensionResult(point=metrics(d, pairs), ci=ci)
    return out


def confusion(pairs: Sequence[Pair], dimension: str = "intent") -> dict[tuple[str, str], int]:
    """(labelled, predicted) -> how many items, for the dimension's confusion matrix."""
    return dict(Counter((str(p.expected[dimension]), str(p.predicted[dimension])) for p in pairs))


__all__ = [
    "DIMENSIONS",
    "INTENTS",
    "KINDS",
    "METRICS",
    "DimensionResult",
    "Interval",
    "Miss",
    "Pair",
    "Record",
    "Report",
    "Scores",
    "bootstrap",
    "confusion",
    "conversation_of",
    "dimensions_of",
    "evaluate",
    "metrics",
    "parse_records",
    "report_of",
    "resample",
]
