"""Deterministic ids: a redelivered input must re-emit its outputs under the same ids,
so every consumer can drop the duplicate; distinct inputs must never share one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from stream_app.domain.lead import decision_id, rule_trigger_id, stable_id
from tests.unit.domain.lead.helpers import T0


def test_a_stable_id_is_its_prefix_and_a_short_digest_of_its_parts() -> None:
    made = stable_id("x", "L1", "e1")
    assert re.fullmatch(r"x-[0-9a-f]{24}", made)
    assert stable_id("x", "L1", "e1") == made  # no randomness, no clock


@pytest.mark.parametrize(
    "one, other",
    [
        (("L1", "e1"), ("L1", "e2")),
        (("L1", "e1"), ("L2", "e1")),
        (("ab", "c"), ("a", "bc")),  # the separator keeps the parts apart
        (("L1", "e1"), ("e1", "L1")),
        (("L1",), ("L1", "")),
    ],
)
def test_different_parts_make_different_ids(one: tuple[str, ...], other: tuple[str, ...]) -> None:
    assert stable_id("x", *one) != stable_id("x", *other)


def test_a_decision_is_named_by_its_lead_and_trigger() -> None:
    assert decision_id("L1", "e1") == stable_id("d", "L1", "e1")
    assert decision_id("L1", "e1") != decision_id("L2", "e1")


def test_a_time_rule_is_named_by_its_lead_rule_and_due_time() -> None:
    due = T0 + timedelta(days=14)
    made = rule_trigger_id("L1", "decay", due)
    assert made == rule_trigger_id("L1", "decay", due)
    assert made.startswith("rule-")
    assert made not in {
        rule_trigger_id("L2", "decay", due),
        rule_trigger_id("L1", "flush", due),
        rule_trigger_id("L1", "decay", due + timedelta(seconds=1)),
    }
