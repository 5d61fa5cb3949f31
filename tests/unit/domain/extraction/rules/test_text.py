"""The text helpers every rules table is matched through: normalisation, negation, matching."""

from __future__ import annotations

import pytest

from stream_app.domain.extraction.conversation import Turn
from stream_app.domain.extraction.rules.text import (
    MAX_DETAIL,
    MAX_ITEMS,
    Sentence,
    detail,
    hits,
    negated,
    plain,
    rx,
    sentences,
    unique,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("we cant afford it", "we can't afford it"),
        ("see u tmrw", "see you tomorrow"),
        ("see u tmr or tmw", "see you tomorrow or tomorrow"),
        ("thx, ur great", "thanks, your great"),
        ("hes 9 and shes 7", "he's 9 and she's 7"),
        ("im not sure, ive asked", "I'm not sure, I've asked"),
        ("IM in", "I'm in"),
        ("Dont know", "don't know"),
        ("were thinking saturday", "we're thinking saturday"),
        ("were  thinking", "we're thinking"),
        ("next wk", "next week"),
        ("it\u2019s fine", "it's fine"),
        ("don\u2019t", "don't"),
        # Whole words only: shorthand inside a longer word is left alone.
        ("impossible university thousand", "impossible university thousand"),
        ("weekend hesitant", "weekend hesitant"),
        # "were" on its own is a real word, only "were thinking" is a typo.
        ("we were there", "we were there"),
        ("", ""),
    ],
)
def test_plain_spells_out_shorthand_and_straightens_apostrophes(raw: str, expected: str) -> None:
    assert plain(raw) == expected


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        (["Hi. How much is it?"], [("Hi.", 0), ("How much is it?", 0)]),
        (["Great!  See you then"], [("Great!", 0), ("See you then", 0)]),
        (["line one\nline two\n\n"], [("line one", 0), ("line two", 0)]),
        # A full stop not followed by space does not end a sentence.
        (["It's $3.50 a class.Thanks"], [("It's $3.50 a class.Thanks", 0)]),
        (["First.", "  ", "Second? Third!"], [("First.", 0), ("Second?", 2), ("Third!", 2)]),
        # Normalised before splitting, so sentences carry the spelled-out text.
        (["u there? cant talk"], [("you there?", 0), ("can't talk", 0)]),
        ([], []),
    ],
)
def test_sentences_split_each_turn_and_keep_its_index(
    turns: list[str], expected: list[tuple[str, int]]
) -> None:
    got = sentences([Turn("Parent", "family", t) for t in turns])
    assert got == [Sentence(text, turn) for text, turn in expected]


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        ("I'm interested", "interested", False),
        ("not interested", "interested", True),
        ("Not interested", "interested", True),
        ("I'm not really that interested", "interested", True),
        # Only the three words before the match count.
        ("not really all that interested", "interested", False),
        ("we don't love it", "love", True),
        ("we dont love it", "love", True),
        ("it cannot be great", "great", True),
        ("without a great coach", "great", True),
        ("no great options", "great", True),
        # A negator does not reach across a clause break.
        ("no rush, I love it", "love", False),
        ("not sure; great though", "great", False),
        ("not cheap: great value", "great", False),
        ("not cheap but great", "great", False),
        ("not cheap BUT great", "great", False),
        # "but" only as a word: "butter" is no clause break.
        ("not butter great", "great", True),
        # Whole words only: words that merely contain a negator do not negate.
        ("nothing so great", "great", False),
        ("another great day", "great", False),
        ("knot great", "great", False),
    ],
)
def test_negated_looks_three_words_back_within_the_clause(
    text: str, phrase: str, expected: bool
) -> None:
    assert negated(text, text.index(phrase)) is expected


@pytest.mark.parametrize(
    ("texts", "negatable", "expected"),
    [
        (["sounds great", "not great", "nope"], True, ["sounds great"]),
        (["sounds great", "not great", "nope"], False, ["sounds great", "not great"]),
        # One unnegated match in a sentence is enough, whatever else it holds.
        (["not great, but great"], True, ["not great, but great"]),
        (["GREAT news"], True, ["GREAT news"]),
        ([], True, []),
    ],
)
def test_hits_keeps_sentences_with_an_unnegated_match(
    texts: list[str], negatable: bool, expected: list[str]
) -> None:
    found = hits(rx(r"\bgreat\b"), [Sentence(t, i) for i, t in enumerate(texts)], negatable)
    assert [s.text for s in found] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no way", True),
        ("NO WAY", True),
        ("say yes", True),
        ("say no", False),
        ("yes please", False),
    ],
)
def test_rx_matches_any_alternative_ignoring_case(text: str, expected: bool) -> None:
    assert bool(rx(r"^no", r"yes$").search(text)) is expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["a", "b", "a", "c", "b"], ("a", "b", "c")),
        ([str(i) for i in range(MAX_ITEMS + 3)], tuple(str(i) for i in range(MAX_ITEMS))),
        # Repeats do not use up the cap.
        (["x"] * 20 + ["y"], ("x", "y")),
        ([], ()),
    ],
)
def test_unique_dedupes_in_order_and_caps(items: list[str], expected: tuple[str, ...]) -> None:
    assert unique(items) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("short", "short"),
        ("x" * MAX_DETAIL, "x" * MAX_DETAIL),
        ("y" * (MAX_DETAIL + 40), "y" * MAX_DETAIL),
    ],
)
def test_detail_cuts_long_sentences(text: str, expected: str) -> None:
    assert detail(Sentence(text, 0)) == expected
