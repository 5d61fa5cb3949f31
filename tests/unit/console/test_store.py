"""The read model under redelivery, out-of-order topics, erasure and hostile records.

The store is real SQLite (in memory); records are projected exactly as the feed does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pytest

from stream_app.console.analytics import weekly_report
from stream_app.console.projection import Outcome, Projected, Skipped
from stream_app.console.store import Store
from stream_app.console.views import WorkFilter, clock, lead_page, reminders_page, worklist
from tests.unit.console.records import T0, created, nba, outcome, q_update, read, transition

NOW = T0.replace(day=20)


def history() -> list[Outcome]:
    """Two leads: one decided twice and approved, one pending approval."""
    first = nba("L1", "L1-created", 0)
    second = nba("L1", "L1-e2", 5, action="info_send", channel="sms")
    pending = nba("L2", "L2-created", 1, requires_approval=True, risk_segment="critical")
    return [
        read("leads", created("L1", 0, owner="ana"), 0),
        read("leads", created("L2", 1), 1),
        read("next-best-actions", first, 0),
        read("next-best-actions", pending, 1),
        read("next-best-actions", second, 2),
        read("action-outcomes", outcome("L1", second["decision_id"], "completed", 6), 0),
        read(
            "lead-transitions",
            transition("L1", first["decision_id"], 5, 0.1, "contacted:neutral"),
            0,
        ),
        read("q-updates", q_update("new:neutral", "warm_follow_up", 0.5, 2), 0),
        read("q-updates", q_update("new:neutral", "warm_follow_up", 0.4, 1), 1),
    ]


def snapshot(store: Store) -> dict[str, list[tuple[object, ...]]]:
    tables = [r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type='table'")]
    return {
        t: sorted(tuple(r) for r in store.query(f"SELECT * FROM {t}"))
        for t in tables
        if t not in ("positions", "meta")
    }


def fed(batches: Sequence[Sequence[Outcome]]) -> Store:
    store = Store(None)
    for batch in batches:
        store.apply(batch)
    return store


def test_every_record_of_the_history_projects() -> None:
    assert all(isinstance(o, Projected) for o in history())


def test_a_redelivered_batch_changes_nothing() -> None:
    once = fed([history()])
    twice = fed([history(), history(), history()[3:]])
    assert snapshot(twice) == snapshot(once)
    assert worklist(twice, NOW, WorkFilter(show="all")) == worklist(
        once, NOW, WorkFilter(show="all")
    )


@pytest.mark.parametrize(
    "order", [list(range(9)), list(reversed(range(9))), [5, 8, 6, 0, 4, 2, 1, 7, 3]]
)
def test_topics_in_any_order_give_the_same_read_model(order: list[int]) -> None:
    records = history()
    assert snapshot(fed([[records[i] for i in order]])) == snapshot(fed([records]))


def test_the_decision_in_force_is_the_latest_published_and_a_closed_one_leaves_the_queue() -> None:
    store = fed([history()])
    items = {i["lead_id"]: i for i in worklist(store, NOW, WorkFilter(show="all"))["items"]}
    assert items["L1"]["action"] == "info_send"
    assert items["L1"]["outcome"] == "completed" and not items["L1"]["open"]
    assert items["L1"]["owner"] == "ana" and items["L1"]["name"] == "Sarah Mitchell"
    assert items["L2"]["approval"] == "pending" and items["L2"]["open"]
    open_ids = [i["lead_id"] for i in worklist(store, NOW, WorkFilter())["items"]]
    assert open_ids == ["L2"]


def test_a_newer_q_version_wins_whatever_order_it_arrives_in() -> None:
    store = fed([history()])
    [row] = store.query("SELECT q, q_version FROM q_entries")
    assert (row["q"], row["q_version"]) == (0.5, 2)


def test_erasure_deletes_personal_rows_and_keeps_older_records_out() -> None:
    erased = {
        "type": "lead.erased",
        "event_id": "L1-erased",
        "lead_id": "L1",
        "occurred_at": T0.replace(day=10).isoformat(),
    }
    store = fed([history(), [read("leads", erased, 9)]])
    # A backlog of the lead's older records, read after the erasure, stays out.
    store.apply(history())
    assert lead_page(store, "L1", NOW) is not None  # transitions only: no personal data
    page = lead_page(store, "L1", NOW)
    assert page is not None and page["profile"] == {} and page["decisions"] == []
    assert page["timeline"] == [] and len(page["transitions"]) == 1
    assert store.query("SELECT count(*) AS n FROM events WHERE lead_id = 'L1'")[0]["n"] == 0


@pytest.mark.parametrize(
    ("topic", "raw", "key", "error_type"),
    [
        ("leads", b"\xff\xfe not json", "L9", "invalid_json"),
        ("leads", b"[1, 2]", "L9", "invalid_json"),
        ("leads", None, "L9", "empty"),
        ("interactions", b'{"type": "interaction.completed"}', "L9", "validation"),
        ("next-best-actions", b'{"decision_id": 1}', "L9", "validation"),
        ("next-best-actions", b"{", "L9", "invalid_json"),
        ("lead-transitions", b'{"reward": "Infinity"}', None, "validation"),
        ("q-updates", b'{"state": "nowhere"}', "a|b", "validation"),
        ("reminders", b"x" * 300_000, "L9", "too_large"),
    ],
)
def test_hostile_records_are_counted_and_skipped(
    topic: str, raw: bytes | None, key: str | None, error_type: str
) -> None:
    skipped = read(topic, raw, 7, key=key)
    assert isinstance(skipped, Skipped) and skipped.error_type == error_type
    store = fed([[skipped, skipped]])
    assert store.skipped_counts() == {(topic, error_type): 1}
    assert store.positions() == {(topic, 0): 8}


def test_a_record_keyed_by_another_lead_is_skipped_as_the_worker_dead_letters_it() -> None:
    skipped = read("next-best-actions", nba("L1", "x", 0), 0, key="L2")
    assert isinstance(skipped, Skipped) and skipped.error_type == "key_mismatch"


def test_positions_only_move_forward_and_rebuild_forgets_everything() -> None:
    store = fed([history()])
    store.apply([read("next-best-actions", nba("L1", "L1-created", 0), 0)])
    assert store.positions()[("next-best-actions", 0)] == 3
    store.clear()
    assert store.positions() == {} and snapshot(store)["decisions"] == []


def test_now_is_the_wall_clock_or_a_newer_decision_time_as_the_worker_keeps_stream_time() -> None:
    store = fed([history()])
    newest = T0 + timedelta(hours=5)  # the second decision of L1
    assert clock(store, NOW) == NOW  # live: a history in the past is read by the wall clock
    assert clock(store, T0) == newest  # an accelerated history runs ahead of the wall clock
    assert clock(Store(None), T0) == T0
    # An input record far ahead (which the worker dead-letters) does not move the clock.
    store.apply([read("leads", created("L9", 24 * 365), 2)])
    assert clock(store, T0) == newest


def test_a_reminder_leaves_the_queue_with_its_decision_and_a_fired_one_is_overdue() -> None:
    store = fed([history()])
    # L1's decision in force was completed: no reminder; L2's is pending, not due yet.
    page = reminders_page(store, T0)
    assert [r["lead_id"] for r in page["upcoming"]] == ["L2"] and page["overdue"] == []
    [pending] = page["upcoming"]
    store.apply(
        [
            read(
                "reminders",
                {
                    "reminder_id": pending["reminder_id"],
                    "lead_id": "L2",
                    "decision_id": pending["decision_id"],
                    "action": "warm_follow_up",
                    "remind_at": pending["remind_at"],
                    "note": "tomorrow morning",
                },
                0,
            )
        ]
    )
    # The worker fired it by its clock: overdue here too, whatever the console's now.
    page = reminders_page(store, T0)
    assert [r["lead_id"] for r in page["overdue"]] == ["L2"] and page["upcoming"] == []


def test_the_report_counts_since_a_time_in_any_zone_as_that_instant() -> None:
    store = fed([history(), [read("leads", b"\xff", 3)]])
    # 11:30+02:00 is 09:30 UTC: after L1's first decision (09:00 UTC), before the other two.
    since = datetime(2026, 3, 2, 11, 30, tzinfo=timezone(timedelta(hours=2)))
    report = weekly_report(store, NOW, since)
    assert report["since"] == "2026-03-02T09:30:00+00:00"
    assert report["decisions_since"] == 2
    assert report["unreadable_records"] == {"leads:invalid_json": 1}
    assert weekly_report(store, NOW, None)["since"] == (NOW - timedelta(days=7)).isoformat()
