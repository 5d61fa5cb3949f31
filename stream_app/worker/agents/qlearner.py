"""The Q-learner: the only writer of the Q-table (one partition, one agent)."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, cast

import faust
import orjson
from pydantic import ValidationError

from stream_app.config.settings import LearningMode, Settings
from stream_app.domain.actions import Action
from stream_app.domain.learner import Learned, LearnerParams, Step, learn, overlay
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.wire.codec import encode, validation_summary
from stream_app.wire.models import QUpdate, entry_key
from stream_app.worker import metrics
from stream_app.worker.topics import Topics

log = logging.getLogger(__name__)


def q_update(state: str, action: str, entry: Learned) -> QUpdate:
    return QUpdate(
        state=state,
        action=action,
        q_before=entry.q_before,
        q_after=entry.q,
        visits=entry.visits,
        td_error=entry.td_error,
        transition_id=entry.transition_id,
        q_version=entry.q_version,
    )


def load_learned(raw: bytes) -> Learned:
    data = orjson.loads(raw)
    data["recent_ids"] = tuple(data["recent_ids"])
    return Learned(**data)


def register(
    app: faust.App, settings: Settings, topics: Topics, learned: Any, params: LearnerParams
) -> None:
    working: QTable | None = None

    def working_table() -> QTable:
        """Priors plus every learned entry, built once from the recovered table."""
        entries = {}
        for key, raw in learned.items():
            state, action = key.rsplit("|", 1)
            entries[(state, Action(action))] = load_learned(raw)
        return overlay(seeded_priors(), entries)

    @app.agent(topics.lead_transitions, concurrency=1, name="q-learner")
    async def q_learner(stream: faust.StreamT[bytes]) -> None:
        nonlocal working
        # Acked by hand once applied and published (see the lead agent for why).
        manual = cast(faust.Stream[bytes], stream).noack()
        async for record in manual.events():
            if settings.learning_mode == LearningMode.BATCH:
                await manual.ack(record)
                continue  # batch mode: the log is the product; `stream-app train` learns
            started = time.perf_counter()
            message = record.message
            try:
                transition = LeadTransition.model_validate_json(message.value or b"")
            except ValidationError as exc:
                # Fields and error types only: pydantic's text repeats the values.
                log.error(
                    "unreadable transition at offset %d: %s",
                    message.offset,
                    validation_summary(exc),
                )
                await manual.ack(record)
                continue
            if working is None:
                working = working_table()
            key = entry_key(transition.state_before, transition.action)
            raw = learned.get(key)
            stored = load_learned(raw) if raw else None
            step = Step(
                transition_id=transition.transition_id,
                state_before=transition.state_before,
                action=Action(transition.action),
                reward=transition.reward,
                state_after=transition.state_after,
                # The log has one partition: its offsets order every update.
                q_version=message.offset + 1,
            )
            working, entry = learn(working, stored, step, params)
            if entry is None:
                # Applied before a crash; its q-update may not have been sent.
                assert stored is not None
                entry = stored
            else:
                learned[key] = orjson.dumps(dataclasses.asdict(entry))
                metrics.Q_UPDATES.inc()
                metrics.TD_ERROR_ABS.observe(abs(entry.td_error))
            update = q_update(transition.state_before, transition.action, entry)
            await topics.q_updates.send(key=key.encode(), value=encode(update))
            await manual.ack(record)
            metrics.PROCESSING_SECONDS.labels("q-learner").observe(time.perf_counter() - started)
