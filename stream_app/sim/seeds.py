"""Which simulator seeds may tune the learner and which only judge it.

A seed names one simulated world: its hidden response tables, its mix of family
traits and its families (`population`). Defaults of the learning algorithm are
chosen by looking at runs on `TUNING_SEEDS` only; the report that says whether
learning beats the rules runs on `REPORT_SEEDS`, which nothing is tuned on, so a
setting that merely fits the tuning worlds shows up as a worse report.

`REPORT_SEEDS` have been reported on many times, each report read before the next
choice was made, so they are held out from tuning but no longer unseen.
`FRESH_REPORT_SEEDS` are a second held-out set, declared before anyone ran them,
so a choice can be judged once on worlds no earlier decision looked at. The sets
are disjoint by construction and a test keeps them so.
"""

from __future__ import annotations

TUNING_SEEDS: range = range(1, 11)
"""Seeds anyone may look at while choosing defaults (step size, exploration, state)."""

REPORT_SEEDS: range = range(1001, 1006)
"""Held-out seeds: the report's numbers come from these; never tune on them."""

FRESH_REPORT_SEEDS: range = range(2001, 2006)
"""A second held-out set, first run for the frozen-table choice of issue #12."""

__all__ = ["FRESH_REPORT_SEEDS", "REPORT_SEEDS", "TUNING_SEEDS"]
