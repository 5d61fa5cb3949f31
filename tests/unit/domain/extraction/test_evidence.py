"""Evidence on every signal: the rules provider's spans, and `ground` on a model's quotes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import stream_app.domain.extraction.rules as rules_package
from stream_app.domain.extraction.conversation import parse_transcript, sms_thread
from stream_app.domain.extraction.evidence import ground, locate, missing_evidence, verified
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Evidence,
    Extraction,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    Objection,
    Sentiment,
)
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.extraction.scoring import conversation_of, parse_records

ROOT = Path(__file__).resolve().parents[4]
FILES = [
    ROOT / "tests" / "data" / "extraction_corpus.jsonl",
    ROOT / "tests" / "data" / "extraction_holdout.jsonl",
    Path(rules_package.__file__).resolve().parents[1] / "labelled" / "dev.jsonl",
    Path(rules_package.__file__).resolve().parents[1] / "labelled" / "locked.jsonl",
]
RECORDS: list[dict[str, Any]] = [r for f in FILES for r in parse_records(f.read_text("utf-8"))]
extract = RulesExtractor().extract_sync


def test_every_signal_of_every_corpus_extraction_quotes_the_family() -> None:
    """All 546 labelled conversations: no signal without a quote that is really there."""
    assert len(RECORDS) == 546
    gaps = {}
    for record in RECORDS:
        conversation = conversation_of(record)
        extraction = extract(conversation)
        if missing := missing_evidence(extraction, conversation):
            gaps[record["id"]] = missing
        assert ground(extraction, conversation) == extraction  # nothing to drop or downgrade
    assert not gaps


def test_a_shorthand_quote_is_the_familys_spelling_with_its_span() -> None:
    thread = sms_thread([("outbound", "Trial Sat?"), ("inbound", "ok thx. cant afford it rn tho")])
    e = extract(thread)
    assert e.financial.concern_level is Level.HIGH
    [q] = e.financial.evidence
    assert (q.quote, q.turn) == ("cant afford", 1)
    assert thread.turns[1].text[q.start : q.end] == "cant afford"


def test_the_agents_words_are_never_evidence() -> None:
    call = parse_transcript(
        "Agent: We have scholarships if cost is a concern.\nParent: Thanks, see you then.", "voice"
    )
    assert locate("scholarships", call) is None
    assert not verified(Evidence(quote="scholarships", turn=0, start=8, end=20), call)


CALL = parse_transcript(
    "Agent: Hi, following up on swim.\n"
    "Parent: Honestly it's too far for us, and money's tight since I got laid off.\n"
    "Agent: I understand.\n"
    "Parent: Let me talk to my husband.",
    "voice",
)


def _llm(**fields: Any) -> Extraction:
    return Extraction(provider="openai", **fields)


def test_ground_locates_a_retyped_quote_and_fills_its_span() -> None:
    e = ground(
        _llm(
            intent=Intent.CONSIDERING,
            intent_evidence=(Evidence(quote="let me  talk to my HUSBAND"),),
        ),
        CALL,
    )
    [q] = e.intent_evidence
    assert (q.quote, q.turn) == ("Let me talk to my husband", 3)
    assert e.intent is Intent.CONSIDERING and e.unverified_quotes == 0


def test_a_made_up_quote_is_dropped_counted_and_its_signal_downgraded() -> None:
    e = ground(
        _llm(
            intent=Intent.DECLINING,
            intent_evidence=(Evidence(quote="we are not interested at all"),),
            sentiment=Sentiment.NEGATIVE,
            sentiment_evidence=(Evidence(quote="too far for us"),),
            financial=FinancialSignals(
                concern_level=Level.HIGH,
                evidence=(Evidence(quote="laid off"), Evidence(quote="we're broke")),
            ),
            objections=(
                Objection(
                    topic="distance", severity=Level.MODERATE, evidence=(Evidence(quote="too far"),)
                ),
                Objection(topic="schedule", evidence=(Evidence(quote="Tuesdays are bad"),)),
            ),
            additional_signals=(
                AdditionalSignal(
                    signal="job_loss",
                    urgency=Level.HIGH,
                    evidence=(Evidence(quote="I got laid off"),),
                ),
            ),
            family=FamilyContext(decision_makers=("husband",)),
        ),
        CALL,
    )
    assert e.unverified_quotes == 3  # the refusal, "we're broke", "Tuesdays are bad"
    assert (e.intent, e.intent_evidence) == (Intent.UNCLEAR, ())  # nothing supports it
    assert e.sentiment is Sentiment.NEGATIVE
    assert e.financial.concern_level is Level.MODERATE  # one of two quotes held: one down
    assert [(o.topic, o.severity) for o in e.objections] == [("distance", Level.MODERATE)]
    assert [s.signal for s in e.additional_signals] == ["job_loss"]
    assert e.family == FamilyContext()  # claimed with no quote at all
    assert not missing_evidence(e, CALL)


@pytest.mark.parametrize("span", [(3, 0, 7), (1, 0, 5), (9, 0, 3), (None, None, None)])
def test_a_wrong_span_does_not_verify(span: tuple[int | None, int | None, int | None]) -> None:
    turn, start, end = span
    assert not verified(Evidence(quote="too far", turn=turn, start=start, end=end), CALL)


def test_an_extraction_written_before_evidence_still_decodes() -> None:
    old = (
        '{"status":"ok","provider":"rules","intent":"objecting","sentiment":"neutral",'
        '"financial":{"concern_level":"moderate","mentions":["too pricey"]},'
        '"objections":[{"topic":"distance","detail":"too far","severity":"moderate"}]}'
    )
    e = Extraction.model_validate_json(old)
    assert e.financial.evidence == () and e.objections[0].evidence == ()
    assert e.intent_evidence == () and e.unverified_quotes == 0
