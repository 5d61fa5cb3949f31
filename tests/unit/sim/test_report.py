"""The held-out report: arms, pairing, deciles, targets, JSON, and the runs behind them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from stream_app.domain.actions import Action
from stream_app.domain.qlearning import QEntry, seeded_priors
from stream_app.sim.engine import PolicyKind
from stream_app.sim.report import (
    ARMS,
    FROZEN,
    GUARDED,
    LEARNING,
    PRIORS,
    PRIORS_FRESH,
    PROMOTION,
    RANDOM,
    SEED_SETS,
    Arm,
    Comparison,
    GuardArm,
    GuardReport,
    Outcome,
    PolicyScore,
    Report,
    compare,
    evaluate,
    guard_report,
    plot,
    promoted,
    score,
    tables,
    targets,
    to_json,
)
from stream_app.sim.seeds import FRESH_REPORT_SEEDS, REPORT_SEEDS, TUNING_SEEDS
from stream_app.sim.stats import Estimate


def _outcome(enrolled: list[bool]) -> Outcome:
    return Outcome(tuple(enrolled), tuple(2.0 if e else -1.0 for e in enrolled), 4 * len(enrolled))


def test_score_pools_families_and_cuts_deciles_by_arrival() -> None:
    # 20 families per seed: the first two (decile 1) never enrol, the last two always do.
    run = _outcome([False, False] + [True, False] * 8 + [True, True])
    scored = score(PRIORS, [run, run])
    assert scored.enrollment.mean == pytest.approx(10 / 20)
    assert scored.mean_return.mean == pytest.approx(0.5)
    assert scored.decisions_per_lead == 4.0
    assert scored.per_seed == (0.5, 0.5)
    assert [d.mean for d in scored.deciles] == [0.0] + [0.5] * 8 + [1.0]
    assert scored.last_minus_first.mean == 1.0


def test_compare_pairs_the_same_families() -> None:
    better = _outcome([True] * 6 + [False] * 4)
    worse = _outcome([True] * 3 + [False] * 7)
    runs = {LEARNING: [better, better, worse], PRIORS: [worse, worse, worse]}
    got = compare(LEARNING, PRIORS, runs)
    assert got.enrollment.mean == pytest.approx(0.2)
    assert got.seeds_won == 2
    assert got.over_seeds.mean == pytest.approx(0.2)
    with pytest.raises(ValueError, match="same families"):
        compare(FROZEN, PRIORS, {FROZEN: [better], PRIORS: [worse]})


def _score(arm: str, rate: float, half: float, curve: float) -> PolicyScore:
    return PolicyScore(
        arm=arm,
        enrollment=Estimate(rate, rate - half, rate + half),
        mean_return=Estimate(0.0, 0.0, 0.0),
        decisions_per_lead=1.0,
        per_seed=(rate,),
        deciles=(),
        last_minus_first=Estimate(curve, curve - 0.1, curve + 0.1),
    )


def _gain(arm: Arm, base: Arm, better: int, worse: int) -> Comparison:
    """`arm` enrols `better` of 20 families where `base` enrols `worse`."""
    runs = {
        arm: [_outcome([True] * better + [False] * (20 - better))],
        base: [_outcome([True] * worse + [False] * (20 - worse))],
    }
    return compare(arm, base, runs)


def _split(vs_priors: Estimate) -> GuardReport:
    arm = GuardArm("learning", 10, Estimate(0.5, 0.2, 0.8), vs_priors, 10, 0.5, 0.1)
    return GuardReport((arm,), Estimate(0.0, -0.1, 0.1), (0.0,), 0.0)


def test_targets_say_met_only_with_the_numbers() -> None:
    vs = {LEARNING: _gain(LEARNING, PRIORS, 14, 12), FROZEN: _gain(FROZEN, PRIORS_FRESH, 16, 12)}
    apart = {LEARNING: _score("learning", 0.7, 0.02, 0.05), PRIORS: _score("priors", 0.6, 0.02, 0)}
    not_below = _split(Estimate(-0.02, -0.08, 0.04))
    assert [t.met for t in targets(apart, vs, not_below)] == [True, True, True, True]
    close = {LEARNING: _score("learning", 0.7, 0.08, -0.05), PRIORS: _score("priors", 0.6, 0.08, 0)}
    small = {LEARNING: vs[LEARNING], FROZEN: _gain(FROZEN, PRIORS_FRESH, 13, 12)}
    unmet = targets(close, small, _split(Estimate(-0.06, -0.1, -0.01)))
    assert [t.met for t in unmet] == [False, False, False, False]
    assert "not above" in unmet[0].value and unmet[2].value.startswith("0.050")
    assert unmet[3].value == "-0.060 [-0.100, -0.010]"


def test_the_dev_split_is_judged_family_by_family() -> None:
    # Four families, the first two in the holdout arm; the priors run enrolled the
    # second and third, the split run the first three.
    split = Outcome((True, True, True, False), (0.0,) * 4, 8, holdout=(True, True, False, False))
    priors = _outcome([False, True, True, False])
    report = guard_report([split], [priors])
    learning, holdout = report.arms
    assert (learning.arm, learning.families, learning.enrollment.mean) == ("learning", 2, 0.5)
    assert (holdout.arm, holdout.families, holdout.enrollment.mean) == ("holdout", 2, 1.0)
    assert learning.vs_priors.mean == 0.0 and holdout.vs_priors.mean == 0.5
    assert report.learning_minus_holdout.mean == -0.5


@pytest.fixture(scope="module")
def small_report() -> Report:
    """A real report on two tuning seeds, small enough for a unit test, in one process."""
    return evaluate([1, 2], leads=30, max_steps=10, workers=1, seed_set="tuning")


def test_every_arm_ran_on_every_seed(small_report: Report) -> None:
    assert [s.arm for s in small_report.scores] == [a.name for a in ARMS]
    assert all(len(s.per_seed) == 2 and len(s.deciles) == 10 for s in small_report.scores)
    assert small_report.seeds == (1, 2)
    assert small_report.tuning_seeds == tuple(TUNING_SEEDS)
    assert small_report.report_seeds == tuple(REPORT_SEEDS)
    assert [c.arm for c in small_report.comparisons] == [
        LEARNING.name,
        RANDOM.name,
        FROZEN.name,
    ]
    assert small_report.score(PRIORS).enrollment.mean > small_report.score(RANDOM).enrollment.mean
    assert GUARDED.name == "learning + holdout 0.5"
    learning, holdout = small_report.guard.arms
    assert learning.families + holdout.families == 2 * 30
    assert 0 < holdout.families < 2 * 30
    # The guard counts a lead once its first step closes: never more than the families.
    assert 0 < learning.guard_leads <= learning.families
    assert 0 < holdout.guard_leads <= holdout.families
    assert len(small_report.guard.z) == 2


def test_the_pool_gives_what_one_process_gives(small_report: Report) -> None:
    pooled = evaluate([1, 2], leads=30, max_steps=10, workers=2, seed_set="tuning")
    assert pooled.scores == small_report.scores
    assert pooled.comparisons == small_report.comparisons


def test_json_and_tables_carry_the_declared_seeds(small_report: Report, tmp_path: Path) -> None:
    data = orjson.loads(to_json(small_report))
    assert data["seed_set"] == "tuning" and data["report_seeds"] == list(REPORT_SEEDS)
    assert {s["arm"] for s in data["scores"]} == {a.name for a in ARMS}
    assert len(data["targets"]) == 4
    assert [a["arm"] for a in data["guard"]["arms"]] == ["learning", "holdout"]
    rendered = tables(small_report)
    assert "tuning seeds" in str(rendered[0].caption)
    assert rendered[0].row_count == len(ARMS)
    path = plot(small_report, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_too_few_families_for_deciles() -> None:
    with pytest.raises(ValueError, match="deciles"):
        evaluate([1], leads=5)


def test_frozen_needs_a_table() -> None:
    from stream_app.sim.engine import RunConfig, run

    with pytest.raises(ValueError, match="frozen"):
        run(PolicyKind.FROZEN, RunConfig(seed=1, leads=2))


def test_the_frozen_table_is_promoted_for_exploitation() -> None:
    """The frozen run's table is what `train --epochs 0 --trust-visits 20 --exploit` promotes."""
    assert (PROMOTION.epochs, PROMOTION.trust_visits, PROMOTION.exploit) == (0, 20, True)
    state = "interested:scheduling_intent"
    learned = seeded_priors().with_entry(state, Action.STOP, QEntry(0.9, 19))
    learned = learned.with_entry(state, Action.SCHEDULING_PUSH, QEntry(0.2, 20))
    table = promoted(tuple(learned.items()))
    assert table.entry(state, Action.STOP) == QEntry(0.0, 0)
    assert table.entry(state, Action.SCHEDULING_PUSH) == QEntry(0.2, 20)


def test_the_declared_seed_sets_are_named() -> None:
    assert SEED_SETS == {
        "report": REPORT_SEEDS,
        "fresh": FRESH_REPORT_SEEDS,
        "tuning": TUNING_SEEDS,
    }
