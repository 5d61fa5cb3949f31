"""Phrase tables for what stands in the family's way: money, objections, life events.

Plain data, so the wording can be reviewed and extended without reading the
matching code. Each entry is a regular-expression source; `dimensions` joins a
table into one case-insensitive pattern at import and decides whether a negator
just before a match ("not too expensive") cancels it. Tables are written against
normalised text: texting shorthand is already spelled out and apostrophes
straightened, so "cant afford" arrives as "can't afford".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from stream_app.domain.extraction.model import Level


@dataclass(frozen=True, slots=True)
class ObjectionTopic:
    """Phrases that raise one objection topic, and how much that topic weighs."""

    topic: str
    phrases: tuple[str, ...]
    severity: Level


@dataclass(frozen=True, slots=True)
class SignalRule:
    """Phrases that reveal one life event, how urgent it is and what to do about it."""

    signal: str
    phrases: tuple[str, ...]
    urgency: Level
    suggested_action: str


# ---------------------------------------------------------------------------
# Financial concern, strongest first. "Blockers" (HIGH and MODERATE_BLOCKER) are
# worries stated as a reason it won't work; they make the intent objecting.
# Asking for aid (MODERATE) is a worry, not a blocker. A sentence that says money
# is not a problem (NO_CONCERN) counts at no level at all.

FIN_NO_CONCERN: Final[tuple[str, ...]] = (
    # Negation scope: only a negated "cost is an issue" is no concern; the plain one is one.
    r"\b(?:cost|price|money|budget|tuition)(?:'s|\s+is)?\s*(?:not|isn't|is\s+not|never|isn't\s+really)\s+"
    r"(?:really\s+)?(?:an?\s+|the\s+)?(?:issue|problem|concern)\b",
    r"\b(?:don't|do\s+not)\s+think\s+(?:the\s+)?(?:cost|price|money)\s+is\s+(?:the|an?)\s+"
    r"(?:issue|problem|concern)\b",
    r"\bno\s+problem\s+(?:at\s+all\s+)?(?:about|with)\s+the\s+(?:cost|price|money)\b",
    r"\b(?:it's|is)\s+(?:honestly\s+)?not\s+(?:about\s+)?the\s+(?:money|cost|price)\b",
    r"\bnot\s+(?:too|that|very|so)\s+(?:expensive|pricey|bad)\b",
    r"\bwouldn't\s+(?:call|say)\s+(?:it|that's|it's)\s+(?:is\s+)?(?:expensive|pricey|too\s+much)\b",
    r"\bcheaper\s+than\s+(?:i|we)\s+thought\b",
    r"\b(?:that's|that\s+is|it's|very|pretty)\s+(?:reasonable|affordable)\b",
    r"\bnot\s+worried\s+about\s+(?:the\s+)?(?:cost|price|money)\b",
    r"\b(?:the\s+)?(?:cost|price|money)\s+is\s+(?:fine|ok|okay|not\s+bad|no\s+problem)\b",
)
FIN_HIGH: Final[tuple[str, ...]] = (
    r"\b(?:can't|cant|cannot|can\s+not)\s+afford\b",
    r"\b(?:don't|dont|do\s+not)\s+think\s+we\s+can\s+afford\b",
    r"\bno\s+way\s+(?:we|i)\s+(?:can|could)\s+(?:pay|afford)\b",
    r"\b(?:way|totally|completely)\s+out\s+of\s+(?:our|my)\s+(?:budget|price\s+range)\b",
    r"\bstruggling\s+(?:financially|with\s+money|to\s+pay)\b",
    r"\bno\s+(?:nos|me)\s+alcanza\b",
    r"\bno\s+tenemos\s+(?:el\s+)?dinero\b",
    r"\bnot\s+in\s+(?:the|our|my)\s+budget\b",
)
FIN_MODERATE_BLOCKER: Final[tuple[str, ...]] = (
    r"\bmore\s+than\s+(?:we|i)\s+(?:budgeted|expected|planned|can\s+spend|wanted\s+to\s+spend|spend|pay|make|earn)\b",
    # doubting the value is pushing back on the price: "not sure it's worth the money"
    r"\b(?:not\s+sure\s+(?:it's|it\s+is|it'd\s+be|that's)|not|isn't|wasn't|if\s+it's|whether\s+it's)\s+"
    r"(?:really\s+)?worth\s+(?:the\s+)?(?:money|price|cost)\b",
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
    r"\b(?:can't|cannot|can)\s+swing\b",
    r"\b(?:things|finances)\s+(?:are|is|'s|have\s+been|has\s+been)\s+(?:really\s+|pretty\s+|so\s+|a\s+bit\s+)?tight\b",
    r"\bstretched\s+(?:thin|tight)\b",
    r"\b(?:a\s+bit|a\s+little|too|way\s+too)\s+much\s+for\s+(?:our|my|the)\s+(?:budget|wallet)\b",
    r"\b(?:fees?|prices?|costs?|tuition|rates?)\s+(?:went|goes|go|keeps?\s+going|just\s+went)\s+up\b",
    r"\b(?:it|that|they|this|costs?|everything)\s+(?:all\s+)?(?:just\s+|really\s+)?adds?\s+up\b",
    r"\b(?:muy\s+)?caro\b",
    r"\bprecio\s+est[aá]\s+(?:muy\s+|bien\s+)?alto\b",
    r"\bI'm\s+not\s+paying\b",
)
FIN_STRAIN: Final[tuple[str, ...]] = (
    r"\bthat's\s+a\s+lot\b",
    r"\b(?:insane|crazy|ridiculous|outrageous|steep)\b",
    r"\b(?:is|it's|would\s+be|seems)\s+(?:really\s+|pretty\s+|kind\s+of\s+)?(?:hard|tough|difficult|a\s+stretch)\b",
    r"\ba\s+stretch\b",
    r"\b(?:you're|you\s+are)\s+(?:kidding|joking)\b",
    r"\bsure,?\s+because\b",
    r"\bon\s+top\s+of\b",
    r"\bseems\s+like\s+a\s+lot\b",
    r"\bworth\s+(?:it|\$\s?\d[\d,]*)\?",
)
"""Strain words that are a money worry only beside money: "That's a lot." after a price."""
MONEY_CONTEXT: Final[tuple[str, ...]] = (
    r"\$\s?\d",
    r"\b\d+\s+(?:a|per)\s+(?:month|week|session|class|semester|year)\b",
    # a price said in words: "one-fifty a month", "ninety a session"
    r"(?:-[a-z]+|ty)\s+(?:a|per)\s+(?:month|week|session|class|semester|year)\b",
    r"\b(?:hundred|thousand)\b",
    r"\b(?:price|cost|fee|fees|tuition|invoice|bill|pay|paying|paid|money|budget|registration)\b",
)
"""Words that make the sentence, or the next one in the same turn, about money."""

FIN_MODERATE: Final[tuple[str, ...]] = (
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
    r"\bpaycheck\b",
    r"\bpayday\b",
    r"\b(?:limited|tight)\s+(?:this\s+year|right\s+now)\b",
    r"\bbudget\s+is\s+(?:pretty\s+|really\s+|very\s+)?limited\b",
    r"\b(?:financial|money)\s+help\b",
    r"\b(?:cost|price|money)\s+is\s+(?:an?\s+|the\s+)?(?:issue|problem|concern)\b",
    r"\b(?:anything|something|option)\s+cheaper\b",
    r"\bcheaper\s+option\b",
    r"\btalk\s+\w+\s+(?:\w+\s+)?about\s+the\s+budget\b",
)
FIN_LOW: Final[tuple[str, ...]] = (
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
    r"\bcu[aá]nto\s+(?:cuesta|es|cobran|vale)\b",
    r"\bprecios?\b",
    r"\bsibling\s+(?:discount|rate|break)\b",
    r"\bsiblings\s+get\s+a\s+break\b",
    r"\bregistration\s+fee\b",
)

# ---------------------------------------------------------------------------
# Objections, by topic. Price is not a topic: it is the financial dimension.

OBJECTIONS: Final[tuple[ObjectionTopic, ...]] = (
    ObjectionTopic(
        "distance",
        (
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
            r"\beach\s+way\b",
            r"\b(?:that|the)\s+drive\b",
            r"\b(?:don't|do\s+not)\s+have\s+a\s+car\b",
            r"\bcan't\s+drive\s+(?:her|him|them)\b",
            r"\bmuy\s+lejos\b",
            r"\b\d+\s*(?:minutes|mins|miles)\s+away\b",
            r"\b\d+\s*(?:min|mins|minutes|miles)\s+from\s+(?:us|our|home|the\s+house)\b",
            r"\bno\s+(?:tengo|tenemos)\s+(?:carro|coche|auto)\b",
        ),
        Level.MODERATE,
    ),
    ObjectionTopic(
        "schedule",
        (
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
            r"\bwork(?:s|ing)?\s+late\b",
            r"\b(?:can't|cannot|not\s+sure\s+(?:we|i|he|she)\s+can)\s+keep\s+up\s+with\b",
            r"\bworried\s+about\s+the\s+(?:\w+\s+)?(?:practices|times?|schedule|days?)\b",
            r"\b(?:practices|games|every\s+(?:weekend|night|day))\b[^.?!]{0,40}\b(?:is|are)\s+too\s+much\b",
            r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)days?|week(?:day|end|night)s?|mornings?|"
            r"afternoons?|evenings?)\s+(?:just\s+)?(?:don't|doesn't|won't|do\s+not|does\s+not)\s+work\b",
        ),
        Level.MODERATE,
    ),
    ObjectionTopic(
        "child_reluctant",
        (
            r"\b(?:doesn't|does\s+not|don't|won't)\s+want\s+to\s+(?:go|do|come|try|join|continue|play|dance|swim)\b",
            r"\bnever\s+wants\s+to\s+go\s+back\b",
            r"\bterrified\b",
            r"\bwere\s+mean\b",
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
            r"\b(?:says|thinks|said)\s+(?:it's|it\s+is|its|it\s+was)\s+(?:boring|dumb|lame)\b",
            r"\bcan't\s+get\s+(?:him|her|them)\s+to\b",
        ),
        Level.MODERATE,
    ),
    ObjectionTopic(
        "program_fit",
        (
            r"\b(?:not|isn't|n't)\b[\w\s']{0,24}\b(?:right|good)\s+fit\b",
            r"\btoo\s+(?:young|old|advanced|basic|fast|slow|easy|hard)\b",
            r"\b(?:not\s+sure|don't\s+know\s+if)\s+(?:he's|she's|they're|he\s+is|she\s+is)\s+ready\b",
            r"\bwould\s+bore\b",
            r"\bmuch\s+(?:younger|older)\b",
            r"\bsomething\s+(?:slower|faster|more\s+advanced)\b",
        ),
        Level.LOW,
    ),
    ObjectionTopic(
        "commitment",
        (
            r"\b(?:don't|do\s+not)\s+want\s+to\s+commit\b",
            r"\b(?:year|twelve\s+month|12\s+month|annual)\s+(?:contract|commitment)\b",
            r"\bcontract\s+is\s+a\s+lot\b",
            r"\bmonth\s+to\s+month\b",
            r"\bnot\s+(?:signing|doing|committing\s+to)\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}(?:contract|commitment)\b",
            r"\btoo\s+(?:much\s+of\s+a\s+)?commitment\b",
        ),
        Level.MODERATE,
    ),
    ObjectionTopic(
        "service_quality",
        (
            r"\bfrustrat\w*\b",
            r"\bnot\s+impressed\b",
            r"\bnobody\s+was\s+there\b",
            r"\bno\s+one\s+(?:was\s+there|called|showed)\b",
            r"\bdisorganized\b",
            r"\brude\b",
            r"\bnobody\s+(?:called|showed|told)\b",
            r"\bnever\s+(?:showed|called\s+(?:us\s+)?back|got\s+back)\b",
            r"\bnot\s+thrilled\b",
            r"\byelled\s+at\b",
            r"\bon\s+(?:his|her)\s+phone\s+the\s+whole\s+time\b",
            r"\b(?:was|were|it's\s+been)\s+a\s+(?:mess|disaster|joke)\b",
            r"\bkept\s+cancel+ing\b",
            r"\bcancel+ed\s+on\s+us\b",
        ),
        Level.MODERATE,
    ),
)
# A competitor mention is always a signal that another offer is on the table; it
# is also an objection when the family pushes back (a money blocker or a refusal).
COMPETITOR: Final[tuple[str, ...]] = (
    r"\bymca\b",
    r"\bboys\s*(?:&|and)\s*girls\s+club\b",
    r"\boffer\s+from\b",
    r"\balso\s+looking\s+at\b",
    r"\b(?:signed|enrolled|registered)\s+(?:\w+\s+)?(?:up\s+)?(?:at|with)\b",
    r"\banother\s+(?:academy|club|program|studio|gym|school|place|camp|team)\b",
    r"\bsomewhere\s+else\b",
    r"\belsewhere\b",
    r"\bthe\s+other\s+(?:academy|club|program|studio|gym|school|place|camp|team)\b",
    r"\bwent\s+(?:ahead\s+)?with\s+(?:the|a|an|another)\s+(?:[\w']+\s+){0,3}"
    r"(?:studio|club|school|academy|program|place|gym|team|camp)\b",
)

# ---------------------------------------------------------------------------
# Additional signals: life events worth acting on, each with its urgency and the
# action that answers it.

SIGNALS: Final[tuple[SignalRule, ...]] = (
    SignalRule(
        "job_loss",
        (
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
    SignalRule(
        "family_change",
        (
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
    SignalRule(
        "special_needs",
        (
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
    SignalRule(
        "health",
        (
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
    SignalRule(
        "relocation",
        (
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
    SignalRule(
        "referral_source",
        (
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
