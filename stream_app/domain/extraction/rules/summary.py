"""The prose parts of a rules extraction: summary, facts and open questions.

They restate what the other modules found in words an operator reads at a
glance, so they match no phrases of their own. The one extra piece of context is
the agent's side: a family question counts as open only if no agent turn follows
it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from stream_app.domain.extraction.conversation import Conversation, Turn
from stream_app.domain.extraction.model import Intent, Level, Sentiment
from stream_app.domain.extraction.rules.dimensions import Read
from stream_app.domain.extraction.rules.text import Sentence, detail, unique

_INTENT_PHRASE: Final[dict[Intent, str]] = {
    Intent.INTERESTED: "expressed interest",
    Intent.CONSIDERING: "is still deciding",
    Intent.OBJECTING: "raised concerns that stand in the way",
    Intent.SCHEDULING: "wants to book or confirm a time",
    Intent.REQUESTING_INFO: "asked for more information",
    Intent.DECLINING: "declined",
    Intent.NO_RESPONSE: "did not respond",
    Intent.UNCLEAR: "gave no clear direction",
}

_CHANNEL: Final[dict[str, str]] = {"voice": "Call", "sms": "SMS thread", "email": "Email"}


def summarise(
    conversation: Conversation, intent: Intent, sentiment: Sentiment, read: Read | None
) -> str:
    """Two or three sentences; `read` is None when the family said nothing."""
    channel = _CHANNEL[conversation.channel]
    first = f"{channel} with {len(conversation.turns)} turns: the family {_INTENT_PHRASE[intent]}"
    if read is None:
        return f"{first}. Only the academy's side is on record."
    details: list[str] = []
    if read.financial is not Level.NONE:
        details.append(f"{read.financial.value} financial concern")
    if read.objections:
        details.append(
            "objections about " + ", ".join(o.topic.replace("_", " ") for o in read.objections)
        )
    if read.signals:
        details.append("signals: " + ", ".join(s.signal.replace("_", " ") for s in read.signals))
    if read.family.siblings or read.family.decision_makers:
        details.append("family context to involve")
    if read.scheduling.constraints or read.scheduling.preferred_times:
        details.append("timing preferences given")
    second = (
        ("Noted " + "; ".join(details) + ".")
        if details
        else "No specific concerns or constraints were raised."
    )
    third = " The family asked not to be contacted again." if read.opt_out else ""
    return f"{first} (tone {sentiment.value}). {second}{third}"


def facts(read: Read) -> tuple[str, ...]:
    """One line per sibling, decision maker, time and life event found."""
    lines = [f"Sibling: {s}" for s in read.family.siblings]
    lines += [f"Decision maker: {d}" for d in read.family.decision_makers]
    lines += [f"Preferred time: {p}" for p in read.scheduling.preferred_times]
    lines += [f"Time constraint: {c}" for c in read.scheduling.constraints]
    lines += [f"{s.signal.replace('_', ' ').capitalize()}: {s.detail}" for s in read.signals]
    return unique(lines)


def open_questions(turns: Sequence[Turn], sentences: Sequence[Sentence]) -> tuple[str, ...]:
    """Family questions with no agent turn after them: nobody has answered them yet."""
    last_agent = max((i for i, t in enumerate(turns) if t.role == "agent"), default=-1)
    return unique(detail(s) for s in sentences if s.text.endswith("?") and s.turn > last_agent)
