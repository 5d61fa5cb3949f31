"""The compound state model through the offline tools: replay, train, evaluate, snapshots.

Every tool reads states only through `QTable` and the learner, so a compound key
must train, evaluate and load like a bucket key, and a snapshot written before the
setting existed (bucket keys only) must still serve a compound lead: its bucket's
learned values are where the compound state starts.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stream_app.config.params import lead_params
from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.lead import Params, Policy
from stream_app.domain.learner import LearnerParams, Step
from stream_app.domain.messages import NextBestAction
from stream_app.domain.qlearning import QEntry, seeded_priors
from stream_app.domain.state_model import StateModel, base_state
from stream_app.domain.training import train, validate
from stream_app.offline.evaluate import LoggedCandidate, LoggedDecision, evaluate
from stream_app.offline.export import LoggedEvent
from stream_app.offline.replay_file import replay_for
from stream_app.offline.snapshots import Snapshot, SnapshotStore, entries_of
from tests.unit.domain.lead.helpers import Lead

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
COMPOUND = replace(Params(), state_model=StateModel.COMPOUND)
HUSBAND_AND_WEEKENDS = (
    "Agent: Hi Sarah, it's Dana from Bright Minds about the robotics program.\n"
    "Parent: It sounds nice, but I'd have to talk to my husband before we decide anything.\n"
    "Parent: And Jake only has weekends free, he has swim practice on weekdays.\n"
    "Agent: Of course."
)
STATE = "contacted:has_objections+family+schedule"
"""Where that call leaves a new lead under the compound model."""


def _log() -> list[LoggedEvent]:
    def event(n: int, type_: str, hours: int, **fields: Any) -> dict[str, Any]:
        at = (T0 + timedelta(hours=hours)).isoformat()
        return {"type": type_, "event_id": f"L1-e{n}", "lead_id": "L1", "occurred_at": at, **fields}

    events = [
        ("leads", event(1, "lead.created", 0, parent_name="Ana", phone="+15550100")),
        (
            "interactions",
            event(
                2,
                "interaction.completed",
                20,
                interaction_id="i2",
                channel="voice",
                direction="outbound",
                outcome="completed",
                transcript=HUSBAND_AND_WEEKENDS,
            ),
        ),
        ("leads", event(3, "lead.milestone", 60, milestone="trial_booked")),
    ]
    return [
        LoggedEvent(topic=t, partition=0, offset=i, key="L1", value=v)
        for i, (t, v) in enumerate(events)
    ]


@pytest.mark.parametrize(
    "model, state", [("bucket", "contacted:has_objections"), ("compound", STATE)]
)
def test_replay_decides_and_learns_in_the_configured_model(model: str, state: str) -> None:
    engine = replay_for(Settings(state_model=StateModel(model)))
    decisions = list(engine.run(_log()))
    assert decisions[1].rl_state == state
    # Day one the compound model decides exactly as the bucket model does.
    assert decisions[1].action == Action.OBJECTION_ADDRESS.value
    learned = engine.learner.table.entry(state, Action.OBJECTION_ADDRESS)
    assert learned.visits == 1
    prior = seeded_priors().entry(base_state(state), Action.OBJECTION_ADDRESS).q
    assert learned.q > prior  # a booked trial is worth more than the prior guessed


def _compound_lead(policy: Policy) -> NextBestAction:
    """The decision after the husband-and-weekends call, made from `policy`."""
    lead = Lead(policy=policy, params=COMPOUND)
    lead.created()
    effects = lead.call(transcript=HUSBAND_AND_WEEKENDS)
    [request] = effects.extraction_requests
    extraction = RulesExtractor().extract_sync(
        parse_transcript(request.transcript, request.channel.value)
    )
    [nba] = lead.extracted(effects, extraction).decisions
    return nba


def test_a_snapshot_keyed_by_buckets_still_loads_and_serves_a_compound_lead(
    tmp_path: Path,
) -> None:
    # A table learned before the setting existed: `status:bucket` keys only, where
    # family_engage turned out best for objecting families.
    bucket = "contacted:has_objections"
    old = seeded_priors().with_entry(bucket, Action.FAMILY_ENGAGE, QEntry(0.9, 30))
    store = SnapshotStore(tmp_path)
    store.save(Snapshot(version=3, created_at=T0, parent_version=2, entries=entries_of(old)))
    snapshot = store.load(3)
    assert all("+" not in e.state for e in snapshot.entries)

    nba = _compound_lead(Policy(snapshot.table(), 3))
    assert nba.rl_state == STATE
    assert nba.action == Action.FAMILY_ENGAGE.value
    [chosen] = [c for c in nba.candidates if c.action == Action.FAMILY_ENGAGE.value]
    assert (chosen.q, chosen.visits) == (0.9, 0)  # the bucket's value, none of its visits


def test_batch_training_and_evaluation_take_compound_states() -> None:
    steps = [
        Step(f"t{i}", STATE, Action.FAMILY_ENGAGE, 0.7, "trial:has_objections", i)
        for i in range(1, 6)
    ]
    active = seeded_priors()
    trained = train(active, steps, 3, random.Random(5), LearnerParams())
    entry = trained.table.entry(STATE, Action.FAMILY_ENGAGE)
    assert entry.visits == 5 and entry.q > 0.5
    # Drift counts from what the state served before: its bucket's (unnamed: 0).
    checked = validate(trained.table, active, 2.0)
    assert checked.ok and checked.max_drift == pytest.approx(entry.q)
    # Learning the compound state leaves its bucket's row as it was.
    assert trained.table.row("contacted:has_objections") == active.row("contacted:has_objections")

    logged = LoggedDecision(
        decision_id="d1",
        lead_id="L1",
        action=Action.OBJECTION_ADDRESS,
        rl_state=STATE,
        candidates=tuple(
            LoggedCandidate(action=a) for a in (Action.OBJECTION_ADDRESS, Action.FAMILY_ENGAGE)
        ),
    )
    # The priors agree with the logged decision, the trained table does not.
    assert evaluate(active, [logged], [], 0.0).agreed == 1
    assert evaluate(trained.table, [logged], [], 0.0).agreed == 0


def test_settings_pick_the_state_model() -> None:
    assert lead_params(Settings()).state_model is StateModel.BUCKET
    chosen = lead_params(Settings(state_model=StateModel.COMPOUND)).state_model
    assert chosen is StateModel.COMPOUND
