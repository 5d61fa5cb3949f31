"""Per-dimension accuracy of the rules extractor against the labelled corpus.

Run: .venv/bin/python bench/extraction_accuracy.py [--misses]

Both files were labelled by hand before the rules ran on them. The main corpus was
read while the rules were written, so its score is an upper bound; the holdout set
was scored once untouched (intent 0.47) and then used to broaden the phrase tables,
so treat any new, unseen conversations as the real test. The unit test imports this
module so the table it asserts on and the one an engineer prints are the same numbers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream_app.domain.extraction.conversation import Conversation, parse_transcript, sms_thread
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.extraction.rules import RulesExtractor

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
CORPUS = DATA / "extraction_corpus.jsonl"
HOLDOUT = DATA / "extraction_holdout.jsonl"


def _predict(e: Extraction) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Miss:
    item_id: str
    dimension: str
    expected: Any
    predicted: Any


@dataclass(frozen=True)
class Report:
    total: int
    correct: dict[str, int]
    misses: tuple[Miss, ...]

    def accuracy(self, dimension: str) -> float:
        return self.correct[dimension] / self.total

    def table(self) -> str:
        lines = [f"{'dimension':<20} {'accuracy':>8}  correct/total", "-" * 44]
        lines += [
            f"{d:<20} {self.accuracy(d):>8.3f}  {self.correct[d]}/{self.total}" for d in DIMENSIONS
        ]
        return "\n".join(lines)


def conversation_of(item: dict[str, Any]) -> Conversation:
    if item["kind"] == "sms":
        return sms_thread([(m["direction"], m["body"]) for m in item["messages"]])
    return parse_transcript(item["text"], item["channel"])


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(
    items: Sequence[dict[str, Any]],
    extract: Callable[[Conversation], Extraction] | None = None,
) -> Report:
    extract = extract or RulesExtractor().extract_sync
    correct = dict.fromkeys(DIMENSIONS, 0)
    misses: list[Miss] = []
    for item in items:
        predicted = _predict(extract(conversation_of(item)))
        for d in DIMENSIONS:
            if predicted[d] == item["labels"][d]:
                correct[d] += 1
            else:
                misses.append(Miss(item["id"], d, item["labels"][d], predicted[d]))
    return Report(total=len(items), correct=correct, misses=tuple(misses))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    for path in (CORPUS, HOLDOUT):
        report = evaluate(load(path))
        print(f"\nrules extractor on {report.total} labelled conversations ({path.name})")
        print(report.table())
        if args.misses:
            for m in report.misses:
                print(f"{m.item_id:<6} {m.dimension:<18} want={m.expected!r} got={m.predicted!r}")


if __name__ == "__main__":
    main()
