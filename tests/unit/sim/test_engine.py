"""The in-process runner: deterministic per seed, one population for every policy."""

from __future__ import annotations

import pytest

from stream_app.sim.engine import SIM_START, PolicyKind, RunConfig, run
from stream_app.sim.hidden import TERMINAL
from stream_app.sim.population import Family
from stream_app.sim.report import score

CONFIG = RunConfig(seed=5, leads=60)


def test_same_seed_same_results() -> None:
    for kind in PolicyKind:
        assert run(kind, CONFIG) == run(kind, CONFIG)


def test_other_seed_other_results() -> None:
    assert run(PolicyKind.PRIORS, CONFIG) != run(PolicyKind.PRIORS, RunConfig(seed=6, leads=60))


def test_policies_face_the_same_families() -> None:
    a = Family.create(CONFIG.seed, 17, "a", SIM_START)
    b = Family.create(CONFIG.seed, 17, "b", SIM_START)
    assert a.traits == b.traits and a.concerns == b.concerns


@pytest.mark.parametrize("kind", list(PolicyKind))
def test_every_family_ends_or_runs_out_of_steps(kind: PolicyKind) -> None:
    """No journey is dropped half way: each reaches a terminal stage or the step cap.

    The cap is low enough that both outcomes occur under every policy, so the test
    cannot pass by every family ending early (or by none ever ending).
    """
    config = RunConfig(seed=5, leads=60, max_steps=8)
    result = run(kind, config)
    assert [lead.index for lead in result.leads] == list(range(config.leads))
    terminal = {stage.value for stage in TERMINAL}
    ended = [lead for lead in result.leads if lead.stage in terminal]
    capped = [lead for lead in result.leads if lead.stage not in terminal]
    stalled = [lead for lead in capped if lead.decisions < config.max_steps]
    assert not stalled, f"journeys that stopped before the step cap: {stalled}"
    assert ended and capped, (len(ended), len(capped))
    assert result.transitions > 0


def test_priors_beat_random_on_this_population() -> None:
    priors = run(PolicyKind.PRIORS, RunConfig(seed=5, leads=200))
    random_ = run(PolicyKind.RANDOM, RunConfig(seed=5, leads=200))
    assert sum(x.enrolled for x in priors.leads) > sum(x.enrolled for x in random_.leads)


def test_learning_curve_has_one_point_per_batch() -> None:
    runs = [run(PolicyKind.LEARNING, RunConfig(seed=s, leads=45)) for s in (1, 2)]
    scored = score(PolicyKind.LEARNING, runs, batch=10)
    assert len(scored.curve_enrollment) == len(scored.curve_return) == 5
    for point in scored.curve_enrollment:
        assert 0.0 <= point.low <= point.mean <= point.high <= 1.0
