"""`Phrases` answers exactly as its pattern does, only sooner.

The quick "cannot match" test and the memo are only sound if no text ever gets a
different answer, so every table of the rules is asked about every sentence of the
labelled sets and about texts built from its own words (in every case, with the
non-ASCII letters case folding pairs with ASCII ones), and compared with its plain
pattern.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from stream_app.domain.extraction.rules import dimensions, intent
from stream_app.domain.extraction.rules.text import Phrases, rx, sentences
from stream_app.domain.extraction.scoring import conversation_of, parse_records

TABLES: dict[str, Phrases] = {
    **{f"dimensions.{k}": v for k, v in vars(dimensions).items() if isinstance(v, Phrases)},
    **{f"intent.{k}": v for k, v in vars(intent).items() if isinstance(v, Phrases)},
    **{f"objection.{t.topic}": p for t, p in dimensions._OBJECTIONS},
    **{f"signal.{r.signal}": p for r, p in dimensions._SIGNALS},
}
# Kelvin sign and long s fold to ASCII k and s; dotted I and dotless i do not.
_ODD = ["\u212a", "\u017f", "\u0130", "\u0131", "😀", ":)", "$5", "4pm", "10:30", "?", ","]


def _labelled() -> list[str]:
    """Every sentence of the labelled sets, as the rules read them, and every agent turn."""
    root = Path(__file__).resolve().parents[5]
    paths = [root / "tests" / "data" / "extraction_corpus.jsonl"]
    paths += sorted((root / "stream_app" / "domain" / "extraction" / "labelled").glob("*.jsonl"))
    conversations = [conversation_of(r) for p in paths for r in parse_records(p.read_text())]
    return [s.text for c in conversations for s in sentences(c.turns)]


LABELLED = _labelled()


def _texts(table: Phrases, seed: int, count: int) -> list[str]:
    words = sorted(set(re.findall(r"[A-Za-z']{2,}", table.pattern.pattern))) + _ODD
    rng = random.Random(seed)
    texts = list(LABELLED)
    for _ in range(count):
        said = " ".join(rng.choice(words) for _ in range(rng.randint(1, 10)))
        texts.append(rng.choice((said, said.upper(), said.title(), said.replace("s", "\u017f"))))
    return texts


def _spans(found: Iterable[re.Match[str]]) -> list[tuple[tuple[int, int], tuple[str | Any, ...]]]:
    return [(m.span(), m.groups()) for m in found]


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_table_finds_what_its_pattern_finds(name: str) -> None:
    table = TABLES[name]
    matched = 0
    for text in _texts(table, seed=len(name), count=300):
        want = list(table.pattern.finditer(text))
        assert _spans(table.finditer(text)) == _spans(want), text
        assert _spans(table.finditer(text)) == _spans(want), f"asked again: {text}"
        first = table.search(text)
        assert (first and first.span()) == (want[0].span() if want else None), text
        matched += bool(want)
    assert matched, "the texts exercise matches, not only misses"


def test_every_table_has_a_quick_test() -> None:
    """The speed-up is the quick test: a table that loses it runs its pattern on every
    sentence again (a phrase with no required word, say), which this names."""
    assert [name for name, t in TABLES.items() if t._needles is None] == []


@pytest.mark.parametrize(
    "alternatives, text, found",
    [
        ((r"\bcan't\s+afford\b",), "we CAN'T  afford it", True),
        ((r"\bcan't\s+afford\b",), "we can afford it", False),
        ((r"\bok\b",), "o\u212a", True),  # the Kelvin sign is a k to the engine
        ((r"\bsure\b",), "\u017fure", True),  # and the long s an s
        ((r"[😀-🙏]",), "great 😀", True),
        ((r"[😀-🙏]",), "great :)", False),
        ((r"\$\s?\d",), "it's $ 40", True),
    ],
)
def test_the_quick_test_never_hides_a_match(
    alternatives: tuple[str, ...], text: str, found: bool
) -> None:
    table = rx(*alternatives)
    assert bool(table.search(text)) is found
    assert bool(table.pattern.search(text)) is found


def test_the_memo_stays_bounded() -> None:
    table = Phrases(r"\bgreat\b")
    for i in range(2_000):
        table.search(f"great {i}")
    assert len(table._memo) <= 256
