"""`Effects`, what one step asks the shell to do: publish four kinds of record, count the
rest. A step made of several rules (a tick runs a deadline, a flush and a decay) merges
its parts with `extend`, so nothing one rule produced may be lost or reordered."""

from __future__ import annotations

import pytest

from stream_app.domain.lead import Effects, Policy, StatusMove, Tick, apply
from stream_app.domain.lifecycle import Status
from tests.unit.domain.lead.helpers import CALL, NOW, PARAMS, POLICY, Lead


def _published() -> tuple[Effects, Effects]:
    """Two real, different step outcomes with something in every list."""
    lead = Lead()
    first = lead.created()
    assert lead.state is not None and lead.state.reminder is not None
    tick = Tick("L1", lead.state.reminder.remind_at)
    lead.state, reminded = apply(lead.state, tick, POLICY, PARAMS, NOW)
    planned = first.decisions[0].decision_id  # the call carried out closes its step
    second = lead.call(outcome="no_answer", decision_id=planned).extend(reminded)
    requested = lead.call(transcript=CALL)
    lead.send(lead.event("sms.received", message_id="m1", body="hi"))
    flushed = lead.send(lead.event("sms.received", message_id="m2", body="STOP"))
    assert first.decisions and second.transitions and reminded.reminders
    assert requested.extraction_requests
    assert flushed.sms_flushes
    return first, second.extend(requested).extend(flushed)


def test_extend_appends_every_list_in_order_and_adds_the_decays() -> None:
    one, two = _published()
    one.decays, two.decays = 1, 2
    one.guardrail_changes, two.guardrail_changes = ["cap_sms_week"], ["quiet_hours"]
    one.outcomes, two.outcomes = [("gentle_nudge", "delivered")], [("stop", "rejected")]
    before = Effects().extend(one)
    merged = Effects().extend(one).extend(two)
    for name in (
        "decisions",
        "transitions",
        "extraction_requests",
        "sms_flushes",
        "reminders",
        "moves",
        "guardrail_changes",
        "outcomes",
    ):
        assert getattr(merged, name) == getattr(before, name) + getattr(two, name), name
    assert merged.decays == 3


def test_extend_returns_the_effects_it_extended() -> None:
    effects = Effects()
    assert effects.extend(Effects(decays=1)) is effects


def _voice_steps() -> dict[str, Effects]:
    """Two real steps leaving different partition voice budgets: one call, then two."""
    one = Lead("A").created()
    two = Lead("B", Policy(POLICY.table, 7, voice_budget=one.voice_budget)).created()
    assert one.voice_budget is not None and two.voice_budget is not None
    assert one.voice_budget != two.voice_budget
    return {"one call": one, "two calls": two}


@pytest.mark.parametrize(
    "mine, theirs, kept",
    [
        (None, None, None),
        ("one call", None, "one call"),
        (None, "two calls", "two calls"),
        ("one call", "two calls", "two calls"),
    ],
    ids=["neither", "only mine", "only theirs", "theirs is newer"],
)
def test_the_latest_voice_budget_wins(
    mine: str | None, theirs: str | None, kept: str | None
) -> None:
    # The shell writes one budget per step: the one after the step's last decision.
    steps = _voice_steps()

    def budget_of(name: str | None) -> Effects:
        return Effects(voice_budget=steps[name].voice_budget) if name else Effects()

    merged = budget_of(mine).extend(budget_of(theirs))
    assert merged.voice_budget == budget_of(kept).voice_budget


def test_learn_keeps_each_transition_beside_its_move() -> None:
    _, effects = _published()
    transition = effects.transitions[0]
    fresh = Effects()
    move = StatusMove(Status.NEW, Status.CONTACTED, 0.1)
    fresh.learn(transition, move)
    assert (fresh.transitions, fresh.moves) == ([transition], [move])


def _only(field: str) -> Effects:
    _, full = _published()
    full.decays = 1
    full.voice_budget = Lead("A").created().voice_budget
    full.guardrail_changes = ["cap_sms_week"]
    full.outcomes = [("stop", "rejected")]
    effects = Effects()
    setattr(effects, field, getattr(full, field))
    return effects


@pytest.mark.parametrize(
    "field, publishes",
    [
        ("decisions", True),
        ("transitions", True),
        ("extraction_requests", True),
        ("reminders", True),
        ("sms_flushes", False),
        ("moves", False),
        ("decays", False),
        ("voice_budget", False),
        ("guardrail_changes", False),
        ("outcomes", False),
    ],
)
def test_effects_are_truthy_when_there_is_something_to_publish(field: str, publishes: bool) -> None:
    # What the shell only counts or stores (flushes, moves, budgets...) is not output.
    effects = _only(field)
    assert effects != Effects()  # the field really is set
    assert bool(effects) is publishes
