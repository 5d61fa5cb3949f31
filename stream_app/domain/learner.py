"""The single-writer Q-learner's rule: apply each transition once, in log order.

Each step is visit-aware (`qlearning.step_size`): 1/(n + 1 + n0), n the entry's
real visits and n0 the pseudo-visits a seeded prior counts as (0 for a pair the
priors do not name), so the priors are evidence that real outcomes outweigh as they
accumulate, not a starting point a constant step erases in a dozen visits.

A transition updates exactly one (state, action) entry, so the ids of the
transitions already applied are remembered *on that entry*: the dedup marker and
the value it guards change together in one table write (a separate dedup table
let a crash produce a duplicate: docs/runtime-notes.md, "Faust behaviour the code
relies on").
"""

from __future__ import annotations

from dataclasses import dataclass

from stream_app.domain.actions import STATUS_ACTIONS, Action
from stream_app.domain.lifecycle import CLOSED, Status
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors, step_size, td_update
from stream_app.domain.state_model import base_state

SEEDED = frozenset(seeded_priors())
"""The (state, action) pairs the seeded priors name: only these carry pseudo-visits."""


def seeded(state: str, action: Action) -> bool:
    """Whether the priors name this pair; a compound state's are its bucket's."""
    return (base_state(state), action) in SEEDED


@dataclass(frozen=True, slots=True)
class LearnerParams:
    """`alpha` is the floor of the visit-aware step; `prior_visits` is n0."""

    alpha: float = 0.01
    gamma: float = 0.9
    remembered_ids: int = 64
    prior_visits: float = 10.0

    def __post_init__(self) -> None:
        if not (0.0 < self.alpha <= 1.0 and self.prior_visits >= 0.0):
            raise ValueError(
                f"need 0 < alpha <= 1 and prior_visits >= 0, got {self.alpha}, {self.prior_visits}"
            )


@dataclass(frozen=True, slots=True)
class Learned:
    """A Q-table entry as the learner stores it."""

    q: float
    visits: int
    recent_ids: tuple[str, ...]
    q_version: int
    q_before: float
    td_error: float
    transition_id: str


@dataclass(frozen=True, slots=True)
class Step:
    """One transition as the learner reads it.

    `next_actions` are the actions the filter allowed in `state_after`; None means
    every action of its status (a record that did not carry them).
    """

    transition_id: str
    state_before: str
    action: Action
    reward: float
    state_after: str
    q_version: int
    next_actions: tuple[Action, ...] | None = None


def step_of(transition: LeadTransition, q_version: int) -> Step:
    """A logged transition as a learner step: the one reading every learner shares."""
    allowed = transition.next_actions
    return Step(
        transition_id=transition.transition_id,
        state_before=transition.state_before,
        action=Action(transition.action),
        reward=transition.reward,
        state_after=transition.state_after,
        q_version=q_version,
        next_actions=None if allowed is None else tuple(Action(a) for a in allowed),
    )


def status_of(state: str) -> Status:
    return Status(state.split(":", 1)[0])


def learn(
    q_table: QTable, stored: Learned | None, step: Step, params: LearnerParams
) -> tuple[QTable, Learned | None]:
    """Apply `step` unless this entry already has; returns the new table and entry.

    `None` as the entry means "already applied": the caller re-publishes the stored
    entry instead (its q-update may have been lost in the crash that caused the
    redelivery). The future value ranges over the actions the filter allowed in the
    next state (else every action of its status); a closed lead (declined, opted
    out) and a `stop` have no future.
    """
    if stored is not None and step.transition_id in stored.recent_ids:
        return q_table, None
    next_status = status_of(step.state_after)
    # `stop` ends outreach, so nothing the lead does later follows from it.
    terminal = next_status in CLOSED or step.action == Action.STOP
    key = (step.state_before, step.action)
    n0 = params.prior_visits if seeded(*key) else 0.0
    alpha = step_size(q_table.entry(*key).visits, n0, params.alpha)
    table, update = td_update(
        q_table,
        step.state_before,
        step.action,
        step.reward,
        None if terminal else step.state_after,
        None if terminal else (step.next_actions or STATUS_ACTIONS[next_status]),
        alpha=alpha,
        gamma=params.gamma,
    )
    recent = (*(stored.recent_ids if stored else ()), step.transition_id)
    entry = Learned(
        q=update.q_after,
        visits=update.visits,
        recent_ids=recent[-params.remembered_ids :],
        q_version=step.q_version,
        q_before=update.q_before,
        td_error=update.td_error,
        transition_id=step.transition_id,
    )
    return table, entry


def overlay(priors: QTable, learned: dict[tuple[str, Action], Learned]) -> QTable:
    """The learner's working table: seeded priors with every learned entry on top."""
    table = priors
    for (state, action), entry in learned.items():
        table = table.with_entry(state, action, QEntry(entry.q, entry.visits))
    return table
