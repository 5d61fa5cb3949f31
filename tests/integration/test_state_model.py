"""A worker on the compound state model decides and learns through the topics.

The worker is its own group with `STREAM_APP_STATE_MODEL=compound` and fresh topics,
so its Q-table starts from the seeded priors alone: the decision in a compound state
must be the one its bucket's priors make, and the step it closes must be learned
from the bucket's prior with the bucket's pseudo-visits. A transition naming a key
no state model makes is a dead letter, and the worker keeps deciding.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from stream_app.config.params import learner_params
from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.qlearning import seeded_priors, step_size
from stream_app.domain.state_model import base_state
from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import Upstream, decide, until

HUSBAND_AND_WEEKENDS = (
    "Agent: Hi Sarah, it's Dana from Bright Minds about the robotics program.\n"
    "Parent: It sounds nice, but I'd have to talk to my husband before we decide anything.\n"
    "Parent: And Jake only has weekends free, he has swim practice on weekdays.\n"
    "Agent: Of course."
)
INTERESTED_CALL = (
    "Agent: Hi Sarah, following up about the robotics program for Jake.\n"
    "Parent: Yes! Jake has been talking about it all week, we're really interested.\n"
    "Parent: He loves building things. What days are the classes?\n"
    "Agent: Tuesdays and Thursdays after school."
)
COMPOUND = "interested:has_objections+family+schedule"
"""Where the interested call leaves the lead: the objection, husband and weekends stay."""


async def test_a_compound_worker_decides_and_learns_through_the_topics(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    worker = workers.start(STREAM_APP_STATE_MODEL="compound")
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(
        broker, worker, "next-best-actions", "lead-transitions", "q-updates", "dead-letters"
    )
    try:
        events = Events(f"compound-{uuid.uuid4().hex[:8]}", Events.default_start())
        steps = [
            ("leads", events.created()),
            ("interactions", events.interaction(transcript=HUSBAND_AND_WEEKENDS)),
            ("interactions", events.interaction(transcript=INTERESTED_CALL)),
            ("leads", events.milestone("trial_booked")),
        ]
        decisions = [await decide(upstream, watcher, t, e, prefix) for t, e in steps]
        states = [d["rl_state"] for d in decisions]
        assert states[1:3] == ["contacted:has_objections+family+schedule", COMPOUND]

        # Day one a compound state is its bucket: the bucket's priors, no visits.
        asked = decisions[2]
        priors = seeded_priors()
        for candidate in asked["candidates"]:
            prior = priors.entry(base_state(COMPOUND), Action(candidate["action"]))
            assert (candidate["q"], candidate["visits"]) == (pytest.approx(prior.q), 0)
        assert asked["action"] == Action.OBJECTION_ADDRESS.value

        # The booked trial closes the interested step, keyed by the compound state.
        [transition] = await watcher.wait_for(
            prefix + "lead-transitions", lambda t: t["decision_id"] == asked["decision_id"]
        )
        assert (transition["state_before"], transition["action"]) == (COMPOUND, asked["action"])
        assert transition["state_after"] == decisions[3]["rl_state"]
        assert transition["reward"] == pytest.approx(0.7)  # interested -> trial booked
        [update] = await watcher.wait_for(
            prefix + "q-updates", lambda u: u["transition_id"] == transition["transition_id"]
        )
        assert (update["state"], update["visits"]) == (COMPOUND, 1)
        prior = priors.entry(base_state(COMPOUND), Action.OBJECTION_ADDRESS).q
        assert update["q_before"] == pytest.approx(prior)
        params = learner_params(Settings())
        alpha = step_size(0, params.prior_visits, params.alpha)  # the bucket's pseudo-visits
        assert update["q_after"] == pytest.approx(prior + alpha * update["td_error"])
        assert update["q_after"] > prior

        def served() -> dict[str, Any]:
            status, table = worker.get("/q-table")
            assert status == 200
            rows: dict[str, Any] = table["states"]
            return rows

        await until("/q-table to serve the compound entry", lambda: COMPOUND in served())
        assert served()[COMPOUND][asked["action"]]["q"] == pytest.approx(update["q_after"])
        status, pack = worker.get(f"/leads/{events.lead_id}/context-pack")
        assert status == 200 and pack["current_nba"]["decision_id"] == decisions[3]["decision_id"]
        status, lead = worker.get(f"/leads/{events.lead_id}")
        assert status == 200
        assert [d["rl_state"] for d in lead["decisions"]] == states

        # A key no state model makes is a dead letter; the worker keeps deciding.
        hostile = {
            "transition_id": f"t-hostile-{uuid.uuid4().hex[:8]}",
            "lead_id": events.lead_id,
            "occurred_at": Events.default_start().isoformat(),
            "state_before": "contacted:neutral+cost",
            "action": "warm_follow_up",
            "decision_id": "d-hostile",
            "reward": 0.1,
            "state_after": "contacted:neutral",
            "cause_event_id": "e-hostile",
        }
        partition, offset = await upstream.send_raw(
            prefix + "lead-transitions", orjson.dumps(hostile), events.lead_id.encode()
        )
        [letter] = await watcher.wait_for(
            prefix + "dead-letters",
            lambda d: (d["source_topic"], d["partition"], d["offset"])
            == ("lead-transitions", partition, offset),
        )
        assert letter["error_type"] == "validation"
        after = Events(f"after-{uuid.uuid4().hex[:8]}", Events.default_start())
        await decide(upstream, watcher, "leads", after.created(), prefix)
        assert not any(
            u["state"] == "contacted:neutral+cost" for u in watcher.records[prefix + "q-updates"]
        )
    finally:
        await watcher.stop()
