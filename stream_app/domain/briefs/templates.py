"""Per-action brief templates, as data: tone, directives, what to prepare and avoid, drafts.

A template's `{child}` is the child's first name (or "your child"); a draft's
`{parent}` is the parent's first name (or "there") and `{topics}` the family's last
two open objection topics (or "your concerns"). Templates carry no prices: a draft
may reach a family worried about money. `why` opens the timing rationale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stream_app.domain.actions import Action


@dataclass(frozen=True, slots=True)
class Template:
    """How one action is carried out before the lead's own signals are added."""

    tone: str
    directives: tuple[str, ...]
    prepare: tuple[str, ...]
    avoid: tuple[str, ...]
    why: str
    draft: str | None


SILENT: frozenset[Action] = frozenset({Action.WAIT, Action.STOP})
"""Actions that contact nobody: no directives from the lead's signals, no draft."""

TEMPLATES: Mapping[Action, Template] = MappingProxyType(
    {
        Action.WARM_FOLLOW_UP: Template(
            "warm",
            (
                "Open by asking how {child} is doing",
                "Show genuine interest in what they want for {child}",
                "Close with one clear, easy next step",
            ),
            ("program overview", "notes from the last conversation"),
            ("Don't hard-sell",),
            "Follow up while the conversation is still warm",
            "Hi {parent}, it was lovely to talk about {child}. How are you feeling about the"
            " program? Happy to answer anything.",
        ),
        Action.SCHEDULING_PUSH: Template(
            "enthusiastic",
            (
                "Offer two or three concrete slots for a visit or trial",
                "Confirm the booking before ending the call",
            ),
            ("available time slots", "what to bring to the first visit"),
            ("Don't casually mention fees", "Don't leave the time open-ended"),
            "Call while the scheduling intent is fresh",
            "Hi {parent}! Let's get {child} booked in. Which time works best for a visit?",
        ),
        Action.SCHOLARSHIP_OUTREACH: Template(
            "empathetic",
            (
                "Explain the scholarship and financial aid options in plain words",
                "Offer to walk them through applying",
            ),
            ("scholarship criteria", "financial aid application link"),
            ("Don't lead with the full sticker price", "Don't use vague 'affordable' language"),
            "Reach out while the cost question is on their mind",
            "Hi {parent}, we want {child} to be able to join whatever the budget. We have"
            " scholarship and financial aid options and I'd be glad to walk you through them.",
        ),
        Action.INFO_SEND: Template(
            "informational",
            ("Send the program details they asked for", "Invite questions"),
            ("program brochure", "schedule overview"),
            ("Don't overload them with attachments",),
            "Send promptly: they asked for it",
            "Hi {parent}, here are the program details for {child} you asked about."
            " Reply with any questions!",
        ),
        Action.GENTLE_NUDGE: Template(
            "gentle",
            ("Send a short, low-pressure check-in",),
            (),
            ("Don't ask for a commitment", "Don't send more than one message"),
            "Give them some space before a light reminder",
            "Hi {parent}, just checking in. No rush at all; we're here whenever you'd like to"
            " talk about {child}'s next step.",
        ),
        Action.OBJECTION_ADDRESS: Template(
            "reassuring",
            ("Acknowledge the concern in their words before answering it",),
            ("answers to common concerns", "a family story that faced the same concern"),
            ("Don't dismiss or argue with the concern",),
            "Reply once there is a considered answer, without letting it linger",
            "Hi {parent}, thank you for telling us about {topics}. Here's how we've helped other"
            " families in the same spot, so {child} can join with confidence.",
        ),
        Action.WELCOME_ONBOARD: Template(
            "enthusiastic",
            (
                "Welcome the family warmly",
                "Explain what to bring and where to go for the first session",
            ),
            ("first-session checklist", "location and parking details"),
            ("Don't bury the essentials in detail",),
            "Welcome them while the decision is fresh",
            "Welcome, {parent}! We're so excited to have {child} join us. Here's everything you"
            " need for the first session.",
        ),
        Action.RETENTION_CHECK_IN: Template(
            "warm",
            ("Ask how {child} is enjoying the program", "Listen for anything that gets in the way"),
            ("attendance history", "coach's notes on {child}"),
            ("Don't make it feel like a sales call",),
            "Check in soon, without crowding them",
            "Hi {parent}, how is {child} enjoying the program so far? We'd love to hear how it's"
            " going.",
        ),
        Action.FAMILY_ENGAGE: Template(
            "warm",
            (
                "Invite everyone involved in the decision to a short call",
                "Answer each person's questions",
            ),
            ("program overview for a new listener",),
            ("Don't pressure the parent in front of others",),
            "Allow time for the family to find a slot together",
            "Hi {parent}, would it help to set up a quick call with everyone involved in the"
            " decision for {child}?",
        ),
        Action.CHANNEL_SWITCH: Template(
            "friendly",
            (
                "Mention that earlier attempts did not get through",
                "Ask for their preferred way to be contacted",
            ),
            (),
            ("Don't repeat the channel that failed",),
            "Try the new channel later rather than stacking attempts",
            "Hi {parent}, we tried to reach you about {child}. Is this a better way to get in"
            " touch?",
        ),
        Action.WAIT: Template(
            "patient",
            ("Hold outreach and let the family come back in their own time",),
            (),
            ("Don't contact them before the wait is over",),
            "Give the family room before reconsidering",
            None,
        ),
        Action.STOP: Template(
            "respectful",
            ("End all outreach to this family",),
            (),
            ("Don't contact the family again",),
            "Outreach ends",
            None,
        ),
        Action.FIRST_SESSION_REMINDER: Template(
            "enthusiastic",
            ("Remind them of the first session's time and place", "Say what {child} should bring"),
            ("first-session time and location",),
            ("Don't make it sound like a warning",),
            "Remind them ahead of time",
            "Hi {parent}, a quick reminder that {child}'s first session is coming up. We can't"
            " wait to meet them!",
        ),
        Action.RESCHEDULE_OFFER: Template(
            "understanding",
            ("Offer a new slot for the missed session without any guilt",),
            ("make-up session slots",),
            ("Don't ask why they missed it", "Don't make them feel guilty"),
            "Offer a new slot before the miss becomes a habit",
            "Hi {parent}, we missed {child} at the last session, no worries at all! Would you"
            " like to pick a new time?",
        ),
        Action.BARRIER_INVESTIGATION: Template(
            "curious",
            (
                "Ask open questions about what makes attending hard",
                "Offer concrete help for whatever comes up",
            ),
            ("attendance history", "transport and schedule alternatives"),
            ("Don't assume the reason", "Don't blame the family"),
            "Call before the gap grows",
            "Hi {parent}, we've missed {child} lately. Is anything making it hard to get to"
            " sessions? We'd love to help.",
        ),
        Action.SOCIAL_PROOF: Template(
            "upbeat",
            ("Share a recent story or photos from families in {child}'s group",),
            ("recent photos or stories (with consent)",),
            ("Don't compare {child} with other children",),
            "There is no rush; let it land between sessions",
            "Hi {parent}, here's what the families in {child}'s group have been up to lately!",
        ),
        Action.LOW_COMMITMENT_INVITE: Template(
            "relaxed",
            ("Invite them to a free, no-commitment event",),
            ("upcoming open house dates",),
            ("Don't frame it as a step toward paying",),
            "Send ahead of the next open event",
            "Hi {parent}, we're hosting a free open house soon, a relaxed way for {child} to come"
            " and say hello. Would you like to join?",
        ),
        Action.WIN_BACK_OFFER: Template(
            "warm",
            ("Tell them {child} is missed", "Offer a concrete, easy way back"),
            ("return options", "any return incentive approved for this family"),
            ("Don't make them explain why they left",),
            "Reach out while returning still feels easy",
            "Hi {parent}, we miss having {child} with us! We'd love to welcome you back and make"
            " returning easy.",
        ),
    }
)
