"""Q-table value, TD update, UCB selection and the seeded priors."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.actions import Action, allowed_actions
from stream_app.domain.buckets import bucket, rl_state
from stream_app.domain.context import LeadContext
from stream_app.domain.extraction.model import Intent, Level, Objection, Sentiment
from stream_app.domain.lifecycle import ContactOutcome, Status
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors, select_action, td_update

A = Action
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_td_update_applies_the_bellman_step_and_leaves_the_old_table_alone() -> None:
    table = QTable.from_entries([(("s1", A.WAIT), QEntry(0.5, 2)), (("s1", A.STOP), QEntry(-1, 1))])
    new, update = td_update(table, "s0", A.WARM_FOLLOW_UP, 1.0, "s1")
    assert update.q_before == 0.0
    assert update.td_error == pytest.approx(1.0 + 0.9 * 0.5)
    assert update.q_after == pytest.approx(0.1 * (1.0 + 0.9 * 0.5))
    assert update.visits == 1
    assert new.entry("s0", A.WARM_FOLLOW_UP) == QEntry(update.q_after, 1)
    assert table.entry("s0", A.WARM_FOLLOW_UP) == QEntry(0.0, 0)
    assert len(table) == 2 and len(new) == 3


def test_the_future_is_the_max_over_the_allowed_next_actions() -> None:
    table = QTable.from_entries([(("s1", A.WAIT), QEntry(0.5, 2)), (("s1", A.STOP), QEntry(2, 1))])
    _, all_actions = td_update(table, "s0", A.WAIT, 0.0, "s1")
    _, only_wait = td_update(table, "s0", A.WAIT, 0.0, "s1", [A.WAIT])
    _, terminal = td_update(table, "s0", A.WAIT, 0.0, None)
    _, unknown = td_update(table, "s0", A.WAIT, 0.0, "nowhere")
    assert all_actions.td_error == pytest.approx(0.9 * 2)
    assert only_wait.td_error == pytest.approx(0.9 * 0.5)
    assert terminal.td_error == unknown.td_error == 0.0


def test_alpha_and_gamma_are_parameters() -> None:
    _, update = td_update(QTable(), "s", A.WAIT, 1.0, None, alpha=0.5, gamma=0.0)
    assert update.q_after == 0.5


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_reward_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        td_update(QTable(), "s", A.WAIT, bad, None)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(list(Action)),
            st.floats(-10, 10),
            st.sampled_from(["a", "b", "c", None]),
        ),
        max_size=300,
    )
)
def test_q_values_stay_finite_and_bounded(
    steps: list[tuple[str, Action, float, str | None]],
) -> None:
    table = QTable()
    for state, action, r, nxt in steps:
        table, update = td_update(table, state, action, r, nxt)
        assert math.isfinite(update.q_after)
    assert all(abs(e.q) <= 10 / (1 - 0.9) + 1e-9 for e in table.values())


_tables = st.lists(
    st.tuples(st.sampled_from(list(Action)), st.floats(-2, 2), st.integers(0, 100)), max_size=18
).map(lambda rows: QTable.from_entries((("s", a), QEntry(q, v)) for a, q, v in rows))


@given(_tables, st.lists(st.sampled_from(list(Action)), min_size=1, unique=True), st.floats(0, 3))
def test_ucb_is_deterministic_and_picks_from_allowed(
    table: QTable, allowed: list[Action], c: float
) -> None:
    allowed.sort(key=list(Action).index)
    first = select_action(table, "s", allowed, c)
    assert first == select_action(table, "s", list(allowed), c)
    assert first.action in allowed
    assert [x.action for x in first.candidates] == allowed
    assert first.score == max(x.score for x in first.candidates)


def test_ucb_score_formula() -> None:
    table = QTable.from_entries([(("s", A.WAIT), QEntry(0.2, 3)), (("s", A.STOP), QEntry(0.1, 0))])
    sel = select_action(table, "s", [A.WAIT, A.STOP])
    n = math.log(3 + 1)
    by_action = {x.action: x for x in sel.candidates}
    assert by_action[A.WAIT].score == pytest.approx(0.2 + math.sqrt(n / 4))
    assert by_action[A.STOP].score == pytest.approx(0.1 + math.sqrt(n / 1))
    assert sel.action == A.STOP  # the untried action earns its exploration bonus


def test_ties_go_to_the_earlier_catalog_action_whatever_the_order_given() -> None:
    sel = select_action(QTable(), "s", [A.STOP, A.WAIT, A.WIN_BACK_OFFER])
    assert sel.action == A.WAIT


def test_nothing_allowed_is_an_error() -> None:
    with pytest.raises(ValueError):
        select_action(QTable(), "s", [])


def test_q_learning_converges_on_a_toy_mdp() -> None:
    """s0 -warm_follow_up-> s1 -scheduling_push-> done (+1.0); s0 -info_send-> done (+0.3).

    Greedy one-step thinking takes the +0.3; the discounted optimum (0.9 > 0.3) goes
    through s1. Wandering (gentle_nudge in s0, wait in s1) costs the stalling penalty.
    """
    moves = {
        ("s0", A.WARM_FOLLOW_UP): ("s1", 0.0),
        ("s0", A.INFO_SEND): (None, 0.3),
        ("s0", A.GENTLE_NUDGE): ("s0", -0.02),
        ("s1", A.SCHEDULING_PUSH): (None, 1.0),
        ("s1", A.WAIT): ("s0", -0.02),
    }
    actions = {
        "s0": [A.WARM_FOLLOW_UP, A.INFO_SEND, A.GENTLE_NUDGE],
        "s1": [A.SCHEDULING_PUSH, A.WAIT],
    }
    rng = random.Random(3)
    table = QTable()
    for _ in range(3000):
        state: str | None = "s0"
        while state is not None:
            action = rng.choice(actions[state])
            nxt, r = moves[(state, action)]
            table, _ = td_update(table, state, action, r, nxt, actions[nxt] if nxt else None)
            state = nxt
    assert select_action(table, "s0", actions["s0"], c=0).action == A.WARM_FOLLOW_UP
    assert select_action(table, "s1", actions["s1"], c=0).action == A.SCHEDULING_PUSH
    assert table.entry("s1", A.SCHEDULING_PUSH).q == pytest.approx(1.0, abs=1e-3)
    assert table.entry("s0", A.WARM_FOLLOW_UP).q == pytest.approx(0.9, abs=1e-3)


def test_priors_are_many_and_unvisited() -> None:
    priors = seeded_priors()
    assert len(priors) >= 65
    assert all(e.visits == 0 for e in priors.values())
    assert not [s for s in priors.states() if s.startswith(("declined:", "opted_out:"))]


@pytest.mark.parametrize(
    "status, ctx, expected",
    [
        (Status.INTERESTED, LeadContext(last_intent=Intent.SCHEDULING), A.SCHEDULING_PUSH),
        (
            Status.INTERESTED,
            LeadContext(last_intent=Intent.INTERESTED, recent_sentiments=(Sentiment.POSITIVE,)),
            A.SCHEDULING_PUSH,
        ),
        (Status.CONTACTED, LeadContext(financial_concern=Level.HIGH), A.SCHOLARSHIP_OUTREACH),
        (Status.AT_RISK, LeadContext(payment_concern=True), A.SCHOLARSHIP_OUTREACH),
        (
            Status.INTERESTED,
            LeadContext(objections=(Objection(topic="distance"),)),
            A.OBJECTION_ADDRESS,
        ),
        (Status.CONTACTED, LeadContext(decision_makers=("spouse",)), A.FAMILY_ENGAGE),
        (
            Status.NEW,
            LeadContext(last_contact_outcome=ContactOutcome.NO_ANSWER, consecutive_unreached=2),
            A.CHANNEL_SWITCH,
        ),
        (
            Status.NEW,
            LeadContext(last_contact_outcome=ContactOutcome.NO_ANSWER, consecutive_unreached=1),
            A.GENTLE_NUDGE,
        ),
        (Status.NEW, LeadContext(), A.WARM_FOLLOW_UP),
        (Status.ENROLLED, LeadContext(), A.FIRST_SESSION_REMINDER),
        (Status.ENROLLED, LeadContext(missed_sessions=1, consecutive_misses=1), A.RESCHEDULE_OFFER),
        (Status.ACTIVE, LeadContext(), A.WAIT),
        (Status.AT_RISK, LeadContext(), A.BARRIER_INVESTIGATION),
        (Status.AT_RISK, LeadContext(missed_sessions=2, consecutive_misses=2), A.RESCHEDULE_OFFER),
        (Status.INACTIVE, LeadContext(inactive_since=NOW - timedelta(days=40)), A.WIN_BACK_OFFER),
        (
            Status.INACTIVE,
            LeadContext(inactive_since=NOW - timedelta(days=5)),
            A.LOW_COMMITMENT_INVITE,
        ),
        (Status.TRIAL, LeadContext(last_intent=Intent.CONSIDERING), A.SOCIAL_PROOF),
    ],
)
def test_priors_encode_the_rule_engine(status: Status, ctx: LeadContext, expected: Action) -> None:
    allowed, _ = allowed_actions(status, ctx, NOW)
    state = rl_state(status, bucket(ctx))
    assert select_action(seeded_priors(), state, allowed).action == expected


def test_updates_do_not_copy_the_table() -> None:
    priors = seeded_priors()
    updated, _ = td_update(priors, "new:neutral", A.WAIT, -0.02, "new:neutral")
    assert updated._rows["active:neutral"] is priors._rows["active:neutral"]


def test_the_guards_verdict_travels_with_the_table_through_updates() -> None:
    table = seeded_priors()
    assert table.explores and table.exploring(True) is table
    stopped = table.exploring(False)
    assert not stopped.explores and table.explores  # the old table is unchanged
    later = stopped.with_entry("new:neutral", Action.WAIT, QEntry(0.4, 2))
    assert not later.explores and later.entry("new:neutral", Action.WAIT) == QEntry(0.4, 2)
    assert len(later) == len(stopped) + 1
