"""The contact policy, rule by rule against its defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from stream_app.domain.actions import Action, Channel
from stream_app.domain.guardrails import (
    DEFAULT_POLICY,
    HISTORY_SIZE,
    Block,
    Contact,
    ContactHistory,
    ContactPolicy,
    PolicyResult,
    apply_policy,
    is_outreach,
    record_outreach,
    record_rejection,
    without_cooldown,
)

A, C = Action, Channel
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")

NUDGE = (A.GENTLE_NUDGE, C.SMS)
CALL = (A.WARM_FOLLOW_UP, C.VOICE)
INFO = (A.INFO_SEND, C.SMS)
INFO_EMAIL = (A.INFO_SEND, C.EMAIL)
SWITCH = (A.CHANNEL_SWITCH, C.SMS)
WAIT = (A.WAIT, C.NONE)
STOP = (A.STOP, C.NONE)


def contacts(*entries: tuple[timedelta, Channel, Action]) -> ContactHistory:
    """A history of outreach made the given time before NOON."""
    history = ContactHistory()
    for ago, channel, action in entries:
        history = record_outreach(history, NOON - ago, channel, action)
    return history


def decide(
    ranked: list[tuple[Action, Channel]],
    *,
    opted_out: tuple[str, ...] = (),
    history: ContactHistory | None = None,
    now: datetime = NOON,
    policy: ContactPolicy = DEFAULT_POLICY,
    last_channel: str | None = None,
) -> PolicyResult:
    return apply_policy(
        ranked,
        opted_out_channels=opted_out,
        history=history or ContactHistory(),
        now=now,
        policy=policy,
        last_channel=last_channel,
    )


# --- defaults ---------------------------------------------------------------------


def test_seed_defaults() -> None:
    p = DEFAULT_POLICY
    assert (p.quiet_start, p.quiet_end) == (time(21, 0), time(8, 0))
    assert p.default_timezone == "UTC"
    assert p.cooldown == timedelta(hours=24)
    assert p.cap_window == timedelta(days=7)
    assert [p.weekly_cap(c) for c in (C.VOICE, C.SMS, C.EMAIL)] == [3, 4, 3]
    assert p.suppress_after_rejections == 2
    assert (p.voice_per_hour, p.partitions, p.voice_per_partition) == (50, 1, 50)
    assert p.history_size == HISTORY_SIZE >= 3 + 4 + 3
    assert p.voice_horizon == timedelta(days=14)
    assert p.voice_calendar_slots == 14 * 24 + 7 * 24


def test_reason_codes_are_stable_metric_labels() -> None:
    assert [b.value for b in Block] == [
        "consent_voice",
        "consent_sms",
        "consent_email",
        "suppressed_after_rejections",
        "cooldown",
        "cap_voice_week",
        "cap_sms_week",
        "cap_email_week",
        "voice_rate_limit",
    ]


@pytest.mark.parametrize(
    "action, outreach",
    [(A.WAIT, False), (A.STOP, False), (A.GENTLE_NUDGE, True), (A.CHANNEL_SWITCH, True)],
)
def test_wait_and_stop_are_not_outreach(action: Action, outreach: bool) -> None:
    assert is_outreach(action) is outreach


def _at(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


# --- consent ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "ranked, opted_out, last_channel, action, channel, blocked",
    [
        # an SMS-only opt-out still allows voice
        (
            [NUDGE, CALL, WAIT],
            ("sms",),
            None,
            A.WARM_FOLLOW_UP,
            C.VOICE,
            {A.GENTLE_NUDGE: "consent_sms"},
        ),
        (
            [CALL, NUDGE],
            ("voice",),
            None,
            A.GENTLE_NUDGE,
            C.SMS,
            {A.WARM_FOLLOW_UP: "consent_voice"},
        ),
        # a fixed action moves to another channel of its catalog entry
        ([INFO], ("sms",), None, A.INFO_SEND, C.EMAIL, {}),
        ([INFO_EMAIL], ("email",), None, A.INFO_SEND, C.SMS, {}),
        (
            [INFO, CALL],
            ("sms", "email"),
            None,
            A.WARM_FOLLOW_UP,
            C.VOICE,
            {A.INFO_SEND: "consent_sms"},
        ),
        # channel_switch takes a consented channel other than the one that failed
        ([SWITCH], (), "voice", A.CHANNEL_SWITCH, C.SMS, {}),
        ([SWITCH], ("sms",), "voice", A.CHANNEL_SWITCH, C.EMAIL, {}),
        ([SWITCH], ("sms",), "email", A.CHANNEL_SWITCH, C.VOICE, {}),
        ([(A.CHANNEL_SWITCH, C.VARIES)], (), "sms", A.CHANNEL_SWITCH, C.VOICE, {}),
        ([(A.CHANNEL_SWITCH, C.VOICE)], ("voice",), "sms", A.CHANNEL_SWITCH, C.EMAIL, {}),
    ],
)
def test_consent_per_channel(
    ranked: list[tuple[Action, Channel]],
    opted_out: tuple[str, ...],
    last_channel: str | None,
    action: Action,
    channel: Channel,
    blocked: dict[Action, str],
) -> None:
    result = decide(ranked, opted_out=opted_out, last_channel=last_channel)
    assert (result.action, result.channel, result.blocked) == (action, channel, blocked)
    assert result.override is None


def test_each_action_tries_the_channels_of_its_own_channel_and_last_channel() -> None:
    # The channels an action tries are remembered per action, channel and last
    # channel: asked in turn, twice over, each case must still get its own.
    cases = [
        (SWITCH, (), "voice", C.SMS),
        ((A.CHANNEL_SWITCH, C.EMAIL), (), "voice", C.EMAIL),  # only its channel differs
        (SWITCH, ("sms",), "voice", C.EMAIL),
        (SWITCH, ("sms",), "email", C.VOICE),  # only the last channel differs
        (INFO, ("sms",), None, C.EMAIL),
        (NUDGE, ("sms",), None, C.NONE),  # only the action differs: SMS only, so it waits
    ]
    for ranked, opted_out, last_channel, channel in cases * 2:
        result = decide([ranked, WAIT], opted_out=opted_out, last_channel=last_channel)
        assert result.channel == channel


def test_channel_switch_with_no_consented_channel_is_blocked() -> None:
    result = decide([SWITCH, WAIT], opted_out=("sms", "email"), last_channel="voice")
    assert (result.action, result.override) == (A.WAIT, "guardrail:consent_sms")


# --- cooldown, caps and suppression -----------------------------------------------


@pytest.mark.parametrize(
    "ago, blocked",
    [
        (timedelta(hours=23, minutes=59), True),
        (timedelta(hours=24), False),
        (timedelta(days=3), False),
        (-timedelta(hours=1), True),  # an out-of-order later contact counts too
    ],
)
def test_cooldown_between_outreach_decisions(ago: timedelta, blocked: bool) -> None:
    history = contacts((ago, C.VOICE, A.WARM_FOLLOW_UP))
    result = decide([NUDGE, CALL, WAIT], history=history)
    if blocked:
        assert (result.action, result.override) == (A.WAIT, "guardrail:cooldown")
        assert result.blocked == {A.GENTLE_NUDGE: "cooldown", A.WARM_FOLLOW_UP: "cooldown"}
    else:
        assert (result.action, result.override) == (A.GENTLE_NUDGE, None)


def test_wait_and_stop_do_not_start_a_cooldown() -> None:
    history = ContactHistory()
    for action in (A.WAIT, A.STOP):
        assert record_outreach(history, NOON, C.NONE, action) is history


DAYS = [timedelta(days=d, hours=1) for d in range(1, 7)]


@pytest.mark.parametrize(
    "channel, action, sent, blocked",
    [
        (C.SMS, NUDGE, 3, None),
        (C.SMS, NUDGE, 4, "cap_sms_week"),
        (C.VOICE, CALL, 2, None),
        (C.VOICE, CALL, 3, "cap_voice_week"),
        (C.EMAIL, INFO_EMAIL, 2, None),
        (C.EMAIL, INFO_EMAIL, 3, "cap_email_week"),
    ],
)
def test_weekly_cap_per_channel(
    channel: Channel, action: tuple[Action, Channel], sent: int, blocked: str | None
) -> None:
    history = contacts(*((DAYS[i], channel, action[0]) for i in range(sent)))
    result = decide([action, WAIT], history=history, opted_out=("sms",) * (channel == C.EMAIL))
    if blocked is None:
        assert result.action == action[0]
    else:
        assert (result.action, result.override) == (A.WAIT, f"guardrail:{blocked}")


def test_cap_reached_falls_to_the_next_allowed_action() -> None:
    history = contacts(*((d, C.SMS, A.GENTLE_NUDGE) for d in DAYS[:4]))
    result = decide([NUDGE, (A.SOCIAL_PROOF, C.SMS), CALL, WAIT], history=history)
    assert (result.action, result.channel, result.override) == (A.WARM_FOLLOW_UP, C.VOICE, None)
    assert result.blocked == {A.GENTLE_NUDGE: "cap_sms_week", A.SOCIAL_PROOF: "cap_sms_week"}


def test_cap_window_is_rolling_seven_days() -> None:
    week = timedelta(days=7)
    history = contacts(*((week + d, C.SMS, A.GENTLE_NUDGE) for d in DAYS[:4]))
    history = record_outreach(history, NOON - week, C.SMS, A.GENTLE_NUDGE)
    assert decide([NUDGE], history=history).action == A.GENTLE_NUDGE


def test_capped_info_send_goes_by_its_other_channel() -> None:
    history = contacts(*((d, C.SMS, A.GENTLE_NUDGE) for d in DAYS[:4]))
    result = decide([INFO], history=history)
    assert (result.action, result.channel, result.blocked) == (A.INFO_SEND, C.EMAIL, {})


@pytest.mark.parametrize("rejections, suppressed", [(0, False), (1, False), (2, True), (3, True)])
def test_suppressed_after_operator_rejections(rejections: int, suppressed: bool) -> None:
    history = ContactHistory()
    for _ in range(rejections):
        history = record_rejection(history, A.WARM_FOLLOW_UP)
    history = record_rejection(history, A.GENTLE_NUDGE)
    result = decide([CALL, NUDGE], history=history)
    if suppressed:
        assert result.action == A.GENTLE_NUDGE
        assert result.blocked == {A.WARM_FOLLOW_UP: "suppressed_after_rejections"}
    else:
        assert (result.action, result.blocked) == (A.WARM_FOLLOW_UP, {})


# --- everything blocked -----------------------------------------------------------

_COOLING = contacts((timedelta(hours=1), C.EMAIL, A.INFO_SEND))
_SMS_CAPPED = contacts(*((d, C.SMS, A.GENTLE_NUDGE) for d in DAYS[:4]))
_REJECTED = record_rejection(record_rejection(ContactHistory(), A.WARM_FOLLOW_UP), A.WARM_FOLLOW_UP)
_NO_VOICE = ContactPolicy(voice_per_hour=0)


@pytest.mark.parametrize(
    "ranked, opted_out, history, policy, override",
    [
        ([NUDGE, CALL], ("sms", "voice"), None, DEFAULT_POLICY, "guardrail:consent_sms"),
        ([CALL, NUDGE], (), _COOLING, DEFAULT_POLICY, "guardrail:cooldown"),
        ([NUDGE, CALL], ("voice",), _SMS_CAPPED, DEFAULT_POLICY, "guardrail:cap_sms_week"),
        (
            [CALL, NUDGE],
            ("sms",),
            _REJECTED,
            DEFAULT_POLICY,
            "guardrail:suppressed_after_rejections",
        ),
        # a voice limit of 0: no calls at all
        ([CALL, NUDGE], ("sms",), None, _NO_VOICE, "guardrail:voice_rate_limit"),
        # the top-ranked action's reason, whatever blocked the others
        ([CALL, NUDGE], ("sms",), _COOLING, _NO_VOICE, "guardrail:cooldown"),
        ([NUDGE, CALL], ("sms",), _REJECTED, DEFAULT_POLICY, "guardrail:consent_sms"),
    ],
)
def test_all_outreach_blocked_gives_wait_with_the_top_reason(
    ranked: list[tuple[Action, Channel]],
    opted_out: tuple[str, ...],
    history: ContactHistory | None,
    policy: ContactPolicy,
    override: str,
) -> None:
    result = decide([*ranked, WAIT], opted_out=opted_out, history=history, policy=policy)
    assert (result.action, result.channel, result.override) == (A.WAIT, C.NONE, override)
    assert set(result.blocked) == {a for a, _ in ranked}
    assert result.history == (history or ContactHistory())
    # without `wait` among the ranked actions the answer is the same
    assert decide(ranked, opted_out=opted_out, history=history, policy=policy) == result


def test_a_lower_ranked_wait_ends_the_search() -> None:
    result = decide([NUDGE, WAIT, CALL], opted_out=("sms",))
    assert (result.action, result.override) == (A.WAIT, "guardrail:consent_sms")
    assert result.blocked == {A.GENTLE_NUDGE: "consent_sms"}


def test_a_guardrail_never_turns_a_decision_into_stop() -> None:
    assert decide([NUDGE, STOP, CALL], opted_out=("sms",)).action == A.WARM_FOLLOW_UP
    result = decide([NUDGE, STOP], opted_out=("sms",))
    assert (result.action, result.override) == (A.WAIT, "guardrail:consent_sms")


@pytest.mark.parametrize("ranked", [[STOP], [WAIT], [WAIT, NUDGE]])
def test_wait_and_stop_are_never_blocked(ranked: list[tuple[Action, Channel]]) -> None:
    history = record_rejection(record_rejection(_COOLING, A.WAIT), A.WAIT)
    result = decide(ranked, opted_out=("sms", "voice", "email"), history=history)
    assert (result.action, result.channel) == ranked[0]
    assert (result.override, result.blocked) == (None, {})
    assert result.history is history


# --- voice rate limit -------------------------------------------------------------


@pytest.mark.parametrize(
    "limit, partitions, share",
    [(50, 1, 50), (50, 4, 13), (50, 12, 5), (50, 50, 1), (50, 64, 1), (3, 2, 2), (0, 4, 0)],
)
def test_voice_limit_split_into_per_partition_budgets(
    limit: int, partitions: int, share: int
) -> None:
    assert ContactPolicy(voice_per_hour=limit, partitions=partitions).voice_per_partition == share


def test_partitions_must_be_positive() -> None:
    with pytest.raises(ValueError, match="partitions"):
        ContactPolicy(partitions=0)


def test_the_voice_booking_horizon_is_at_least_an_hour() -> None:
    with pytest.raises(ValueError, match="voice_horizon"):
        ContactPolicy(voice_horizon=timedelta(minutes=59))
    assert ContactPolicy(voice_horizon=timedelta(hours=1)).voice_calendar_slots == 1 + 7 * 24


def test_the_guardrails_leave_voice_capacity_to_scheduling() -> None:
    # However many calls were decided, a voice action passes: its hour is booked
    # (and moved when full) by `scheduling.book_voice`, never blocked here.
    policy = ContactPolicy(voice_per_hour=1, partitions=4, cooldown=timedelta(0))
    for minute in range(0, 60, 5):
        result = decide([CALL, NUDGE], now=NOON + timedelta(minutes=minute), policy=policy)
        assert (result.action, result.channel, result.blocked) == (A.WARM_FOLLOW_UP, C.VOICE, {})


@pytest.mark.parametrize(
    "ranked, action, channel",
    [
        # a zero limit holds voice back like a weekly cap of 0: the next candidate goes
        ([CALL, NUDGE], A.GENTLE_NUDGE, C.SMS),
        ([(A.CHANNEL_SWITCH, C.VOICE)], A.CHANNEL_SWITCH, C.SMS),
        ([NUDGE, CALL], A.GENTLE_NUDGE, C.SMS),
    ],
)
def test_a_zero_voice_limit_means_no_calls(
    ranked: list[tuple[Action, Channel]], action: Action, channel: Channel
) -> None:
    result = decide(ranked, policy=_NO_VOICE, last_channel="email")
    assert (result.action, result.channel) == (action, channel)
    if ranked[0] == CALL:
        assert result.blocked == {A.WARM_FOLLOW_UP: "voice_rate_limit"}


# --- state ------------------------------------------------------------------------


def test_chosen_outreach_is_recorded_in_the_returned_history() -> None:
    result = decide([CALL])
    assert result.history.contacts == (
        Contact(decided_at=NOON, channel=C.VOICE, action=A.WARM_FOLLOW_UP),
    )


def test_history_is_bounded() -> None:
    history = ContactHistory()
    for i in range(HISTORY_SIZE + 5):
        history = record_outreach(history, NOON + timedelta(days=i), C.SMS, A.GENTLE_NUDGE)
    assert len(history.contacts) == HISTORY_SIZE
    assert history.contacts[0].decided_at == NOON + timedelta(days=5)
    assert len(record_outreach(history, NOON, C.SMS, A.GENTLE_NUDGE, keep=3).contacts) == 3


def test_rejections_count_per_action_without_mutating() -> None:
    before = record_rejection(ContactHistory(), A.SCHEDULING_PUSH)
    after = record_rejection(before, A.SCHEDULING_PUSH)
    assert before.rejections == {A.SCHEDULING_PUSH: 1}
    assert after.rejections == {A.SCHEDULING_PUSH: 2}


def test_state_round_trips_through_json() -> None:
    history = record_rejection(contacts((timedelta(hours=3), C.SMS, A.GENTLE_NUDGE)), A.INFO_SEND)
    assert ContactHistory.model_validate_json(history.model_dump_json()) == history


def test_state_rejects_naive_times() -> None:
    with pytest.raises(ValidationError):
        Contact(decided_at=datetime(2026, 3, 2), channel=C.SMS, action=A.GENTLE_NUDGE)  # noqa: DTZ001


def test_state_ignores_a_newer_release_s_fields() -> None:
    # Stored state (`frozen.Stored`): an added field must not make the lead unreadable.
    assert ContactHistory.model_validate({"contacts": [], "extra": 1}) == ContactHistory()


def test_naive_now_and_empty_ranking_are_caller_bugs() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide([NUDGE], now=datetime(2026, 3, 2, 12))  # noqa: DTZ001
    with pytest.raises(ValueError, match="nothing"):
        decide([])


def test_without_cooldown_is_the_policy_less_its_cooldown_built_once() -> None:
    policy = ContactPolicy(voice_per_week=1, cooldown=timedelta(hours=6))
    relaxed = without_cooldown(policy)
    assert relaxed.cooldown == timedelta(0)
    assert replace(relaxed, cooldown=policy.cooldown) == policy
    assert without_cooldown(ContactPolicy(voice_per_week=1, cooldown=timedelta(hours=6))) is relaxed
