"""Run simulated journeys through the pure domain, in process: no broker, no clock.

The engine plays the worker's part with the same functions the lead agent and the
Q-learner call (`handle_event`, `handle_extraction`, `learn`), reading transcripts
with the rules extractor synchronously. All families' journeys interleave in event
time, as they would on the topics, so the learning policy keeps learning while
other journeys are in flight. Because nothing waits on a network or a clock, a
population's weeks of journeys take seconds, and the same seed gives the same run.

Three policies share one population per seed:

- `learning`: UCB over a Q-table that starts from the seeded priors and learns
  online from every transition (the production configuration);
- `priors`: the seeded priors, frozen (learning off);
- `random`: uniform over the allowed actions (the baseline).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    handle_event,
    handle_extraction,
)
from stream_app.domain.learner import LearnerParams
from stream_app.domain.messages import InputEvent, NextBestAction
from stream_app.offline.replay import Learner, extract_now
from stream_app.sim.population import Decision, Family, family_seed

SIM_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Event time of the first arrival: fixed, so a seed names one run exactly."""


class PolicyKind(StrEnum):
    LEARNING = "learning"
    PRIORS = "priors"
    RANDOM = "random"


@dataclass(frozen=True, slots=True)
class RunConfig:
    seed: int
    leads: int
    max_steps: int = 25
    arrival_gap: timedelta = timedelta(minutes=30)
    """Event time between two families' arrivals: a population joins over days."""


@dataclass(frozen=True, slots=True)
class LeadResult:
    """One family's episode, in arrival order."""

    index: int
    enrolled: bool
    stage: str
    reward: float
    decisions: int


@dataclass(frozen=True, slots=True)
class RunResult:
    policy: PolicyKind
    seed: int
    leads: tuple[LeadResult, ...]
    decisions: int
    transitions: int


def lead_id(seed: int, index: int) -> str:
    return f"sim{seed}-{index:05d}"


def run(
    kind: PolicyKind,
    config: RunConfig,
    params: Params | None = None,
    learner_params: LearnerParams | None = None,
) -> RunResult:
    """Every family's journey under one policy, interleaved in event time."""
    params = params or Params()
    learner = Learner(learner_params or LearnerParams())
    chooser = random.Random(family_seed(config.seed, -1)) if kind is PolicyKind.RANDOM else None
    extractor = RulesExtractor()
    families = [
        Family.create(config.seed, i, lead_id(config.seed, i), SIM_START + i * config.arrival_gap)
        for i in range(config.leads)
    ]
    states: dict[str, LeadState] = {}
    rewards = [0.0] * config.leads
    decisions = [0] * config.leads
    transitions = 0
    # (event time, index, events, id of the event whose decision the family answers)
    queue: list[tuple[datetime, int, tuple[InputEvent, ...], str]] = []
    for family in families:
        created = family.created()
        heapq.heappush(queue, (created.occurred_at, family.index, (created,), created.event_id))
    while queue:
        _, index, events, deciding_id = heapq.heappop(queue)
        family = families[index]
        policy = Policy(learner.table, learner.version, chooser)
        answer: NextBestAction | None = None
        for event in events:
            for effects in _apply(states, event, policy, params, extractor):
                for transition in effects.transitions:
                    rewards[index] += transition.reward
                    transitions += 1
                    if kind is PolicyKind.LEARNING:
                        learner.apply(transition)
                for nba in effects.decisions:
                    decisions[index] += 1
                    if nba.trigger_event_id == deciding_id:
                        answer = nba
                policy = Policy(learner.table, learner.version, chooser)
        if answer is None or family.steps >= config.max_steps:
            continue
        reaction = family.react(Decision.of(answer))
        if reaction.deciding_event_id is not None:
            at = next(
                e.occurred_at for e in reaction.events if e.event_id == reaction.deciding_event_id
            )
            heapq.heappush(queue, (at, index, reaction.events, reaction.deciding_event_id))
    leads = tuple(
        LeadResult(f.index, f.enrolled, f.stage.value, rewards[f.index], decisions[f.index])
        for f in families
    )
    return RunResult(kind, config.seed, leads, sum(decisions), transitions)


def _apply(
    states: dict[str, LeadState],
    event: InputEvent,
    policy: Policy,
    params: Params,
    extractor: RulesExtractor,
) -> Iterator[Effects]:
    """What the lead agent and the extractor agent together do with one event."""
    state, effects = handle_event(
        states.get(event.lead_id), event, policy, params, event.occurred_at
    )
    states[event.lead_id] = state
    yield effects
    for request in effects.extraction_requests:
        result = extract_now(request, extractor)
        state, decided = handle_extraction(states[event.lead_id], result, policy, params)
        states[event.lead_id] = state
        yield decided


__all__ = ["SIM_START", "LeadResult", "PolicyKind", "RunConfig", "RunResult", "lead_id", "run"]
