"""The running guard in the shell: the Q-learner's totals survive a restart through the
table value, a value it cannot read starts the totals over instead of stopping
learning, the gauges show what the totals and the verdict say, and every worker's
Q-table view takes the verdict the latest q-update carried."""

from __future__ import annotations

import logging

import orjson
import pytest

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.guard import ArmStats, GuardStats, Verdict
from stream_app.domain.qlearning import QEntry
from stream_app.worker import metrics
from stream_app.worker.agents.qlearner import GUARD_KEY, dump_guard, read_guard, show_guard
from stream_app.worker.qtable_view import QTableView

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
    show_guard(STATS, Verdict(judged=True, z=-3.5, evidence=4.2, below=True))

    def value(name: str, **labels: str) -> float | None:
        return metrics.REGISTRY.get_sample_value(name, labels)

    assert value("stream_app_arm_leads", arm="learning") == 310
    assert value("stream_app_arm_conversions", arm="holdout") == 160
    assert value("stream_app_arm_return", arm="holdout") == 210.5
    assert value("stream_app_guard_z") == -3.5
    assert value("stream_app_guard_evidence") == 4.2
    assert value("stream_app_guard_learning_below") == 1
    show_guard(STATS, Verdict(judged=True, z=0.4, evidence=-1.1, below=False))
    assert value("stream_app_guard_learning_below") == 0


def test_the_totals_key_is_no_q_table_entry_key() -> None:
    assert "|" not in GUARD_KEY


def _update(explore: bool, version: int) -> bytes:
    return orjson.dumps(
        {
            "state": "new:neutral",
            "action": "wait",
            "q_before": 0.0,
            "q_after": 0.1,
            "visits": version,
            "td_error": 0.1,
            "transition_id": f"t-{version}",
            "q_version": version,
            "explore": explore,
        }
    )


def test_every_worker_decides_by_the_latest_verdict_a_q_update_carried() -> None:
    view = QTableView(Settings())
    assert view.table.explores
    view.apply(_update(False, 1), b"new:neutral|wait")
    assert not view.table.explores
    assert view.table.entry("new:neutral", Action.WAIT) == QEntry(0.1, 1)
    view.apply(_update(True, 2), b"new:neutral|wait")
    assert view.table.explores
    # an update from before the guard existed carries no verdict: it explores
    older = orjson.loads(_update(False, 3))
    del older["explore"]
    view.apply(orjson.dumps(older), b"new:neutral|wait")
    assert view.table.explores
