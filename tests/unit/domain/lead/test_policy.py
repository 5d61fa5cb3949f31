"""Which table decides for a lead: the champion/challenger holdout arm.

The arms are compared like an A/B test, so a lead must land in the same arm on every
worker and in every replay, and the holdout arm must decide from the frozen table.
"""

from __future__ import annotations

import pytest

from stream_app.domain.actions import Action
from stream_app.domain.lead import FROZEN_PRIORS, Policy, arm
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors

LEADS = [f"lead-{i}" for i in range(500)]


@pytest.mark.parametrize("share, group", [(0.0, "learning"), (1.0, "holdout")])
def test_the_extreme_shares_put_every_lead_in_one_arm(share: float, group: str) -> None:
    assert {arm(lead, share) for lead in LEADS} == {group}


def test_a_larger_share_only_adds_leads_to_the_holdout() -> None:
    # One hash bucket per lead: raising the share never moves a lead back to learning,
    # so growing the holdout keeps every comparison made so far.
    held = [{lead for lead in LEADS if arm(lead, s) == "holdout"} for s in (0.1, 0.3, 0.6)]
    assert held[0] <= held[1] <= held[2]
    assert 0 < len(held[0]) < len(held[1]) < len(held[2]) < len(LEADS)


LEARNED = QTable().with_entry("new:neutral", Action.GENTLE_NUDGE, QEntry(9.0, 50))


@pytest.mark.parametrize(
    "share, table, group",
    [(0.0, LEARNED, "learning"), (1.0, FROZEN_PRIORS, "holdout")],
)
def test_table_for_returns_the_arms_table(share: float, table: QTable, group: str) -> None:
    chosen, got = Policy(LEARNED, 3).table_for("L1", share)
    assert chosen is table and got == group


def test_the_default_holdout_is_the_seeded_priors_and_stays_frozen() -> None:
    policy = Policy(LEARNED)
    assert policy.holdout is FROZEN_PRIORS
    FROZEN_PRIORS.with_entry("new:neutral", Action.STOP, QEntry(5.0, 1))  # a copy, not a write
    assert dict(FROZEN_PRIORS) == dict(seeded_priors())
