"""Per-dimension accuracy of the rules extractor against the labelled corpus.

Run: .venv/bin/python bench/extraction_accuracy.py [--misses]

Every file was labelled by hand before the rules ran on it. The main corpus was
read while the rules were written, so its score is an upper bound; the holdout set
was scored once untouched (intent 0.47) and then used to broaden the phrase tables;
the dev set (issue 17) was tuned on too. Only the locked set is held out, and this
bench prints its aggregates only (`--misses` lists the others): the real test is
`stream-app extraction-eval --set locked`, which adds precision, recall, F1 and CIs.
The scoring lives in `stream_app.domain.extraction.scoring`, which the unit tests
use too, so the table printed here and the floors they assert are the same.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.extraction.scoring import evaluate, parse_records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
LABELLED = ROOT / "stream_app" / "domain" / "extraction" / "labelled"
CORPUS = DATA / "extraction_corpus.jsonl"
HOLDOUT = DATA / "extraction_holdout.jsonl"
DEV = LABELLED / "dev.jsonl"
LOCKED = LABELLED / "locked.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list every disagreement")
    args = parser.parse_args()
    extract = RulesExtractor().extract_sync
    for path in (CORPUS, HOLDOUT, DEV, LOCKED):
        report = evaluate(parse_records(path.read_text()), extract)
        print(f"\nrules extractor on {report.total} labelled conversations ({path.name})")
        print(report.table())
        if args.misses and path != LOCKED:
            for m in report.misses:
                print(f"{m.item_id:<6} {m.dimension:<18} want={m.expected!r} got={m.predicted!r}")


if __name__ == "__main__":
    main()
