"""What a decision is made from: the rule book's knobs and the Q-table in force."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

from stream_app.domain.actions import DEFAULT_FILTER, Action, FilterParams
from stream_app.domain.briefs import DEFAULT_BRIEFS, BriefParams
from stream_app.domain.buckets import DEFAULT_BUCKETS, BucketParams
from stream_app.domain.context import DEFAULT_LIMITS, ContextLimits
from stream_app.domain.exploration import Exploration
from stream_app.domain.guardrails import DEFAULT_POLICY, ContactPolicy
from stream_app.domain.lifecycle import DEFAULT_LIFECYCLE, DEFAULT_REWARDS, LifecycleParams, Rewards
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.domain.risk import DEFAULT_RISK, RiskParams
from stream_app.domain.scheduling import VoiceCalendar
from stream_app.domain.sms_window import WindowParams
from stream_app.domain.state_model import StateModel

Arm = Literal["learning", "holdout"]

DEFAULT_WINDOW = WindowParams()
DEFAULT_EXPLORATION = Exploration()
FROZEN_PRIORS = seeded_priors()
"""The holdout arm's policy: the seeded priors, never learned into (the table is immutable)."""


@dataclass(frozen=True, slots=True)
class Params:
    """Every knob of the rule book; Settings builds one, tests use the seed defaults."""

    policy_version: str = "ucb-v1"
    ucb_c: float = 0.2
    remembered_event_ids: int = 256
    recent_decisions: int = 10
    recent_interactions: int = 5
    extraction_deadline: timedelta = timedelta(minutes=2)
    rewards: Rewards = DEFAULT_REWARDS
    lifecycle: LifecycleParams = DEFAULT_LIFECYCLE
    filter: FilterParams = DEFAULT_FILTER
    buckets: BucketParams = DEFAULT_BUCKETS
    briefs: BriefParams = DEFAULT_BRIEFS
    risk: RiskParams = DEFAULT_RISK
    limits: ContextLimits = DEFAULT_LIMITS
    sms: WindowParams = DEFAULT_WINDOW
    contact: ContactPolicy = DEFAULT_POLICY
    holdout_share: float = 0.0
    exploration: Exploration = DEFAULT_EXPLORATION
    prior_visits: float = 10.0
    """Pseudo-visits of a seeded prior: how sure a Thompson draw is of it."""
    state_model: StateModel = StateModel.BUCKET
    """How a lead's context becomes its RL state (`domain/state_model.py`)."""


class Chooser(Protocol):
    """What a decision needs of a random generator (a seeded `random.Random` fits)."""

    def choice(self, seq: Sequence[Action]) -> Action: ...


@dataclass(frozen=True, slots=True)
class Policy:
    """The Q-table a decision is made from, and its version for provenance.

    `rng` switches selection from UCB to uniform random over the allowed actions:
    the baseline policy evaluations compare against. Randomness is passed in, so
    a seeded run is reproducible. `voice_budget` is the calendar of the voice
    calls the lead's partition booked, per hour they are scheduled for (None
    before its first call); `holdout` decides the champion/challenger holdout arm.
    `explore` is the running guard's verdict the table carries (`QTable.explores`):
    False, the learning arm decides greedily over the learned Q, with no bonus and
    no draw.
    """

    table: QTable
    version: int = 0
    rng: Chooser | None = None
    voice_budget: VoiceCalendar | None = None
    holdout: QTable = field(default_factory=lambda: FROZEN_PRIORS)

    @property
    def explore(self) -> bool:
        return self.table.explores

    def table_for(self, lead_id: str, holdout_share: float) -> tuple[QTable, Arm]:
        """The table that decides for this lead, and the arm it is in."""
        group = arm(lead_id, holdout_share)
        return (self.holdout if group == "holdout" else self.table), group


def arm(lead_id: str, holdout_share: float) -> Arm:
    """`holdout` for a stable share of leads (by hash), decided by the frozen policy.

    The same lead is always in the same arm, on every worker and in every replay,
    so the two arms' outcomes can be compared like an A/B test.
    """
    bucket_ = int(hashlib.sha256(lead_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return "holdout" if bucket_ < holdout_share else "learning"
