"""The whole worker in one process: lead step, extractor and Q-learner, with no broker.

Replay and the simulator both run records through `InProcess`, which plays each
part of the live pipeline with the very functions the workers call:

- lead agent: `domain.lead.apply` per record, with the voice calendar of the
  lead's partition and the same holdout policy;
- extractor agent: the rules extractor, synchronously, right after the request, so
  no extraction deadline ever passes (a live run with `STREAM_APP_EXTRACTOR=openai`
  can therefore differ wherever the LLM read a conversation differently);
- the sweep: before each record of partition p, every lead of p whose time rule
  is due by p's stream time ticks at that time, earliest first (`tick_due`). As
  live, stream time is kept per partition (`StreamClocks`); replay has no wall
  clock, so p's stream time is the newest event time seen in p, the record's
  included. This is the live sweep with an instant clock: live, a rule fires
  within one sweep interval of its due time. Time is event time only; nothing
  fires after the last record of the lead's partition, and no record of another
  partition moves it;
- Q-learner: each transition is learned as it is emitted, in emission order, with
  `q_version` = its position in the single-partition `lead-transitions` log + 1,
  as the live learner numbers it (a disabled learner logs and learns nothing), and
  the running guard judges it as the live learner does (`guard.judge`): while the
  learning arm is significantly below the holdout arm, the next decisions are greedy.

A decision's Q-table is therefore the one a live worker has when learning keeps up
with decisions. That is the only timing assumption: live learning is asynchronous,
so a decision made before the previous transition was learned carries an older
`q_version` (and possibly other Q values) than its replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from stream_app.domain.actions import Action
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.domain.guard import NOT_JUDGED, GuardParams, GuardStats, Verdict, judge
from stream_app.domain.lead import (
    Chooser,
    Effects,
    LeadRecord,
    LeadState,
    Params,
    Policy,
    Tick,
    apply,
)
from stream_app.domain.lead.policy import arm
from stream_app.domain.lead.timers import PartitionedIndex, StreamClocks
from stream_app.domain.learner import Learned, LearnerParams, learn, step_of
from stream_app.domain.messages import ExtractionRequest, ExtractionResult, LeadTransition
from stream_app.domain.qlearning import QTable, seeded_priors
from stream_app.domain.scheduling import VoiceCalendar


def extract_now(request: ExtractionRequest, extractor: RulesExtractor) -> ExtractionResult:
    """The extractor agent's work done in-process, dated at the request's event time."""
    conversation = parse_transcript(request.transcript, request.channel.value)
    return ExtractionResult(
        extraction_id=request.extraction_id,
        lead_id=request.lead_id,
        extracted_at=request.requested_at,
        source_event_ids=request.source_event_ids,
        extraction=extractor.extract_sync(conversation),
    )


class Learner:
    """The live Q-learner's bookkeeping: one entry per (state, action), versions by offset,
    and the running guard's totals (`holdout_share` is the lead step's, so a lead is in
    the same arm here as in its decisions).

    `greedy_steps` counts the transitions after which the guard had stopped
    exploration: how long a run spent below its priors.
    """

    def __init__(
        self,
        params: LearnerParams,
        enabled: bool = True,
        guard: GuardParams | None = None,
        holdout_share: float = 0.0,
    ) -> None:
        self.table: QTable = seeded_priors()
        self.version = 0
        self.offset = 0
        self.guard = GuardStats()
        self.verdict: Verdict = NOT_JUDGED
        self.greedy_steps = 0
        self._params = params
        self._enabled = enabled
        self._guard_params = guard or GuardParams()
        self._holdout_share = holdout_share
        self._entries: dict[tuple[str, Action], Learned] = {}

    def apply(self, transition: LeadTransition) -> None:
        offset, self.offset = self.offset, self.offset + 1
        if not self._enabled:
            return
        key = (transition.state_before, Action(transition.action))
        step = step_of(transition, q_version=offset + 1)
        self.table, entry = learn(self.table, self._entries.get(key), step, self._params)
        if entry is not None:
            self._entries[key] = entry
            self.version = max(self.version, entry.q_version)
        group = arm(transition.lead_id, self._holdout_share) if entry is not None else None
        self.guard, self.verdict, explore = judge(self.guard, transition, group, self._guard_params)
        self.greedy_steps += not explore
        self.table = self.table.exploring(explore)


@dataclass
class InProcess:
    """Lead states, per-partition voice calendars, stream time and the sweep's index,
    in memory.

    `rng` makes every decision a uniform random pick (the baseline policy).
    """

    params: Params
    learner: Learner
    rng: Chooser | None = None
    states: dict[str, LeadState] = field(default_factory=dict)
    ticks: int = 0
    _partitions: dict[str, int] = field(default_factory=dict)
    _calendars: dict[int, VoiceCalendar] = field(default_factory=dict)
    _index: PartitionedIndex = field(init=False)
    _clock: StreamClocks = field(default_factory=StreamClocks)
    _extractor: RulesExtractor = field(default_factory=RulesExtractor)

    def __post_init__(self) -> None:
        self._index = PartitionedIndex(self.params)

    def feed(self, record: LeadRecord, partition: int, at: datetime) -> Iterator[Effects]:
        """Every step `record` (of `partition`, at event time `at`) causes: the due time
        rules of the partition's leads first, then the record itself."""
        self._partitions[record.lead_id] = partition
        self._clock.observe(partition, at)
        yield from self.tick_due(partition, self._clock.now(partition, at))
        yield from self._step(record, at)

    def tick_due(self, partition: int, now: datetime) -> Iterator[Effects]:
        """Tick every lead of `partition` whose rule is due by `now`, earliest first."""
        ticked: set[tuple[datetime, str]] = set()
        while (due := self._index.pop_next(partition, now, now)) is not None:
            if due in ticked:
                continue  # a rule that cannot fire yet: it waits for a later record
            ticked.add(due)
            self.ticks += 1
            yield from self._step(Tick(due[1], now), now)

    def _step(self, record: LeadRecord, clock: datetime) -> Iterator[Effects]:
        """One lead-agent step: policy from the learner, state and calendar written back,
        transitions learned at once, requested extractions answered synchronously."""
        partition = self._partitions[record.lead_id]
        policy = Policy(
            self.learner.table,
            self.learner.version,
            rng=self.rng,
            voice_budget=self._calendars.get(partition),
        )
        state, effects = apply(self.states.get(record.lead_id), record, policy, self.params, clock)
        if effects.voice_budget is not None:
            self._calendars[partition] = effects.voice_budget
        for transition in effects.transitions:
            self.learner.apply(transition)
        yield effects
        if effects.erased:  # the lead agent deletes the row and forgets the lead
            self.states.pop(record.lead_id, None)
            self._index.forget(record.lead_id)
        if state is None:
            return
        self.states[record.lead_id] = state
        self._index.update(state, partition)
        for request in effects.extraction_requests:
            yield from self._step(extract_now(request, self._extractor), clock)
