"""The lead agent: the one writer of lead state, and the extraction-deadline sweeper."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import faust
from pydantic import BaseModel, ValidationError

from stream_app.config.settings import Settings
from stream_app.domain.guardrails import VoiceBudget
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    handle_event,
    handle_extraction,
    handle_tick,
    next_deadline,
    next_due,
    stable_id,
)
from stream_app.domain.lifecycle import Status
from stream_app.domain.messages import ExtractionResult
from stream_app.domain.qlearning import seeded_priors
from stream_app.wire.codec import InvalidEvent, dead_letter, decode_event, encode
from stream_app.wire.models import LeadTimer
from stream_app.worker import metrics
from stream_app.worker.faust_fixes import FixedTableManager
from stream_app.worker.qtable_view import QTableView
from stream_app.worker.tables import load_lead
from stream_app.worker.topics import Topics

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def register(
    app: faust.App,
    settings: Settings,
    topics: Topics,
    leads: Any,
    budgets: Any,
    snapshot: QTableView,
    params: Params,
) -> None:
    # lead_id -> (next event-time rule, next wall-clock deadline) for leads this
    # worker wrote; the sweep rebuilds it from the table after every recovery (a
    # restart or a rebalance that brings partitions), so no pending rule or deadline
    # of a lead this worker now owns is forgotten.
    timers: dict[str, tuple[datetime | None, datetime | None]] = {}
    watermark = datetime.min.replace(tzinfo=UTC)
    tables = cast(FixedTableManager, app.tables)
    indexed_generation = 0

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
        for reminder in effects.reminders:
            sent.append(
                await topics.reminders.send(key=reminder.lead_id.encode(), value=encode(reminder))
            )
            metrics.REMINDERS.inc()
        for reason in effects.guardrail_changes:
            metrics.GUARDRAIL_BLOCKS.labels(reason).inc()
        for action, outcome in effects.outcomes:
            metrics.ACTION_OUTCOMES.labels(action, outcome).inc()
        if sent:
            await asyncio.gather(*sent)
        for flush in effects.sms_flushes:
            metrics.SMS_FLUSHES.labels(flush.trigger.value).inc()
            metrics.SMS_THREAD_SIZE.observe(len(flush.messages))
            metrics.SMS_BUFFER_AGE_SECONDS.observe(flush.age.total_seconds())

    async def dead(message: Any, topic: str, exc: InvalidEvent) -> None:
        letter = dead_letter(topic, message.partition, message.offset, message.value, exc, utcnow())
        log.warning(
            "dead letter %s[%d]@%d: %s", topic, message.partition, message.offset, exc.message
        )
        metrics.DEAD_LETTERS.labels(topic, exc.error_type).inc()
        await topics.dead_letters.send(key=message.key, value=encode(letter))

    # The frozen policy the holdout arm is decided by (champion/challenger).
    holdout = seeded_priors()
    # Per-lead facts behind the gauges; refreshed on every write and by the rebuild.
    statuses: dict[str, str] = {}
    buffered: dict[str, int] = {}

    def index(state: LeadState | None) -> None:
        """Remember when this lead next needs the sweep (event time and wall time)."""
        if state is None:
            return
        statuses[state.lead_id] = state.status.value
        buffered[state.lead_id] = len(state.sms.messages)
        due, deadline = next_due(state, params), next_deadline(state)
        if due is None and deadline is None:
            timers.pop(state.lead_id, None)
        else:
            timers[state.lead_id] = (due, deadline)

    async def apply(
        message: Any, topic: str, policy: Policy
    ) -> tuple[str, LeadState | None, Effects]:
        """Decode one record and run the rule book on it; raises InvalidEvent."""
        nonlocal watermark
        value = message.value or b""
        if topic == "extractions":
            result = _validated(ExtractionResult, value)
            state, effects = handle_extraction(
                load_lead(leads, result.lead_id), result, policy, params
            )
            return result.lead_id, state, effects
        if topic == "lead-timers":
            timer = _validated(LeadTimer, value)
            ticked, effects = handle_tick(
                load_lead(leads, timer.lead_id), timer.now, timer.wall_now, policy, params
            )
            return timer.lead_id, ticked, effects
        event = decode_event(topic, message.key, message.value, settings.max_event_bytes)
        metrics.EVENTS_IN.labels(topic, event.type).inc()
        watermark = max(watermark, event.occurred_at)
        state, effects = handle_event(
            load_lead(leads, event.lead_id), event, policy, params, utcnow()
        )
        return event.lead_id, state, effects

    @app.agent(topics.inputs, concurrency=1, name="lead-agent")
    async def lead_agent(stream: faust.StreamT[bytes]) -> None:
        # A worker that starts late first catches up with q-updates, so its first
        # decision comes from the same Q-table as everybody else's.
        await snapshot.caught_up.wait()
        # Manual acks: Faust acks an event when the loop body exits, even when it exits
        # by cancellation (a graceful stop) or an exception, and that offset is then
        # committed unprocessed. Here an event is acked only once it is fully applied.
        manual = cast(faust.Stream[bytes], stream).noack()
        async for record in manual.events():
            started = time.perf_counter()
            message = record.message
            topic = topics.logical.get(message.topic, message.topic)
            budget_key = f"voice:p{message.partition}"
            raw_budget = budgets.get(budget_key)
            policy = Policy(
                snapshot.table,
                snapshot.q_version,
                holdout=holdout,
                voice_budget=VoiceBudget.model_validate_json(raw_budget) if raw_budget else None,
            )
            try:
                lead_id, state, effects = await apply(message, topic, policy)
            except InvalidEvent as exc:
                await dead(message, topic, exc)
                await manual.ack(record)
                continue
            await send_effects(effects)
            if topic == "lead-timers":
                decays = [t for t in effects.transitions if t.state_after.startswith("inactive:")]
                metrics.DECAY_TRANSITIONS.inc(len(decays))
            if state is not None:
                leads[lead_id] = state.model_dump_json().encode()
            if effects.voice_budget is not None and effects.voice_budget != policy.voice_budget:
                budgets[budget_key] = effects.voice_budget.model_dump_json().encode()
            index(state)
            await manual.ack(record)
            metrics.PROCESSING_SECONDS.labels("lead").observe(time.perf_counter() - started)

    @app.timer(interval=settings.sweep_interval_s, name="lead-timer-sweep")
    async def sweep() -> None:
        """Ask each lead whose time rules are due to run them, in its own partition.

        The sweep never writes the table itself (that needs the partition's stream
        context); the lead agent applies the timer in order with everything else.
        Event-time rules fire when the later of the wall clock and the newest event
        time seen passes them: live traffic follows the clock, an accelerated
        simulation follows its events.
        """
        nonlocal indexed_generation
        generation = tables.actives_generation
        if generation != indexed_generation and tables.actives_ready and not app.rebalancing:
            # Measured: a worker that indexed only its first assignment never flushed an
            # SMS thread buffered on a partition a later rebalance handed it.
            timers.clear()
            statuses.clear()
            buffered.clear()
            for raw in list(leads.values()):
                index(LeadState.model_validate_json(raw))
            indexed_generation = generation
        wall_now = utcnow()
        now = max(wall_now, watermark)
        for lead_id, (due, deadline) in list(timers.items()):
            if (due is not None and due <= now) or (deadline is not None and deadline <= wall_now):
                timers.pop(lead_id, None)
                timer = LeadTimer(
                    timer_id=stable_id("tm", lead_id, now.isoformat()),
                    lead_id=lead_id,
                    now=now,
                    wall_now=wall_now,
                )
                await topics.lead_timers.send(key=lead_id.encode(), value=encode(timer))
        metrics.TABLE_KEYS.labels("leads").set(len(leads))
        by_status = Counter(statuses.values())
        for status in Status:
            metrics.LEADS_BY_STATUS.labels(status.value).set(by_status.get(status.value, 0))
        metrics.SMS_BUFFERED_MESSAGES.set(sum(buffered.values()))
        metrics.SMS_THREADS_OPEN.set(sum(1 for size in buffered.values() if size))


def _validated(model: type[M], value: bytes) -> M:
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        raise InvalidEvent("validation", str(exc)[:1000]) from None
