"""Exploration over the ranked candidates, with the propensity of what was picked.

UCB alone is deterministic: every logged decision has propensity 1.0, so an
off-policy estimate (IPS, DR: `stream_app.offline.evaluate`) can only score policies that
agree with it. `epsilon:<e>` spends a share e of decisions on a uniformly chosen
allowed action and records the probability of the pick, which those estimators need.

`thompson:<s>` is Thompson sampling instead of UCB: each allowed action's value is
drawn from Normal(Q, s^2 / n_eff), n_eff its visits plus one plus the pseudo-visits of
a seeded prior, and the best draw is picked. s is the spread of one step's return
(the reward's scale), so a well-visited action barely varies while a little-known one
can win now and then, in proportion to how plausible it is that it is better. The
propensity of the pick is P(it has the best draw), estimated on `THOMPSON_SAMPLES`
further draws of the same decision (the pick's own draw is the first of them).

The random draw is an argument, not a generator: `draw_for(decision_id)` derives it
from the decision id, so a redelivered event makes the same pick and `stream-app
replay` reproduces the live decisions exactly.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypeVar

A = TypeVar("A")

THOMPSON_SAMPLES = 256
"""Draws per decision that estimate a Thompson pick's propensity (error ~ 0.03)."""

_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Exploration:
    """`epsilon` = 0 and `thompson` = 0 is deterministic UCB (the default).

    `thompson` > 0 selects by Thompson sampling with that return spread instead.
    """

    epsilon: float = 0.0
    thompson: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be within [0, 1], got {self.epsilon}")
        if not (math.isfinite(self.thompson) and self.thompson >= 0.0):
            raise ValueError(f"thompson spread must be finite and >= 0, got {self.thompson}")
        if self.epsilon and self.thompson:
            raise ValueError("choose epsilon or thompson, not both")

    @classmethod
    def parse(cls, text: str) -> Exploration:
        """`none`, `epsilon:<e>` or `thompson:<s>` (the STREAM_APP_EXPLORATION syntax)."""
        if text == "none":
            return cls()
        kind, _, value = text.partition(":")
        if kind not in ("epsilon", "thompson") or not value:
            raise ValueError(
                f"exploration must be 'none', 'epsilon:<e>' or 'thompson:<s>', got {text!r}"
            )
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"exploration {kind} must be a number, got {value!r}") from None
        return cls(epsilon=number) if kind == "epsilon" else cls(thompson=number)

    def __str__(self) -> str:
        if self.thompson:
            return f"thompson:{self.thompson:g}"
        return "none" if self.epsilon == 0.0 else f"epsilon:{self.epsilon:g}"


def draw_for(key: str) -> float:
    """A uniform draw in [0, 1) that is a pure function of `key` (e.g. a decision id)."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def explore(ranked: Sequence[A], exploration: Exploration, draw: float) -> tuple[A, float]:
    """The pick and its probability under epsilon-greedy over `ranked` (best first).

    With probability e the pick is uniform over all K candidates, else the best, so
    P(best) = 1 - e + e/K and P(other) = e/K. One draw decides both: u < e explores,
    and then u/e is itself uniform in [0, 1) and names the candidate.
    """
    if not ranked:
        raise ValueError("nothing to choose from")
    if not 0.0 <= draw < 1.0:
        raise ValueError(f"draw must be within [0, 1), got {draw}")
    k, e = len(ranked), exploration.epsilon
    index = int(draw / e * k) if draw < e else 0
    pick = ranked[min(index, k - 1)]
    propensity = e / k + (1.0 - e if pick == ranked[0] else 0.0)
    return pick, propensity


def thompson(
    candidates: Sequence[tuple[A, float, float]], spread: float, key: str
) -> tuple[A, float]:
    """The Thompson pick among (action, Q, n_eff) candidates, and its propensity.

    Every draw derives from `key` (the decision id), so a redelivery or a replay makes
    the same pick. Ties between equal draws go to the earlier candidate.
    """
    if not candidates:
        raise ValueError("nothing to choose from")
    if spread <= 0.0:
        raise ValueError(f"thompson spread must be > 0, got {spread}")
    wins = [0] * len(candidates)
    for sample in range(THOMPSON_SAMPLES):
        best, best_value = 0, -math.inf
        for i, (action, q, n_eff) in enumerate(candidates):
            u = draw_for(f"{key}\x1f{sample}\x1f{action}")
            value = q + spread / math.sqrt(n_eff) * _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
            if value > best_value:
                best, best_value = i, value
        wins[best] += 1
        if sample == 0:
            pick = best
    return candidates[pick][0], wins[pick] / THOMPSON_SAMPLES


__all__ = ["THOMPSON_SAMPLES", "Exploration", "draw_for", "explore", "thompson"]
