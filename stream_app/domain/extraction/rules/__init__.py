"""The offline extractor: phrase tables over the family's words, no model, no network.

It exists so the system runs and is testable without an LLM, and so a failed LLM
call still has a sensible fallback. It reads only the family's turns for signals;
the agent's turns are used for two pieces of context a reader would also use:
whether a family question was answered, and whether the family is answering the
agent's "what day works?".

The package keeps the wording apart from the reading of it:

- `phrases_concerns`, `phrases_context`, `phrases_intent`: the phrase tables, as
  plain data;
- `text`: normalisation, sentence splitting, negation scope and matching, shared
  by every table;
- `dimensions`: money, objections, life events, timing, family and tone;
- `intent`: the conversation's intent, and the order it is decided in;
- `summary`: the summary, facts and open questions built from the rest;
- `tiebreak`: a naive Bayes guess, shipped as counts, for when no phrase decides.

Each module joins the tables it matches into compiled patterns once, at import.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.keywords import (
    DEFAULT_KEYWORDS,
    Keywords,
    is_opt_out,
    opt_out_in,
)
from stream_app.domain.extraction.model import (
    ITEM_CHARS,
    QUOTES,
    Evidence,
    Extraction,
    FinancialSignals,
    Intent,
    Level,
    Sentiment,
)
from stream_app.domain.extraction.rules import dimensions, intent, summary, text, tiebreak

PROVIDER: Final = "rules"


class RulesExtractor:
    """Deterministic, offline `Extractor`; also the fallback when an LLM fails.

    `keywords` is the opt-out scan the lead uses too (languages are configuration).
    """

    name = PROVIDER

    def __init__(self, keywords: Keywords = DEFAULT_KEYWORDS) -> None:
        self._keywords = keywords

    async def extract(self, conversation: Conversation) -> Extraction:
        return self.extract_sync(conversation)

    def extract_sync(self, conversation: Conversation) -> Extraction:
        try:
            return _extract(conversation, self._keywords)
        except Exception as exc:  # the Extractor contract: a result, never a raise
            return Extraction.failed(PROVIDER, f"rules extractor error: {type(exc).__name__}")


def _extract(conversation: Conversation, keywords: Keywords) -> Extraction:
    turns = conversation.turns
    family_idx = [i for i, t in enumerate(turns) if t.role == "family"]
    opt_out = opt_out_in(conversation, keywords)
    if not family_idx:
        return Extraction(
            provider=PROVIDER,
            intent=Intent.NO_RESPONSE,
            summary=summary.summarise(conversation, Intent.NO_RESPONSE, Sentiment.NEUTRAL, None),
        )
    # Sentences are split from the family's turns alone, then renumbered with the
    # turn's index in the whole conversation, so they can be set against the agent's.
    family_sentences = tuple(
        replace(s, turn=family_idx[s.turn]) for s in text.sentences([turns[i] for i in family_idx])
    )
    # The quote names the first turn the scan flagged: there is one only if it flagged any.
    stop_quotes = _opt_out_quotes(conversation, keywords) if opt_out else ()
    found = dimensions.read_sentences(family_sentences, family_idx[-1], opt_out, stop_quotes)
    decided, because = intent.decide(conversation, found)
    if (
        decided is Intent.UNCLEAR
        and not because
        and (guess := tiebreak.SHIPPED.guess(family_sentences))
        and guess.intent is not Intent.DECLINING
    ):
        # No phrase took a stance: the dev-trained model names the likeliest one instead,
        # short of a refusal. A decline closes the lead for good, so it takes the
        # family's words for it: the model read "ok thanks" twice as one.
        decided, because = guess.intent, (text.whole(guess.because),)
    tone, tone_because = dimensions.sentiment(found, decided, because)
    objections = found.objections
    if decided is Intent.DECLINING:
        objections = tuple(o.model_copy(update={"severity": Level.HIGH}) for o in objections)
    return Extraction(
        provider=PROVIDER,
        summary=summary.summarise(conversation, decided, tone, found),
        facts=summary.facts(found),
        intent=decided,
        intent_evidence=because[:QUOTES],
        sentiment=tone,
        sentiment_evidence=tone_because,
        open_questions=summary.open_questions(turns, family_sentences),
        financial=FinancialSignals(
            concern_level=found.financial,
            mentions=found.financial_mentions,
            evidence=found.financial_evidence,
        ),
        scheduling=found.scheduling,
        family=found.family,
        objections=objections,
        additional_signals=found.signals,
        opt_out=opt_out,
    )


def _opt_out_quotes(conversation: Conversation, keywords: Keywords) -> tuple[Evidence, ...]:
    """The family turn that asked us to stop, whole: the scan reads turns, not phrases."""
    return tuple(
        Evidence(quote=t.text[:ITEM_CHARS], turn=i, start=0, end=len(t.text[:ITEM_CHARS]))
        for i, t in enumerate(conversation.turns)
        if t.role == "family" and is_opt_out(t.text, keywords)
    )[:1]


__all__ = ["PROVIDER", "RulesExtractor"]
