"""Extractions per CPU second of the rules extractor, and where its time goes.

Run: .venv/bin/python bench/rules_speed.py [--repeat 5] [--profile 25]

Two sets: the transcripts the bench's realistic mix sends the extractor
(`stream_app.sim.bench_mix`, seed 1, what `stream-app bench` drives), and the four
labelled sets (longer, multi-turn, every dimension exercised). Conversations are
parsed once, outside the timing, as the worker's parse is not the extractor's. Each
set is timed `--repeat` times with `time.process_time` and the best pass is
reported, so a busy neighbour on a shared machine costs a pass, not the number.
`--profile N` prints cProfile's top N functions by own time over one pass of both.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from stream_app.domain.extraction.conversation import Conversation, parse_transcript
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.extraction.scoring import conversation_of, parse_records
from stream_app.domain.messages import InteractionCompleted
from stream_app.sim.bench_mix import realistic_mix

ROOT = Path(__file__).resolve().parents[1]
LABELLED = (
    ROOT / "tests" / "data" / "extraction_corpus.jsonl",
    ROOT / "tests" / "data" / "extraction_holdout.jsonl",
    ROOT / "stream_app" / "domain" / "extraction" / "labelled" / "dev.jsonl",
    ROOT / "stream_app" / "domain" / "extraction" / "labelled" / "locked.jsonl",
)


def bench_mix(leads: int) -> list[Conversation]:
    events = realistic_mix("rs", leads, 1, datetime(2026, 1, 1, tzinfo=UTC))
    return [
        parse_transcript(e.transcript, e.channel.value)
        for e in events
        if isinstance(e, InteractionCompleted) and e.transcript
    ]


def labelled() -> list[Conversation]:
    return [conversation_of(r) for path in LABELLED for r in parse_records(path.read_text())]


def best_rate(conversations: Sequence[Conversation], repeat: int) -> tuple[float, float]:
    """The best pass's extractions per CPU second, and its µs per extraction."""
    extract = RulesExtractor().extract_sync
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for c in conversations:
            extract(c)
        best = min(best, time.process_time() - started)
    return len(conversations) / best, best / len(conversations) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000, help="leads of the bench mix")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per set")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="top N functions")
    args = parser.parse_args()
    sets = {"bench mix": bench_mix(args.leads), "labelled sets": labelled()}
    for name, conversations in sets.items():
        rate, us = best_rate(conversations, args.repeat)
        print(
            f"{name:<14} {len(conversations):>5} conversations  {rate:>8,.0f} extractions/CPU s"
            f"  {us:>7,.0f} µs each"
        )
    if args.profile:
        extract = RulesExtractor().extract_sync
        profiler = cProfile.Profile()
        profiler.enable()
        for conversations in sets.values():
            for c in conversations:
                extract(c)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)


if __name__ == "__main__":
    main()
