"""The fast keyword scan that runs before (and without) any extraction.

Two callers depend on it: the lead agent, which must honour an opt-out the moment
it arrives on any channel, and the SMS thread buffer, which flushes at once on an
urgent keyword (docs/architecture.md, "SMS thread batching"). Both need an answer in
microseconds with no network, so this is regular expressions only.

The two scans trade errors differently. A missed opt-out is a compliance failure
and a false one silences a family that wanted to hear from us, so opt-out phrases
are matched as whole words, with negation ("don't stop", "no me den de baja"),
look-alikes ("stopped by", "non-stop", "paraguas") and quotations (a family
repeating our "reply STOP to opt out") ruled out. An urgent-keyword false positive
only flushes a thread a few minutes early, so those patterns accept inflections
("booked", "booking", "enrolled", "inscribirla") and ignore negation; they still
never match inside another word ("bookkeeping", "Facebook", "tournament").

The phrases are per language (`LANGUAGES`: English and Spanish ship), and which
languages are on, plus a deployment's own opt-out phrases, is configuration
(`STREAM_APP_KEYWORD_LANGUAGES`, `STREAM_APP_OPT_OUT_EXTRA_PHRASES`): `keywords()`
compiles a `Keywords` once per configuration. Every function takes one; the
default has both shipped languages on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal

from stream_app.domain.extraction.conversation import Conversation, family_turns

UrgentFamily = Literal["opt_out", "sign_up", "scheduling", "emergency"]
UrgentTable = Literal["sign_up", "scheduling", "emergency"]

_I = re.IGNORECASE


@dataclass(frozen=True, slots=True)
class Phrases:
    """One language's keyword tables, as regular-expression sources.

    - `whole_message`: carrier commands that count only as the whole message
      (English CTIA: STOP, UNSUBSCRIBE, CANCEL, END, QUIT; Spanish: ALTO, BAJA...);
      inside a sentence "cancel" or "para" usually mean something else.
    - `negators`: words that undo a phrase among the few words before it.
    - `phrases`: opt-out phrases a negator undoes ("unsubscribe", "dar de baja").
    - `negative_commands`: opt-outs that carry their own negation ("do not
      contact", "no me llamen más"), never checked against the negators.
    - `stop_sentence`: a bare "stop" said as a sentence of its own.
    - `urgent`: per urgent family, what flushes an SMS thread at once.
    """

    whole_message: tuple[str, ...]
    negators: tuple[str, ...]
    phrases: tuple[str, ...]
    negative_commands: tuple[str, ...]
    stop_sentence: str
    urgent: Mapping[UrgentTable, tuple[str, ...]]


ENGLISH = Phrases(
    whole_message=(
        r"(?:please\s+)?(?:stop\s*all|stop|unsubscribe|cancel|end|quit|opt[\s-]?out)(?:\s+please)?",
    ),
    negators=("not", "never", r"don'?t", r"do\s+not", r"won'?t", r"wouldn'?t", r"can'?t", "no"),
    phrases=(
        r"\bunsubscrib(?:e|ed|ing)\b",
        r"\bopt(?:ed|ing)?[\s-]?out\b",
        r"\bremove\s+(?:me|us|my\s+(?:number|name|info))\b",
        r"\btake\s+(?:me|us|(?:my|our)\s+(?:number|name|info))\s+off\b",
        r"\bstop\s+(?:texting|calling|messaging|contacting|emailing|sending|bothering|harassing)\b",
    ),
    negative_commands=(
        r"\b(?:do\s+not|don'?t)\s+contact\b",
        r"\b(?:do\s+not|don'?t)\s+(?:call|text|email|message)\s+(?:me|us)\s+"
        r"(?:again|anymore|any\s+more|ever)\b",
        r"\b(?:do\s+not|don'?t|never)\s+(?:call|text|email|message|contact)\s+"
        # "don't call this number before 5" limits the hours, it does not stop contact
        r"(?:this|my|our)\s+(?:number|phone|cell|email)\b"
        r"(?!\s+(?:before|after|until|till|during|at|on|in|between|while)\b)",
        r"\blose\s+(?:my|our|this)\s+number\b",
    ),
    stop_sentence=r"(?:(?:please|pls|just|can\s+you|could\s+you|will\s+you)\s+)*"
    r"stop(?:\s+(?:please|pls|now|it))?",
    urgent=MappingProxyType(
        {
            "sign_up": (
                r"\bsign(?:s|ed|ing)?(?:\s+(?:him|her|them|us|me))?[\s-]+up\b",
                r"\benrol(?:l|ls|led|ling|s)?\b",
                r"\bregister(?:s|ed|ing)?\b",
                r"\bready\s+to\s+start\b",
            ),
            "scheduling": (
                r"\b(?:re)?schedul(?:e|es|ed|ing)\b",
                r"\bbook(?:s|ed|ing)?\b",
                r"\bappointments?\b",
                r"\bvisit(?:s|ed|ing)?\b",
                r"\btour(?:s|ed|ing)?\b",
            ),
            "emergency": (r"\burgent(?:ly)?\b", r"\basap\b", r"\ba\.s\.a\.p\b", r"\bimmediately\b"),
        }
    ),
)

_ES_VERBS = r"(?:llam|escrib|mand|envi|contact|molest|text)"

SPANISH = Phrases(
    whole_message=(
        r"(?:por\s+favor\s+)?(?:alto|parar|para|basta|baja|cancelar|detener|no\s+m[aá]s)"
        r"(?:\s+por\s+favor)?",
    ),
    negators=("no", "nunca", r"jam[aá]s"),
    phrases=(
        r"\b(?:dar|darme|darnos|denme|den|dame|deme|d[eé]nme)\s+de\s+baja\b",
        r"\bqu[ií]te(?:n)?(?:me|nos)\s+de\s+(?:la|su|esta|sus)\s+lista",
        r"\bsaqu[eé](?:n)?(?:me|nos)\s+de\s+(?:la|su|esta|sus)\s+lista",
        r"\bborr(?:en|a)\s+(?:mi|nuestro)\s+n[uú]mero\b",
        r"\bdej(?:en|e|a)\s+de\s+" + _ES_VERBS + r"\w*",
        r"\bya\s+no\s+(?:me|nos)\s+" + _ES_VERBS + r"\w*",
    ),
    negative_commands=(
        r"\bno\s+(?:me|nos)\s+" + _ES_VERBS + r"\w*\s+(?:m[aá]s|nunca)\b",
        r"\bno\s+(?:me|nos)\s+(?:vuelvan|vuelva)\s+a\s+" + _ES_VERBS,
        r"\bno\s+quiero\s+(?:que\s+me\s+" + _ES_VERBS + r"\w*|recibir\s+m[aá]s|m[aá]s\s+mensajes)",
        r"\bno\s+"
        + _ES_VERBS
        + r"\w*\s+(?:a\s+)?(?:este|mi|nuestro)\s+(?:n[uú]mero|tel[eé]fono)\b",
    ),
    stop_sentence=r"(?:ya\s+)?(?:alto|basta)(?:\s+(?:por\s+favor|ya))?",
    urgent=MappingProxyType(
        {
            "sign_up": (
                r"\binscrib(?:ir|irlo|irla|irlos|irlas|irme|irnos|o|e|imos|í)\b",
                r"\binscripci[oó]n\b",
                r"\bmatricul(?:ar|arlo|arla|a)\b",
                r"\blist[oa]s?\s+para\s+empezar\b",
            ),
            "scheduling": (
                r"\bagend(?:ar|arlo|arla|emos|a)\b",
                r"\breserv(?:ar|arlo|arla|emos|a)\b",
                r"\bcitas?\b",
                r"\bvisit(?:ar|a|arlos|amos)\b",
                r"\brecorrido\b",
            ),
            "emergency": (
                r"\burgente(?:mente)?\b",
                r"\blo\s+antes\s+posible\b",
                r"\bcuanto\s+antes\b",
                r"\binmediatamente\b",
            ),
        }
    ),
)

LANGUAGES: Final[Mapping[str, Phrases]] = MappingProxyType({"en": ENGLISH, "es": SPANISH})
"""The shipped languages, by the code `STREAM_APP_KEYWORD_LANGUAGES` names them with."""

# Our own compliance line, repeated or quoted by a family, is not their opt-out.
_BOILERPLATE: Final = re.compile(
    r"\b(?:reply|text|send|responda|responde|env[ií]a)\s+[\"'\u201c]?(?:stop|alto|baja)"
    r"[\"'\u201d]?\s+(?:to|para)\s+[\w\s-]{0,20}",
    _I,
)
_QUOTED: Final = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d|(?<!\w)'[^']*'(?!\w)")


@dataclass(frozen=True, slots=True)
class Keywords:
    """The compiled scans of a configuration (see `keywords`)."""

    languages: tuple[str, ...]
    whole_message: re.Pattern[str]
    negation: re.Pattern[str]
    phrases: re.Pattern[str]
    negative_commands: re.Pattern[str]
    stop_sentence: re.Pattern[str]
    urgent: tuple[tuple[UrgentTable, re.Pattern[str]], ...]


def _any(sources: Sequence[str]) -> str:
    return "|".join(f"(?:{s})" for s in sources) or r"(?!x)x"


@lru_cache(maxsize=32)
def keywords(
    languages: tuple[str, ...] = ("en", "es"), extra_opt_out: tuple[str, ...] = ()
) -> Keywords:
    """The scans for these languages, plus plain opt-out phrases of the deployment's own.

    Extra phrases are literal words ("leave me alone"), matched whole and undone by
    a negator like the shipped ones. An unknown language is an error: a typo in the
    setting must not silently switch a compliance rule off.
    """
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown or not languages:
        raise ValueError(f"unknown keyword languages {unknown}; known: {sorted(LANGUAGES)}")
    tables = [LANGUAGES[code] for code in languages]
    extra = tuple(
        r"\b" + r"\s+".join(map(re.escape, p.split())) + r"\b" for p in extra_opt_out if p.split()
    )
    families: tuple[UrgentTable, ...] = ("sign_up", "scheduling", "emergency")
    return Keywords(
        languages=languages,
        whole_message=re.compile(
            rf"^(?:{_any([s for t in tables for s in t.whole_message])})$", _I
        ),
        negation=re.compile(
            rf"\b(?:{_any([s for t in tables for s in t.negators])})\s+(?:\w+\s+){{0,2}}$", _I
        ),
        phrases=re.compile(_any([*(s for t in tables for s in t.phrases), *extra]), _I),
        negative_commands=re.compile(_any([s for t in tables for s in t.negative_commands]), _I),
        stop_sentence=re.compile(
            rf"(?:^|[.!?¡¿]\s*)(?:{_any([t.stop_sentence for t in tables])})\s*(?:[.!?,]|$)", _I
        ),
        urgent=tuple(
            (family, re.compile(_any([s for t in tables for s in t.urgent[family]]), _I))
            for family in families
        ),
    )


DEFAULT_KEYWORDS: Final = keywords()
"""English and Spanish, no extra phrases: what runs unless configured otherwise."""


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s'-]", " ", text).split())


def _unquoted(text: str) -> str:
    """The text with quoted passages and our own compliance line blanked out."""
    text = _BOILERPLATE.sub(lambda m: " " * len(m.group(0)), text)
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def is_opt_out(text: str, kw: Keywords = DEFAULT_KEYWORDS) -> bool:
    """Whether these words ask us to stop contacting the family."""
    text = text.replace("\u2019", "'")
    if kw.whole_message.match(_normalise(text)):
        return True
    text = _unquoted(text)
    if kw.negative_commands.search(text) or kw.stop_sentence.search(text.strip()):
        return True
    return any(not kw.negation.search(text[: m.start()]) for m in kw.phrases.finditer(text))


def opt_out_in(conversation: Conversation, kw: Keywords = DEFAULT_KEYWORDS) -> bool:
    """Opt-out scanned turn by turn on the family's side only.

    An agent reading the compliance line ("reply STOP to opt out") must not opt the
    family out, and each turn is checked alone so a family's bare "STOP" is still a
    whole message.
    """
    return any(is_opt_out(turn.text, kw) for turn in family_turns(conversation))


def urgent_keyword_family(text: str, kw: Keywords = DEFAULT_KEYWORDS) -> UrgentFamily | None:
    """The urgent-keyword family a text belongs to, opt-out first: it acts immediately."""
    if is_opt_out(text, kw):
        return "opt_out"
    for family, pattern in kw.urgent:
        if pattern.search(text):
            return family
    return None
