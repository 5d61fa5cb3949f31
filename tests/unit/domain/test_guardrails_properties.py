"""Properties of the contact policy that must hold for any lead, history and clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.actions import CATALOG, Action, Channel
from stream_app.domain.context import LeadContext
from stream_app.domain.guardrails import (
    Block,
    ContactHistory,
    ContactPolicy,
    PolicyResult,
    apply_policy,
    is_outreach,
    record_outreach,
    record_rejection,
)
from stream_app.domain.scheduling import in_quiet_hours, lead_zone, schedule

CONCRETE = (Channel.VOICE, Channel.SMS, Channel.EMAIL)
ZONES = (
    None,
    "Not/AZone",
    "UTC",
    "America/New_York",
    "Europe/London",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Chatham",
)

instants = st.datetimes(
    min_value=datetime(2020, 1, 1),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(2035, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@st.composite
def ranked_actions(draw: st.DrawFn) -> list[tuple[Action, Channel]]:
    """Distinct actions best-first, each with a channel its catalog entry allows."""
    actions = draw(st.lists(st.sampled_from(list(Action)), min_size=1, max_size=8, unique=True))
    ranked = []
    for action in actions:
        channels = CATALOG[action].channels
        options = CONCRETE if channels[0] == Channel.VARIES else channels
        ranked.append((action, draw(st.sampled_from(options))))
    return ranked


@st.composite
def histories(draw: st.DrawFn, now: datetime) -> ContactHistory:
    history = ContactHistory()
    for _ in range(draw(st.integers(0, 12))):
        ago = timedelta(minutes=draw(st.integers(-60, 60 * 24 * 10)))
        action = draw(st.sampled_from([a for a in Action if CATALOG[a].channels[0] != "none"]))
        history = record_outreach(history, now - ago, draw(st.sampled_from(CONCRETE)), action)
    for action in draw(st.lists(st.sampled_from(list(Action)), max_size=6)):
        history = record_rejection(history, action)
    return history


@dataclass(frozen=True, slots=True)
class Case:
    ranked: list[tuple[Action, Channel]]
    opted_out: frozenset[str]
    history: ContactHistory
    timezone: str | None
    now: datetime
    last_channel: Channel | None
    policy: ContactPolicy

    def decide(self) -> PolicyResult:
        return apply_policy(
            self.ranked,
            opted_out_channels=self.opted_out,
            history=self.history,
            now=self.now,
            policy=self.policy,
            last_channel=self.last_channel,
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    now = draw(instants)
    return Case(
        ranked=draw(ranked_actions()),
        opted_out=draw(st.frozensets(st.sampled_from(["voice", "sms", "email"]))),
        history=draw(histories(now)),
        timezone=draw(st.sampled_from(ZONES)),
        now=now,
        last_channel=draw(st.none() | st.sampled_from(CONCRETE)),
        policy=ContactPolicy(
            voice_per_hour=draw(st.integers(0, 12)), partitions=draw(st.integers(1, 4))
        ),
    )


@given(cases())
def test_result_is_one_of_the_ranked_or_wait(case: Case) -> None:
    result = case.decide()
    assert result.action in {a for a, _ in case.ranked} | {Action.WAIT}
    if result.override is not None:
        assert result.action == Action.WAIT
        assert result.override.removeprefix("guardrail:") in set(Block)


@given(cases())
def test_the_checked_action_is_never_scheduled_early_nor_in_quiet_hours(case: Case) -> None:
    result = case.decide()
    when = schedule(
        result.action, LeadContext(), case.now, case.history, case.timezone, case.policy
    )
    assert when.at >= case.now
    assert not in_quiet_hours(when.at, lead_zone(case.timezone), case.policy)
    contacts = case.history.contacts
    if is_outreach(result.action) and contacts:
        assert when.at >= contacts[-1].decided_at + case.policy.cooldown


@given(cases())
def test_never_an_opted_out_channel_nor_a_call_without_voice_capacity(case: Case) -> None:
    result = case.decide()
    assert result.channel not in case.opted_out
    if case.policy.voice_per_partition == 0:
        assert result.channel != Channel.VOICE
