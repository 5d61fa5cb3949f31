"""Batch training (`learning_mode=batch`): epochs of experience replay, then checks.

The online Q-learner applies each transition once, in log order. Batch training
starts from the table workers serve now and replays the transitions read since the
last run: each epoch draws as many samples as there are transitions, uniformly with
replacement, and applies the same step the online learner does (`learner.learn`:
the same TD rule, the same terminal cases). Sampling breaks the log's ordering
(one busy lead's steps in a row) and lets rare transitions propagate value through
the table over several epochs.

Visits are not the number of replayed samples: UCB reads visits as "how often was
this tried", so the candidate's visits are the active table's plus the real
transitions of each pair, however many epochs ran.

`trusted` is what a promotion may apply before serving a table with exploration
off: every entry with fewer than a threshold of real visits goes back to its seeded
prior. Greedy over Q takes the highest estimate, and an entry tried a handful of
times is most often highest by luck; served to every family, that luck is a wrong
action for all of them, while its prior is the rule book's considered guess.

`validate` is the gate before a candidate reaches the workers: a table with a NaN,
one that moved further than a bounded step from the active one, or one where a
state lost its last usable entry is rejected with the reason.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from stream_app.domain.learner import LearnerParams, Step, learn, step_of
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors


class Sampler(Protocol):
    """What replay needs of a generator (a seeded `random.Random` fits)."""

    def randrange(self, stop: int, /) -> int: ...


@dataclass(frozen=True, slots=True)
class Trained:
    table: QTable
    mean_abs_td_errors: tuple[float, ...]
    """Mean |TD error| of each epoch's samples, first to last: it should fall."""


def train(
    active: QTable,
    steps: Sequence[Step],
    epochs: int,
    sampler: Sampler,
    params: LearnerParams,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Trained:
    """Run `epochs` of uniform experience replay over `steps`, starting from `active`.

    Zero epochs returns `active` as it is: the table an online learner already
    learned every step into, promoted without replaying them again.
    `on_epoch(epoch, mean_abs_td_error)` is called after each epoch (a progress bar).
    """
    if epochs < 0:
        raise ValueError(f"need zero or more epochs, got {epochs}")
    if not steps or epochs == 0:
        return Trained(active, ())
    table = active
    errors: list[float] = []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for _ in range(len(steps)):
            sampled = steps[sampler.randrange(len(steps))]
            table, entry = learn(table, None, sampled, params)
            assert entry is not None  # no stored entry, so never "already applied"
            total += abs(entry.td_error)
        errors.append(total / len(steps))
        if on_epoch is not None:
            on_epoch(epoch, errors[-1])
    return Trained(_observed_visits(table, active, steps), tuple(errors))


def _observed_visits(table: QTable, active: QTable, steps: Sequence[Step]) -> QTable:
    """Replace replayed-sample counts with the active visits plus real transitions."""
    observed = Counter((s.state_before, s.action) for s in steps)
    for (state, action), count in observed.items():
        q = table.entry(state, action).q
        table = table.with_entry(
            state, action, QEntry(q, active.entry(state, action).visits + count)
        )
    return table


def trusted(table: QTable, min_visits: int) -> QTable:
    """`table` with every entry of fewer than `min_visits` real visits at its seeded prior.

    A reset entry is the prior's (its Q, no visits; Q 0 for a pair the priors do not
    name), so a later training run learns it again from the prior and the real
    transitions. `min_visits` 0 keeps every entry.
    """
    if min_visits < 0:
        raise ValueError(f"min_visits must be >= 0, got {min_visits}")
    priors = seeded_priors()
    for (state, action), entry in table.items():
        if entry.visits < min_visits:
            table = table.with_entry(state, action, priors.entry(state, action))
    return table


@dataclass(frozen=True, slots=True)
class Validation:
    max_drift: float
    """The largest |candidate Q - active Q| over every (state, action) either knows."""
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def validate(candidate: QTable, active: QTable, max_drift: float) -> Validation:
    """Check a candidate before it is promoted; every failed rule names itself.

    - every Q is finite (one NaN would spread through max_a' to every state before it);
    - no entry moved more than `max_drift` from the active table (pairs the active
      table lacks count from 0), so a bad batch cannot swing behaviour at once;
    - every state the active table knows keeps at least one finite entry.
    """
    problems: list[str] = []
    bad = sorted(f"{s}|{a.value}" for (s, a), e in candidate.items() if not math.isfinite(e.q))
    if bad:
        problems.append(f"{len(bad)} non-finite Q values, e.g. {', '.join(bad[:3])}")
    drift, worst = 0.0, ""
    for key in {*candidate, *active}:
        moved = abs(candidate.entry(*key).q - active.entry(*key).q)
        if math.isfinite(moved) and moved > drift:
            drift, worst = moved, f"{key[0]}|{key[1].value}"
    if drift > max_drift:
        problems.append(f"drift {drift:.4f} at {worst} exceeds the limit {max_drift:g}")
    emptied = sorted(
        s for s in active.states() if not any(math.isfinite(e.q) for e in candidate.row(s).values())
    )
    if emptied:
        problems.append(f"{len(emptied)} states lost every usable action, e.g. {emptied[0]}")
    return Validation(drift, tuple(problems))


def steps_of(transitions: Sequence[LeadTransition]) -> list[Step]:
    """Logged transitions as learner steps; one delivered twice is one experience."""
    seen: set[str] = set()
    steps: list[Step] = []
    for t in transitions:
        if t.transition_id not in seen:
            seen.add(t.transition_id)
            steps.append(step_of(t, q_version=0))
    return steps


__all__ = ["Sampler", "Trained", "Validation", "steps_of", "train", "trusted", "validate"]
