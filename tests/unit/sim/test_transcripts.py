"""Generated transcripts are read by the rules extractor the way they were meant."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.keywords import opt_out_in
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.sim import events
from stream_app.sim.engine import PolicyKind, RunConfig, run
from stream_app.sim.transcripts import Speakers, Topic, Transcript, transcript

_AGENT_LINES = (
    "Hi Sarah, just following up to see how Jake is doing.",
    "Hi Maria, I'd love to get Mia booked in for a trial class.",
    "Hi Tom, we have scholarships and a sliding scale if that helps.",
    "Thanks for getting in touch with the academy.",
)


def _speakers(rng: random.Random) -> Speakers:
    child, he = rng.choice((("Jake", "he"), ("Mia", "she"), ("Leo", "he")))
    return Speakers(
        rng.choice(("Sarah", "Maria", "Tom")), child, he, "him" if he == "he" else "her"
    )


def test_rules_extractor_reads_intent_and_financial_concern_as_intended() -> None:
    rng = random.Random(8)
    extractor = RulesExtractor()
    read_as_meant: Counter[Topic] = Counter()
    seen: Counter[Topic] = Counter()
    for _ in range(1500):
        topic = rng.choice([t for t in Topic if t is not Topic.OPT_OUT])
        said = transcript(topic, rng, _speakers(rng), rng.choice(_AGENT_LINES))
        assert said.intended is not None
        got = extractor.extract_sync(parse_transcript(said.text, "voice"))
        seen[topic] += 1
        if (got.intent, got.financial.concern_level) == (
            said.intended.intent,
            said.intended.financial,
        ):
            read_as_meant[topic] += 1
    overall = sum(read_as_meant.values()) / sum(seen.values())
    assert overall >= 0.8, overall
    worst = {t: read_as_meant[t] / seen[t] for t in seen if read_as_meant[t] / seen[t] < 0.6}
    assert not worst, f"topics the extractor mostly misreads: {worst}"


def test_opt_out_lines_are_caught_by_the_keyword_scan() -> None:
    rng = random.Random(2)
    for _ in range(100):
        said = transcript(Topic.OPT_OUT, rng, _speakers(rng), rng.choice(_AGENT_LINES))
        assert said.intended is None
        assert opt_out_in(parse_transcript(said.text, "voice")), said.text


def test_wording_varies() -> None:
    rng = random.Random(3)
    texts = {transcript(Topic.COST, rng, _speakers(rng), "Hi.").text for _ in range(50)}
    assert len(texts) >= 10


def test_families_in_a_run_are_heard_as_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end: what families say in simulated journeys, after the real briefs' drafts."""
    captured: list[Transcript] = []

    def spy(*args: Any) -> Transcript:
        said = transcript(*args)
        captured.append(said)
        return said

    monkeypatch.setattr(events, "transcript", spy)
    run(PolicyKind.PRIORS, RunConfig(seed=4, leads=40))
    meant = [t for t in captured if t.intended is not None]
    assert len(meant) > 50
    extractor = RulesExtractor()
    hits = 0
    for said in meant:
        assert said.intended is not None
        got = extractor.extract_sync(parse_transcript(said.text, "sms"))
        hits += (got.intent, got.financial.concern_level) == (
            said.intended.intent,
            said.intended.financial,
        )
    assert hits / len(meant) >= 0.8, hits / len(meant)
