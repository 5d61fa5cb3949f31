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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
class Report:
    total: int
    correct: Mapping[str, int]
    misses: tuple[Miss, ...]

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
    correct = dict.fromkeys(DIMENSIONS, 0)
    misses: list[Miss] = []
    total = 0
    for record in records:
        total += 1
        predicted = dimensions_of(extract(conversation_of(record)))
        for d in DIMENSIONS:
            if predicted[d] == record["labels"][d]:
                correct[d] += 1
            else:
                misses.append(Miss(record["id"], d, record["labels"][d], predicted[d]))
    return Report(total=total, correct=correct, misses=tuple(misses))


__all__ = [
    "DIMENSIONS",
    "Miss",
    "Record",
    "Report",
    "conversation_of",
    "dimensions_of",
    "evaluate",
    "parse_records",
]
