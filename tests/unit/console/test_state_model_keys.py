"""The console's read model and Q view take compound state keys, as the worker makes them."""

from __future__ import annotations

from stream_app.console.analytics import learning
from stream_app.console.projection import Skipped
from stream_app.console.store import Store
from tests.unit.console.records import T0, created, nba, q_update, read, transition

COMPOUND = "contacted:positive_engagement+cost+family"


def test_compound_states_project_into_the_q_view_beside_bucket_states() -> None:
    decided = nba("L1", "L1-created", 0, rl_state=COMPOUND)
    store = Store(None)
    store.apply(
        [
            read("leads", created("L1", 0), 0),
            read("next-best-actions", decided, 0),
            read(
                "lead-transitions",
                {
                    **transition(
                        "L1", decided["decision_id"], 5, 0.4, "interested:neutral+schedule"
                    ),
                    "state_before": COMPOUND,
                },
                0,
            ),
            read("q-updates", q_update(COMPOUND, "scholarship_outreach", 0.6, 1), 0),
            read(
                "q-updates", q_update("contacted:positive_engagement", "scheduling_push", 0.5, 2), 1
            ),
        ]
    )
    view = learning(store, T0)
    heatmap = view["heatmap"]
    assert heatmap["states"] == ["contacted:positive_engagement", COMPOUND]
    assert heatmap["cells"][COMPOUND]["scholarship_outreach"]["q"] == 0.6
    [row] = store.query("SELECT state_before, state_after FROM transitions")
    assert (row["state_before"], row["state_after"]) == (COMPOUND, "interested:neutral+schedule")


def test_a_key_no_state_model_makes_is_skipped_as_the_worker_dead_letters_it() -> None:
    hostile = read("q-updates", q_update("contacted:neutral+cost", "wait", 0.1, 3), 2)
    assert isinstance(hostile, Skipped) and hostile.error_type == "validation"
