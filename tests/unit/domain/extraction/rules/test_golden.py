"""The rules extractor reads the golden corpus exactly as it did when the digests were written.

About 15,000 conversations (see `golden`), every field of every extraction compared,
evidence spans included: a speed-up must not change a single output, and a change
that means to alter extraction must regenerate the digests and say so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stream_app.domain.extraction.model import Intent
from tests.unit.domain.extraction.rules import golden


@pytest.fixture(scope="module")
def outs() -> list[tuple[str, bytes]]:
    return golden.outputs()


def test_every_extraction_of_the_golden_corpus_is_unchanged(outs: list[tuple[str, bytes]]) -> None:
    expected: dict[str, Any] = json.loads(golden.OUTPUTS.read_text())
    actual = golden.digests(outs)
    assert sorted(actual) == sorted(expected), "the corpus's sources changed"
    assert {s: d["count"] for s, d in actual.items()} == {
        s: d["count"] for s, d in expected.items()
    }
    changed = {
        source: [
            f"{i * golden.BLOCK}-{(i + 1) * golden.BLOCK - 1}"
            for i, (want, got) in enumerate(
                zip(expected[source]["blocks"], actual[source]["blocks"], strict=True)
            )
            if want != got
        ]
        for source in expected
        if expected[source] != actual[source]
    }
    assert not changed, (
        f"extractions changed (source: item ranges; diff `golden --dump`): {changed}"
    )


def test_the_corpus_reaches_every_reading(outs: list[tuple[str, bytes]]) -> None:
    """Every intent, long conversations and every channel are in the corpus, so the
    digests would notice a change in any of them."""
    conversations = [c for _, c in golden.corpus()]
    assert len(conversations) == len(outs) > 15_000
    assert sum(len(c.turns) >= 4 for c in conversations) > 2_000
    assert {c.channel for c in conversations} == {"voice", "sms", "email"}
    read = [json.loads(out) for _, out in outs]
    assert {r["intent"] for r in read} == {intent.value for intent in Intent}
    assert sum(bool(r["objections"]) for r in read) > 1_000
    assert sum(bool(r["additional_signals"]) for r in read) > 200
    assert sum(r["financial"]["concern_level"] != "none" for r in read) > 1_000
    assert sum(bool(r["scheduling"]["evidence"]) for r in read) > 1_000
