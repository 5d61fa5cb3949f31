"""How the rules read text: normalise it, cut it into sentences, match phrases in it.

Every phrase table is matched through these helpers so that all dimensions agree
on the same three things: what a sentence is, which spellings count as the same
word, and when a phrase is negated ("not interested" is not interest). Keeping
them in one place is what lets the tables be written in plain English.
"""

from __future__ import annotations

import functools
import re
import re._parser as _sre
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

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
# character of the plain text back to the characters it came from. Each one is
# built above to start at a word boundary; said once in front of them all, a
# position inside a word fails there instead of in each of forty alternatives
# (the boundary is zero-width: every match and group spans the same).
_BOUNDARY: Final = r"\b"
_SHORTHAND: Final = re.compile(
    _BOUNDARY
    + "(?:"
    + "|".join(f"(?P<s{i}>{short[len(_BOUNDARY) :]})" for i, (short, _) in enumerate(SHORTHAND))
    + ")",
    re.IGNORECASE,
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


class Phrases:
    """A phrase table as one case-insensitive pattern, made cheap to ask again and again.

    Python's regex engine tries every alternative of a table at every position of the
    text, so a table of fifty phrases costs tens of microseconds a sentence even where
    none of them is near. Two things make the answer cheaper without changing it:

    - a quick test that the pattern cannot match: per phrase, the strings every match
      of it contains ("afford" for "can't afford"); an ASCII sentence holding none
      of them is skipped without running the pattern. Non-ASCII text always runs it:
      case-insensitive matching pairs some non-ASCII letters with ASCII ones ("ſ"
      with "s", the Kelvin sign with "k") that `str.lower` does not;
    - the matches of the last texts asked about, kept: one extraction asks the same
      table about the same sentence from several readings (a refusal is looked for
      by the objections and by the intent, a time by scheduling and by the intent).

    Matches are the pattern's own either way: `search` is the first of `finditer`'s.
    """

    __slots__ = ("_memo", "_needles", "pattern")

    def __init__(self, *alternatives: str) -> None:
        self.pattern: Final = re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)
        self._needles: Final = _needles(self.pattern.pattern)
        self._memo: Final[dict[str, tuple[re.Match[str], ...]]] = {}

    def all(self, text: str) -> tuple[re.Match[str], ...]:
        """Every match in `text`, as `pattern.finditer` gives them."""
        found = self._memo.get(text)
        if found is None:
            if (
                self._needles is not None
                and text.isascii()
                and not self._needles.search(text.lower())
            ):
                found = ()
            else:
                found = tuple(self.pattern.finditer(text))
            if len(self._memo) >= _MEMO:
                self._memo.clear()
            self._memo[text] = found
        return found

    def search(self, text: str) -> re.Match[str] | None:
        found = self.all(text)
        return found[0] if found else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        return iter(self.all(text))


_MEMO: Final = 256
"""Texts whose matches a table keeps: more than one conversation's sentences, bounded."""

_Needs = frozenset[str]


def _needles(source: str) -> re.Pattern[str] | None:
    """A plain pattern over lowercased ASCII text that finds a string every match needs,
    or None when some alternative needs no string at all."""
    needs = _required(_sre.parse(source, re.IGNORECASE).data)
    if needs is None:
        return None
    if not needs:
        return _NOTHING
    return re.compile("|".join(re.escape(n) for n in sorted(needs)))


_NOTHING: Final = re.compile(r"(?!)")
"""Found in no text: the needles of a pattern no ASCII text can match."""


def _better(a: _Needs | None, b: _Needs | None) -> _Needs | None:
    """The stronger of two requirements: one ASCII text cannot meet (empty), then the
    longer shortest string, then fewer strings."""
    if a is None or b is None:
        return a if b is None else b
    if not a or not b:
        return a if not a else b
    return a if (min(map(len, a)), -len(a)) >= (min(map(len, b)), -len(b)) else b


_CLASS_ITEMS: Final[dict[Any, str]] = {
    _sre.CATEGORY_DIGIT: r"\d",
    _sre.CATEGORY_NOT_DIGIT: r"\D",
    _sre.CATEGORY_SPACE: r"\s",
    _sre.CATEGORY_NOT_SPACE: r"\S",
    _sre.CATEGORY_WORD: r"\w",
    _sre.CATEGORY_NOT_WORD: r"\W",
}
_ASCII: Final = tuple(chr(c) for c in range(128))
_FEW: Final = 12
"""A class standing for more ASCII characters than this filters too little to be worth it."""


def _one_of(items: list[tuple[Any, Any]]) -> _Needs | None:
    """The lowercased ASCII characters a character class matches, found by asking the
    regex engine itself about each one, so its case folding is the pattern's own."""
    source: list[str] = []
    for op, av in items:
        if op is _sre.NEGATE:
            source.append("^")
        elif op is _sre.LITERAL:
            source.append(re.escape(chr(av)))
        elif op is _sre.RANGE:
            source.append(f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}")
        elif op is _sre.CATEGORY and av in _CLASS_ITEMS:
            source.append(_CLASS_ITEMS[av])
        else:
            return None
    members = re.compile(f"[{''.join(source)}]", re.IGNORECASE)
    chars = frozenset(c.lower() for c in _ASCII if members.fullmatch(c))
    return chars if len(chars) <= _FEW else None


def _required(items: list[tuple[Any, Any]]) -> _Needs | None:
    """Strings at least one of which every match of the parsed sequence contains.

    Runs of literal characters are required as they stand; a group, a repeat taken
    at least once and a choice whose every branch requires something carry their
    requirement up, and a class that matches few ASCII characters requires one of
    them (one that matches none, an emoji's, cannot be met by ASCII text: empty).
    Anything else (optional parts, assertions, inline flags, non-ASCII characters)
    requires nothing and ends the run, so the answer errs only towards `None`.
    """
    best: _Needs | None = None
    run: list[str] = []
    for op, av in items:
        if op is _sre.LITERAL and chr(av).isascii():
            run.append(chr(av).lower())
            continue
        if run:
            best = _better(best, frozenset({"".join(run)}))
            run = []
        if op is _sre.SUBPATTERN and not av[1] and not av[2]:
            best = _better(best, _required(av[3].data))
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            best = _better(best, _required(av[2].data))
        elif op is _sre.BRANCH:
            branches = [_required(b.data) for b in av[1]]
            if all(b is not None for b in branches):
                # A branch no ASCII text can meet adds nothing to the others' strings.
                best = _better(best, frozenset().union(*(b for b in branches if b is not None)))
        elif op is _sre.IN:
            best = _better(best, _one_of(av))
    if run:
        best = _better(best, frozenset({"".join(run)}))
    return best


@functools.cache
def rx(*alternatives: str) -> Phrases:
    """One case-insensitive pattern matching any of the alternatives.

    The same table joined in two modules (refusals are read by the objections and by
    the intent) is one `Phrases`, so both readings share its memo.
    """
    return Phrases(*alternatives)


def plain(text: str) -> str:
    """Curly apostrophes straightened and texting shorthand spelled out."""
    return _plain_mapped(text)[0]


def _plain_mapped(text: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """`plain(text)` and, per character of it, the span of `text` it came from.

    Most sentences hold no shorthand: they map onto themselves, said by an empty map
    (see `Sentence.span`), so the common case builds nothing.
    """
    text = text.replace("\u2019", "'")
    found = list(_SHORTHAND.finditer(text))
    if not found:
        return text, ()
    out: list[str] = []
    origin: list[tuple[int, int]] = []
    last = 0
    for m in found:
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
    pattern: Phrases, sentences: Iterable[Sentence], negatable: bool = True
) -> list[tuple[Sentence, re.Match[str]]]:
    """Every match of the pattern not negated, with its sentence (see `hits`)."""
    return [
        (s, m)
        for s in sentences
        for m in pattern.all(s.text)
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


def hits(pattern: Phrases, sentences: Iterable[Sentence], negatable: bool = True) -> list[Sentence]:
    """The sentences where the pattern matches at least once without being negated.

    With `negatable=False` any match counts: for phrases that carry their own
    negation ("can't afford") or that a negator does not undo.
    """
    found: list[Sentence] = []
    for s in sentences:
        if any(not (negatable and negated(s.text, m.start())) for m in pattern.all(s.text)):
            found.append(s)
    return found


def detail(sentence: Sentence) -> str:
    """The sentence as quoted in an extraction, cut to `MAX_DETAIL` characters."""
    return sentence.text[:MAX_DETAIL]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """The items without repeats, first occurrence kept, at most `MAX_ITEMS`."""
    return tuple(dict.fromkeys(items))[:MAX_ITEMS]
