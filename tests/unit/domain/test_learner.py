"""The single-writer learner applies each transition exactly once."""

from __future__ import annotations

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.learner import LearnerParams, Step, learn, overlay
from stream_app.domain.qlearning import QEntry, QTable

PARAMS = LearnerParams(alpha=0.1, gamma=0.9, remembered_ids=3)


def step(tid: str, reward: float = 1.0, after: str = "trial:neutral", version: int = 1) -> Step:
    return Step(tid, "interested:neutral", Action.SCHEDULING_PUSH, reward, after, version)


def test_a_transition_updates_its_entry_with_the_td_rule() -> None:
    table = QTable().with_entry("trial:neutral", Action.SCHEDULING_PUSH, QEntry(0.5, 3))
    table, entry = learn(table, None, step("t1", reward=0.7), PARAMS)
    assert entry is not None
    assert entry.q == pytest.approx(0.1 * (0.7 + 0.9 * 0.5))
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
    assert entry.q == pytest.approx(-0.1)


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
