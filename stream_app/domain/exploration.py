"""Exploration over the ranked candidates, with the propensity of what was picked.

UCB alone is deterministic: every logged decision has propensity 1.0, so an
off-policy estimate (IPS, DR: `stream_app.offline.evaluate`) can only score policies that
agree with it. `epsilon:<e>` spends a share e of decisions on a uniformly chosen
allowed action and records the probability of the pick, which those estimators need.

The random draw is an argument, not a generator: `draw_for(decision_id)` derives it
from the decision id, so a redelivered event makes the same pick and `stream-app
replay` reproduces the live decisions exactly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

A = TypeVar("A")


@dataclass(frozen=True, slots=True)
class Exploration:
    """`epsilon` = 0 is deterministic UCB (the default)."""

    epsilon: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be within [0, 1], got {self.epsilon}")

    @classmethod
    def parse(cls, text: str) -> Exploration:
        """`none` or `epsilon:<e>` (the STREAM_APP_EXPLORATION syntax)."""
        if text == "none":
            return cls()
        kind, _, value = text.partition(":")
        if kind != "epsilon" or not value:
            raise ValueError(f"exploration must be 'none' or 'epsilon:<e>', got {text!r}")
        try:
            return cls(float(value))
        except ValueError:
            raise ValueError(
                f"exploration epsilon must be a number in [0, 1], got {value!r}"
            ) from None

    def __str__(self) -> str:
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


__all__ = ["Exploration", "draw_for", "explore"]
