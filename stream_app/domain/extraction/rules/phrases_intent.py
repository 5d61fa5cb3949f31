"""Phrase tables that decide the conversation's intent.

Plain data, read the same way as `phrases_concerns`: regular-expression sources
over normalised text, joined into one case-insensitive pattern per table where
`intent` matches them. Most are matched on the family's sentences; the AGENT_ASKS_*
tables are matched on the agent's turn before a family reply, so a bare "no" or a
list of days can be read as the answer to the question the agent asked.
"""

from __future__ import annotations

from typing import Final

from stream_app.domain.extraction.rules.phrases_context import RELATIVE_WHO, RELATIVE_WHO_ES

DECLINE: Final[tuple[str, ...]] = (
    r"\b(?:not|no\s+longer|not\s+really)\s+interested\b",
    r"\bno\s+thank(?:s|\s+you)\b",
    r"\bnot\s+for\s+us\b",
    r"\b(?:don't|do\s+not)\s+think\s+(?:it's|it\s+is|this\s+is|that's)\s+(?:really\s+)?for\s+(?:us|him|her|them)\b",
    r"\bhold(?:ing)?\s+off\s+for\s+good\b",
    r"\b(?:don't|do\s+not|no\s+need\s+to)\s+(?:worry\s+about\s+|bother\s+)?follow(?:ing)?\s+up\b",
    r"\bgracias,?\s+pero\s+no\b",
    r"\b(?:we'll|we\s+will|we're\s+going\s+to|we\s+are\s+going\s+to|gonna)\s+(?:probably\s+)?(?:pass|skip)\b",
    r"\b(?:going\s+to|gonna|have\s+to|'ll|will)\s+(?:have\s+to\s+)?say\s+no\b",
    r"\bwent\s+(?:ahead\s+)?with\s+(?:the|a|an|another)\s+(?:[\w']+\s+){0,3}"
    r"(?:studio|club|school|academy|program|place|gym|team|camp|class)\b",
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
    # declines phrased politely: "we're good for now", "we'll sit this one out"
    r"\b(?:we're|we\s+are)\s+(?:good|ok|okay|fine)(?:\s+for\s+now)?(?:,?\s+thanks?(?:\s+you)?)?\s*(?:[.!]|$)",
    r"\bsit\s+(?:this|it)\s+(?:one\s+)?out\b",
    r"\b(?:we're|we\s+are)\s+not\s+(?:doing|going\s+to\s+do|gonna\s+do)\b",
    r"^not\s+this\s+(?:year|season|time|summer|semester)\s*[.!]*$",
    r"\b(?:doesn't|does\s+not|don't\s+think\s+it)\s+makes?\s+sense\b",
    r"\bnot\s+(?:going\s+to|gonna)\s+(?:force|push|make)\s+(?:him|her|them)\b",
    r"\b(?:we|we've)\s+(?:just\s+)?moved\s+(?:to|away)\b",
    r"\b(?:went|going|go)\s+(?:with|to)\s+[\w\s]{1,30}\s+instead\b",
    r"\bhard\s+pass\b",
    r"\bno\s+(?:way|gracias)\b",
    # a thanks that concedes the offer is not taken: "thanks anyway", "thank you though"
    r"\bthanks?\s+(?:you\s+)?(?:anyway|anyways|though)\b",
    r"^\W*(?:yeah|yea|ya),?\s+no\W*$",
    r"\b(?:don't\s+think\s+(?:we|he|she|they)(?:'ll|\s+will)|(?:we|he|she|they)\s+won't)\s+be\s+"
    r"(?:back|coming\s+back|returning|continuing)\b",
    r"\b(?:had|have|going)\s+to\s+(?:pull|take)\s+(?:him|her|them)(?:\s+out)?\b",
    r"\b(?:we've|we\s+have|we)\s+(?:kind\s+of\s+|kinda\s+|already\s+)?moved\s+on\b",
    r"\b(?:not|isn't|no\s+longer)\s+(?:really\s+)?into\s+(?:it|this|that|\w+)\s+anymore\b",
    r"\blost\s+interest\b",
    r"\b(?:have|had|need|going)\s+to\s+(?:cancel|withdraw|drop\s+out|stop)\b",
    r"\b(?:going\s+to|gonna|decided\s+to|we'll|we\s+will)\s+go\s+with\s+(?:the|a|an|another)\s+(?:[\w']+\s+){0,3}"
    r"(?:tutor|coach|teacher|studio|club|school|academy|gym|team|camp|place)\b",
    # "so no cheer this season": the activity refused for a stretch of time
    r"\bno\s+(?:\w+\s+)?this\s+(?:year|season|semester|summer|fall|spring|winter|term)\b",
)
SCHEDULE_REQUEST: Final[tuple[str, ...]] = (
    r"\b(?:can|could|may)\s+(?:we|i)\s+(?:please\s+)?(?:look\s+at\s+)?(?:book|schedule|set\s+up|come\s+(?:in|by|for)"
    r"|do\s+(?:the|a|an)\s+(?:trial|assessment|tour|visit|class|evaluation)|start|sign|register|enroll)",
    r"\bbook\s+(?:a|an|the|us|him|her|them|me)\b",
    r"\bschedule\s+(?:a|an|the)\b",
    r"\bset\s+up\s+(?:a|an|the)\s+(?:trial|tour|visit|time|class|assessment)\b",
    r"\b(?:like|love|want)\s+to\s+(?:schedule|book|set\s+up|come\s+in|visit|sign|enroll|register)\b",
    r"\bsign\s+(?:[\w']+\s+){0,3}up\b",
    r"\bhold\s+(?:it|that|a\s+spot|the\s+spot|a\s+place|a\s+seat)\s+for\b",
    r"\b(?:can|could)\s+(?:we|i)\s+(?:grab|take|get)\s+(?:that|it|the)\b",
    r"\b(?:can|could)\s+we\s+come\s+(?:this|next|on|at|to)\b",
    r"\b(?:let's|lets)\s+(?:do|book|go\s+with)\b",
    r"\b(?:book|grab)\s+it\b",
    r"\b(?:c[oó]mo|d[oó]nde)\s+(?:lo|la|los)\s+inscrib\w*\b",
    r"\bhow\s+(?:do|can)\s+(?:i|we)\s+(?:register|sign|enroll|book)\b",
    r"\bready\s+to\s+start\b",
    r"\bwhen\s+can\s+(?:she|he|they|we)\s+start\b",
    r"\b(?:he|she|they|we)\s+can\s+start\b",
    r"\bput\s+(?:her|him|them|us|me)\s+down\b",
    r"\b(?:can|could)\s+you\s+(?:put|get|fit|squeeze|sign)\s+(?:her|him|them|us|me)\s+(?:in|into|down)\b",
    r"\b(?:we're|we\s+are)\s+in\s+for\b",
    r"\bcount\s+us\s+in\b",
    r"\bwe'll\s+be\s+there\b",
    r"\blet's\s+do\b",
    r"\bget\s+(?:him|her|them)\s+(?:in|into)\b",
    r"\b(?:can|could)\s+(?:we|i|he|she|they)\s+come\s+(?:watch|see|try|visit|observe)\b",
    r"\block\s+(?:it|that|this|us|him|her|them)\s+in\b",
    r"\bsee\s+(?:you|ya)\s+(?:then|there|on|at|next|tomorrow|soon|saturday|sunday|monday|tuesday|"
    r"wednesday|thursday|friday)\b",
    r"\b(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:days?)?|\d{1,2}(?::\d{2})?\s*(?:am|pm)?"
    r"|(?:the\s+)?\d{1,2}(?:st|nd|rd|th))\s+"
    r"(?:works|(?:would|could|should|might)\s+work|would\s+be\s+(?:great|perfect|good|fine|best)"
    r"|is\s+(?:perfect|good|fine|great))\b",
    # moving a booking is booking: "can we move it", "could we reschedule", "do it after that?"
    r"\b(?:can|could)\s+(?:we|i|you)\s+(?:move|reschedule|push|switch|change)\s+(?:it|that|the|our|her|his|him)\b",
    r"\breschedul\w*\b",
    r"\b(?:can|could)\s+we\s+do\s+it\s+(?:after|on|next|later|another|a\s+different)\b",
    r"\b(?:can|could)\s+(?:we|i)\s+do\s+the\s+(?:[\w']+\s+){0,3}(?:week|session|class|camp|slot|one)\b",
)
UNCLEAR: Final[tuple[str, ...]] = (
    r"\bwrong\s+number\b",
    r"\bwho\s+is\s+this\b",
    r"\bwho's\s+this\b",
    r"^\W*(?:sorry,?\s+|um,?\s+)?who\s*\?",
    r"\b(?:didn't|didnt|never)\s+(?:sign\s+up|ask)\b",
    r"\bdon't\s+have\s+any\s+kids\b",
    r"\bcall\s+(?:me\s+)?back\s+later\b",
    r"\b(?:we're|i'm)\s+(?:driving|at\s+work|in\s+a\s+meeting)\b",
    r"\bbad\s+time\b",
    r"\bnot\s+a\s+good\s+time\b",
    r"\b(?:walking\s+)?into\s+a\s+meeting\b",
    r"\bin\s+a\s+meeting\b",
    r"\b(?:try|call)\s+me\s+(?:back\s+)?(?:later|next\s+week|another\s+time|tomorrow)\b",
    r"\bwrong\s+person\b",
    r"\b(?:i'm|i\s+am)\s+(?:actually\s+)?not\s+(?:the|his|her|their)\s+(?:parent|mom|dad|mother|father)\b",
    r"\babout\s+to\s+(?:pick\s+up|head\s+(?:out|in)|leave|walk\s+in|get\s+on|go\s+into)\b",
)
LONG_DEFERRAL: Final[tuple[str, ...]] = (
    r"\breach\s+out\s+(?:in|later|next|after)\b",
    r"\bin\s+a\s+(?:couple|few)\s+(?:of\s+)?(?:months|weeks)\b",
    r"\bcheck\s+back\b",
    r"\bafter\s+the\s+holidays\b",
    r"\bnext\s+(?:month|season|year|semester|term)\b",
    # "in the fall" as a time to come back, not "the fall program"
    r"\bin\s+the\s+(?:spring|summer|fall|autumn|winter|new\s+year)\b(?=\s*(?:[.,!?]|$))",
    r"\bafter\s+the\s+new\s+year\b",
    r"\bnot\s+until\b",
    r"\bhold\s+off\b",
    r"\brevisit\b",
    r"\b(?:el\s+)?pr[oó]ximo\s+(?:mes|año|semestre|verano|curso)\b",
    r"\bel\s+año\s+que\s+viene\b",
    r"\bm[aá]s\s+adelante\b",
)
CONSIDER: Final[tuple[str, ...]] = (
    r"\bnot\s+sure\b(?!\s+(?:if|whether)\s+(?:this|i\s+have|i've\s+got)\s+(?:is\s+)?the\s+right)",
    r"\bstill\s+thinking\b",
    r"\bneed\s+to\s+(?:compare|see\s+(?:the\s+)?(?:numbers|calendar|schedule))\b",
    r"\bI\s+don't\s+know\b",
    r"\bthink\s+about\s+it\b",
    r"\blet\s+me\s+think\b",
    r"\b(?:a\s+lot|lots|much|plenty)\s+to\s+think\s+about\b",
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
    r"\b(?:i'll|i\s+will|we'll|we\s+will|will)\s+(?:let\s+you\s+know|call\s+you|get\s+back|text\s+you|reach\s+(?:back\s+)?out)\b",
    r"\bif\s+we\s+decide\b",
    r"\ba\s+lo\s+mejor\b",
    r"^\W*(?:probably|possibly|perhaps)\W*$",
    r"\bleaning\s+(?:toward|towards)\b",
    r"\bbefore\s+(?:we|i)\s+(?:decide|commit|sign\s+up|enroll)\b",
    r"\btodav[ií]a\s+no\b",
    r"\bestamos\s+viendo\b",
    r"\bkeep\s+me\s+posted\b",
    r"\bwaiting\s+to\s+see\b",
    r"\bthinking\s+about\s+it\b",
    r"\bweigh(?:ing)?\s+(?:it|our\s+options|things|that)\b",
    r"\bon\s+the\s+fence\b",
    r"\bmull(?:ing)?\s+(?:it\s+)?over\b",
    r"\bsleep\s+on\s+it\b",
    r"\bgive\s+(?:me|us)\s+(?:a\s+)?(?:few|couple(?:\s+of)?)\s+(?:days|weeks)\b",
    r"\bnot\s+ready\s+to\s+(?:sign|commit|decide|enroll|register)\b",
    r"\btalk\s+it\s+over\b",
    r"\bwant\s+to\s+see\s+(?:what|how)\b[^.?!]{0,40}\bfirst\b",
    r"\b(?:lo|la)\s+(?:voy\s+a|vamos\s+a)\s+pensar\b",
    r"\b(?:pensarlo|d[eé]jame\s+pensar)\b",
    r"\b(?:le|te)\s+(?:aviso|llamo|digo)\b",
)
DEFER_TO_DECISION_MAKER: Final[tuple[str, ...]] = (
    r"\b(?:talk|speak|check|discuss|run\s+it\s+by|ask|coordinate)(?:s|ed|ing)?\s+(?:it\s+over\s+|this\s+over\s+)?"
    rf"(?:with\s+|to\s+)?(?:my|his|her|their)\s+{RELATIVE_WHO}\b",
    rf"\b(?:hablar|consultar)(?:lo)?\s+con\s+(?:mi|su)\s+{RELATIVE_WHO_ES}\b",
    rf"\b(?:let\s+me|lemme|i'll|i\s+will|i\s+(?:just\s+|really\s+)?(?:need|have)\s+to|i\s+gotta|we\s+(?:just\s+)?need\s+to)\s+"
    rf"[\w\s']{{0,30}}\b(?:with|by)\s+(?:my|his|her)\s+{RELATIVE_WHO}\b",
    r"\b(?:she's|he's)\s+the\s+decider\b",
    rf"\b(?:my|his|her)\s+{RELATIVE_WHO}(?:'s|\s+is)\s+the\s+one\s+who\s+(?:decides|handles|signs)\b",
    r"\b(?:you'd|you\s+would|you'll|you\s+will)\s+(?:have|need)\s+to\s+(?:talk|speak)\s+(?:to|with)\s+(?:her|him)\b",
    rf"\b(?:my|his|her)\s+{RELATIVE_WHO}\s+(?:wants|needs|has)\s+to\s+(?:see|meet|check|look|hear|agree)\b",
    r"\b(?:let\s+me|i'll|i\s+will|i\s+need\s+to|i\s+have\s+to)\s+(?:see|check|ask|talk|figure\s+out)\b"
    rf"[\w\s']{{0,30}}\bmy\s+{RELATIVE_WHO}\b",
)
INTERESTED: Final[tuple[str, ...]] = (
    r"\b(?:interested|intrested|intersted|interseted|interisted)\b",
    r"\bexcited\b",
    r"\b(?:would|'d)\s+love\b",
    r"\bcan't\s+wait\b",
    r"\b(?:we're|we\s+are)\s+in\s*(?:[.!,]|$)",
    r"\b(?:asking|asks|begging|wants)\s+(?:\w+\s+){0,3}(?:go|come)\s+(?:back|again)\b",
    r"\bdefinitely\s+want\b",
    r"\bsounds\s+(?:great|good|nice|fun|amazing|awesome|perfect)\b",
    r"\blove[sd]?\s+(?:it|that|this)\b",
    r"\bthat\s+(?:could|would|might|should)\s+(?:actually\s+|really\s+|totally\s+)?work\b",
    r"\bthat\s+(?:could|would|might)\s+(?:actually\s+|really\s+)?be\s+(?:perfect|great|ideal)\b",
    r"\b(?:she|he|they)(?:'d|\s+would)\s+love\b",
    r"\b(?:estamos|est[aá])\s+interesad[oa]s?\b",
    r"\bme\s+encantar[ií]a\b",
    r"\b(?:he's|she's|they've|he\s+has|she\s+has)\s+been\s+(?:asking|begging|talking)\s+(?:about|for)\b",
    r"\b(?:so|really|totally)\s+into\s+(?:this|it|that)\b",
    r"\b(?:really\s+|so\s+)?wants?\s+to\s+(?:do|try|join|start)\s+(?:it|this|that)\b",
    r"^\W*(?:omg|oh|ooh)\W+(?:yes|yay)\b",
    r"\b(?:we'll|we\s+will|i'll|i\s+will)\s+try\s+to\s+(?:make\s+it|come|stop\s+by|swing\s+by|be\s+there)\b",
)
ASK_UNMARKED: Final[tuple[str, ...]] = (
    r"^\W*(?:(?:and|also|but|so|oh|ok|okay|yes|yeah|sure)\W+){0,2}"
    r"(?:do|does|did|is|are|can|could|will|would|should)\s+(?:he|she|they|you|we|i|it|there|the|this|that)\b",
    r"\b(?:pls|please)\s+send\b",
    r"\b(?:i'd|i\s+would|i)\s+(?:like|need|love|want)\s+to\s+know\b",
    r"\bwondering\s+(?:if|whether|what|how|when)\b",
    r"\b(?:is|are)\s+there\s+(?:a|an|any)\b",
    r"\bcan\s+you\s+(?:tell|send|email|text)\b",
    r"\b(?:quer[ií]a|quiero)\s+(?:preguntar|saber)\b",
)
"""A question texted without its question mark ("does he have to play goalie"), or an ask."""
INFO_REQUEST: Final[tuple[str, ...]] = (
    r"\b(?:pls|please)\s+send\b",
    r"\bsend\s+(?:me|it|us|over|the|pls|please)\b",
    r"\bemail\s+me\b",
    r"\b(?:i'd|i\s+would|i)\s+(?:like|need|love|want)\s+to\s+know\b",
    r"\b(?:wants?|wanted|wondering)\s+(?:to\s+know\s+)?(?:if|whether|what|how|when)\b",
    r"\b(?:is|are)\s+there\s+(?:a|an|any)\b",
    r"\b(?:quer[ií]a|quiero)\s+(?:preguntar|saber)\b",
    r"\bcan\s+you\s+(?:tell|send|email|text)\b",
    r"\bfind\s+out\b",
    r"\bcan\s+you\s+(?:tell|send|email|text)\b",
    r"^(?:how\s+much|what's|what|when|where|which|is\s+there|are\s+there|do\s+you|does)\b",
    # a question opening a later clause: "free is good but what's the monthly after that"
    r"(?:[,;]\s*|\bbut\s+|\band\s+)(?:what's|when's|where's|how\s+much|what\s+(?:is|are|does|do|time|day))\b",
    r"\b(?:when|what|where|how|which)\s+(?:does|do|is|are|time|times|days?|much|long|old|should|will)\b",
)
RESOLVED: Final[tuple[str, ...]] = (
    r"\bthat\s+(?:might|could|would|should)\s+(?:be\s+better|work|help)\b",
    r"\bthat\s+works\b",
    r"\bthat\s+helps\b",
    r"\bsounds\s+better\b",
    r"\bthat's\s+(?:perfect|great|good\s+to\s+know)\b",
    r"\bthat\s+(?:might|could|would)\s+(?:actually\s+)?work\b",
    r"\bthat\s+(?:might|could|would)\s+(?:actually\s+)?be\s+(?:perfect|great|ideal|better)\b",
)
REDIRECT: Final[tuple[str, ...]] = (
    r"\b(?:call|text|email)\s+(?:her|him|them|me)\s+(?:instead|later|back|tomorrow)\b",
)
AGENT_ASKS_INTEREST: Final[tuple[str, ...]] = (
    r"\binterest(?:ed)?\b",
    r"\bwould\s+(?:you|he|she|they)\s+like\b",
    r"\bwant\s+(?:me\s+)?to\b",
    r"\bstill\s+want\b",
    r"\bready\s+to\b",
    r"\bsigue\s+interesad\w*\b",
)
BARE_NO: Final = (
    r"^(?:(?:sorry|oh|um),?\s+)?"
    r"(?:no|nope|nah|not\s+really|not\s+anymore|not\s+at\s+the\s+moment|ya\s+no)\b"
)
"""A family reply that opens with a refusal ("no", "nope", "not really")."""
CONFIRM_REQUEST: Final[tuple[str, ...]] = (
    r"\breply\s+\S+\s+to\s+confirm\b",
    r"\bconfirm(?:ing)?\b",
)
"""The agent asking the family to confirm a booking ("Reply YES to confirm")."""
CONFIRM_REPLY: Final = r"^(?:yes|yep|yeah|y|c|confirm(?:ed)?|s[ií]|ok|okay|👍)\s*[.!]*$"
"""A bare confirmation, the whole sentence."""
DAY_SHORT: Final = (
    r"\b(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun|lunes|martes|mi[eé]rcoles|jueves"
    r"|viernes|s[aá]bado|domingo)\b"
)
"""Day names as texted, read only inside a short question ("next sat?", "thurs?")."""
BUT_NOT_NOW: Final[tuple[str, ...]] = (
    r"\bbut\b.*\?",
    r"\bbut\b.*\b(?:call|try|reach)\s+(?:me\s+|us\s+)?back\b",
    r"\b(?:right\s+now|at\s+the\s+moment|for\s+now)\b",
)
"""After a refusal, what turns it into a question or a not-yet ("not interested right now")."""
AGENT_OFFERS_BOOKING: Final[tuple[str, ...]] = (
    r"\b(?:want|like)\s+(?:me\s+)?to\s+(?:book|schedule|reserve|save|hold|grab)\b",
    r"\b(?:shall|should|can)\s+i\s+(?:book|schedule|reserve|save|hold|put)\b",
    r"\b(?:quiere|quieres|desea)\s+(?:agendar|reservar|inscribir)\w*\b",
    r"\b(?:le|te|lo|la)\s+(?:reservo|aparto|agendo|inscribo|guardo)\b",
)
"""The agent offering to book, so a "yes" that opens the reply accepts a booking."""
NONE_OF_THEM: Final = (
    r"^\W*(?:(?:no|nope|sorry|um),?\s+)?(?:neither|none\s+of\s+(?:those|these|them|that))\b"
)
"""A reply turning down every day or time the agent offered ("neither, he has therapy")."""
THWARTED: Final = (
    r"\b(?:were|was)\s+(?:gonna|going\s+to|planning\s+(?:on|to))\b"
    r"|\b(?:wanted|meant|planned)\s+to\b"
)
"""A plan given in the past: "we were gonna sign up, but ..." books nothing."""
UNDECIDED: Final = r"\b(?:if|once|whether|when)\s+(?:we|i)\s+(?:ever\s+)?(?:decide|want)\b"
"""A booking still to be decided: "we'll reach out if we decide to sign up" books nothing."""
HEDGED_BOOKING: Final = r"\b(?:probably|maybe|might|possibly|perhaps)\s+(?:\w+\s+){0,2}$"
"""Just before a booking phrase, a hedge that leaves it undecided ("we'll probably sign up")."""
BOOKING_VERB: Final = (
    r"\b(?:sign\w*\s+(?:\w+\s+)?up|enroll\w*|regist\w*|book\w*|join\w*|start\w*|do\s+it|try\s+it)\b"
)
"""What a plan told in the past was to do, for "we were going to enroll her, but ..." ."""
YES: Final = (
    r"^\W*(?:(?:omg|oh|ooh|um|well)\W+)?(?:yes|yeah|yep|yup|sure|s[ií]|ok(?:ay)?|absolutely|definitely|please\s+do)\b"
    r"(?![^.!?]*\bbut\b)"
)
"""A reply that opens with assent and takes nothing back in the same sentence."""
QUESTION_OPENER: Final = (
    r"^\W*(?:(?:oh|ok|okay|so|and|also|but|hi|hola|hey|um|well|sorry|quick\s+question)\W+){0,3}"
    r"(?:is|are|was|do|does|did|can|could|will|would|should|may|what|what's|when|where|which|who|how"
    r"|any|anything|¿|cu[aá]nto|cu[aá]ndo|qu[eé]|c[oó]mo|d[oó]nde|hay|tienen|puede)"
)
"""How a question that asks for something opens, English or Spanish ("¿...", "cuánto ...")."""
HEDGE: Final[tuple[str, ...]] = (
    r"\bbut\s+(?:\w+\s+){0,3}(?:need|have\s+to|want\s+to|not\s+(?:sure|ready|yet))\b",
    # no "but" needed when "just" carries the hold-back: "still interested, just waiting to hear"
    r"\bjust\s+(?:need|needs|have\s+to|has\s+to|gotta|waiting|can't|cannot)\b",
    r"\bwaiting\s+(?:to\s+hear|for|on)\b",
)
"""After a keen word, a "but" that holds the decision back ("interested, but we need a week")."""
RHETORICAL: Final[tuple[str, ...]] = (
    r"^\W*why\b",
    r"\b(?:are|r)\s+(?:you|u)\s+(?:kidding|serious|joking)\b",
    r"\bseriously\s*\?",
)
"""Questions that argue rather than ask."""
AGENT_ASKS_WHEN: Final[tuple[str, ...]] = (
    r"\b(?:what|which)\s+(?:days?|times?)\b",
    r"\bwhen\s+(?:works|would|is\s+good)\b",
    r"\bdoes\s+that\s+work\b",
)
