"""The lead agent: the one writer of lead state, and the extraction-deadline sweeper."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import faust
from pydantic import ValidationError

from stream_app import metrics
from stream_app.codec import InvalidEvent, dead_letter, decode_event, encode
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    deadline_result,
    handle_event,
    handle_extraction,
    overdue_extractions,
)
from stream_app.models import ExtractionResult
from stream_app.qsnapshot import QSnapshot
from stream_app.settings import Settings
from stream_app.topics import Topics

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def load_lead(leads: Any, lead_id: str) -> LeadState | None:
    raw = leads.get(lead_id)
    return LeadState.model_validate_json(raw) if raw else None


def register(
    app: faust.App,
    settings: Settings,
    topics: Topics,
    leads: Any,
    snapshot: QSnapshot,
    params: Params,
) -> None:
    # lead_id -> earliest extraction deadline of leads this worker wrote; the sweep
    # rebuilds it from the table after a restart, so nothing pending is forgotten.
    deadlines: dict[str, datetime] = {}
    rebuilt = False

    async def send_effects(effects: Effects) -> None:
        """Publish and wait for the broker's ack before the state write that follows.

        The state carries the event's dedup marker. Were it to reach the changelog
        while an output was still in the producer's buffer, a crash would lose the
        output for good: the redelivered event is then a duplicate and emits nothing
        (measured: 1-8 of 252 decisions lost in a kill test without this wait).
        """
        sent: list[Awaitable[Any]] = []
        for request in effects.extraction_requests:
            sent.append(
                await topics.extraction_requests.send(
                    key=request.lead_id.encode(), value=encode(request)
                )
            )
        for transition in effects.transitions:
            sent.append(
                await topics.lead_transitions.send(
                    key=transition.lead_id.encode(), value=encode(transition)
                )
            )
            before, after = transition.state_before, transition.state_after
            metrics.TRANSITIONS.labels(before.split(":")[0], after.split(":")[0]).inc()
            metrics.REWARD.observe(transition.reward)
        for decision in effects.decisions:
            sent.append(
                await topics.next_best_actions.send(
                    key=decision.lead_id.encode(), value=encode(decision)
                )
            )
            metrics.DECISIONS.labels(decision.action, decision.override or "none").inc()
        if sent:
            await asyncio.gather(*sent)

    async def dead(message: Any, topic: str, exc: InvalidEvent) -> None:
        letter = dead_letter(topic, message.partition, message.offset, message.value, exc, utcnow())
        log.warning(
            "dead letter %s[%d]@%d: %s", topic, message.partition, message.offset, exc.message
        )
        metrics.DEAD_LETTERS.labels(topic, exc.error_type).inc()
        await topics.dead_letters.send(key=message.key, value=encode(letter))

    @app.agent(topics.inputs, concurrency=1, name="lead-agent")
    async def lead_agent(stream: faust.StreamT[bytes]) -> None:
        # A worker that starts late first catches up with q-updates, so its first
        # decision comes from the same Q-table as everybody else's.
        await snapshot.caught_up.wait()
        async for record in stream.events():
            started = time.perf_counter()
            message = record.message
            topic = topics.logical.get(message.topic, message.topic)
            policy = Policy(snapshot.table, snapshot.q_version)
            if topic == "extractions":
                try:
                    result = ExtractionResult.model_validate_json(message.value or b"")
                except ValidationError as exc:
                    await dead(message, topic, InvalidEvent("validation", str(exc)[:1000]))
                    continue
                lead_id = result.lead_id
                state, effects = handle_extraction(
                    load_lead(leads, lead_id), result, policy, params
                )
            else:
                try:
                    event = decode_event(
                        topic, message.key, message.value, settings.max_event_bytes
                    )
                except InvalidEvent as exc:
                    await dead(message, topic, exc)
                    continue
                metrics.EVENTS_IN.labels(topic, event.type).inc()
                lead_id = event.lead_id
                state, effects = handle_event(
                    load_lead(leads, lead_id), event, policy, params, utcnow()
                )
            await send_effects(effects)
            leads[lead_id] = state.model_dump_json().encode()
            if state.pending:
                deadlines[lead_id] = min(p.deadline for p in state.pending)
            else:
                deadlines.pop(lead_id, None)
            metrics.PROCESSING_SECONDS.labels("lead").observe(time.perf_counter() - started)

    @app.timer(interval=settings.sweep_interval_s, name="extraction-deadline-sweep")
    async def sweep_deadlines() -> None:
        """Feed a failed result for overdue work back through the lead's partition.

        The sweep never writes the table itself (that needs the partition's stream
        context); the lead agent applies the result in order with everything else.
        """
        nonlocal rebuilt
        if not rebuilt and snapshot.caught_up.is_set() and not app.rebalancing:
            for lead_id, raw in list(leads.items()):
                state = LeadState.model_validate_json(raw)
                if state.pending:
                    deadlines[lead_id] = min(p.deadline for p in state.pending)
            rebuilt = True
        now = utcnow()
        for lead_id in [k for k, due in deadlines.items() if due <= now]:
            deadlines.pop(lead_id, None)
            stored = load_lead(leads, lead_id)
            for pending in overdue_extractions(stored, now) if stored else []:
                log.warning("extraction %s overdue; deciding without it", pending.extraction_id)
                await topics.extractions.send(
                    key=lead_id.encode(), value=encode(deadline_result(lead_id, pending, now))
                )
        metrics.TABLE_KEYS.labels("leads").set(len(leads))
