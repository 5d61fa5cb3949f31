"""Worlds per seed: each seed its own dispositions, tables and trait mixes, within the ranges."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from stream_app.domain.actions import Action
from stream_app.sim.hidden import RESPONSES, Concern
from stream_app.sim.population import Family
from stream_app.sim.seeds import FRESH_REPORT_SEEDS, REPORT_SEEDS, TUNING_SEEDS
from stream_app.sim.world import (
    BACKFIRE_SCALE,
    DISPOSITIONS,
    FORWARD_SCALE,
    TRAIT_BASE,
    TRAIT_SCALE,
    world,
)

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
SEEDS = range(1, 41)


def test_tuning_and_held_out_seed_sets_are_disjoint() -> None:
    sets = (TUNING_SEEDS, REPORT_SEEDS, FRESH_REPORT_SEEDS)
    assert all(len(s) >= 5 for s in sets)
    assert len(set().union(*sets)) == sum(map(len, sets))


def test_a_seed_names_one_world() -> None:
    assert world(7) == world(7)
    assert world(7).dispositions != world(8).dispositions


def test_worlds_differ_in_tables_and_trait_mixes() -> None:
    tables = {
        str(sorted(d.responses[Concern.COST].items())) for s in SEEDS for d in world(s).dispositions
    }
    mixes = {d.traits for s in SEEDS for d in world(s).dispositions}
    assert len(tables) == len(mixes) == DISPOSITIONS * len(SEEDS)


def test_the_best_remedy_varies_between_worlds() -> None:
    """Some worlds reorder remedies, so a table fitted to one world is wrong in another."""
    best = Counter(d.best(Concern.COST) for s in SEEDS for d in world(s).dispositions)
    assert best[Action.SCHOLARSHIP_OUTREACH] > len(SEEDS)  # still the usual answer
    assert len(best) >= 2, best


@pytest.mark.parametrize("seed", list(SEEDS))
def test_odds_and_mixes_stay_in_their_ranges(seed: int) -> None:
    drawn = world(seed)
    assert sum(d.share for d in drawn.dispositions) == pytest.approx(1.0, abs=1e-3)
    for d in drawn.dispositions:
        for situation, row in RESPONSES.items():
            for action, (forward, backfire) in row.items():
                got_forward, got_backfire = d.odds(situation, action)
                assert 0.0 <= got_forward <= 0.95 and 0.0 <= got_backfire <= 0.6
                if situation not in set(Concern):  # never swapped: only scaled
                    assert got_forward <= forward * FORWARD_SCALE[1] + 1e-4
                    assert got_forward >= min(0.95, forward * FORWARD_SCALE[0]) - 1e-4
                assert got_backfire <= backfire * BACKFIRE_SCALE[1] + 1e-4
        for name, base in TRAIT_BASE.items():
            chance = getattr(d.traits, name)
            assert base * TRAIT_SCALE[0] - 1e-4 <= chance <= base * TRAIT_SCALE[1] + 1e-4
        low, high = d.traits.responsiveness
        assert 0.35 <= low < high <= 0.98


def test_pick_covers_every_disposition_by_share() -> None:
    drawn = world(3)
    counts = Counter(drawn.pick(i / 10_000).name for i in range(10_000))
    for d in drawn.dispositions:
        assert counts[d.name] == pytest.approx(d.share * 10_000, abs=2)


def test_families_follow_their_disposition() -> None:
    """Traits come from the family's own disposition's mix, odds from its table."""
    seed = 11
    families = [Family.create(seed, i, f"L{i}", T0) for i in range(6000)]
    for d in world(seed).dispositions:
        mine = [f for f in families if f.disposition is d]
        assert len(mine) == pytest.approx(d.share * len(families), rel=0.15)
        cost = sum(f.traits.cost_worried for f in mine) / len(mine)
        assert cost == pytest.approx(d.traits.cost_worried, abs=0.05)
        low, high = d.traits.responsiveness
        assert all(low <= f.traits.responsiveness <= high for f in mine)
        one = mine[0]
        for action in Action:
            assert one.odds(action) == d.odds(one.situation, action)


def test_another_population_is_other_families_of_the_same_world() -> None:
    first = [Family.create(5, i, f"L{i}", T0) for i in range(50)]
    fresh = [Family.create(5, i, f"L{i}", T0, population=1) for i in range(50)]
    assert [f.traits for f in first] != [f.traits for f in fresh]
    assert {f.disposition.name for f in fresh} <= {d.name for d in world(5).dispositions}
    assert all(f.disposition in world(5).dispositions for f in fresh)
