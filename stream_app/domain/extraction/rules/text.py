"""How the rules read text: normalise it, cut it into sentences, match phrases in it.

Every phrase table is matched through these helpers so that all dimensions agree
on the same three things: what a sentence is, which spellings count as the same
word, and when a phrase is negated ("not interested" is not interest). Keeping
them in one place is what lets the tables be written in plain English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from stream_app.domain.extraction.conversation import Turn
from stream_app.domain.extraction.model import ITEM_CHARS, Evidence

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
SHORTHAND: Final[tuple[tuple[str, str], ...]] = tuple(
    (rf"\b(?:{short})\b", full)
    for short, full in (
        ("u", "you"),
        ("ur", "your"),
        ("thx", "thanks"),
        ("txt", "text"),
        ("tbh", "to be honest"),
        ("prob", "probably"),
        *((f"{verb}in", f"{verb}ing") for verb in ("think", "go", "do", "look", "talk", "check")),
        (r"w(?=\s+(?:my|his|her|the|you|u|us|them)\b)", "with"),
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

# Every shorthand in one pattern, so one pass spells them out and can map each
# character of the plain text back to the characters it came from.
_SHORTHAND: Final = re.compile(
    "|".join(f"(?P<s{i}>{short})" for i, (short, _) in enumerate(SHORTHAND)), re.IGNORECASE
)

# A sentence ends at ., ! or ? followed by space, or at a line break.
_SENTENCE_BREAK: Final = re.compile(r"(?<=[.!?])\s+|\n+")
# A negator only reaches across words of its own clause: "no rush, but I love it"
# is not a negated "love".
_CLAUSE_BREAK: Final = re.compile(r"[,;:]|\bbut\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of the conversation and the index of the turn it came from.

    `text` is the plain (normalised) sentence every table matches; `raw` is the
    sentence as the family wrote it, at `offset` in the turn's text, and `origin`
    maps each character of `text` to the span of `raw` it came from, so a match
    can be quoted verbatim with its place in the turn (see `quote`).
    """

    text: str
    turn: int
    raw: str = field(default="", compare=False)
    offset: int = field(default=0, compare=False)
    origin: tuple[tuple[int, int], ...] = field(default=(), compare=False)

    def span(self, start: int = 0, end: int | None = None) -> tuple[int, int]:
        """The turn-text offsets of `text[start:end]`."""
        end = len(self.text) if end is None else end
        if not self.origin or end <= start:
            return self.offset + start, self.offset + max(start, end)
        return self.offset + self.origin[start][0], self.offset + self.origin[end - 1][1]


def quote(sentence: Sentence, start: int = 0, end: int | None = None) -> Evidence:
    """The family's own words behind `sentence.text[start:end]`, with turn and span."""
    a, b = sentence.span(start, end)
    raw = sentence.raw or sentence.text
    words = raw[a - sentence.offset : b - sentence.offset][:ITEM_CHARS]
    # Built from the turn itself, so valid by construction: no validation on this path.
    return Evidence.model_construct(quote=words, turn=sentence.turn, start=a, end=a + len(words))


def whole(sentence: Sentence) -> Evidence:
    """The whole sentence as evidence, for a reading made of the sentence as a whole."""
    return quote(sentence)


def rx(*alternatives: str) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of the alternatives."""
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


def plain(text: str) -> str:
    """Curly apostrophes straightened and texting shorthand spelled out."""
    return _plain_mapped(text)[0]


def _plain_mapped(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """`plain(text)` and, per character of it, the span of `text` it came from.

    Most sentences hold no shorthand: they map onto themselves, said by an empty map
    (see `Sentence.span`), so the common case builds nothing.
    """
    text = text.replace("\u2019", "'")
    if not _SHORTHAND.search(text):
        return text, ()
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    last = 0
    for m in _SHORTHAND.finditer(text):
        out.append(text[last : m.start()])
        origin.extend((i, i + 1) for i in range(last, m.start()))
        full = SHORTHAND[int((m.lastgroup or "s0")[1:])][1]
        out.append(full)
        origin.extend((m.start(), m.end()) for _ in full)
        last = m.end()
    out.append(text[last:])
    origin.extend((i, i + 1) for i in range(last, len(text)))
    return "".join(out), tuple(origin)


def sentences(turns: Sequence[Turn]) -> list[Sentence]:
    """The turns' text split into non-empty sentences, in order, each normalised.

    Sentences are cut from the text as written (normalising never adds or removes
    a sentence break), so each keeps its offset in the turn for quoting.
    """
    out: list[Sentence] = []
    for i, turn in enumerate(turns):
        start = 0
        for brk in (*_SENTENCE_BREAK.finditer(turn.text), None):
            end = brk.start() if brk is not None else len(turn.text)
            part = turn.text[start:end]
            lead = len(part) - len(part.lstrip())
            raw = part.strip()
            if raw:
                text, origin = _plain_mapped(raw)
                out.append(Sentence(text, i, raw=raw, offset=start + lead, origin=origin))
            start = brk.end() if brk is not None else end
    return out


def matches(
    pattern: re.Pattern[str], sentences: Iterable[Sentence], negatable: bool = True
) -> list[tuple[Sentence, re.Match[str]]]:
    """Every match of the pattern not negated, with its sentence (see `hits`)."""
    return [
        (s, m)
        for s in sentences
        for m in pattern.finditer(s.text)
        if not (negatable and negated(s.text, m.start()))
    ]


def quotes(found: Iterable[tuple[Sentence, re.Match[str]]]) -> tuple[Evidence, ...]:
    """The matches as evidence, one per distinct span, in order."""
    out: dict[tuple[int | None, int | None, int | None], Evidence] = {}
    for s, m in found:
        e = quote(s, m.start(), m.end())
        if e.quote:  # a zero-width match quotes nothing
            out.setdefault((e.turn, e.start, e.end), e)
    return tuple(out.values())


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
