"""Run simulated journeys through the pure domain, in process: no broker, no clock.

The engine plays the worker's part through `offline.pipeline.InProcess`: the lead
step the lead agent runs (`domain.lead.step.apply`, with each lead's partition's
voice calendar and the holdout arm, from the parameters the worker builds from
its `Settings`: the same voice capacity split by partition, the same holdout
share), time rules ticked by event time, the Q-learner's update, and
the rules extractor answering synchronously. All families' journeys interleave in event
time, as they would on the topics, so the learning policy keeps learning while
other journeys are in flight. Because nothing waits on a network or a clock, a
population's weeks of journeys take seconds, and the same seed gives the same run.

The policies share one population per seed:

- `learning`: UCB over a Q-table that starts from the seeded priors and learns
  online from every transition (the production configuration);
- `priors`: the seeded priors, frozen (learning off);
- `random`: uniform over the allowed actions (the baseline);
- `frozen`: a table learned elsewhere (another population's `learning` run),
  served with learning off and greedily: what the learned values are worth as a
  policy. Without learning an exploration bonus buys no information: it stays
  where the table's visits left it, so UCB would keep taking the same detours
  (the less-visited actions of each state) on every family.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from stream_app.config.params import guard_params, lead_params
from stream_app.config.params import learner_params as settings_learner_params
from stream_app.config.settings import Settings
from stream_app.domain.guard import GuardParams, GuardStats, Verdict
from stream_app.domain.lead import Params
from stream_app.domain.lead.policy import Arm, arm
from stream_app.domain.learner import LearnerParams
from stream_app.domain.messages import InputEvent, NextBestAction
from stream_app.domain.qlearning import QTable
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.population import Decision, Family, family_seed

SIM_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
"""Event time of the first arrival: fixed, so a seed names one run exactly."""


class PolicyKind(StrEnum):
    LEARNING = "learning"
    PRIORS = "priors"
    RANDOM = "random"
    FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class RunConfig:
    seed: int
    leads: int
    max_steps: int = 25
    arrival_gap: timedelta = timedelta(minutes=30)
    """Event time between two families' arrivals: a population joins over days."""
    population: int = 0
    """Which families of the seed's world: another population is fresh families."""
    prefix: str | None = None
    """Lead ids are `<prefix><index:05d>`; default `sim<seed>-` (`p<population>` added)."""

    def lead_id(self, index: int) -> str:
        if self.prefix is not None:
            return f"{self.prefix}{index:05d}"
        population = f"p{self.population}" if self.population else ""
        return f"sim{self.seed}{population}-{index:05d}"


@dataclass(frozen=True, slots=True)
class LeadResult:
    """One family's episode, in arrival order."""

    index: int
    enrolled: bool
    stage: str
    reward: float
    decisions: int
    arm: Arm
    """The arm its decisions came from (`holdout` only with a holdout share)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    policy: PolicyKind
    seed: int
    leads: tuple[LeadResult, ...]
    decisions: int
    transitions: int
    table: QTable
    """The Q-table at the end of the run (what a `frozen` run can be given)."""
    guard: GuardStats
    """The running guard's per-arm totals, as the worker's Q-learner keeps them."""
    verdict: Verdict
    """The guard's last verdict."""
    greedy_steps: int
    """Transitions after which the guard had stopped exploration."""


def run(
    kind: PolicyKind,
    config: RunConfig,
    params: Params | None = None,
    learner_params: LearnerParams | None = None,
    guard: GuardParams | None = None,
    *,
    table: QTable | None = None,
    on_decision: Callable[[NextBestAction], None] | None = None,
) -> RunResult:
    """Every family's journey under one policy, interleaved in event time.

    `params`, `learner_params` and `guard` default to what a worker builds from its
    `Settings` (environment included), so the run takes the worker's decisions and
    its guard trips where the worker's would;
    leads spread over `params.contact.partitions` partitions by murmur2, as a
    producer spreads them, each partition with its own voice calendar.
    A `frozen` run serves `table` greedily with learning off. `on_decision` sees every
    decision, in the order the pipeline makes them.
    """
    if (kind is PolicyKind.FROZEN) != (table is not None):
        raise ValueError("a frozen run needs a table, and only a frozen run takes one")
    if params is None or learner_params is None or guard is None:
        settings = Settings()
        params = params or lead_params(settings)
        learner_params = learner_params or settings_learner_params(settings)
        guard = guard or guard_params(settings)
    learner = Learner(
        learner_params,
        enabled=kind is PolicyKind.LEARNING,
        guard=guard,
        holdout_share=params.holdout_share,
    )
    if table is not None:
        learner.table = table.exploring(False)
    chooser = random.Random(family_seed(config.seed, -1)) if kind is PolicyKind.RANDOM else None
    pipeline = InProcess(params, learner, rng=chooser)
    families = [
        Family.create(
            config.seed,
            i,
            config.lead_id(i),
            SIM_START + i * config.arrival_gap,
            population=config.population,
        )
        for i in range(config.leads)
    ]
    by_lead = {f.lead_id: f.index for f in families}
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
        answer: NextBestAction | None = None
        for event in events:
            partition = partition_for(event.lead_id, params.contact.partitions)
            for effects in pipeline.feed(event, partition, event.occurred_at):
                for transition in effects.transitions:
                    rewards[by_lead[transition.lead_id]] += transition.reward
                    transitions += 1
                for nba in effects.decisions:
                    decisions[by_lead[nba.lead_id]] += 1
                    if on_decision is not None:
                        on_decision(nba)
                    if nba.trigger_event_id == deciding_id:
                        answer = nba
        if answer is None or family.steps >= config.max_steps:
            continue
        reaction = family.react(Decision.of(answer))
        if reaction.deciding_event_id is not None:
            at = next(
                e.occurred_at for e in reaction.events if e.event_id == reaction.deciding_event_id
            )
            heapq.heappush(queue, (at, index, reaction.events, reaction.deciding_event_id))
    leads = tuple(
        LeadResult(
            f.index,
            f.enrolled,
            f.stage.value,
            rewards[f.index],
            decisions[f.index],
            arm(f.lead_id, params.holdout_share),
        )
        for f in families
    )
    return RunResult(
        kind,
        config.seed,
        leads,
        sum(decisions),
        transitions,
        learner.table,
        learner.guard,
        learner.verdict,
        learner.greedy_steps,
    )


__all__ = ["SIM_START", "LeadResult", "PolicyKind", "RunConfig", "RunResult", "run"]
