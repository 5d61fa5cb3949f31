"""The in-process runner: deterministic per seed, one population for every policy."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from stream_app.domain.guard import GuardParams
from stream_app.domain.lead import Params
from stream_app.domain.lead.policy import arm
from stream_app.domain.learner import LearnerParams
from stream_app.domain.messages import NextBestAction
from stream_app.domain.qlearning import seeded_priors
from stream_app.kafka.partitioner import partition_for
from stream_app.sim.engine import SIM_START, PolicyKind, RunConfig, run
from stream_app.sim.hidden import TERMINAL
from stream_app.sim.population import Family

CONFIG = RunConfig(seed=5, leads=60)
OWN_TABLE = [k for k in PolicyKind if k is not PolicyKind.FROZEN]
"""Policies that need no table from elsewhere."""


def test_same_seed_same_results() -> None:
    for kind in OWN_TABLE:
        assert run(kind, CONFIG) == run(kind, CONFIG)


def test_other_seed_other_results() -> None:
    assert run(PolicyKind.PRIORS, CONFIG) != run(PolicyKind.PRIORS, RunConfig(seed=6, leads=60))


def test_policies_face_the_same_families() -> None:
    a = Family.create(CONFIG.seed, 17, "a", SIM_START)
    b = Family.create(CONFIG.seed, 17, "b", SIM_START)
    assert a.traits == b.traits and a.concerns == b.concerns


@pytest.mark.parametrize("kind", OWN_TABLE)
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


def test_decisions_follow_the_workers_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without explicit parameters a run decides as a worker configured by the same
    environment would: here its holdout share and its voice capacity per partition."""
    monkeypatch.setenv("STREAM_APP_HOLDOUT_SHARE", "0.5")
    monkeypatch.setenv("STREAM_APP_VOICE_PER_HOUR", "4")
    seen: list[NextBestAction] = []
    run(PolicyKind.PRIORS, RunConfig(seed=5, leads=40), on_decision=seen.append)
    arms = {nba.lead_id: nba.arm for nba in seen}
    assert arms == {lead: arm(lead, 0.5) for lead in arms}
    assert set(arms.values()) == {"learning", "holdout"}
    calls = Counter(
        (partition_for(nba.lead_id, 4), nba.brief.scheduled_for.replace(minute=0, second=0))
        for nba in seen
        if nba.channel == "voice"
    )
    assert calls and max(calls.values()) == 1  # 4 calls an hour over 4 partitions
    moved = [nba for nba in seen if nba.filtered_out.get(nba.action, "").startswith("guardrail")]
    assert not moved


def test_the_voice_calendar_moves_calls_when_an_hour_is_full() -> None:
    tight = replace(Params(), contact=replace(Params().contact, voice_per_hour=1))
    seen: list[NextBestAction] = []
    run(
        PolicyKind.PRIORS,
        RunConfig(seed=5, leads=40),
        tight,
        LearnerParams(),
        on_decision=seen.append,
    )
    loose: list[NextBestAction] = []
    run(
        PolicyKind.PRIORS,
        RunConfig(seed=5, leads=40),
        Params(),
        LearnerParams(),
        on_decision=loose.append,
    )
    hours = Counter(
        nba.brief.scheduled_for.replace(minute=0, second=0)
        for nba in seen
        if nba.channel == "voice"
    )
    assert hours and max(hours.values()) == 1
    assert [n.brief.scheduled_for for n in seen] != [n.brief.scheduled_for for n in loose]


def test_a_frozen_run_serves_its_table_greedily_and_learns_nothing() -> None:
    learned = run(PolicyKind.LEARNING, RunConfig(seed=5, leads=60))
    assert learned.table != seeded_priors()
    fresh = RunConfig(seed=5, leads=60, population=1)
    seen: list[NextBestAction] = []
    frozen = run(PolicyKind.FROZEN, fresh, table=learned.table, on_decision=seen.append)
    assert frozen.table == learned.table
    # Greedy: no candidate carries a bonus, though the table has visits to earn one.
    assert any(c.visits for n in seen for c in n.candidates)
    assert all(c.score == c.q for n in seen for c in n.candidates)
    assert frozen != run(PolicyKind.PRIORS, fresh)
    assert frozen == run(PolicyKind.FROZEN, fresh, table=learned.table)


def test_lead_ids_name_the_seed_and_population() -> None:
    assert RunConfig(seed=5, leads=1).lead_id(7) == "sim5-00007"
    assert RunConfig(seed=5, leads=1, population=1).lead_id(7) == "sim5p1-00007"
    assert RunConfig(seed=5, leads=1, prefix="sim-ab-").lead_id(7) == "sim-ab-00007"


def test_the_running_guard_judges_the_run_as_the_worker_would() -> None:
    """The in-process learner keeps the guard's totals and acts on its verdict: a
    guard set to trip at once (alpha infinite: any evidence counts as 'below') makes every
    learning-arm decision after its first judged transition greedy (score = Q)."""
    split = replace(Params(), holdout_share=0.5)
    trip = GuardParams(min_leads=5, alpha=float("inf"))
    seen: list[NextBestAction] = []
    result = run(
        PolicyKind.LEARNING,
        RunConfig(seed=5, leads=60),
        split,
        LearnerParams(),
        trip,
        on_decision=seen.append,
    )
    assert result.verdict.judged and result.verdict.below
    assert result.guard.learning.leads >= 5 and result.guard.holdout.leads >= 5
    assert 0 < result.greedy_steps < result.transitions
    arms = {lead.arm for lead in result.leads}
    assert arms == {"learning", "holdout"}
    learning = [n for n in seen if n.arm == "learning" and len(n.candidates) > 1]
    explored = [n for n in learning if any(c.score != c.q for c in n.candidates)]
    greedy = [n for n in learning if all(c.score == c.q for c in n.candidates)]
    assert explored and greedy  # before the guard judged, and after it tripped
    assert seen.index(explored[-1]) < seen.index(greedy[-1])
    calm = run(
        PolicyKind.LEARNING, RunConfig(seed=5, leads=60), split, LearnerParams(), GuardParams()
    )
    assert not calm.verdict.below and calm.greedy_steps == 0
    assert calm.guard.learning.leads == result.guard.learning.leads
