"""The single-writer learner applies each transition exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.learner import LearnerParams, Step, learn, overlay, step_of
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors, step_size

PARAMS = LearnerParams(alpha=0.1, gamma=0.9, remembered_ids=3)


def step(tid: str, reward: float = 1.0, after: str = "trial:neutral", version: int = 1) -> Step:
    return Step(tid, "interested:neutral", Action.SCHEDULING_PUSH, reward, after, version)


def test_a_transition_updates_its_entry_with_the_td_rule() -> None:
    # interested:neutral|scheduling_push is no prior: no pseudo-visits, so the first
    # outcome is the estimate (step 1/(0 + 1 + 0)).
    table = QTable().with_entry("trial:neutral", Action.SCHEDULING_PUSH, QEntry(0.5, 3))
    table, entry = learn(table, None, step("t1", reward=0.7), PARAMS)
    assert entry is not None
    assert entry.q == pytest.approx(0.7 + 0.9 * 0.5)
    assert (entry.visits, entry.q_before, entry.q_version) == (1, 0.0, 1)
    assert table.entry("interested:neutral", Action.SCHEDULING_PUSH).q == entry.q


def test_the_same_transition_twice_is_applied_once() -> None:
    table, entry = learn(QTable(), None, step("t1"), PARAMS)
    again, none = learn(table, entry, step("t1"), PARAMS)
    assert none is None
    assert again is table


def test_a_closed_lead_has_no_future_value() -> None:
    table = QTable().with_entry("declined:negative", Action.STOP, QEntry(5.0, 1))
    _, entry = learn(table, None, step("t1", reward=-1.0, after="declined:negative"), PARAMS)
    assert entry is not None
    assert entry.q == pytest.approx(-1.0)


def test_the_future_ranges_over_what_the_next_status_may_do() -> None:
    # welcome_onboard is never offered to a trial lead, so its value must not leak in.
    table = QTable().with_entry("trial:neutral", Action.WELCOME_ONBOARD, QEntry(9.0, 1))
    _, entry = learn(table, None, step("t1", reward=0.0), PARAMS)
    assert entry is not None and entry.q == pytest.approx(0.0)


def test_remembered_ids_are_bounded_per_entry() -> None:
    table, entry = QTable(), None
    for i in range(5):
        table, entry = learn(table, entry, step(f"t{i}", version=i + 1), PARAMS)
    assert entry is not None
    assert entry.recent_ids == ("t2", "t3", "t4")
    assert entry.visits == 5


def test_overlay_puts_learned_values_over_priors() -> None:
    priors = QTable().with_entry("new:neutral", Action.WAIT, QEntry(0.3, 0))
    _, learned = learn(QTable(), None, step("t1"), PARAMS)
    assert learned is not None
    table = overlay(priors, {("interested:neutral", Action.SCHEDULING_PUSH): learned})
    assert table.entry("new:neutral", Action.WAIT).q == 0.3
    assert table.entry("interested:neutral", Action.SCHEDULING_PUSH).visits == 1


def test_stop_ends_the_episode() -> None:
    table = QTable().with_entry("contacted:neutral", Action.WARM_FOLLOW_UP, QEntry(5.0, 1))
    stop = Step("t1", "contacted:neutral", Action.STOP, 0.0, "contacted:neutral", 1)
    _, entry = learn(table, None, stop, PARAMS)
    assert entry is not None and entry.q == 0.0 and entry.visits == 1


def test_a_seeded_prior_weighs_as_its_pseudo_visits() -> None:
    # new:neutral|warm_follow_up is seeded at 0.30; with n0 = 4 one outcome of 1.3
    # moves it by 1/5 of the error, as if the prior were the mean of four returns.
    params = LearnerParams(alpha=0.01, gamma=0.9, prior_visits=4.0)
    priors = seeded_priors()
    prior = priors.entry("new:neutral", Action.WARM_FOLLOW_UP).q
    assert prior == pytest.approx(0.30)
    one = Step("t1", "new:neutral", Action.WARM_FOLLOW_UP, 1.3, "declined:negative", 1)
    table, entry = learn(priors, None, one, params)
    assert entry is not None and entry.q == pytest.approx(prior + (1.3 - prior) / 5)
    for i in range(2, 200):
        again = Step(f"t{i}", "new:neutral", Action.WARM_FOLLOW_UP, 1.3, "declined:negative", i)
        table, entry = learn(table, entry, again, params)
    assert entry is not None
    # a running mean: the prior still counts, and many outcomes outweigh it
    assert 1.25 < entry.q < 1.3


def test_a_constant_step_would_have_erased_the_prior_the_visit_aware_one_keeps() -> None:
    priors = seeded_priors()
    stalls = [
        Step(f"t{i}", "new:neutral", Action.WARM_FOLLOW_UP, -0.02, "declined:negative", i)
        for i in range(1, 11)
    ]
    kept, constant = priors, priors
    for s_ in stalls:
        kept, _ = learn(kept, None, s_, LearnerParams(alpha=0.01, prior_visits=10.0))
        constant, _ = learn(constant, None, s_, LearnerParams(alpha=0.1, prior_visits=0.0))
    key = ("new:neutral", Action.WARM_FOLLOW_UP)
    # ten stalls halve the evidence-weighted prior; a step of 0.1 floors it at 1/n
    assert kept.entry(*key).q == pytest.approx((10 * 0.30 - 10 * 0.02) / 20)
    assert constant.entry(*key).q == pytest.approx(-0.02)


@pytest.mark.parametrize(
    "visits, n0, floor, expected",
    [(0, 0.0, 0.01, 1.0), (0, 9.0, 0.01, 0.1), (3, 1.0, 0.01, 0.2), (500, 10.0, 0.01, 0.01)],
)
def test_step_size_is_one_over_visits_plus_pseudo_visits_with_a_floor(
    visits: int, n0: float, floor: float, expected: float
) -> None:
    assert step_size(visits, n0, floor) == pytest.approx(expected)


def test_learner_params_reject_a_step_outside_its_range() -> None:
    with pytest.raises(ValueError, match="alpha"):
        LearnerParams(alpha=0.0)
    with pytest.raises(ValueError, match="prior_visits"):
        LearnerParams(prior_visits=-1.0)


def test_the_future_ranges_over_what_the_filter_allowed_in_the_next_state() -> None:
    # scholarship_outreach is a trial action, but this lead has no money worry: the
    # filter did not offer it, so its high value must not raise this step's target.
    table = (
        QTable()
        .with_entry("trial:neutral", Action.SCHOLARSHIP_OUTREACH, QEntry(2.0, 9))
        .with_entry("trial:neutral", Action.SCHEDULING_PUSH, QEntry(0.5, 9))
    )
    allowed = (Action.SCHEDULING_PUSH, Action.WAIT)
    filtered = Step(
        "t1", "interested:neutral", Action.SCHEDULING_PUSH, 0.7, "trial:neutral", 1, allowed
    )
    _, entry = learn(table, None, filtered, PARAMS)
    assert entry is not None and entry.td_error == pytest.approx(0.7 + 0.9 * 0.5)
    unfiltered = Step("t2", "interested:neutral", Action.SCHEDULING_PUSH, 0.7, "trial:neutral", 1)
    _, entry = learn(table, None, unfiltered, PARAMS)
    assert entry is not None and entry.td_error == pytest.approx(0.7 + 0.9 * 2.0)


def test_every_learner_reads_a_logged_transition_the_same_way() -> None:
    transition = LeadTransition(
        transition_id="t-1",
        lead_id="L1",
        occurred_at=datetime(2026, 11, 2, 15, 0, tzinfo=UTC),
        state_before="interested:neutral",
        action="scheduling_push",
        decision_id="d-1",
        reward=0.7,
        state_after="trial:neutral",
        cause_event_id="e-1",
        next_actions=("scheduling_push", "wait"),
    )
    step = step_of(transition, q_version=4)
    assert step == Step(
        "t-1",
        "interested:neutral",
        Action.SCHEDULING_PUSH,
        0.7,
        "trial:neutral",
        4,
        (Action.SCHEDULING_PUSH, Action.WAIT),
    )
    older = transition.model_copy(update={"next_actions": None})
    assert step_of(older, q_version=4).next_actions is None
