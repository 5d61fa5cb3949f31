"""`stream-app replay`: run an export through the pure core, in process, deterministically.

Every record of the log goes through `pipeline.InProcess`, the same lead step,
extractor and learner a live worker runs (see that module for the one timing
assumption), in log order, with the wall clock standing at each event's
`occurred_at`. Voice budgets are kept per input partition, as the lead agent
keeps them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from stream_app.domain.lead import Params
from stream_app.domain.messages import NextBestAction
from stream_app.offline.export import LoggedEvent
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.wire.codec import InvalidEvent, decode_event


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
        self._pipeline = InProcess(params, learner)

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
            for effects in self._pipeline.feed(event, logged.partition, event.occurred_at):
                self.summary.transitions += len(effects.transitions)
                for decision in effects.decisions:
                    self.summary.decisions += 1
                    self.summary.actions[decision.action] += 1
                    yield decision
            self.summary.ticks = self._pipeline.ticks


__all__ = ["Replay", "Summary"]
