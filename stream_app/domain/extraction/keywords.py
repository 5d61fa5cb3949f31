"""The fast keyword scan that runs before (and without) any extraction.

Two callers depend on it: the lead agent, which must honour an opt-out the moment
it arrives on any channel, and the SMS thread buffer, which flushes at once on an
urgent keyword (docs/architecture.md, "SMS thread batching"). Both need an answer in
microseconds with no network, so this is regular expressions only.

The two scans trade errors differently. A missed opt-out is a compliance failure
and a false one silences a family that wanted to hear from us, so opt-out phrases
are matched as whole words, with negation ("don't stop") and look-alikes
("stopped by", "non-stop") ruled out. An urgent-keyword false positive only flushes
a thread a few minutes early, so those patterns accept inflections ("booked",
"booking", "enrolled") and ignore negation; they still never match inside another
word ("bookkeeping", "Facebook", "tournament").
"""

from __future__ import annotations

import re
from typing import Literal

from stream_app.domain.extraction.conversation import Conversation, family_turns

UrgentFamily = Literal["opt_out", "sign_up", "scheduling", "emergency"]

_I = re.IGNORECASE

# Carrier opt-out words (CTIA: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT) count
# only as the whole message, where they cannot be anything but a command: "cancel"
# or "end" inside a sentence usually means something else.
_WHOLE_MESSAGE = re.compile(
    r"^(?:please\s+)?(?:stop\s*all|stop|unsubscribe|cancel|end|quit|opt[\s-]?out)(?:\s+please)?$",
    _I,
)

_NEGATION = re.compile(
    r"\b(?:not|never|don'?t|do\s+not|won'?t|wouldn'?t|can'?t|no)\s+(?:\w+\s+){0,2}$", _I
)

_OPT_OUT_PHRASES = re.compile(
    r"\bunsubscrib(?:e|ed|ing)\b"
    r"|\bopt(?:ed|ing)?[\s-]?out\b"
    r"|\bremove\s+(?:me|us|my\s+(?:number|name|info))\b"
    r"|\btake\s+(?:me|us|(?:my|our)\s+(?:number|name|info))\s+off\b"
    r"|\bstop\s+(?:texting|calling|messaging|contacting|emailing|sending|bothering|harassing)\b",
    _I,
)

# These already carry their own negation, so they are never checked against it.
_OPT_OUT_NEGATIVE_COMMANDS = re.compile(
    r"\b(?:do\s+not|don'?t)\s+contact\b"
    r"|\b(?:do\s+not|don'?t)\s+(?:call|text|email|message)\s+(?:me|us)\s+(?:again|anymore|any\s+more|ever)\b",
    _I,
)

# "Stop." or "Please just stop!" as a sentence of its own, not "stop by" or "don't stop".
_STOP_SENTENCE = re.compile(
    r"(?:^|[.!?]\s*)(?:(?:please|pls|just|can\s+you|could\s+you|will\s+you)\s+)*"
    r"stop(?:\s+(?:please|pls|now|it))?\s*(?:[.!?,]|$)",
    _I,
)

_URGENT: tuple[tuple[UrgentFamily, re.Pattern[str]], ...] = (
    (
        "sign_up",
        re.compile(
            r"\bsign(?:s|ed|ing)?(?:\s+(?:him|her|them|us|me))?[\s-]+up\b"
            r"|\benrol(?:l|ls|led|ling|s)?\b"
            r"|\bregister(?:s|ed|ing)?\b"
            r"|\bready\s+to\s+start\b",
            _I,
        ),
    ),
    (
        "scheduling",
        re.compile(
            r"\b(?:re)?schedul(?:e|es|ed|ing)\b"
            r"|\bbook(?:s|ed|ing)?\b"
            r"|\bappointments?\b"
            r"|\bvisit(?:s|ed|ing)?\b"
            r"|\btour(?:s|ed|ing)?\b",
            _I,
        ),
    ),
    ("emergency", re.compile(r"\burgent(?:ly)?\b|\basap\b|\ba\.s\.a\.p\b|\bimmediately\b", _I)),
)


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", text).split())


def is_opt_out(text: str) -> bool:
    """Whether these words ask us to stop contacting the family."""
    text = text.replace("\u2019", "'")
    if _WHOLE_MESSAGE.match(_normalise(text)):
        return True
    if _OPT_OUT_NEGATIVE_COMMANDS.search(text) or _STOP_SENTENCE.search(text.strip()):
        return True
    return any(not _NEGATION.search(text[: m.start()]) for m in _OPT_OUT_PHRASES.finditer(text))


def opt_out_in(conversation: Conversation) -> bool:
    """Opt-out scanned turn by turn on the family's side only.

    An agent reading the compliance line ("reply STOP to opt out") must not opt the
    family out, and each turn is checked alone so a family's bare "STOP" is still a
    whole message.
    """
    return any(is_opt_out(turn.text) for turn in family_turns(conversation))


def urgent_keyword_family(text: str) -> UrgentFamily | None:
    """The urgent-keyword family a text belongs to, opt-out first: it acts immediately."""
    if is_opt_out(text):
        return "opt_out"
    for family, pattern in _URGENT:
        if pattern.search(text):
            return family
    return None
