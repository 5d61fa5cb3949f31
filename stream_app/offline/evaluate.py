"""`stream-app evaluate`: score a candidate Q-table offline against logged decisions.

Inputs: the logged decisions (`next-best-actions`) and transitions (`lead-transitions`),
from the broker or from JSON-lines files (`stream-app tail`, `stream-app replay`).
The candidate is a snapshot file or the seeded priors.

What is estimated, and how:

- Agreement: for each logged decision the policy made itself (no override), the
  candidate's choice is recomputed by UCB over that decision's `candidates` (the
  actions that were allowed) in its `rl_state`; the rate is the share where it equals
  the logged action. Overridden decisions (closed leads, guardrails) are counted apart:
  no policy chose them.
- Per-state value: the discounted return G_t = r_t + gamma * G_{t+1} of each logged
  transition, walking each lead's transitions backwards in log order, averaged per
  `state_before` (the logging policy's value there), next to the candidate's
  max_a Q(s, a) (what the candidate believes the state is worth).
- Off-policy, one step (a contextual bandit view): decision i has context x_i (its
  state and candidates), logged action a_i with propensity p_i, and reward r_i, the
  sum of the rewards of the transitions that credit it (closed steps only). With the
  candidate's deterministic choice pi(x_i), over the n decisions that carry a
  propensity:

      IPS = 1/n * sum_i 1[pi(x_i) = a_i] / p_i * r_i
      DR  = 1/n * sum_i ( rhat(x_i, pi(x_i)) + 1[pi(x_i) = a_i] / p_i * (r_i - rhat(x_i, a_i)) )

  rhat(s, a) is the direct-method reward model: the mean logged r of (s, a), else of
  s, else 0. DR is unbiased when either the propensities or rhat are right, and has
  lower variance than IPS when rhat is close. The logged mean reward (the behaviour
  policy's own value) and DM = 1/n * sum_i rhat(x_i, pi(x_i)) are reported alongside.
  Decisions without a propensity (logged before `STREAM_APP_EXPLORATION` existed, or
  changed by a guardrail) are left out of these three.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QTable, select_action
from stream_app.offline.export import read_to_end

M = TypeVar("M", bound=BaseModel)


class LoggedCandidate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    action: Action


class LoggedDecision(BaseModel):
    """The fields of a `next-best-actions` record evaluation reads; the rest is ignored,
    so decisions logged by older and newer versions of the model both read."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    decision_id: str
    lead_id: str
    action: Action
    rl_state: str
    candidates: tuple[LoggedCandidate, ...]
    override: str | None = None
    propensity: Annotated[float, Field(gt=0, le=1)] | None = None
    arm: str = "learning"


@dataclass(frozen=True, slots=True)
class StateValue:
    state: str
    transitions: int
    mean_return: float
    candidate_value: float | None
    """max_a Q(s, a) over the candidate's entries; None if it knows nothing of s."""


@dataclass(frozen=True, slots=True)
class OffPolicy:
    decisions: int
    logged_mean_reward: float
    ips: float
    dr: float
    dm: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    decisions: int
    chosen: int
    """Decisions the policy made itself (no override): the agreement denominator."""
    agreed: int
    states: tuple[StateValue, ...]
    off_policy: OffPolicy | None
    """None when no decision carries a propensity and a closed step."""

    @property
    def agreement(self) -> float | None:
        return self.agreed / self.chosen if self.chosen else None


def evaluate(
    table: QTable,
    decisions: Sequence[LoggedDecision],
    transitions: Sequence[LeadTransition],
    ucb_c: float = 1.0,
    gamma: float = 0.9,
) -> Evaluation:
    """Every estimate of the module docstring for candidate `table`."""
    unique = list({d.decision_id: d for d in decisions}.values())
    transitions = list({t.transition_id: t for t in transitions}.values())
    own = [d for d in unique if d.override is None and d.candidates]
    choice = {
        d.decision_id: select_action(
            table, d.rl_state, [c.action for c in d.candidates], ucb_c
        ).action
        for d in own
    }
    agreed = sum(choice[d.decision_id] == d.action for d in own)
    rewards: dict[str, float] = defaultdict(float)
    for t in transitions:
        rewards[t.decision_id] += t.reward
    scored = [d for d in own if d.propensity is not None and d.decision_id in rewards]
    off_policy = _off_policy(scored, choice, rewards) if scored else None
    return Evaluation(
        len(unique), len(own), agreed, state_values(table, transitions, gamma), off_policy
    )


def state_values(
    table: QTable, transitions: Iterable[LeadTransition], gamma: float
) -> tuple[StateValue, ...]:
    """Mean discounted return per state_before, each lead's log walked backwards."""
    by_lead: dict[str, list[LeadTransition]] = defaultdict(list)
    for t in transitions:
        by_lead[t.lead_id].append(t)
    returns: dict[str, list[float]] = defaultdict(list)
    for steps in by_lead.values():
        g = 0.0
        for t in reversed(steps):
            g = t.reward + gamma * g
            returns[t.state_before].append(g)
    return tuple(
        StateValue(
            state,
            len(values),
            fmean(values),
            max((e.q for e in table.row(state).values()), default=None),
        )
        for state, values in sorted(returns.items())
    )


def _off_policy(
    scored: Sequence[LoggedDecision], choice: dict[str, Action], rewards: dict[str, float]
) -> OffPolicy:
    by_pair: dict[tuple[str, Action], list[float]] = defaultdict(list)
    by_state: dict[str, list[float]] = defaultdict(list)
    for d in scored:
        by_pair[(d.rl_state, d.action)].append(rewards[d.decision_id])
        by_state[d.rl_state].append(rewards[d.decision_id])

    def rhat(state: str, action: Action) -> float:
        seen = by_pair.get((state, action)) or by_state.get(state)
        return fmean(seen) if seen else 0.0

    ips, dr, dm = [], [], []
    for d in scored:
        assert d.propensity is not None
        r, pick = rewards[d.decision_id], choice[d.decision_id]
        weight = (pick == d.action) / d.propensity
        ips.append(weight * r)
        dm.append(rhat(d.rl_state, pick))
        dr.append(dm[-1] + weight * (r - rhat(d.rl_state, d.action)))
    logged = fmean(rewards[d.decision_id] for d in scored)
    return OffPolicy(len(scored), logged, fmean(ips), fmean(dr), fmean(dm))


def parse_lines(lines: Iterable[str | bytes], model: type[M]) -> list[M]:
    """JSON lines as `model`s; a bad line names its number."""
    parsed: list[M] = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                parsed.append(model.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"line {number}: not a {model.__name__}: {exc}") from None
    return parsed


def parse_file(path: Path, model: type[M]) -> list[M]:
    with path.open("rb") as f:
        return parse_lines(f, model)


async def read_logged(settings: Settings) -> tuple[list[LoggedDecision], list[LeadTransition]]:
    """Every decision and transition on the broker now."""
    decisions = await read_to_end(settings, ["next-best-actions"])
    transitions = await read_to_end(settings, ["lead-transitions"])
    return (
        parse_lines((r.value for r in decisions if r.value), LoggedDecision),
        parse_lines((r.value for r in transitions if r.value), LeadTransition),
    )


__all__ = [
    "Evaluation",
    "LoggedDecision",
    "OffPolicy",
    "StateValue",
    "evaluate",
    "parse_file",
    "parse_lines",
    "read_logged",
    "state_values",
]


@dataclass(frozen=True, slots=True)
class ArmResult:
    """One arm of the champion/challenger split, as the logs show it."""

    arm: str
    leads: int
    decisions: int
    mean_reward_per_decision: float
    mean_return_per_lead: float


def compare_arms(
    decisions: Sequence[LoggedDecision], transitions: Sequence[LeadTransition]
) -> list[ArmResult]:
    """Reward earned by each arm's decisions: the live A/B comparison of the policies."""
    arm_of = {d.decision_id: d.arm for d in decisions}
    per_arm: dict[str, list[LoggedDecision]] = defaultdict(list)
    for d in {d.decision_id: d for d in decisions}.values():
        per_arm[d.arm].append(d)
    earned: dict[str, float] = defaultdict(float)
    for t in {t.transition_id: t for t in transitions}.values():
        if t.decision_id in arm_of:
            earned[arm_of[t.decision_id]] += t.reward
    results = []
    for name, logged in sorted(per_arm.items()):
        leads = len({d.lead_id for d in logged})
        results.append(
            ArmResult(name, leads, len(logged), earned[name] / len(logged), earned[name] / leads)
        )
    return results
