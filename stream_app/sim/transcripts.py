"""What simulated families say: varied, natural transcripts with the reading they intend.

Each generated transcript carries the intent and financial concern a human labeller
would give it, so a test can measure how often the rules extractor reads the
simulation the way it was meant (a simulation whose families are misheard would
train the learner on noise). Wording is drawn from several phrasings per topic,
with fillers, names and pronouns varied, so the extractor is not tested against
one memorised sentence. Only the family's lines carry signals; the agent's line
is context, as in a real call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from stream_app.domain.extraction.model import Intent, Level


class Topic(StrEnum):
    """What the family's side of a conversation is about."""

    INTRO_READY = "intro_ready"
    COST = "cost"
    COST_QUESTION = "cost_question"
    SPOUSE = "spouse"
    CHILD = "child"
    SCHEDULE = "schedule"
    HESITANT = "hesitant"
    COST_RESOLVED = "cost_resolved"
    SPOUSE_RESOLVED = "spouse_resolved"
    CHILD_RESOLVED = "child_resolved"
    SCHEDULE_RESOLVED = "schedule_resolved"
    HESITANT_RESOLVED = "hesitant_resolved"
    READY = "ready"
    BOOK = "book"
    TRIAL_FEEDBACK = "trial_feedback"
    HAPPY = "happy"
    DECLINE = "decline"
    OPT_OUT = "opt_out"


@dataclass(frozen=True, slots=True)
class Reading:
    """The extraction a human would make of the family's words."""

    intent: Intent
    financial: Level


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    topic: Topic
    intended: Reading | None
    """None for an opt-out: the keyword scan acts on it before any extraction."""


@dataclass(frozen=True, slots=True)
class Speakers:
    """Names a conversation is voiced with; fixed per family."""

    parent_first: str
    child: str
    he: str
    him: str


_I, _L = Intent, Level

# Per topic: (intended reading, phrasings). `{child}`, `{he}`, `{him}`, `{He}` are
# filled per family; a phrasing may hold several sentences.
_LINES: dict[Topic, tuple[Reading, tuple[str, ...]]] = {
    Topic.INTRO_READY: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "Oh yes, thanks for calling! {child} has been talking about it all week. "
            "We're definitely interested.",
            "Hi! Yes, it sounds great, {child} would love it.",
            "Yes, we're interested. {He} can't wait to try it.",
            "Thanks for reaching out, that sounds amazing. {child} is so excited.",
            "Oh that sounds fun! We'd love to hear more, {child} is really interested.",
        ),
    ),
    Topic.COST: (
        Reading(_I.OBJECTING, _L.MODERATE),
        (
            "It sounds great, but it's a bit expensive for us.",
            "Sounds nice, but the price is steep for us right now.",
            "Honestly it's more than we budgeted, money is really tight.",
            "It's too expensive for us at the moment.",
        ),
    ),
    Topic.COST_QUESTION: (
        Reading(_I.REQUESTING_INFO, _L.MODERATE),
        (
            "{child} would love it. We're on a tight budget though, is there any financial aid?",
            "We're interested. Do you have scholarships? We have to be careful with money.",
            "Money is tight for us. Can you tell me about the sliding scale?",
            "Is there financial assistance? We're on a budget.",
        ),
    ),
    Topic.SPOUSE: (
        Reading(_I.CONSIDERING, _L.NONE),
        (
            "It sounds nice, but I need to talk to my husband first.",
            "I'd have to check with my wife before we decide anything.",
            "Let me talk it over with my partner and get back to you.",
            "{His} dad would have to agree, I'll ask my husband tonight.",
            "I'll need to run it by my wife first, she handles the schedule.",
        ),
    ),
    Topic.CHILD: (
        Reading(_I.OBJECTING, _L.NONE),
        (
            "{He}'s really shy, I'm not sure {he} would want to go.",
            "Honestly {child} is scared of trying new things, {he} got upset last time.",
            "{He} doesn't want to go, {he} hated the last class we tried.",
            "{child} is very shy around new kids, {he} refuses to join groups.",
        ),
    ),
    Topic.SCHEDULE: (
        Reading(_I.OBJECTING, _L.NONE),
        (
            "{He} has soccer on Tuesdays and Thursdays, our schedule is packed.",
            "We're just too busy, {he} already does swimming on Mondays.",
            "Weekday afternoons conflict with {his} practice, we can't make it.",
            "Our schedule is crazy right now, {he} has practice most days.",
        ),
    ),
    Topic.HESITANT: (
        Reading(_I.CONSIDERING, _L.NONE),
        (
            "I'm not sure yet, let me think about it.",
            "We haven't decided, we're still deciding between a few things.",
            "Maybe. I need to think it over.",
            "Not sure yet, I'll get back to you.",
            "Hmm, we'll see. Let me think about it.",
        ),
    ),
    Topic.COST_RESOLVED: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "Oh wow, that's really reasonable now. That sounds great, thank you!",
            "That makes it affordable for us, we're definitely interested.",
            "Okay, with that help the cost is not an issue anymore. Sounds good!",
            "Thank you so much, that's very affordable. {child} would love it.",
        ),
    ),
    Topic.SPOUSE_RESOLVED: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "My husband loved the idea too, we're both on board. We're interested!",
            "Good news, my wife says yes. {child} is so excited.",
            "We're all agreed at home now, it sounds great.",
            "{His} dad is excited about it too, we'd love to go ahead.",
        ),
    ),
    Topic.CHILD_RESOLVED: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "{He} came to the open session and loved it! {He} can't wait.",
            "Those stories really helped, {child} is excited now.",
            "{child} loved it, {he}'s asking to go back.",
            "{He} had a blast, we're definitely interested now.",
        ),
    ),
    Topic.SCHEDULE_RESOLVED: (
        Reading(_I.SCHEDULING, _L.NONE),
        (
            "Oh, Saturday mornings would work for us. Can we book that?",
            "Saturdays work. Let's do it.",
            "If there's a Sunday class, we'd like to schedule a trial.",
            "Wednesday at 5pm works, can we book a spot?",
        ),
    ),
    Topic.HESITANT_RESOLVED: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "We thought about it and we'd love to give it a try.",
            "Okay, we're interested now. {child} keeps asking about it.",
            "We talked and it sounds great, we're in.",
            "Thanks for giving us time. We're definitely interested.",
        ),
    ),
    Topic.READY: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "Sounds good, we're still very interested.",
            "Thanks! {child} is excited about it.",
            "Great, we'd love that.",
            "Yes, that sounds great, thank you.",
        ),
    ),
    Topic.BOOK: (
        Reading(_I.SCHEDULING, _L.NONE),
        (
            "Can we book a trial class? Saturdays work best.",
            "Yes, let's schedule the trial. Thursday at 4pm works.",
            "We'd like to book a trial for {child}, see you Saturday!",
            "Please put {him} down for the next trial, Tuesday works.",
        ),
    ),
    Topic.TRIAL_FEEDBACK: (
        Reading(_I.CONSIDERING, _L.NONE),
        (
            "{He} had fun at the trial, we're still thinking about it.",
            "The trial was nice. Let me think about it and get back to you.",
            "{child} enjoyed it, we haven't decided yet.",
        ),
    ),
    Topic.HAPPY: (
        Reading(_I.INTERESTED, _L.NONE),
        (
            "{He} loves it, thanks for checking in!",
            "{child} is so happy there, we love it.",
            "{He} can't wait for every class, we love it.",
        ),
    ),
    Topic.DECLINE: (
        Reading(_I.DECLINING, _L.NONE),
        (
            "Thanks, but we've decided not to go ahead. It's not for us.",
            "No thank you, we're not interested anymore.",
            "We found another program closer to home, so we'll pass.",
            "Sorry, we're not interested. Please don't worry about it.",
        ),
    ),
    Topic.OPT_OUT: (
        Reading(_I.DECLINING, _L.NONE),
        (
            "Please stop calling me.",
            "Do not contact us again.",
            "Stop texting me please, we're not interested.",
            "Please remove me from your list.",
        ),
    ),
}

_FILLERS = ("", "", "", "Oh, ", "Yeah, ", "Hi, ", "Honestly, ")
_AGENT_LABELS = ("Agent", "Coach Sam", "Advisor Kim", "Academy")


def family_line(topic: Topic, rng: random.Random, who: Speakers) -> str:
    """One of the topic's phrasings, voiced for this family."""
    _, phrasings = _LINES[topic]
    line = rng.choice(phrasings).format(
        child=who.child,
        he=who.he,
        He=who.he.capitalize(),
        him=who.him,
        his="his" if who.he == "he" else "her",
        His="His" if who.he == "he" else "Her",
    )
    filler = rng.choice(_FILLERS)
    if not filler:
        return line
    keeps_capital = line.startswith((who.child, "I ", "I'"))
    return filler + (line if keeps_capital else line[0].lower() + line[1:])


def transcript(topic: Topic, rng: random.Random, who: Speakers, agent_says: str) -> Transcript:
    """A two-turn conversation: the academy's words, then the family's reply."""
    reading, _ = _LINES[topic]
    agent = rng.choice(_AGENT_LABELS)
    family = rng.choice(("Parent", who.parent_first))
    agent_text = " ".join(agent_says.split())
    text = f"{agent}: {agent_text}\n{family}: {family_line(topic, rng, who)}"
    return Transcript(text, topic, None if topic is Topic.OPT_OUT else reading)


__all__ = ["Reading", "Speakers", "Topic", "Transcript", "family_line", "transcript"]
