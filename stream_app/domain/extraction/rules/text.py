"""How the rules read text: normalise it, cut it into sentences, match phrases in it.

Every phrase table is matched through these helpers so that all dimensions agree
on the same three things: what a sentence is, which spellings count as the same
word, and when a phrase is negated ("not interested" is not interest). Keeping
them in one place is what lets the tables be written in plain English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from stream_app.domain.extraction.conversation import Turn

MAX_ITEMS: Final = 8
"""At most this many entries in any list an extraction carries."""
MAX_DETAIL: Final = 160
"""A quoted sentence is cut to this many characters."""

NEGATORS: Final[frozenset[str]] = frozenset(
    {
        *("not", "no", "never", "without", "hardly", "cannot"),
        *("dont", "don't", "cant", "can't", "isnt", "isn't", "wasnt", "wasn't"),
        *("arent", "aren't", "doesnt", "doesn't", "didnt", "didn't"),
        *("wont", "won't", "wouldnt", "wouldn't"),
    }
)
"""Words that negate a phrase when they sit among the three words before it."""

# Texting shorthand and dropped apostrophes, mapped once so every table can be
# written in plain English ("cant afford", "see u tmrw", "hes 9").
SHORTHAND: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(rf"\b{short}\b", re.IGNORECASE), full)
    for short, full in (
        ("u", "you"),
        ("ur", "your"),
        ("thx", "thanks"),
        ("r", "are"),
        (r"b(?=\s+(?:there|here|back|ready|late))", "be"),
        ("yr|yrs", "year"),
        ("rn", "right now"),
        ("idk", "I don't know"),
        ("nvm", "never mind"),
        ("tho", "though"),
        ("tmrw|tmr|tmw", "tomorrow"),
        ("wk", "week"),
        ("im", "I'm"),
        ("ive", "I've"),
        ("dont", "don't"),
        ("cant", "can't"),
        ("doesnt", "doesn't"),
        ("didnt", "didn't"),
        ("isnt", "isn't"),
        ("wasnt", "wasn't"),
        ("wouldnt", "wouldn't"),
        ("thats", "that's"),
        ("whats", "what's"),
        ("hes", "he's"),
        ("shes", "she's"),
        ("theyre", "they're"),
        (r"were\s+thinking", "we're thinking"),
    )
)

# A sentence ends at ., ! or ? followed by space, or at a line break.
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+|\n+")
# A negator only reaches across words of its own clause: "no rush, but I love it"
# is not a negated "love".
_CLAUSE_BREAK: Final = re.compile(r"[,;:]|\bbut\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the conversation and the index of the turn it came from."""

    text: str
    turn: int


def rx(*alternatives: str) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of the alternatives."""
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def plain(text: str) -> str:
    """Curly apostrophes straightened and texting shorthand spelled out."""
    text = text.replace("\u2019", "'")
    for pattern, full in SHORTHAND:
        text = pattern.sub(full, text)
    return text


def sentences(turns: Sequence[Turn]) -> list[Sentence]:
    """The turns' text, normalised and split into non-empty sentences, in order."""
    out: list[Sentence] = []
    for i, turn in enumerate(turns):
        text = plain(turn.text)
        for part in _SENTENCE_BREAK.split(text):
            if part.strip():
                out.append(Sentence(part.strip(), i))
    return out


UNCERTAIN: Final[frozenset[str]] = frozenset({"sure", "know", "certain"})
"""After a negator, words that make it doubt rather than deny: "not sure we can swing it"
worries about the money, it does not say money is fine."""


def negated(text: str, start: int) -> bool:
    """A negator among the three words before a match, within the same clause.

    A negator of knowing ("not sure", "don't know if") doubts what follows rather
    than denying it, so it does not count.
    """
    clause = _CLAUSE_BREAK.split(text[:start])[-1].lower().split()
    tail = clause[-3:]
    offset = len(clause) - len(tail)
    return any(
        w in NEGATORS and not (offset + i + 1 < len(clause) and clause[offset + i + 1] in UNCERTAIN)
        for i, w in enumerate(tail)
    )


def hits(
    pattern: re.Pattern[str], sentences: Iterable[Sentence], negatable: bool = True
) -> list[Sentence]:
    """The sentences where the pattern matches at least once without being negated.

    With `negatable=False` any match counts: for phrases that carry their own
    negation ("can't afford") or that a negator does not undo.
    """
    found: list[Sentence] = []
    for s in sentences:
        if any(not (negatable and negated(s.text, m.start())) for m in pattern.finditer(s.text)):
            found.append(s)
    return found


def detail(sentence: Sentence) -> str:
    """The sentence as quoted in an extraction, cut to `MAX_DETAIL` characters."""
    return sentence.text[:MAX_DETAIL]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items without repeats, first occurrence kept, at most `MAX_ITEMS`."""
    return tuple(dict.fromkeys(items))[:MAX_ITEMS]
