"""The Q-learner's side of the running guard: its totals survive a restart through the
table value, a value it cannot read starts the totals over instead of stopping
learning, and the gauges show what the totals and the verdict say."""

from __future__ import annotations

import logging

import pytest

from stream_app.domain.guard import ArmStats, GuardStats
from stream_app.worker import metrics
from stream_app.worker.agents.qlearner import GUARD_KEY, dump_guard, read_guard, show_guard

STATS = GuardStats(
    learning=ArmStats(leads=310, conversions=120, return_sum=151.25),
    holdout=ArmStats(leads=290, conversions=160, return_sum=210.5),
)


def test_the_totals_read_back_as_they_were_written() -> None:
    assert read_guard(dump_guard(STATS)) == STATS
    assert read_guard(None) == GuardStats()


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"learning": {}}', b'{"learning": {"leads": "x"}, "holdout": {}}'],
)
def test_unreadable_totals_start_over_and_say_so_without_the_value(
    raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        assert read_guard(raw) == GuardStats()
    assert "unreadable guard totals" in caplog.text
    assert "not json" not in caplog.text


def test_the_gauges_show_each_arm_and_the_verdict() -> None:
    show_guard(STATS, -3.5, True)

    def value(name: str, **labels: str) -> float | None:
        return metrics.REGISTRY.get_sample_value(name, labels)

    assert value("stream_app_arm_leads", arm="learning") == 310
    assert value("stream_app_arm_conversions", arm="holdout") == 160
    assert value("stream_app_arm_return", arm="holdout") == 210.5
    assert value("stream_app_guard_z") == -3.5
    assert value("stream_app_guard_learning_below") == 1
    show_guard(STATS, 0.4, False)
    assert value("stream_app_guard_learning_below") == 0


def test_the_totals_key_is_no_q_table_entry_key() -> None:
    assert "|" not in GUARD_KEY
