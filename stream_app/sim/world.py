"""A simulated world per seed: its own family dispositions, each with its own response table.

One fixed response table would let a learner (or a person tuning one) fit that
table and call it learning. So every run seed draws a `World`: a few
`Disposition`s (kinds of family), each with

- its own share of the population;
- its own trait mix: the chance of each concern and how readily it answers;
- its own response table: the base odds of `hidden.RESPONSES`, each scaled by a
  random factor, and, in some situations, the two best remedies swapped (in one
  world a cost worry yields to information rather than to a scholarship).

The system never sees which disposition a family has; it shows only in what the
family says and does. Ranges are kept plausible: the action that answers a
concern still tends to work, pushing too early still tends to backfire, and no
odds leave [0, 0.95] forward or [0, 0.6] backfire. The README lists the ranges.
A seed names its world exactly (a seeded `random.Random`, drawn in a fixed
order), so policies compared on one seed face the same world and the same
families.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from stream_app.domain.actions import Action
from stream_app.sim.hidden import (
    CONTACT_DEFAULT,
    RESPONSES,
    STAGE_DEFAULTS,
    Concern,
    Odds,
)

DISPOSITIONS = 3
"""Kinds of family per world."""
FORWARD_SCALE = (0.6, 1.4)
"""Each listed forward chance is multiplied by a factor drawn from this range."""
BACKFIRE_SCALE = (0.5, 1.8)
"""Each listed backfire chance is multiplied by a factor drawn from this range."""
SWAP_CHANCE = 0.25
"""Chance, per concern and disposition, that the two best remedies trade places."""
TRAIT_SCALE = (0.5, 1.5)
"""Each trait's base chance is multiplied by a factor drawn from this range."""
TRAIT_BASE: Mapping[str, float] = {
    "cost_worried": 0.35,
    "busy_schedule": 0.3,
    "needs_spouse": 0.25,
    "child_reluctant": 0.2,
    "hesitant": 0.3,
}
"""The trait chances of the original single-table simulator, the centre of each range."""
RESPONSIVENESS_LOW = (0.35, 0.6)
"""Lower end of a disposition's chance of answering a call."""
RESPONSIVENESS_SPAN = (0.3, 0.45)
"""Width of a disposition's responsiveness range (capped at 0.98)."""
_MAX_FORWARD, _MAX_BACKFIRE = 0.95, 0.6


@dataclass(frozen=True, slots=True)
class TraitMix:
    """Chances of each trait, and the range a family's responsiveness is drawn from."""

    cost_worried: float
    busy_schedule: float
    needs_spouse: float
    child_reluctant: float
    hesitant: float
    responsiveness: tuple[float, float]


@dataclass(frozen=True, slots=True)
class Disposition:
    """One kind of family: how often it occurs, what it worries about, what answers it."""

    name: str
    share: float
    traits: TraitMix
    responses: Mapping[str, Mapping[Action, Odds]]

    def odds(self, situation: str, action: Action) -> Odds:
        """Hidden (forward, backfire) chances of `action` in `situation` for this kind."""
        default = STAGE_DEFAULTS.get(situation, CONTACT_DEFAULT)
        return self.responses.get(situation, {}).get(action, default)

    def best(self, situation: str) -> Action:
        """The listed action most likely to move this kind on (what an oracle would do)."""
        row = self.responses.get(situation, {})
        return max(row, key=lambda a: (row[a][0] - row[a][1], a.value)) if row else Action.WAIT


@dataclass(frozen=True, slots=True)
class World:
    """The dispositions of one seed's population."""

    seed: int
    dispositions: tuple[Disposition, ...]

    def pick(self, roll: float) -> Disposition:
        """The disposition a family with uniform `roll` in [0, 1) has."""
        edge = 0.0
        for disposition in self.dispositions:
            edge += disposition.share
            if roll < edge:
                return disposition
        return self.dispositions[-1]


def _clip(value: float, high: float) -> float:
    return round(min(high, max(0.0, value)), 4)


def _table(rng: random.Random) -> dict[str, dict[Action, Odds]]:
    table: dict[str, dict[Action, Odds]] = {}
    for situation, row in RESPONSES.items():
        scaled = {
            action: (
                _clip(forward * rng.uniform(*FORWARD_SCALE), _MAX_FORWARD),
                _clip(backfire * rng.uniform(*BACKFIRE_SCALE), _MAX_BACKFIRE),
            )
            for action, (forward, backfire) in row.items()
        }
        if situation in set(Concern) and rng.random() < SWAP_CHANCE:
            first, second = sorted(scaled, key=lambda a: (-scaled[a][0], a.value))[:2]
            scaled[first], scaled[second] = (
                (scaled[second][0], scaled[first][1]),
                (scaled[first][0], scaled[second][1]),
            )
        table[situation] = scaled
    return table


def _traits(rng: random.Random) -> TraitMix:
    chances = {
        name: _clip(base * rng.uniform(*TRAIT_SCALE), 0.7) for name, base in TRAIT_BASE.items()
    }
    low = rng.uniform(*RESPONSIVENESS_LOW)
    high = min(0.98, low + rng.uniform(*RESPONSIVENESS_SPAN))
    return TraitMix(**chances, responsiveness=(round(low, 4), round(high, 4)))


def world_seed(run_seed: int) -> int:
    """The world's own seed: stable across Python versions, apart from every family's."""
    digest = hashlib.sha256(f"world:{run_seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


@lru_cache(maxsize=64)
def world(run_seed: int) -> World:
    """The world `run_seed` names (the same one for every policy and every process)."""
    rng = random.Random(world_seed(run_seed))
    weights = [rng.gammavariate(2.0, 1.0) for _ in range(DISPOSITIONS)]
    total = sum(weights)
    dispositions = tuple(
        Disposition(
            name=f"d{k}",
            share=round(w / total, 4),
            traits=_traits(rng),
            responses=_table(rng),
        )
        for k, w in enumerate(weights)
    )
    return World(run_seed, dispositions)


__all__ = [
    "BACKFIRE_SCALE",
    "DISPOSITIONS",
    "FORWARD_SCALE",
    "RESPONSIVENESS_LOW",
    "RESPONSIVENESS_SPAN",
    "SWAP_CHANCE",
    "TRAIT_BASE",
    "TRAIT_SCALE",
    "Disposition",
    "TraitMix",
    "World",
    "world",
    "world_seed",
]
