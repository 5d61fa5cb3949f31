"""Batch training: replay converges where one online pass does not, and the promotion gate."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.learner import LearnerParams, Step, learn
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.domain.training import steps_of, train, trusted, validate

PARAMS = LearnerParams(alpha=0.1, gamma=0.9)
S, A = "interested:scheduling_intent", Action.SCHEDULING_PUSH


def step(tid: str, reward: float, after: str = "trial:neutral", action: Action = A) -> Step:
    return Step(tid, S, action, reward, after, 0)


def test_replay_drives_q_toward_the_target_and_td_error_falls() -> None:
    steps = [step(f"t{i}", 1.0, after="declined:negative") for i in range(10)]
    trained = train(QTable(), steps, 20, random.Random(1), PARAMS)
    q = trained.table.entry(S, A).q
    assert q == pytest.approx(1.0, abs=1e-3)  # terminal: the target is the reward itself
    errors = trained.mean_abs_td_errors
    assert len(errors) == 20 and errors[-1] < errors[0]


def test_one_epoch_over_the_log_in_order_equals_the_online_learner() -> None:
    """With a sampler that walks the log, training is exactly online learning."""

    class InOrder:
        def __init__(self) -> None:
            self.i = -1

        def randrange(self, stop: int, /) -> int:
            self.i = (self.i + 1) % stop
            return self.i

    steps = [step("a", 0.4), step("b", -0.02, action=Action.WAIT), step("c", 0.7)]
    online = seeded_priors()
    for s in steps:
        online, _ = learn(online, None, s, PARAMS)
    trained = train(seeded_priors(), steps, 1, InOrder(), PARAMS)
    for s in steps:
        assert trained.table.entry(S, s.action).q == online.entry(S, s.action).q


def test_visits_count_real_transitions_not_replayed_samples() -> None:
    active = QTable().with_entry(S, A, QEntry(0.2, 5))
    steps = [step("t1", 1.0), step("t2", 1.0), step("t3", 0.0, action=Action.WAIT)]
    trained = train(active, steps, 7, random.Random(3), PARAMS)
    assert trained.table.entry(S, A).visits == 5 + 2
    assert trained.table.entry(S, Action.WAIT).visits == 1


def test_the_same_seed_trains_the_same_table() -> None:
    steps = [step(f"t{i}", (i % 3) / 3) for i in range(30)]
    one = train(seeded_priors(), steps, 5, random.Random(7), PARAMS)
    two = train(seeded_priors(), steps, 5, random.Random(7), PARAMS)
    assert dict(one.table.items()) == dict(two.table.items())


def test_nothing_to_replay_returns_the_active_table() -> None:
    active = seeded_priors()
    trained = train(active, [], 3, random.Random(1), PARAMS)
    assert trained.table is active and trained.mean_abs_td_errors == ()


def test_zero_epochs_promote_the_active_table_as_it_is() -> None:
    active = seeded_priors().with_entry(S, A, QEntry(0.9, 40))
    trained = train(active, [step("t1", -1.0)], 0, random.Random(1), PARAMS)
    assert trained.table is active and trained.mean_abs_td_errors == ()
    with pytest.raises(ValueError, match="zero or more"):
        train(active, [step("t1", -1.0)], -1, random.Random(1), PARAMS)


@pytest.mark.parametrize(
    "state, action, learned, kept",
    [
        (S, A, QEntry(0.05, 19), QEntry(0.60, 0)),  # seeded, too few visits: its prior
        (S, A, QEntry(0.05, 20), QEntry(0.05, 20)),  # enough visits: what was learned
        (S, Action.STOP, QEntry(0.90, 3), QEntry(0.0, 0)),  # unseeded, lucky: back to 0
        ("trial:considering+cost", Action.SOCIAL_PROOF, QEntry(0.9, 2), QEntry(0.40, 0)),
    ],
)
def test_trusted_puts_entries_of_few_visits_back_at_their_prior(
    state: str, action: Action, learned: QEntry, kept: QEntry
) -> None:
    table = seeded_priors().with_entry(state, action, learned)
    assert trusted(table, 20).entry(state, action) == kept
    assert trusted(table, 0).entry(state, action) == learned


def test_trusted_leaves_every_other_entry_alone() -> None:
    table = seeded_priors().with_entry(S, Action.STOP, QEntry(0.9, 3))
    table = table.with_entry(S, Action.WAIT, QEntry(-0.3, 50))
    out = trusted(table, 20)
    assert {k: v for k, v in out.items() if k[1] != Action.STOP} == {
        k: v for k, v in table.items() if k[1] != Action.STOP
    }
    with pytest.raises(ValueError, match="min_visits"):
        trusted(table, -1)


def test_a_transition_logged_twice_is_one_experience() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    logged = LeadTransition(
        transition_id="t1",
        lead_id="L1",
        occurred_at=at,
        state_before=S,
        action=A.value,
        decision_id="d1",
        reward=0.7,
        state_after="trial:neutral",
        cause_event_id="e1",
    )
    assert steps_of([logged, logged]) == [Step("t1", S, A, 0.7, "trial:neutral", 0)]


ACTIVE = QTable().with_entry(S, A, QEntry(0.5, 1)).with_entry(S, Action.WAIT, QEntry(0.1, 0))


@pytest.mark.parametrize(
    "candidate, problem",
    [
        (ACTIVE.with_entry(S, A, QEntry(0.9, 2)), None),
        (ACTIVE.with_entry(S, A, QEntry(math.nan, 2)), "non-finite"),
        (ACTIVE.with_entry(S, A, QEntry(math.inf, 2)), "non-finite"),
        (ACTIVE.with_entry(S, A, QEntry(3.0, 2)), "drift 2.5000 at " + f"{S}|{A.value}"),
        (ACTIVE.with_entry("new:neutral", A, QEntry(-2.5, 1)), "drift 2.5000"),
        (
            ACTIVE.with_entry(S, A, QEntry(math.nan, 2)).with_entry(
                S, Action.WAIT, QEntry(math.nan, 0)
            ),
            "lost every usable action",
        ),
    ],
)
def test_validation_gate(candidate: QTable, problem: str | None) -> None:
    result = validate(candidate, ACTIVE, max_drift=2.0)
    if problem is None:
        assert result.ok and result.max_drift == pytest.approx(0.4)
    else:
        assert not result.ok
        assert any(problem in p for p in result.problems), result.problems
