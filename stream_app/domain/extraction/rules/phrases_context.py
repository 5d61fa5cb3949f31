"""Phrase tables for the family's circumstances and tone: timing, family, sentiment.

Plain data, read the same way as `phrases_concerns`: regular-expression sources
over normalised text, joined into one case-insensitive pattern per table where
they are matched. None of these stand in the way of a booking; they tell the
academy when to offer a slot, whom to involve and how the family feels.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------------------
# Time expressions. Months only with a forward-looking cue, so "laid off in
# March" is not a scheduling constraint; relative days (RELATIVE) only next to
# something BOOKABLE, so "get back to you next week" is not either. A timed
# sentence with a CONSTRAINT_CUE is a constraint, otherwise a preferred time.

TIME: Final[tuple[str, ...]] = (
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
    r"\b(?:tues|thurs|weds)\b",
    r"\bweek(?:day|end|night)s?\b",
    r"\b(?:after|before)\s+school\b",
    r"\b(?:mornings?|afternoons?|evenings?|nights?)\b",
    r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b",
    r"\b(?:at|after|before|around|till|until|by)\s+\d{1,2}(?::\d{2})?\b",
    r"\bnoon\b",
    r"\bthe\s+\d{1,2}(?:st|nd|rd|th)\b",
    r"\b(?:after|before|until|till|starting(?:\s+in)?|start(?:ing)?\s+in|by|from|mid-?|early|late|end\s+of|beginning\s+of)\s*"
    r"(?:january|february|march|april|june|july|august|september|october|november|december)\b",
)
RELATIVE: Final[tuple[str, ...]] = (
    r"\b(?:this|next)\s+week\b",
    r"\btomorrow\b",
    r"\btoday\b",
    r"\btonight\b",
)
BOOKABLE: Final[tuple[str, ...]] = (
    r"\b(?:book\w*|tour|trial|class(?:es)?|openings?|start|come\s+in|visit|schedule|lessons?|sessions?|spot)\b",
)
CONSTRAINT_CUE: Final[tuple[str, ...]] = (
    r"\b(?:can't|cant|cannot|not|busy|tough|out|conflict\w*|only|until|till|too\s+(?:late|early))\b",
    r"\b(?:he|she|they|we|i|kids)\s+(?:already\s+)?(?:has|have|do|does)\s+(?:\w+\s+)?(?:on|every)\b",
    r"\bwork(?:s)?\s+(?:till|until|saturdays|sundays|weekends)\b",
    r"\b(?:have|has)\s+to\s+be\b",
)

# ---------------------------------------------------------------------------
# Family context: siblings, who else decides, and household notes.

RELATIVE_WHO: Final = r"(?:husband|wife|partner|spouse|ex|mom|dad|mother|father|parents)"
"""The relatives a parent defers to, as one regex group."""
RELATIVE_WHO_ES: Final = r"(?:esposo|esposa|marido|pareja|pap[aá]|mam[aá]|padre|madre)"
"""The same relatives in Spanish ("hablarlo con su papá")."""
WHO: Final = (
    r"\b(husband|wife|partner|spouse|ex|mom|dad|mother|father|parents"
    r"|esposo|esposa|marido|pareja|pap[aá]|mam[aá]|padre|madre)\b"
)
"""The same relatives, captured, to name the decision maker a phrase points at."""

SIBLING: Final[tuple[str, ...]] = (
    r"\b(?:brother|sister|sibling)s?\b",
    r"\btwins\b",
    r"\b(?:two|three|four|2|3|4)\s+(?:kids|boys|girls|children)\b",
    r"\b(?:my|our)\s+(?:kids|children)\b",
    r"\bthe(?<!\sat\sthe)(?<!\sto\sthe)\s+(?:kids|children)\b(?!\s+(?:in|at|there|who))",
    r"\bboth\s+(?:my|our)\s+(?:kids|girls|boys|children)\b",
    r"\b(?:have|my|our)\s+(?:\w+\s+)?(?:other|younger|older)\s+(?:kids|children)\b",
    r"\b(?:sus|mis|los)\s+herman(?:os|as|itos|itas)\b",
    r"\bherman(?:os|as)\b",
    r"\bboth\s+of\s+them\b",
    r"\bthe\s+(?:girls|boys)\b(?!\s*(?:&|and)\s)",
)
DECISION_MAKER: Final[tuple[str, ...]] = (
    r"\bmy\s+(?:husband|wife|partner|spouse)\s+(?:who\s+)?(?:handles|decides|makes\s+the\s+decisions)\b",
    r"\bit's\s+my\s+(?:husband|wife|partner|spouse)\s+who\b",
    r"\b(?:let\s+me|i'll|i\s+will|i\s+need\s+to|i\s+have\s+to)\s+(?:see|check|ask|talk|figure\s+out)\b"
    rf"[\w\s']{{0,30}}\bmy\s+{RELATIVE_WHO}\b",
    rf"\b(?:let\s+me|lemme|i'll|i\s+will|i\s+(?:just\s+|really\s+)?(?:need|have)\s+to|i\s+gotta|"
    rf"we\s+(?:just\s+)?need\s+to)\s+[\w\s']{{0,30}}\b(?:with|by)\s+(?:my|his|her)\s+{RELATIVE_WHO}\b",
    rf"\b(?:hablar|consultar)(?:lo)?\s+con\s+(?:mi|su)\s+{RELATIVE_WHO_ES}\b",
    r"\b(?:talk|speak|check|discuss|run\s+it\s+by|ask)(?:s|ed|ing)?\s+(?:it\s+over\s+)?(?:with\s+|to\s+)?(?:my|his|her)\s+"
    r"(?:husband|wife|partner|spouse|ex|mom|dad|mother|father|parents)\b",
    r"\b(?:his|her|their|my)\s+(?:dad|mom|father|mother|husband|wife|partner|ex)\s+"
    r"(?:would\s+have\s+to|has\s+to|needs\s+to|wants\s+to\s+(?:see|meet|check)|makes\s+the\s+decisions|decides|will\s+decide|"
    r"would\s+need\s+to|has\s+to\s+agree)\b",
)
FAMILY_NOTE: Final[tuple[str, ...]] = (
    r"\bsingle\s+(?:mom|dad|parent|mother|father)\b",
    r"\b(?:share|shared|joint)\s+custody\b",
    r"\bcustody\b",
    r"\bmy\s+ex\b",
    r"\b(?:i'm|i\s+am)\s+(?:his|her|their)\s+(?:grandmother|grandfather|grandma|grandpa|aunt|uncle|guardian)\b",
    r"\b(?:grandma|grandpa|grandmother|grandfather|grandparents)\s+(?:picks?|drops?|watch\w*|take\w*\s+care)\b",
    r"\b(?:separated|divorced|divorcing)\b",
    r"\bi\s+pick\s+(?:him|her|them)\s+up\b",
    r"\bmy\s+(?:\w+\s+)?grand(?:son|daughter|child(?:ren)?|kids?)\b",
    r"\b(?:father|mother|brother|sister)-in-law\b",
)

# ---------------------------------------------------------------------------
# Sentiment. A POSITIVE word under a negator counts as negative; a SOFTENER is
# what keeps a polite refusal neutral rather than negative.

POSITIVE: Final[tuple[str, ...]] = (
    r"\blove[sd]?\b",
    r"\bgreat\b",
    r"\bamazing\b",
    r"\bawesome\b",
    r"\bexcited\b",
    r"\bperfect\b",
    r"\bwonderful\b",
    r"\bfantastic\b",
    r"\bblast\b",
    r"\brave\b",
    r"\bhappy\b",
    r"\bglad\b",
    r"\bthrilled\b",
    r"\bcan't\s+wait\b",
    r"\bdefinitely\b",
    r"\blol\b",
    r"\bsounds\s+fun\b",
    r"\breally\s+into\b",
    r"\b(?:so|very)\s+(?:nice|kind)\b",
    r"\boh\s+nice\b",
    r"\bemocionad[oa]s?\b",
    r"\bme\s+encantar[ií]a\b",
    r"\bexcelente\b",
    r"\bperfecto\b",
    r"[:;]-?\)",
    "[\U0001f600-\U0001f64f\U0001f44d\U0001f64c\u2764]",
)
NEGATIVE: Final[tuple[str, ...]] = (
    r"\bfrustrat\w*\b",
    r"\bupset\b",
    r"\bannoy\w*\b",
    r"\bangry\b",
    r"\bdisappoint\w*\b",
    r"\bterrible\b",
    r"\bawful\b",
    r"\bhorrible\b",
    r"\bhate[sd]?\b",
    r"\bridiculous\b",
    r"\bugh\b",
    r"\bnot\s+impressed\b",
    r"\bnot\s+happy\b",
    r"\btold\s+you\b",
    r"\b(?:sick|tired)\s+of\b",
    r"\bwaste\s+of\b",
    r"\binsane\b",
    r"\boutrageous\b",
    r"\bcried\b",
    r"\bmean\s+to\b",
)
SARCASM: Final[tuple[str, ...]] = (
    r"\bjust\s+what\s+(?:i|my\s+\w+|we)\s+needed\b",
    r"\blove\s+that\s+for\s+me\b",
    r"\b(?:oh,?\s+)?sure,?\s+because\b",
    r"\blol\s+sure\b",
    r"\blet\s+me\s+just\s+clone\s+myself\b",
    r"\b(?:oh\s+)?great,?\s+(?:just\s+what|another)\b",
    r"\bwow,?\s+another\b",
)
"""Praise that means the opposite: the sentence counts as negative and its praise not at all."""
SOFTENER: Final[tuple[str, ...]] = (
    r"\bgracias\b",
    r"\bshame\b",
    r"\bunfortunately\b",
    r"\bthanks?\b",
    r"\bthank\s+you\b",
    r"\bappreciate\b",
    r"\bsorry\b",
    r"\bmaybe\b",
    r"\blol\b",
    r"\b(?:this|for\s+this)\s+(?:year|season)\b",
    r"\bright\s+now\b",
)
