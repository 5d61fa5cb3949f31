"""Epsilon-greedy picks and propensities: exact probabilities, deterministic draws."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_app.domain.exploration import THOMPSON_SAMPLES, Exploration, draw_for, explore, thompson

RANKED = ("best", "second", "third", "fourth")


@pytest.mark.parametrize(
    "text, epsilon", [("none", 0.0), ("epsilon:0.1", 0.1), ("epsilon:0", 0.0), ("epsilon:1", 1.0)]
)
def test_parse(text: str, epsilon: float) -> None:
    assert Exploration.parse(text).epsilon == epsilon


@pytest.mark.parametrize(
    "text, spread", [("thompson:0.3", 0.3), ("thompson:1", 1.0), ("none", 0.0)]
)
def test_parse_thompson(text: str, spread: float) -> None:
    parsed = Exploration.parse(text)
    assert (parsed.thompson, parsed.epsilon) == (spread, 0.0)
    assert str(parsed) == text.replace("thompson:1", "thompson:1")


@pytest.mark.parametrize(
    "text",
    ["", "greedy", "epsilon:", "epsilon:x", "epsilon:1.5", "eps:0.1", "thompson:", "thompson:-1"],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Exploration.parse(text)


def test_none_always_picks_the_best_with_propensity_one() -> None:
    for draw in (0.0, 0.3, 0.999):
        assert explore(RANKED, Exploration(), draw) == ("best", 1.0)


@pytest.mark.parametrize(
    "draw, pick, propensity",
    [
        (0.00, "best", 0.8 + 0.05),  # explores, lands on the best
        (0.06, "second", 0.05),  # 0.06 / 0.2 * 4 = 1.2 -> index 1
        (0.19, "fourth", 0.05),
        (0.20, "best", 0.85),  # exploits
        (0.99, "best", 0.85),
    ],
)
def test_epsilon_greedy_table(draw: float, pick: str, propensity: float) -> None:
    chosen, p = explore(RANKED, Exploration(0.2), draw)
    assert chosen == pick
    assert p == pytest.approx(propensity)


@given(st.just(0.0) | st.floats(0.05, 1.0), st.integers(1, 18))  # every pick on the grid
def test_each_propensity_is_the_share_of_draws_that_pick_it(epsilon: float, k: int) -> None:
    ranked = list(range(k))
    exploration = Exploration(epsilon)
    grid = 20_000
    share: dict[int, float] = {}
    claimed: dict[int, float] = {}
    for i in range(grid):
        pick, p = explore(ranked, exploration, (i + 0.5) / grid)
        share[pick] = share.get(pick, 0.0) + 1 / grid
        claimed[pick] = p
    assert sum(claimed.values()) == pytest.approx(1.0)
    for pick, p in claimed.items():
        assert share[pick] == pytest.approx(p, abs=k / grid + 1e-9)


def test_empirical_frequencies_match_the_propensities() -> None:
    exploration = Exploration(0.3)
    counts: dict[str, int] = {}
    n = 20_000
    for i in range(n):
        pick, _ = explore(RANKED, exploration, draw_for(f"d-{i}"))
        counts[pick] = counts.get(pick, 0) + 1
    assert counts["best"] / n == pytest.approx(0.7 + 0.075, abs=0.015)
    assert counts["third"] / n == pytest.approx(0.075, abs=0.01)


def test_draws_are_a_pure_function_of_the_key() -> None:
    assert draw_for("d-1") == draw_for("d-1") != draw_for("d-2")
    assert all(0.0 <= draw_for(str(i)) < 1.0 for i in range(1000))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError):
        explore([], Exploration(), 0.5)
    with pytest.raises(ValueError):
        explore(RANKED, Exploration(), 1.0)


def test_thompson_picks_a_clear_winner_almost_surely() -> None:
    candidates = [("best", 0.6, 400.0), ("other", 0.1, 400.0), ("third", 0.0, 400.0)]
    pick, propensity = thompson(candidates, 0.3, "d-1")
    assert (pick, propensity) == ("best", 1.0)


def test_thompson_splits_two_equal_unknowns_about_evenly() -> None:
    candidates = [("a", 0.2, 1.0), ("b", 0.2, 1.0)]
    _, propensity = thompson(candidates, 0.3, "d-7")
    assert abs(propensity - 0.5) < 0.1  # 256 draws: sd of the estimate ~0.03
    picks = [thompson(candidates, 0.3, f"d-{i}")[0] for i in range(60)]
    assert 15 < picks.count("a") < 45


def test_thompson_is_a_pure_function_of_the_decision_id() -> None:
    candidates = [("a", 0.3, 2.0), ("b", 0.25, 1.0), ("c", 0.1, 1.0)]
    assert thompson(candidates, 0.3, "d-9") == thompson(candidates, 0.3, "d-9")
    picks = {thompson(candidates, 0.3, f"d-{i}")[0] for i in range(40)}
    assert picks >= {"a", "b"}


def test_a_thompson_propensity_is_how_often_that_action_is_picked() -> None:
    # The same candidates in every decision: the logged propensity of a pick must match
    # the share of decisions that pick it, which is what IPS weights rely on.
    candidates = [("a", 0.3, 2.0), ("b", 0.25, 1.0), ("c", 0.1, 1.0)]
    made = [thompson(candidates, 0.3, f"d-{i}") for i in range(300)]
    for action in ("a", "b"):
        logged = [p for pick, p in made if pick == action]
        assert abs(len(logged) / len(made) - sum(logged) / len(logged)) < 0.08
    assert THOMPSON_SAMPLES >= 100


def test_thompson_needs_candidates_and_a_positive_spread() -> None:
    with pytest.raises(ValueError):
        thompson([], 0.3, "d-1")
    with pytest.raises(ValueError):
        thompson([("a", 0.1, 1.0)], 0.0, "d-1")
    with pytest.raises(ValueError):
        Exploration(epsilon=0.1, thompson=0.3)
