"""The offline extractor: phrase tables over the family's words, no model, no network.

It exists so the system runs and is testable without an LLM (seed 003 "Mock
provider") and so a failed LLM call still has a sensible fallback. It reads only
the family's turns for signals; the agent's turns are used for two pieces of
context a reader would also use: whether a family question was answered, and
whether the family is answering the agent's "what day works?".

How intent is decided (the order an operator would read a conversation in):
declining, then scheduling, then objecting, then "can't talk now"/wrong number
(unclear), then asking for information, then considering, then plain interest.
Two refinements keep that honest: a decision-maker deferral ("let me talk to my
wife") outweighs a price-only pushback, and an objection the family moved past in
a later turn ("oh, that might be better") no longer defines the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stream_app.domain.extraction.conversation import Conversation, Turn
from stream_app.domain.extraction.keywords import opt_out_in
from stream_app.domain.extraction.model import (
    AdditionalSignal,
    Extraction,
    FamilyContext,
    FinancialSignals,
    Intent,
    Level,
    Objection,
    SchedulingSignals,
    Sentiment,
)

PROVIDER = "rules"
_MAX_ITEMS = 8
_MAX_DETAIL = 160

_NEGATORS = frozenset(
    {
        *("not", "no", "never", "without", "hardly", "cannot"),
        *("dont", "don't", "cant", "can't", "isnt", "isn't", "wasnt", "wasn't"),
        *("arent", "aren't", "doesnt", "doesn't", "didnt", "didn't"),
        *("wont", "won't", "wouldnt", "wouldn't"),
    }
)


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Sentence:
    text: str
    turn: int


# Texting shorthand and dropped apostrophes, mapped once so every table can be
# written in plain English ("cant afford", "see u tmrw", "hes 9").
_SHORTHAND: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b{short}\b", re.IGNORECASE), full)
    for short, full in (
        ("u", "you"),
        ("ur", "your"),
        ("thx", "thanks"),
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


def _plain(text: str) -> str:
    text = text.replace("\u2019", "'")
    for pattern, full in _SHORTHAND:
        text = pattern.sub(full, text)
    return text


def _sentences(turns: Sequence[Turn]) -> list[_Sentence]:
    out: list[_Sentence] = []
    for i, turn in enumerate(turns):
        text = _plain(turn.text)
        for part in re.split(r"(?<=[.!?])\s+|\n+", text):
            if part.strip():
                out.append(_Sentence(part.strip(), i))
    return out


def _negated(text: str, start: int) -> bool:
    """A negator among the three words before a match, within the same clause."""
    clause = re.split(r"[,;:]|\bbut\b", text[:start], flags=re.IGNORECASE)[-1]
    return any(w in _NEGATORS for w in clause.lower().split()[-3:])


def _hits(
    pattern: re.Pattern[str], sentences: Iterable[_Sentence], negatable: bool = True
) -> list[_Sentence]:
    found = []
    for s in sentences:
        if any(not (negatable and _negated(s.text, m.start())) for m in pattern.finditer(s.text)):
            found.append(s)
    return found


def _detail(sentence: _Sentence) -> str:
    return sentence.text[:_MAX_DETAIL]


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))[:_MAX_ITEMS]


# ---------------------------------------------------------------------------
# Financial concern. "Blockers" are worries stated as a reason it won't work;
# they make the intent objecting. Asking for aid is a worry, not a blocker.

_FIN_NO_CONCERN = _rx(
    r"\b(?:cost|price|money|budget|tuition)(?:'s|\s+is|\s+isn't|\s+is\s+not)?\s+(?:not\s+)?(?:an?\s+)?"
    r"(?:issue|problem|concern)\b",
    r"\bnot\s+(?:too|that|very|so)\s+(?:expensive|pricey|bad)\b",
    r"\bcheaper\s+than\s+(?:i|we)\s+thought\b",
    r"\b(?:that's|that\s+is|it's|very|pretty)\s+(?:reasonable|affordable)\b",
    r"\bnot\s+worried\s+about\s+(?:the\s+)?(?:cost|price|money)\b",
)
_FIN_HIGH = _rx(
    r"\b(?:can't|cant|cannot|can\s+not)\s+afford\b",
    r"\b(?:don't|dont|do\s+not)\s+think\s+we\s+can\s+afford\b",
    r"\bno\s+way\s+(?:we|i)\s+(?:can|could)\s+(?:pay|afford)\b",
    r"\b(?:way|totally|completely)\s+out\s+of\s+(?:our|my)\s+(?:budget|price\s+range)\b",
    r"\bstruggling\s+(?:financially|with\s+money|to\s+pay)\b",
)
_FIN_MODERATE_BLOCKER = _rx(
    r"\bmore\s+than\s+(?:we|i)\s+(?:budgeted|expected|planned|can\s+spend|wanted\s+to\s+spend)\b",
    r"\bover\s+(?:our|my|the)\s+budget\b",
    r"\btoo\s+much\s+money\b",
    r"(?:\$\s?\d[\d,.]*|\bprice\b|\bcost\b|\bfees?\b|\btuition\b)[^.?!]{0,40}\b"
    r"(?:insane|crazy|ridiculous|outrageous|too\s+much|a\s+lot|steep|too\s+high)\b",
    r"\b(?:anything|something)\s+cheaper\b",
    r"\btoo\s+(?:expensive|pricey|much\s+money)\b",
    r"\b(?:expensive|pricey|steep|overpriced)\b",
    r"\bout\s+of\s+(?:our|my)\s+(?:budget|price\s+range)\b",
    r"\b(?:pay|paying)\s+double\b",
    r"\bwhy\s+would\s+(?:i|we)\s+pay\b",
    r"\bdifference\s+in\s+price\b",
    r"\ba\s+lot\s+(?:of\s+money\s+)?for\s+us\b",
)
_FIN_MODERATE = _rx(
    r"\bcareful\s+with\s+(?:money|spending)\b",
    r"\bmoney(?:'s|\s+is)\s+(?:really\s+|very\s+|pretty\s+|a\s+bit\s+)?tight\b",
    r"\b(?:tight|limited)\s+budget\b",
    r"\bbudget\s+is\s+tight\b",
    r"\bon\s+a\s+budget\b",
    r"\bscholarships?\b",
    r"\bfinancial\s+(?:aid|assistance|help)\b",
    r"\bsliding\s+scale\b",
    r"\bhelp\s+(?:paying|with\s+(?:the\s+)?(?:cost|tuition|fees?))\b",
    r"\b(?:if|whether)\s+we\s+can\s+afford\b",
    r"\btalk\s+\w+\s+(?:\w+\s+)?about\s+the\s+budget\b",
)
_FIN_LOW = _rx(
    r"\bhow\s+much\b",
    r"\bcost(?:s)?\b",
    r"\bpric(?:e|es|ing)\b",
    r"\btuition\b",
    r"\bfees?\b",
    r"\bdiscounts?\b",
    r"\bpayment\s+plans?\b",
    r"\bper\s+(?:month|session|class|week)\b",
    r"\bpay(?:ing)?\s+for\b",
    r"\brefundable\b",
)

# ---------------------------------------------------------------------------
# Intent phrase tables.

_DECLINE = _rx(
    r"\b(?:not|no\s+longer|not\s+really)\s+interested\b",
    r"\bno\s+thank(?:s|\s+you)\b",
    r"\bnot\s+for\s+us\b",
    r"\b(?:we'll|we\s+will|we're\s+going\s+to|we\s+are\s+going\s+to|gonna)\s+(?:probably\s+)?pass\b",
    r"\bdecided\s+(?:not\s+to|against)\b",
    r"\bnot\s+(?:going\s+to|gonna)\s+(?:go\s+ahead|do\s+it|sign|enroll|continue|come\s+back|return)\b",
    r"\bwon't\s+be\s+(?:able\s+to\s+)?(?:do|doing|join|joining|continu\w*|com\w*|attend\w*)\b",
    r"\b(?:we're|we\s+are)\s+all\s+set\b(?!\s+for)",
    r"\balready\s+(?:signed|enrolled|registered)\s+(?:\w+\s+)?(?:up\s+)?(?:at|with|elsewhere|somewhere)\b",
    r"\bfound\s+(?:another|a\s+different)\b",
    r"\bnever\s*mind\b",
    r"\b(?:we|we've|i've|i)\s+(?:already\s+)?(?:signed|enrolled|registered)\s+(?:\w+\s+)?(?:up\s+)?"
    r"(?:at|with)\b",
    r"\b(?:he's|she's|they're|we're)\s+(?:\w+\s+)?done\s+with\b",
    r"\b(?:probably\s+)?a\s+no\s+(?:for|from)\b",
    r"\bit's\s+a\s+no\b",
)
_SCHEDULE_REQUEST = _rx(
    r"\b(?:can|could|may)\s+(?:we|i)\s+(?:please\s+)?(?:look\s+at\s+)?(?:book|schedule|set\s+up|come\s+(?:in|by|for)"
    r"|do\s+(?:the|a|an)\s+(?:trial|assessment|tour|visit|class|evaluation)|start|sign|register|enroll)",
    r"\bbook\s+(?:a|an|the|us|him|her|them|me)\b",
    r"\bschedule\s+(?:a|an|the)\b",
    r"\bset\s+up\s+(?:a|an|the)\s+(?:trial|tour|visit|time|class|assessment)\b",
    r"\b(?:like|love|want)\s+to\s+(?:schedule|book|set\s+up|come\s+in|visit|sign|enroll|register)\b",
    r"\bsign(?:\s+(?:him|her|them|us|me))?\s+up\b",
    r"\bhow\s+(?:do|can)\s+(?:i|we)\s+(?:register|sign|enroll|book)\b",
    r"\bready\s+to\s+start\b",
    r"\bwhen\s+can\s+(?:she|he|they|we)\s+start\b",
    r"\b(?:he|she|they|we)\s+can\s+start\b",
    r"\bput\s+(?:her|him|them|us|me)\s+down\b",
    r"\bcount\s+us\s+in\b",
    r"\bwe'll\s+be\s+there\b",
    r"\blet's\s+do\b",
    r"\bget\s+(?:him|her|them)\s+(?:in|into)\b",
    r"\b(?:can|could)\s+(?:we|i|he|she|they)\s+come\s+(?:watch|see|try|visit|observe)\b",
    r"\block\s+(?:it|that|this|us|him|her|them)\s+in\b",
    r"\bsee\s+(?:you|ya)\s+(?:then|there|on|at|next|tomorrow|soon|saturday|sunday|monday|tuesday|"
    r"wednesday|thursday|friday)\b",
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)days?|\d{1,2}(?::\d{2})?\s*(?:am|pm)?)\s+"
    r"(?:works|would\s+work|would\s+be\s+(?:great|perfect|good|fine|best)|is\s+(?:perfect|good|fine|great))\b",
)
_UNCLEAR = _rx(
    r"\bwrong\s+number\b",
    r"\bwho\s+is\s+this\b",
    r"\bwho's\s+this\b",
    r"\b(?:didn't|didnt|never)\s+(?:sign\s+up|ask)\b",
    r"\bdon't\s+have\s+any\s+kids\b",
    r"\bcall\s+(?:me\s+)?back\s+later\b",
    r"\b(?:we're|i'm)\s+(?:driving|at\s+work|in\s+a\s+meeting)\b",
    r"\bbad\s+time\b",
    r"\bnot\s+a\s+good\s+time\b",
)
_LONG_DEFERRAL = _rx(
    r"\breach\s+out\s+(?:in|later|next|after)\b",
    r"\bin\s+a\s+(?:couple|few)\s+(?:of\s+)?(?:months|weeks)\b",
    r"\bcheck\s+back\b",
    r"\bafter\s+the\s+holidays\b",
    r"\bnext\s+(?:month|season|year|semester|term)\b",
)
_CONSIDER = _rx(
    r"\bnot\s+sure\b",
    r"\bthink\s+about\s+it\b",
    r"\blet\s+me\s+think\b",
    r"\ba\s+lot\s+to\s+think\s+about\b",
    r"\bget\s+back\s+to\s+you\b",
    r"\b(?:haven't|have\s+not)\s+decided\b",
    r"\bstill\s+deciding\b",
    r"\bwe'll\s+see\b",
    r"\bmaybe\b",
    r"\bcompare\b",
    r"\bon\s+hold\b",
    r"\bnot\s+thinking\s+about\b",
    r"\bcan\s+we\s+talk\s+(?:after|later|next|in)\b",
    r"\blook\s+at\s+it\s+again\b",
    r"\bthink\s+(?:on|over)\s+it\b",
    r"\bhave\s+to\s+think\b",
    r"\blet\s+me\s+see\b",
    r"\bi'll\s+(?:let\s+you\s+know|call\s+you|get\s+back|text\s+you)\b",
    r"\bkeep\s+me\s+posted\b",
    r"\bwaiting\s+to\s+see\b",
    r"\bthinking\s+about\s+it\b",
)
_RELATIVE_WHO = r"(?:husband|wife|partner|spouse|ex|mom|dad|mother|father|parents)"
_DEFER_TO_DECISION_MAKER = _rx(
    r"\b(?:talk|speak|check|discuss|run\s+it\s+by|ask)\s+(?:it\s+over\s+|this\s+over\s+)?"
    rf"(?:with\s+|to\s+)?my\s+{_RELATIVE_WHO}\b",
    r"\b(?:let\s+me|i'll|i\s+will|i\s+need\s+to|i\s+have\s+to)\s+(?:see|check|ask|talk|figure\s+out)\b"
    rf"[\w\s']{{0,30}}\bmy\s+{_RELATIVE_WHO}\b",
)
_INTERESTED = _rx(
    r"\b(?:interested|intrested|intersted|interseted|interisted)\b",
    r"\bexcited\b",
    r"\b(?:would|'d)\s+love\b",
    r"\bcan't\s+wait\b",
    r"\b(?:we're|we\s+are)\s+in\s*(?:[.!,]|$)",
    r"\b(?:asking|asks|begging|wants)\s+(?:\w+\s+){0,3}(?:go|come)\s+(?:back|again)\b",
    r"\bdefinitely\s+want\b",
    r"\bsounds\s+(?:great|good|nice|fun|amazing|awesome|perfect)\b",
    r"\blove[sd]?\s+(?:it|that|this)\b",
)
_INFO_REQUEST = _rx(
    r"\b(?:pls|please)\s+send\b",
    r"\bsend\s+(?:me|it|us|over|the|pls|please)\b",
    r"\bemail\s+me\b",
    r"\b(?:i'd|i\s+would|i)\s+(?:like|need|love|want)\s+to\s+know\b",
    r"\bfind\s+out\b",
    r"\bcan\s+you\s+(?:tell|send|email|text)\b",
    r"^(?:how\s+much|what's|what|when|where|which|is\s+there|are\s+there|do\s+you|does)\b",
    r"\b(?:when|what|where|how|which)\s+(?:does|do|is|are|time|times|days?|much|long|old|should|will)\b",
)
_RESOLVED = _rx(
    r"\bthat\s+(?:might|could|would|should)\s+(?:be\s+better|work|help)\b",
    r"\bthat\s+works\b",
    r"\bthat\s+helps\b",
    r"\bsounds\s+better\b",
)
_REDIRECT = _rx(r"\bcall\s+(?:her|him|them|me)\s+(?:instead|later|back|tomorrow)\b")
_AGENT_ASKS_INTEREST = _rx(
    r"\binterest(?:ed)?\b", r"\bwould\s+(?:you|he|she|they)\s+like\b", r"\bwant\s+(?:me\s+)?to\b"
)
_BARE_NO = re.compile(
    r"^(?:no|nope|nah|not\s+really|not\s+anymore|not\s+at\s+the\s+moment)\b", re.I
)
_AGENT_ASKS_WHEN = _rx(
    r"\b(?:what|which)\s+(?:days?|times?)\b",
    r"\bwhen\s+(?:works|would|is\s+good)\b",
    r"\bdoes\s+that\s+work\b",
)

# ---------------------------------------------------------------------------
# Time expressions. Months only with a forward-looking cue, so "laid off in
# March" is not a scheduling constraint; relative days only next to something
# bookable, so "get back to you next week" is not either.

_TIME = _rx(
    r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
    r"\b(?:tues|thurs|weds)\b",
    r"\bweek(?:day|end|night)s?\b",
    r"\b(?:after|before)\s+school\b",
    r"\b(?:mornings?|afternoons?|evenings?|nights?)\b",
    r"\b\d{1,2}(?::\d{2})?\s*(?:am|pm)\b",
    r"\b(?:at|after|before|around|till|until|by)\s+\d{1,2}(?::\d{2})?\b",
    r"\bnoon\b",
    r"\b(?:after|before|until|till|starting(?:\s+in)?|start(?:ing)?\s+in|by|from|mid-?|early|late|end\s+of|beginning\s+of)\s*"
    r"(?:january|february|march|april|june|july|august|september|october|november|december)\b",
)
_RELATIVE = _rx(r"\b(?:this|next)\s+week\b", r"\btomorrow\b", r"\btoday\b", r"\btonight\b")
_BOOKABLE = _rx(
    r"\b(?:book\w*|tour|trial|class(?:es)?|openings?|start|come\s+in|visit|schedule|lessons?|sessions?|spot)\b"
)
_CONSTRAINT_CUE = _rx(
    r"\b(?:can't|cant|cannot|not|busy|tough|out|conflict\w*|only|until|till|too\s+(?:late|early))\b",
    r"\b(?:he|she|they|we|i|kids)\s+(?:already\s+)?(?:has|have|do|does)\s+(?:\w+\s+)?(?:on|every)\b",
    r"\bwork(?:s)?\s+(?:till|until|saturdays|sundays|weekends)\b",
    r"\b(?:have|has)\s+to\s+be\b",
)

# ---------------------------------------------------------------------------
# Objections, by topic. Price is not a topic: it is the financial dimension.

_OBJECTIONS: tuple[tuple[str, re.Pattern[str], Level], ...] = (
    (
        "distance",
        _rx(
            r"\btoo\s+far\b",
            r"\b\d+\s*(?:-\s*)?minute\s+drive\b",
            r"\bdrive\s+is\b",
            r"\blong\s+drive\b",
            r"\b(?:a|such\s+a)\s+trek\b",
            r"\bcommute\b",
            r"\bno\s+car\b",
            r"\btransportation\b",
            r"\bfar\s+(?:away|from)\b",
            r"\bthat\s+far\b",
        ),
        Level.MODERATE,
    ),
    (
        "schedule",
        _rx(
            r"\btoo\s+(?:late|early)\b(?!\s+to\s+(?:join|sign|enroll|register|start|apply))",
            r"\bconflicts?\s+with\b",
            r"\bclash(?:es)?\s+with\b",
            r"\btoo\s+busy\b",
            r"\bschedule\s+is\s+(?:crazy|packed|full)\b",
            r"\b(?:doesn't|does\s+not|won't)\s+fit\s+(?:our|his|her|my)\s+schedule\b",
            r"\bcan't\s+make\s+(?:it|that|the)\b",
            r"\b(?:he|she|they)\s+(?:has|have)\s+(?:baseball|soccer|football|swim\w*|dance|practice|lessons|hockey|tutoring)\b",
            r"\balready\s+(?:do|does|have|has)\s+\w+\s+on\b",
            r"\bsame\s+(?:afternoon|day|time|night|evening)\b",
            r"\bworried\s+about\s+the\s+(?:\w+\s+)?(?:practices|times?|schedule|days?)\b",
        ),
        Level.MODERATE,
    ),
    (
        "child_reluctant",
        _rx(
            r"\b(?:doesn't|does\s+not|don't|won't)\s+want\s+to\s+(?:go|do|come|try|join|continue)\b",
            r"\b(?:hated|hates)\s+it\b",
            r"\b(?:didn't|did\s+not)\s+like\s+it\b",
            r"\b(?:really\s+|very\s+|so\s+)?shy\b",
            r"\bscared\b",
            r"\brefuses?\b",
            r"\bwon't\s+go\b",
            r"\bgot\s+upset\b",
            r"\bcried\b",
            r"\bmean\s+to\s+(?:her|him|them)\b",
            r"\bbull(?:y|ied|ying)\b",
            r"\b(?:don't|doesn't|won't)\s+(?:think\s+)?(?:\w+\s+){0,2}want\s+to\s+go\s+back\b",
        ),
        Level.MODERATE,
    ),
    (
        "program_fit",
        _rx(
            r"\b(?:not|isn't|n't)\b[\w\s']{0,24}\b(?:right|good)\s+fit\b",
            r"\btoo\s+(?:young|old|advanced|basic|fast|slow|easy|hard)\b",
            r"\b(?:not\s+sure|don't\s+know\s+if)\s+(?:he's|she's|they're|he\s+is|she\s+is)\s+ready\b",
            r"\bwould\s+bore\b",
            r"\bmuch\s+(?:younger|older)\b",
            r"\bsomething\s+(?:slower|faster|more\s+advanced)\b",
        ),
        Level.LOW,
    ),
    (
        "commitment",
        _rx(
            r"\b(?:don't|do\s+not)\s+want\s+to\s+commit\b",
            r"\b(?:year|twelve\s+month|12\s+month|annual)\s+(?:contract|commitment)\b",
            r"\bcontract\s+is\s+a\s+lot\b",
            r"\bmonth\s+to\s+month\b",
            r"\btoo\s+(?:much\s+of\s+a\s+)?commitment\b",
        ),
        Level.MODERATE,
    ),
    (
        "service_quality",
        _rx(
            r"\bfrustrat\w*\b",
            r"\bnot\s+impressed\b",
            r"\bnobody\s+was\s+there\b",
            r"\bno\s+one\s+(?:was\s+there|called|showed)\b",
            r"\bdisorganized\b",
            r"\brude\b",
        ),
        Level.MODERATE,
    ),
)
_COMPETITOR = _rx(
    r"\bymca\b",
    r"\bboys\s*(?:&|and)\s*girls\s+club\b",
    r"\boffer\s+from\b",
    r"\balso\s+looking\s+at\b",
    r"\b(?:signed|enrolled|registered)\s+(?:\w+\s+)?(?:up\s+)?(?:at|with)\b",
    r"\banother\s+(?:academy|club|program|studio|gym|school|place|camp|team)\b",
    r"\bsomewhere\s+else\b",
    r"\belsewhere\b",
)

# ---------------------------------------------------------------------------
# Additional signals: (name, pattern, urgency, suggested action).

_SIGNALS: tuple[tuple[str, re.Pattern[str], Level, str], ...] = (
    (
        "job_loss",
        _rx(
            r"\blost\s+(?:my|his|her|our)\s+(?:job|income)\b",
            r"\blaid\s+off\b",
            r"\bgot\s+fired\b",
            r"\bunemployed\b",
            r"\bout\s+of\s+work\b",
            r"\bbetween\s+jobs\b",
            r"\bhours\s+(?:just\s+)?(?:got\s+)?cut\b",
            r"\bpay\s+cut\b",
        ),
        Level.HIGH,
        "scholarship_outreach",
    ),
    (
        "family_change",
        _rx(
            r"\bdivorc\w*\b",
            r"\bseparat(?:ed|ion)\b",
            r"\bpassed\s+away\b",
            r"\bdeath\s+in\s+the\s+family\b",
            r"\bnew\s+baby\b",
            r"\bfuneral\b",
        ),
        Level.MODERATE,
        "family_engage",
    ),
    (
        "special_needs",
        _rx(
            r"\bautis\w*\b",
            r"\badhd\b",
            r"\biep\b",
            r"\b504\s+plan\b",
            r"\bspecial\s+needs\b",
            r"\bsensory\b",
            r"\bspeech\s+delay\b",
            r"\bdevelopmental\s+delay\b",
            r"\blearning\s+disabilit\w*\b",
            r"\bdyslexi\w*\b",
            r"\bdown\s+syndrome\b",
            r"\bon\s+the\s+spectrum\b",
            r"\b(?:speech|occupational)\s+therapy\b",
        ),
        Level.MODERATE,
        "info_send",
    ),
    (
        "health",
        _rx(
            r"\basthma\b",
            r"\bsurgery\b",
            r"\bbroke\s+(?:his|her|my|their)\b",
            r"\bbroken\s+(?:arm|leg|wrist|ankle)\b",
            r"\binjur\w*\b",
            r"\bcast\s+comes\s+off\b",
            r"\bcrutches\b",
            r"\bconcussion\b",
            r"\ballerg\w*\b",
            r"\bhospital\w*\b",
            r"\binhaler\b",
            r"\bseizures?\b",
            r"\bdiabet\w*\b",
        ),
        Level.MODERATE,
        "gentle_nudge",
    ),
    (
        "relocation",
        _rx(
            r"\bmoving\s+(?:to|away|out|across|house)\b",
            r"\bin\s+the\s+middle\s+of\s+(?:a\s+)?mov(?:e|ing)\b",
            r"\b(?:we're|we\s+are)\s+moving\b",
            r"\bjust\s+moved\b",
            r"\bmoved\s+here\b",
            r"\brelocat\w*\b",
            r"\bnew\s+to\s+the\s+area\b",
        ),
        Level.MODERATE,
        "info_send",
    ),
    (
        "referral_source",
        _rx(
            r"\bmy\s+(?:friend|neighbou?r|coworker|co-worker|cousin|sister|brother|colleague|nephew|niece"
            r"|aunt|uncle|sister-in-law|brother-in-law)(?:'s)?\b"
            r"[\w\s']{0,40}\b(?:said|told|recommended|go|goes|went|did|does|rave|love)",
            r"\b(?:pediatrician|doctor|therapist|teacher|counsel?lor|friend|neighbou?r)\s+"
            r"(?:suggested|recommended|told\s+us)\b",
            r"\bsaw\s+(?:your|the)\s+(?:booth|sign|banner|ad|post|video)\b",
            r"\bheard\s+(?:about|of)\s+(?:you|it|the)\b",
            r"\brecommended\s+(?:by|to\s+us)\b",
            r"\b(?:saw|found)\s+(?:you|your|it|an\s+ad|the\s+ad|a\s+post)\b",
            r"\bon\s+(?:facebook|instagram|tiktok|nextdoor|google)\b",
            r"\bflyer\b",
            r"\bword\s+of\s+mouth\b",
            r"\breferred\b",
        ),
        Level.LOW,
        "warm_follow_up",
    ),
)

# ---------------------------------------------------------------------------
# Family context.

_SIBLING = _rx(
    r"\b(?:brother|sister|sibling)s?\b",
    r"\btwins\b",
    r"\b(?:two|three|four|2|3|4)\s+(?:kids|boys|girls|children)\b",
    r"\b(?:my|our)\s+(?:kids|children)\b",
    r"\bthe\s+(?:kids|children)\b(?!\s+(?:in|at|there|who))",
    r"\bboth\s+of\s+them\b",
    r"\bthe\s+(?:girls|boys)\b(?!\s*(?:&|and)\s)",
)
_NAMED_AGE = re.compile(
    r"\b([A-Z][a-z]+)(?:\s+is|,|'s|\s+\()\s*(?:only\s+|just\s+)?(\d{1,2})\b(?!\s*(?:am|pm|:|minutes?|a\s+month))"
)
_WHO = re.compile(
    r"\b(husband|wife|partner|spouse|ex|mom|dad|mother|father|parents)\b", re.IGNORECASE
)
_DECISION_MAKER = _rx(
    r"\bmy\s+(?:husband|wife|partner|spouse)\s+(?:who\s+)?(?:handles|decides|makes\s+the\s+decisions)\b",
    r"\bit's\s+my\s+(?:husband|wife|partner|spouse)\s+who\b",
    r"\b(?:let\s+me|i'll|i\s+will|i\s+need\s+to|i\s+have\s+to)\s+(?:see|check|ask|talk|figure\s+out)\b"
    rf"[\w\s']{{0,30}}\bmy\s+{_RELATIVE_WHO}\b",
    r"\b(?:talk|speak|check|discuss|run\s+it\s+by|ask)\s+(?:it\s+over\s+)?(?:with\s+|to\s+)?my\s+"
    r"(?:husband|wife|partner|spouse|ex|mom|dad|mother|father|parents)\b",
    r"\b(?:his|her|their|my)\s+(?:dad|mom|father|mother|husband|wife|partner|ex)\s+"
    r"(?:would\s+have\s+to|has\s+to|needs\s+to|makes\s+the\s+decisions|decides|will\s+decide|"
    r"would\s+need\s+to|has\s+to\s+agree)\b",
)
_FAMILY_NOTE = _rx(
    r"\bsingle\s+(?:mom|dad|parent|mother|father)\b",
    r"\b(?:share|shared|joint)\s+custody\b",
    r"\bcustody\b",
    r"\bmy\s+ex\b",
    r"\b(?:i'm|i\s+am)\s+(?:his|her|their)\s+(?:grandmother|grandfather|grandma|grandpa|aunt|uncle|guardian)\b",
    r"\b(?:grandma|grandpa|grandmother|grandfather|grandparents)\s+(?:picks?|drops?|watch\w*|take\w*\s+care)\b",
    r"\b(?:separated|divorced|divorcing)\b",
    r"\bi\s+pick\s+(?:him|her|them)\s+up\b",
)

# ---------------------------------------------------------------------------
# Sentiment.

_POSITIVE = _rx(
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
    r"[:;]-?\)",
    "[\U0001f600-\U0001f64f\U0001f44d\U0001f64c\u2764]",
)
_NEGATIVE = _rx(
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
_SOFTENER = _rx(
    r"\bthanks?\b",
    r"\bthank\s+you\b",
    r"\bappreciate\b",
    r"\bsorry\b",
    r"\bmaybe\b",
    r"\blol\b",
    r"\b(?:this|for\s+this)\s+(?:year|season)\b",
    r"\bright\s+now\b",
)


@dataclass(frozen=True, slots=True)
class _Read:
    """Everything found in one conversation, before it is shaped into an Extraction."""

    sentences: tuple[_Sentence, ...]
    last_turn: int
    financial: Level
    financial_mentions: tuple[str, ...]
    blockers: tuple[_Sentence, ...]
    objections: tuple[Objection, ...]
    objection_turns: frozenset[int]
    signals: tuple[AdditionalSignal, ...]
    scheduling: SchedulingSignals
    family: FamilyContext
    opt_out: bool


class RulesExtractor:
    """Deterministic, offline `Extractor`; also the fallback when an LLM fails."""

    name = PROVIDER

    async def extract(self, conversation: Conversation) -> Extraction:
        return self.extract_sync(conversation)

    def extract_sync(self, conversation: Conversation) -> Extraction:
        try:
            return _extract(conversation)
        except Exception as exc:  # the Extractor contract: a result, never a raise
            return Extraction.failed(PROVIDER, f"rules extractor error: {type(exc).__name__}")


def _extract(conversation: Conversation) -> Extraction:
    turns = conversation.turns
    family_idx = [i for i, t in enumerate(turns) if t.role == "family"]
    opt_out = opt_out_in(conversation)
    if not family_idx:
        return Extraction(
            provider=PROVIDER,
            intent=Intent.NO_RESPONSE,
            summary=_summary(conversation, Intent.NO_RESPONSE, Sentiment.NEUTRAL, None),
        )
    sentences = tuple(
        _Sentence(s.text, family_idx[s.turn]) for s in _sentences([turns[i] for i in family_idx])
    )
    read = _read(conversation, sentences, family_idx[-1], opt_out)
    intent = _intent(conversation, read)
    sentiment = _sentiment(read, intent)
    objections = read.objections
    if intent is Intent.DECLINING:
        objections = tuple(o.model_copy(update={"severity": Level.HIGH}) for o in objections)
    return Extraction(
        provider=PROVIDER,
        summary=_summary(conversation, intent, sentiment, read),
        facts=_facts(read),
        intent=intent,
        sentiment=sentiment,
        open_questions=_open_questions(turns, sentences),
        financial=FinancialSignals(concern_level=read.financial, mentions=read.financial_mentions),
        scheduling=read.scheduling,
        family=read.family,
        objections=objections,
        additional_signals=read.signals,
        opt_out=opt_out,
    )


def _read(
    conversation: Conversation, sentences: tuple[_Sentence, ...], last_turn: int, opt_out: bool
) -> _Read:
    signals = _signals(sentences)
    financial, mentions, blockers = _financial(sentences, signals)
    objections, objection_turns = _objections(sentences, blockers)
    return _Read(
        sentences=sentences,
        last_turn=last_turn,
        financial=financial,
        financial_mentions=mentions,
        blockers=blockers,
        objections=objections,
        objection_turns=objection_turns,
        signals=signals,
        scheduling=_scheduling(sentences),
        family=_family(sentences),
        opt_out=opt_out,
    )


def _financial(
    sentences: Sequence[_Sentence], signals: Sequence[AdditionalSignal]
) -> tuple[Level, tuple[str, ...], tuple[_Sentence, ...]]:
    level = Level.NONE
    mentions: list[str] = []
    for s in sentences:
        if _FIN_NO_CONCERN.search(s.text):
            continue
        found = (
            Level.HIGH
            if _hits(_FIN_HIGH, [s], negatable=False)
            else Level.MODERATE
            if _hits(_FIN_MODERATE_BLOCKER, [s]) or _hits(_FIN_MODERATE, [s])
            else Level.LOW
            if _hits(_FIN_LOW, [s], negatable=False)
            else Level.NONE
        )
        if found is not Level.NONE:
            mentions.append(_detail(s))
            level = max(level, found, key=lambda lv: lv.rank)
    if any(sig.signal == "job_loss" for sig in signals):
        # Lost income is the strongest money signal there is, whatever words carry it.
        level = Level.HIGH
    blockers = tuple(
        s
        for s in sentences
        if not _FIN_NO_CONCERN.search(s.text)
        and (_hits(_FIN_HIGH, [s], negatable=False) or _hits(_FIN_MODERATE_BLOCKER, [s]))
    )
    return level, _unique(mentions), blockers


def _objections(
    sentences: Sequence[_Sentence], blockers: Sequence[_Sentence]
) -> tuple[tuple[Objection, ...], frozenset[int]]:
    found: list[Objection] = []
    turns: set[int] = set()
    for topic, pattern, severity in _OBJECTIONS:
        hits = _hits(pattern, sentences)
        if hits:
            found.append(Objection(topic=topic, detail=_detail(hits[0]), severity=severity))
            turns.update(h.turn for h in hits)
    competitor = _hits(_COMPETITOR, sentences)
    pushback = bool(blockers) or bool(_hits(_DECLINE, sentences))
    if competitor and pushback:
        found.append(
            Objection(topic="competitor", detail=_detail(competitor[0]), severity=Level.MODERATE)
        )
        turns.update(h.turn for h in competitor)
    turns.update(b.turn for b in blockers)
    return tuple(found), frozenset(turns)


def _signals(sentences: Sequence[_Sentence]) -> tuple[AdditionalSignal, ...]:
    found = [
        AdditionalSignal(
            signal=name, detail=_detail(hits[0]), urgency=urgency, suggested_action=action
        )
        for name, pattern, urgency, action in _SIGNALS
        if (hits := _hits(pattern, sentences))
    ]
    competitor = _hits(_COMPETITOR, sentences)
    if competitor:
        found.append(
            AdditionalSignal(
                signal="competitor_offer",
                detail=_detail(competitor[0]),
                urgency=Level.MODERATE,
                suggested_action="objection_address",
            )
        )
    return tuple(found)


def _scheduling(sentences: Sequence[_Sentence]) -> SchedulingSignals:
    constraints: list[str] = []
    preferred: list[str] = []
    for s in sentences:
        timed = _hits(_TIME, [s]) or (_RELATIVE.search(s.text) and _BOOKABLE.search(s.text))
        if not timed:
            continue
        (constraints if _CONSTRAINT_CUE.search(s.text) else preferred).append(_detail(s))
    return SchedulingSignals(constraints=_unique(constraints), preferred_times=_unique(preferred))


def _family(sentences: Sequence[_Sentence]) -> FamilyContext:
    siblings: list[str] = []
    makers: list[str] = []
    notes: list[str] = []
    for s in sentences:
        if _SIBLING.search(s.text):
            named = [f"{name} ({age})" for name, age in _NAMED_AGE.findall(s.text)]
            siblings.extend(named or [_detail(s)])
        for m in _DECISION_MAKER.finditer(s.text):
            makers.extend(w.lower() for w in _WHO.findall(m.group(0))[-1:])
        if _FAMILY_NOTE.search(s.text):
            notes.append(_detail(s))
    return FamilyContext(
        siblings=_unique(siblings), decision_makers=_unique(makers), notes=_unique(notes)
    )


def _is_question(s: _Sentence) -> bool:
    return s.text.endswith("?") or bool(_INFO_REQUEST.search(s.text))


def _intent(conversation: Conversation, read: _Read) -> Intent:
    sentences = read.sentences
    if read.opt_out or _declines(sentences) or _answers_no(conversation, read):
        return Intent.DECLINING
    if _hits(_SCHEDULE_REQUEST, sentences):
        return Intent.SCHEDULING
    deferring = bool(_hits(_DEFER_TO_DECISION_MAKER, sentences))
    moved_on = (
        bool(read.objection_turns)
        and read.last_turn not in read.objection_turns
        and bool(_hits(_RESOLVED, [s for s in sentences if s.turn == read.last_turn]))
    )
    if read.objection_turns and not moved_on and not deferring:
        return Intent.OBJECTING
    if _hits(_LONG_DEFERRAL, sentences):
        return Intent.CONSIDERING
    if _hits(_UNCLEAR, sentences):
        return Intent.UNCLEAR
    if any(
        _is_question(s)
        and not _CONSIDER.search(s.text)
        and not _UNCLEAR.search(s.text)
        and not _REDIRECT.search(s.text)
        for s in sentences
    ):
        return Intent.REQUESTING_INFO
    if deferring or _hits(_CONSIDER, sentences):
        return Intent.CONSIDERING
    if _answers_when(conversation, read):
        return Intent.SCHEDULING
    if _hits(_INTERESTED, sentences):
        return Intent.INTERESTED
    return Intent.UNCLEAR


def _declines(sentences: Sequence[_Sentence]) -> list[_Sentence]:
    """Refusals, except "not interested in X, but is there Y?", which is a question about Y."""
    found = []
    for s in sentences:
        match = _DECLINE.search(s.text)
        if match and not re.search(r"\bbut\b.*\?", s.text[match.end() :]):
            found.append(s)
    return found


def _answers_no(conversation: Conversation, read: _Read) -> bool:
    """A bare "no" / "not really" to the agent asking whether the family still wants this."""
    turns = conversation.turns
    for s in read.sentences:
        previous = turns[s.turn - 1] if s.turn > 0 else None
        if (
            previous is not None
            and previous.role == "agent"
            and previous.text.rstrip().endswith("?")
            and _AGENT_ASKS_INTEREST.search(previous.text)
            and _BARE_NO.match(s.text)
        ):
            return True
    return False


def _answers_when(conversation: Conversation, read: _Read) -> bool:
    """The family giving days or times in reply to the agent asking when suits them."""
    turns = conversation.turns
    for s in read.sentences:
        previous_agent = next(
            (turns[i] for i in range(s.turn - 1, -1, -1) if turns[i].role == "agent"), None
        )
        if previous_agent and _AGENT_ASKS_WHEN.search(previous_agent.text) and _TIME.search(s.text):
            return True
    return False


def _sentiment(read: _Read, intent: Intent) -> Sentiment:
    positive = negative = 0
    for s in read.sentences:
        for m in _POSITIVE.finditer(s.text):
            if _negated(s.text, m.start()):
                negative += 1
            else:
                positive += 1
        negative += sum(1 for m in _NEGATIVE.finditer(s.text) if not _negated(s.text, m.start()))
    if any("!" in s.text for s in read.sentences) and negative == 0:
        positive += 1
    if intent is Intent.DECLINING:
        # A polite refusal is still a refusal: warmth only softens it to neutral.
        positive = 0
        if not any(_SOFTENER.search(s.text) for s in read.sentences):
            negative += 1
    if read.opt_out:
        negative += 1
    if positive > negative:
        return Sentiment.POSITIVE
    if negative > positive:
        return Sentiment.NEGATIVE
    return Sentiment.NEUTRAL


def _open_questions(turns: Sequence[Turn], sentences: Sequence[_Sentence]) -> tuple[str, ...]:
    """Family questions with no agent turn after them: nobody has answered them yet."""
    last_agent = max((i for i, t in enumerate(turns) if t.role == "agent"), default=-1)
    return _unique(_detail(s) for s in sentences if s.text.endswith("?") and s.turn > last_agent)


_INTENT_PHRASE = {
    Intent.INTERESTED: "expressed interest",
    Intent.CONSIDERING: "is still deciding",
    Intent.OBJECTING: "raised concerns that stand in the way",
    Intent.SCHEDULING: "wants to book or confirm a time",
    Intent.REQUESTING_INFO: "asked for more information",
    Intent.DECLINING: "declined",
    Intent.NO_RESPONSE: "did not respond",
    Intent.UNCLEAR: "gave no clear direction",
}


def _summary(
    conversation: Conversation, intent: Intent, sentiment: Sentiment, read: _Read | None
) -> str:
    channel = {"voice": "Call", "sms": "SMS thread", "email": "Email"}[conversation.channel]
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


def _facts(read: _Read) -> tuple[str, ...]:
    facts = [f"Sibling: {s}" for s in read.family.siblings]
    facts += [f"Decision maker: {d}" for d in read.family.decision_makers]
    facts += [f"Preferred time: {p}" for p in read.scheduling.preferred_times]
    facts += [f"Time constraint: {c}" for c in read.scheduling.constraints]
    facts += [f"{s.signal.replace('_', ' ').capitalize()}: {s.detail}" for s in read.signals]
    return _unique(facts)
