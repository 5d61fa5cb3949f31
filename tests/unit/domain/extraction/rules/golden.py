"""The rules extractor's golden corpus: frozen conversations, and digests of what it reads.

The inputs were collected once and frozen so that the check depends on nothing but
the extractor: every conversation the unit tests extracted, the four labelled sets,
five seeds of the simulator's transcript generator and of the bench's mix. On top of
those, `mixed` splices turns and sentences of the frozen ones into longer,
multi-turn conversations (seeded, so always the same), where cross-turn rules
(answering the agent's question, moving past an objection) get exercised.

The expected digests were written by the extractor as it was before it was made
faster, and every change since has kept them. A change that means to alter
extraction regenerates them (`--write`) and says why in its commit; to see what
changed, `--dump` the outputs on both commits and diff them:

    .venv/bin/python -m tests.unit.domain.extraction.rules.golden --dump /tmp/new.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from stream_app.domain.extraction.conversation import Conversation, Turn
from stream_app.domain.extraction.rules import RulesExtractor

HERE: Final = Path(__file__).resolve().parent
INPUTS: Final = HERE / "golden_inputs.jsonl.gz"
OUTPUTS: Final = HERE / "golden_outputs.json"
BLOCK: Final = 64
"""Outputs are also digested in blocks of this many, so a failure says where to look."""
MIXED_SEEDS: Final = (101, 102, 103)
MIXED_PER_SEED: Final = 1500

_SENTENCE: Final = re.compile(r"(?<=[.!?])\s+")


def frozen() -> list[tuple[str, Conversation]]:
    """The frozen conversations, each with the source it was collected from."""
    with gzip.open(INPUTS, "rt", encoding="utf-8") as f:
        rows: list[dict[str, Any]] = [json.loads(line) for line in f]
    return [
        (
            row["source"],
            Conversation(
                channel=row["channel"],
                turns=tuple(Turn(speaker, role, text) for speaker, role, text in row["turns"]),
            ),
        )
        for row in rows
    ]


def mixed(pool: list[Conversation], seed: int, count: int) -> list[Conversation]:
    """Conversations of 1-7 alternating turns drawn from the pool's agent and family turns;
    half the family turns are 1-4 sentences from anywhere in the pool."""
    agent = [t for c in pool for t in c.turns if t.role == "agent"]
    family = [t for c in pool for t in c.turns if t.role == "family"]
    sentences = [s for t in family for s in _SENTENCE.split(t.text) if s.strip()]
    rng = random.Random(seed)
    out: list[Conversation] = []
    for _ in range(count):
        role = rng.choice(("agent", "agent", "family"))
        turns: list[Turn] = []
        for _ in range(rng.randint(1, 7)):
            if role == "agent":
                turns.append(rng.choice(agent))
            elif rng.random() < 0.5:
                turns.append(rng.choice(family))
            else:
                said = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 4)))
                turns.append(Turn("Parent", "family", said))
            role = "family" if role == "agent" else "agent"
        channel = rng.choice(("voice", "sms", "email"))
        out.append(Conversation(channel=channel, turns=tuple(turns)))  # type: ignore[arg-type]
    return out


def corpus() -> Iterator[tuple[str, Conversation]]:
    """Every conversation of the check, frozen ones first, with its source."""
    base = frozen()
    yield from base
    pool = [c for _, c in base]
    for seed in MIXED_SEEDS:
        for c in mixed(pool, seed, MIXED_PER_SEED):
            yield f"mixed{seed}", c


def outputs() -> list[tuple[str, bytes]]:
    """Each conversation's extraction, serialized whole (evidence spans included)."""
    extract = RulesExtractor().extract_sync
    return [(source, extract(c).model_dump_json().encode()) for source, c in corpus()]


def digests(outs: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Per source: how many, one sha256 over all, and a short sha256 per block of `BLOCK`."""
    by_source: dict[str, list[bytes]] = {}
    for source, out in outs:
        by_source.setdefault(source, []).append(out)
    return {
        source: {
            "count": len(found),
            "sha256": hashlib.sha256(b"\n".join(found)).hexdigest(),
            "blocks": [
                hashlib.sha256(b"\n".join(found[i : i + BLOCK])).hexdigest()[:12]
                for i in range(0, len(found), BLOCK)
            ],
        }
        for source, found in by_source.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {OUTPUTS.name}")
    parser.add_argument("--dump", type=Path, help="write every output, one JSON line each")
    args = parser.parse_args()
    outs = outputs()
    if args.dump:
        with args.dump.open("wb") as f:
            for source, out in outs:
                f.write(source.encode() + b"\t" + out + b"\n")
    if args.write:
        OUTPUTS.write_text(json.dumps(digests(outs), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
