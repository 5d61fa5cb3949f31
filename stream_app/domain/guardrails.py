"""The contact policy: what may reach a family, on which channel, and when.

Selection ranks what the learner would like to do; this module decides what the
academy may do. It runs after selection and before publishing, on the allowed
actions best-first, and keeps the first one that passes every rule. Everything is
measured in event time (`now` is the decision's `decided_at`), so a replay sees
exactly what live traffic saw.

Rules and their defaults (every one a `ContactPolicy` field):

- consent: an opted-out channel carries nothing. An action with a fixed channel
  may move to another channel its catalog entry lists (`info_send` by email when
  SMS is refused); `channel_switch` takes the first consented channel that is not
  the one that just failed.
- suppression: an action the operators rejected 2 times for this lead is not
  proposed again to that lead.
- cooldown: 24 h between two outreach decisions for one lead.
- weekly caps per channel over a rolling 7 days: voice 3, SMS 4, email 3.
- global voice rate limit: 50 voice interventions per hour. Not a check here: a
  call books the hour it is scheduled for (`scheduling.book_voice`), and a full
  hour moves it rather than blocking it. The guardrails only hold voice back when
  the limit is 0 (`voice_per_partition` 0: no calls at all), like a weekly cap of 0.
- quiet hours 21:00-08:00 in the lead's time zone never block: `scheduling`
  moves `scheduled_for` to the next allowed local time (the hours are a
  `ContactPolicy` field like every other rule here).

`wait` and `stop` are not outreach: no rule applies to them, so a hard-override
`stop` passes untouched. A guardrail never turns a decision into `stop`, though:
when the top action is blocked the fallbacks are the lower-ranked outreach actions
and `wait`. When the decision ends at `wait` because of a block, its override is
`guardrail:<reason of the top-ranked action>`, so the audit trail shows what was
held back and why.

Reason codes (`Block`), stable snake_case because they become metric labels:
`consent_voice`, `consent_sms`, `consent_email`, `suppressed_after_rejections`,
`cooldown`, `cap_voice_week`, `cap_sms_week`, `cap_email_week`,
`voice_rate_limit`. An action failing several rules reports the first in that
order (consent first: it is the family's own word and never expires). A call
that no hour within the booking horizon has room for waits with
`guardrail:voice_rate_limit` too (`lead.decide`).

Why the limit is split per partition, and how the calls are counted: see
`scheduling` (`VoiceCalendar`, `book_voice`).

Per-lead state lives in `ContactHistory` (bounded: the last `history_size`
outreach decisions and a rejection count per action), a frozen pydantic model
for the lead's JSON state.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from pydantic import AwareDatetime, Field

from stream_app.domain.actions import CATALOG, Action, Channel
from stream_app.domain.frozen import Stored


class Block(StrEnum):
    """Why a guardrail held an action back."""

    CONSENT_VOICE = "consent_voice"
    CONSENT_SMS = "consent_sms"
    CONSENT_EMAIL = "consent_email"
    SUPPRESSED_AFTER_REJECTIONS = "suppressed_after_rejections"
    COOLDOWN = "cooldown"
    CAP_VOICE_WEEK = "cap_voice_week"
    CAP_SMS_WEEK = "cap_sms_week"
    CAP_EMAIL_WEEK = "cap_email_week"
    VOICE_RATE_LIMIT = "voice_rate_limit"


_V, _S, _E = Channel.VOICE, Channel.SMS, Channel.EMAIL
_CONSENT = {_V: Block.CONSENT_VOICE, _S: Block.CONSENT_SMS, _E: Block.CONSENT_EMAIL}
_CAP = {_V: Block.CAP_VOICE_WEEK, _S: Block.CAP_SMS_WEEK, _E: Block.CAP_EMAIL_WEEK}
_SWITCH_ORDER = (_S, _V, _E)
"""Channels `channel_switch` may take, SMS first as in `actions.channel_for`."""

HISTORY_SIZE = 20
"""Outreach decisions remembered per lead; at least the sum of the weekly caps."""


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    """Seed defaults, overridable from Settings.

    `partitions` is the partition count of the lead topics: the voice limit is
    split evenly across them (see `scheduling`). `voice_horizon` is how far past
    its planned time a call may be moved to an hour with voice capacity.
    """

    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    default_timezone: str = "UTC"
    cooldown: timedelta = timedelta(hours=24)
    cap_window: timedelta = timedelta(days=7)
    voice_per_week: int = 3
    sms_per_week: int = 4
    email_per_week: int = 3
    suppress_after_rejections: int = 2
    voice_per_hour: int = 50
    partitions: int = 1
    history_size: int = HISTORY_SIZE
    voice_horizon: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1, got {self.partitions}")
        if self.voice_horizon < timedelta(hours=1):
            raise ValueError(f"voice_horizon must be at least an hour, got {self.voice_horizon}")

    @property
    def voice_per_partition(self) -> int:
        """This partition's share of the hourly voice limit, rounded up."""
        return math.ceil(self.voice_per_hour / self.partitions)

    @property
    def voice_calendar_slots(self) -> int:
        """Hours a partition's voice calendar keeps: the booking horizon and a week behind."""
        return math.ceil(self.voice_horizon / timedelta(hours=1)) + 7 * 24

    def weekly_cap(self, channel: Channel) -> int:
        if channel == _V:
            return self.voice_per_week
        return self.sms_per_week if channel == _S else self.email_per_week


DEFAULT_POLICY = ContactPolicy()


@lru_cache(maxsize=64)
def without_cooldown(policy: ContactPolicy) -> ContactPolicy:
    """`policy` with no cooldown, built once per policy rather than once per decision
    (`dataclasses.replace` and its validation were ~4% of the lead step)."""
    return replace(policy, cooldown=timedelta(0))


class Contact(Stored):
    """One outreach decision, as cooldown and caps count it."""

    decided_at: AwareDatetime
    channel: Channel
    action: Action


class ContactHistory(Stored):
    """What the guardrails remember of one lead, stored in its state record."""

    contacts: tuple[Contact, ...] = ()
    rejections: Mapping[Action, int] = Field(default_factory=dict)


def is_outreach(action: Action) -> bool:
    """Whether the action contacts the family (`wait` and `stop` do not)."""
    return action in _OUTREACH


_OUTREACH = frozenset(a for a in Action if CATALOG[a].channels[0] != Channel.NONE)


def record_outreach(
    history: ContactHistory,
    at: datetime,
    channel: Channel,
    action: Action,
    keep: int = HISTORY_SIZE,
) -> ContactHistory:
    """Remember an outreach decision made at `at` (its `decided_at`); others change nothing.

    Only the last `keep` are kept, so the state stays bounded.
    """
    if not is_outreach(action):
        return history
    contact = Contact(decided_at=at, channel=channel, action=action)
    contacts = (*history.contacts, contact)[-keep:]
    return history.model_copy(update={"contacts": contacts})


def record_rejection(history: ContactHistory, action: Action) -> ContactHistory:
    """Count an operator's rejection of the action for this lead."""
    rejections = dict(history.rejections)
    rejections[action] = rejections.get(action, 0) + 1
    return history.model_copy(update={"rejections": rejections})


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """The decision as it may be published, and the state to store after it.

    When it may happen is `scheduling`'s business (which also books a call's hour
    against the voice capacity). `blocked` holds the actions held back before the
    pick, best-first. `history` already records the chosen outreach.
    """

    action: Action
    channel: Channel
    override: str | None
    blocked: dict[Action, Block]
    history: ContactHistory


class _Gate:
    """What the rules look at, gathered once per decision, and the counts they take.

    Every ranked action asks the same questions of the same history (any contact
    in the cooldown? how many per channel this week?), so the history is counted
    once, in one pass, when the first outreach action asks (a pass per question,
    each a generator, cost 4.9 us per decision on the calls of
    bench/core_decisions.py, one pass 4.3 us: most of it is comparing each
    contact's time with `now`).
    """

    __slots__ = ("_counted", "history", "now", "opted_out", "policy")

    def __init__(
        self,
        opted_out: Collection[str],
        history: ContactHistory,
        now: datetime,
        policy: ContactPolicy,
    ) -> None:
        self.opted_out, self.history, self.now, self.policy = opted_out, history, now, policy
        self._counted: tuple[bool, dict[Channel, int]] | None = None

    def cooling(self) -> bool:
        """Whether an outreach falls within the cooldown (or after `now`)."""
        return self._counts()[0]

    def sent_this_week(self, channel: Channel) -> int:
        """Outreach on `channel` within the cap window (or after `now`)."""
        return self._counts()[1].get(channel, 0)

    def _counts(self) -> tuple[bool, dict[Channel, int]]:
        if self._counted is None:
            self._counted = _recent(self.history.contacts, self.now, self.policy)
        return self._counted


@lru_cache(maxsize=512)
def _channels(action: Action, channel: Channel, last_channel: str | None) -> tuple[Channel, ...]:
    """The channels to try for an action, preferred first.

    Cached (a few hundred keys at most: action, channel, last channel), because
    every ranked outreach action asks: built, ~1.1 us per decision on the calls of
    bench/core_decisions.py; looked up, ~0.3 us.
    """
    spec = CATALOG[action].channels
    if spec[0] == Channel.VARIES:
        options = [c for c in _SWITCH_ORDER if c != last_channel]
    else:
        options = list(spec)
    preferred = [channel] if channel in _CONSENT else []
    return (*preferred, *(c for c in options if c != channel))


def _recent(
    contacts: Sequence[Contact], now: datetime, policy: ContactPolicy
) -> tuple[bool, dict[Channel, int]]:
    """Whether an outreach falls within the cooldown, and the outreach per channel
    within the cap window; later ones count too (out-of-order events, to be safe)."""
    cooling_from, week_from = now - policy.cooldown, now - policy.cap_window
    cooling = False
    sent: dict[Channel, int] = {}
    for contact in contacts:
        at = contact.decided_at
        cooling = cooling or at > cooling_from
        if at > week_from:
            sent[contact.channel] = sent.get(contact.channel, 0) + 1
    return cooling, sent


def _channel_check(gate: _Gate, channel: Channel) -> Block | Channel:
    p = gate.policy
    if gate.sent_this_week(channel) >= p.weekly_cap(channel):
        return _CAP[channel]
    if channel == _V and p.voice_per_partition == 0:
        return Block.VOICE_RATE_LIMIT  # no calls at all; a capacity left is booked later
    return channel


def _check(gate: _Gate, action: Action, channels: Sequence[Channel]) -> Block | Channel:
    """The first rule the action fails (module order), or how it may go out."""
    consented = [c for c in channels if c not in gate.opted_out]
    if not consented:
        return _CONSENT[channels[0]]
    p = gate.policy
    if gate.history.rejections.get(action, 0) >= p.suppress_after_rejections:
        return Block.SUPPRESSED_AFTER_REJECTIONS
    if gate.cooling():
        return Block.COOLDOWN
    first: Block | Channel | None = None
    for c in consented:
        result = _channel_check(gate, c)
        if isinstance(result, Channel):
            return result
        first = first or result
    assert first is not None  # `consented` is not empty
    return first


def apply_policy(
    ranked: Sequence[tuple[Action, Channel]],
    *,
    opted_out_channels: Collection[str],
    history: ContactHistory,
    now: datetime,
    policy: ContactPolicy = DEFAULT_POLICY,
    last_channel: str | None = None,
) -> PolicyResult:
    """The first of `ranked` (allowed actions best-first, with the channel each would
    use) that passes every rule, or `wait` when the guardrails hold them all back.

    `last_channel` is the channel of the last contact attempt, which
    `channel_switch` moves away from.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not ranked:
        raise ValueError("nothing to choose from")
    gate = _Gate(opted_out_channels, history, now, policy)
    blocked: dict[Action, Block] = {}
    for position, (action, channel) in enumerate(ranked):
        if not is_outreach(action):
            if position == 0:
                return _unchanged(action, channel, None, gate, blocked)
            if action == Action.WAIT:
                break
            continue  # a guardrail never turns a decision into `stop`
        checked = _check(gate, action, _channels(action, channel, last_channel))
        if isinstance(checked, Block):
            blocked[action] = checked
            continue
        return PolicyResult(
            action=action,
            channel=checked,
            override=None,
            blocked=blocked,
            history=record_outreach(history, now, checked, action, policy.history_size),
        )
    override = f"guardrail:{blocked[ranked[0][0]]}"
    return _unchanged(Action.WAIT, Channel.NONE, override, gate, blocked)


def _unchanged(
    action: Action,
    channel: Channel,
    override: str | None,
    gate: _Gate,
    blocked: dict[Action, Block],
) -> PolicyResult:
    """A decision that contacts nobody: the history stays as it was."""
    return PolicyResult(
        action=action,
        channel=channel,
        override=override,
        blocked=blocked,
        history=gate.history,
    )


__all__ = [
    "DEFAULT_POLICY",
    "HISTORY_SIZE",
    "Block",
    "Contact",
    "ContactHistory",
    "ContactPolicy",
    "PolicyResult",
    "apply_policy",
    "is_outreach",
    "record_outreach",
    "record_rejection",
    "without_cooldown",
]
