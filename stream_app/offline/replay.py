"""`stream-app replay`: run an export through the pure core, in process, deterministically.

It plays every part of the live pipeline with the functions the agents call:

- lead agent: `handle_event` per event, in log order, with `now` = the event's
  `occurred_at` (live passes the wall clock, which only dates extraction deadlines;
  replay never needs one, see below);
- extractor agent: the rules extractor, synchronously, right after the request, so
  no extraction deadline ever passes (a live run with `STREAM_APP_EXTRACTOR=openai`
  can therefore differ wherever the LLM read a conversation differently);
- the sweep: before each event, every lead whose `next_due` is at or before the
  event's time runs `handle_tick(now=wall_now=occurred_at)`, earliest due first.
  This is the live sweep with an instant clock: live, a rule fires within one sweep
  interval of its due time (or of the first event past it, for traffic in the
  future). Time is event time only; nothing fires after the log's last event;
- Q-learner: each transition is learned as it is emitted, in emission order, with
  `q_version` = its position in the single-partition `lead-transitions` log + 1,
  as the live learner numbers it (`learning_mode=batch` logs and learns nothing);
- voice budgets: one per input partition, as the lead agent keeps them.

A decision's Q-table is therefore the one a live worker has when learning keeps up
with decisions. That is the only timing assumption: live learning is asynchronous,
so a decision made before the previous transition was learned carries an older
`q_version` (and possibly other Q values) than its replay.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import orjson

from stream_app.domain.actions import Action
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.guardrails import VoiceBudget
from stream_app.domain.lead import (
    Effects,
    LeadState,
    Params,
    Policy,
    handle_event,
    handle_extraction,
    handle_tick,
    next_due,
)
from stream_app.domain.learner import Learned, LearnerParams, Step, learn
from stream_app.domain.messages import (
    ExtractionRequest,
    ExtractionResult,
    InputEvent,
    LeadTransition,
    NextBestAction,
)
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.offline.export import LoggedEvent
from stream_app.wire.codec import InvalidEvent, decode_event

LeadStep = Callable[[Policy, LeadState | None], tuple[LeadState | None, Effects]]


def _event_step(
    policy: Policy, state: LeadState | None, *, event: InputEvent, params: Params
) -> tuple[LeadState | None, Effects]:
    return handle_event(state, event, policy, params, event.occurred_at)


def _extraction_step(
    policy: Policy, state: LeadState | None, *, result: ExtractionResult, params: Params
) -> tuple[LeadState | None, Effects]:
    return handle_extraction(state, result, policy, params)


# The holdout arm is decided by the frozen seeded priors, as in the live worker.
HOLDOUT = seeded_priors()


def extract_now(request: ExtractionRequest, extractor: RulesExtractor) -> ExtractionResult:
    """The extractor agent's work done in-process, dated at the request's event time.

    Replay and the simulator answer extraction requests this way, synchronously and
    deterministically, instead of through the `extractions` topic.
    """
    conversation = parse_transcript(request.transcript, request.channel.value)
    return ExtractionResult(
        extraction_id=request.extraction_id,
        lead_id=request.lead_id,
        extracted_at=request.requested_at,
        source_event_ids=request.source_event_ids,
        extraction=extractor.extract_sync(conversation),
    )


class Learner:
    """The live Q-learner's bookkeeping: one entry per (state, action), versions by offset."""

    def __init__(self, params: LearnerParams, enabled: bool = True) -> None:
        self.table: QTable = seeded_priors()
        self.version = 0
        self.offset = 0
        self._params = params
        self._enabled = enabled
        self._entries: dict[tuple[str, Action], Learned] = {}

    def apply(self, transition: LeadTransition) -> None:
        offset, self.offset = self.offset, self.offset + 1
        if not self._enabled:
            return
        key = (transition.state_before, Action(transition.action))
        step = Step(
            transition_id=transition.transition_id,
            state_before=transition.state_before,
            action=key[1],
            reward=transition.reward,
            state_after=transition.state_after,
            q_version=offset + 1,
        )
        self.table, entry = learn(self.table, self._entries.get(key), step, self._params)
        if entry is not None:
            self._entries[key] = entry
            self.version = max(self.version, entry.q_version)


@dataclass
class Summary:
    events: int = 0
    invalid: int = 0
    decisions: int = 0
    transitions: int = 0
    ticks: int = 0
    """Leads whose time rules came due and ran (decay, SMS flush, reminder)."""
    actions: Counter[str] = field(default_factory=Counter)


class Replay:
    def __init__(
        self,
        params: Params,
        learner: Learner,
        max_event_bytes: int = 64 * 1024,
    ) -> None:
        self.params = params
        self.learner = learner
        self.summary = Summary()
        self._max_event_bytes = max_event_bytes
        self._extractor = RulesExtractor()
        self._states: dict[str, LeadState] = {}
        self._partitions: dict[str, int] = {}
        self._budgets: dict[int, VoiceBudget] = {}
        self._due: dict[str, datetime] = {}
        self._heap: list[tuple[datetime, str]] = []

    def run(self, log: Iterable[LoggedEvent]) -> Iterator[NextBestAction]:
        """Every decision, in the order the pure core makes them."""
        for logged in log:
            key = logged.key.encode() if logged.key is not None else None
            try:
                event = decode_event(
                    logged.topic, key, orjson.dumps(logged.value), self._max_event_bytes
                )
            except InvalidEvent:
                self.summary.invalid += 1
                continue
            self.summary.events += 1
            self._partitions[event.lead_id] = logged.partition
            yield from self._tick_due(event.occurred_at)
            yield from self._apply(
                event.lead_id,
                partial(_event_step, event=event, params=self.params),
            )

    def _tick_due(self, now: datetime) -> Iterator[NextBestAction]:
        ticked: set[tuple[datetime, str]] = set()
        while self._heap and self._heap[0][0] <= now:
            due, lead_id = heapq.heappop(self._heap)
            if self._due.get(lead_id) != due or (due, lead_id) in ticked:
                continue  # superseded by a later state, or a rule that cannot fire yet
            ticked.add((due, lead_id))
            self.summary.ticks += 1
            yield from self._apply(
                lead_id,
                lambda policy, state: handle_tick(state, now, now, policy, self.params),
            )

    def _apply(
        self,
        lead_id: str,
        call: LeadStep,
    ) -> Iterator[NextBestAction]:
        """One lead-agent step: policy from the learner, state and budget written back,
        transitions learned at once, requested extractions answered synchronously."""
        partition = self._partitions[lead_id]
        policy = Policy(
            self.learner.table,
            self.learner.version,
            voice_budget=self._budgets.get(partition),
            holdout=HOLDOUT,
        )
        state, effects = call(policy, self._states.get(lead_id))
        if effects.voice_budget is not None:
            self._budgets[partition] = effects.voice_budget
        for transition in effects.transitions:
            self.learner.apply(transition)
            self.summary.transitions += 1
        for decision in effects.decisions:
            self.summary.decisions += 1
            self.summary.actions[decision.action] += 1
            yield decision
        if state is None:
            return
        self._states[lead_id] = state
        self._index(state)
        for request in effects.extraction_requests:
            result = extract_now(request, self._extractor)
            yield from self._apply(
                lead_id,
                partial(_extraction_step, result=result, params=self.params),
            )

    def _index(self, state: LeadState) -> None:
        due = next_due(state, self.params)
        if due is None:
            self._due.pop(state.lead_id, None)
        elif self._due.get(state.lead_id) != due:
            self._due[state.lead_id] = due
            heapq.heappush(self._heap, (due, state.lead_id))


__all__ = ["Learner", "Replay", "Summary"]
