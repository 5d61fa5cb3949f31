"""The naive Bayes tie-breaker: reproducible from the dev set, used only where no phrase decides."""

from __future__ import annotations

from importlib import resources

import pytest

from stream_app.domain.extraction.conversation import sms_thread
from stream_app.domain.extraction.model import Intent
from stream_app.domain.extraction.rules import RulesExtractor, text, tiebreak
from stream_app.domain.extraction.scoring import conversation_of, parse_records

extract = RulesExtractor().extract_sync


def _dev() -> list[dict[str, object]]:
    labelled = resources.files("stream_app.domain.extraction").joinpath("labelled/dev.jsonl")
    return parse_records(labelled.read_text(encoding="utf-8"))


def test_the_shipped_weights_are_what_train_gives_on_the_dev_set() -> None:
    """Nobody hand-edits the counts: the file is `train` over the shipped dev set, byte for byte.

    After the dev set grows, rewrite the file with `tiebreak.train(...).to_json()` over
    the same pairs as below.
    """
    pairs = [
        (tiebreak.said_by_family(conversation_of(r)), Intent(r["labels"]["intent"]))  # type: ignore[index]
        for r in _dev()
    ]
    shipped = resources.files(tiebreak.__package__).joinpath(tiebreak.WEIGHTS).read_text("utf-8")
    assert tiebreak.train(pairs).to_json() == shipped


def test_train_counts_words_and_word_pairs_per_intent() -> None:
    model = tiebreak.train(
        [
            ("we can't do it", Intent.OBJECTING),
            ("can we book it?", Intent.SCHEDULING),
            ("", Intent.NO_RESPONSE),
        ]
    )
    assert model.classes == {"objecting": 1, "scheduling": 1}
    assert model.counts["scheduling"] == {
        "can": 1, "we": 1, "book": 1, "it": 1, "?": 1,
        "can we": 1, "we book": 1, "book it": 1, "it ?": 1,
    }  # fmt: skip
    assert tiebreak.NaiveBayes.from_json(model.to_json()) == model


_TOY = tiebreak.TieBreaker(
    tiebreak.train(
        [
            ("we will pass, thanks", Intent.DECLINING),
            ("no thanks, we will pass on it", Intent.DECLINING),
            ("what time does it start", Intent.REQUESTING_INFO),
            ("what does it cost", Intent.REQUESTING_INFO),
        ]
    )
)


def _sentences(*said: str) -> list[text.Sentence]:
    return text.sentences([t for t in sms_thread([("inbound", s) for s in said]).turns])


def test_the_guess_quotes_the_sentence_that_argues_for_it() -> None:
    guess = _TOY.guess(_sentences("Hello there friend.", "We will pass."))
    assert guess is not None
    assert (guess.intent, guess.because.text) == (Intent.DECLINING, "We will pass.")


@pytest.mark.parametrize("said", [("??",), ("ok",), ("ok", "thx")])
def test_too_few_words_abstain(said: tuple[str, ...]) -> None:
    assert _TOY.guess(_sentences(*said)) is None


def test_the_extractor_asks_the_model_only_when_no_phrase_decides() -> None:
    # no phrase table reads a stance into this: the model names one, quoting the family
    unread = sms_thread([("inbound", "they're all more than a car payment lol, yikes")])
    got = extract(unread)
    assert got.intent is not Intent.UNCLEAR
    assert [e.quote for e in got.intent_evidence] == [
        "they're all more than a car payment lol, yikes"
    ]
    # a phrase that decides is never overridden, "unclear" included
    for said, intent in [("wrong number", Intent.UNCLEAR), ("no thanks", Intent.DECLINING)]:
        assert extract(sms_thread([("inbound", said)])).intent is intent
    # too little said: the bare "unclear" stays, with no quote
    bare = extract(sms_thread([("inbound", "??")]))
    assert (bare.intent, bare.intent_evidence) == (Intent.UNCLEAR, ())


@pytest.mark.parametrize(
    "thread", [("ok thanks", "ok thanks"), ("ok thanks",) * 3, ("thanks for the text ok",)]
)
def test_the_model_never_closes_a_lead_on_its_own_guess(thread: tuple[str, ...]) -> None:
    """A decline closes the lead: it takes the family's words, never a model's guess.
    Acknowledgements read as declines once (chaos suite: "ok thanks" twice closed a lead)."""
    got = extract(sms_thread([("inbound", said) for said in thread]))
    assert got.intent is not Intent.DECLINING
