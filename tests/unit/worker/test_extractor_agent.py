"""The extractor agent drops requests whose lead has decided without them already."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from stream_app.config.settings import Settings
from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.model import Extraction
from stream_app.domain.lifecycle import ContactChannel
from stream_app.domain.messages import ExtractionRequest
from stream_app.wire.codec import encode
from stream_app.worker import metrics
from stream_app.worker.agents import extractor as extractor_agent
from tests.unit.worker.fakes import FakeTopics, NotedTopics

DEADLINE_S = 120.0
NOW = 1_800_000_000.0  # epoch seconds
TRANSCRIPT = "Agent: Hi Sarah Mitchell!\nParent: Call me on +15550100 about Jake."


@pytest.mark.parametrize(
    ("produced_at", "stale"),
    [
        (NOW, False),
        (NOW - DEADLINE_S, False),  # exactly at the deadline: the lead may still wait
        (NOW - DEADLINE_S - 0.001, True),
        (NOW - 86_400, True),  # the backlog after a day-long outage
        (NOW + 5, False),  # the producer's clock runs ahead of ours
        (None, False),  # no timestamp: nothing to judge by
        (-0.001, False),  # Kafka's -1 ms, "no timestamp", as Faust hands it over
    ],
)
def test_a_request_is_stale_once_the_deadline_after_it_was_produced_passed(
    produced_at: float | None, stale: bool
) -> None:
    assert extractor_agent.is_stale(produced_at, NOW, DEADLINE_S) is stale


# --- the loop ------------------------------------------------------------------------


@dataclass
class Message:
    value: bytes
    timestamp: float | None
    key: bytes = b"L1"
    partition: int = 3
    offset: int = 42


@dataclass
class Record:
    message: Message


class FakeStream:
    def __init__(self, *messages: Message) -> None:
        self._messages = messages

    async def events(self) -> AsyncIterator[Record]:
        for message in self._messages:
            yield Record(message)


class FakeApp:
    def __init__(self) -> None:
        self.agent_fn: Callable[[Any], Any] | None = None

    def agent(self, *_: Any, **__: Any) -> Callable[[Callable[[Any], Any]], Any]:
        def register(fn: Callable[[Any], Any]) -> Any:
            self.agent_fn = fn
            return fn

        return register


class CountingExtractor:
    name = "rules"

    def __init__(self) -> None:
        self.calls = 0

    async def extract(self, conversation: Conversation) -> Extraction:
        self.calls += 1
        return Extraction(summary="ok")


def _request(extraction_id: str) -> bytes:
    request = ExtractionRequest(
        extraction_id=extraction_id,
        lead_id="L1",
        requested_at=datetime(2020, 1, 1, tzinfo=UTC),  # event time, years ago
        channel=ContactChannel.VOICE,
        transcript=TRANSCRIPT,
        source_event_ids=("call-1",),
    )
    return encode(request)


def _stale_count() -> float:
    value = metrics.REGISTRY.get_sample_value("stream_app_stale_extraction_requests_total")
    return value or 0.0


async def test_the_agent_skips_a_stale_request_and_serves_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(extractor_agent.time, "time", lambda: NOW)
    app, topics, provider = FakeApp(), FakeTopics(), CountingExtractor()
    settings = Settings(extraction_deadline_s=DEADLINE_S)
    extractor_agent.register(cast(Any, app), settings, cast(Any, topics), provider)
    assert app.agent_fn is not None
    before = _stale_count()

    stream = FakeStream(
        Message(_request("x-stale"), timestamp=NOW - DEADLINE_S - 60),
        Message(_request("x-fresh"), timestamp=NOW - 1),
    )
    with caplog.at_level(logging.INFO, logger=extractor_agent.__name__):
        await app.agent_fn(stream)

    assert provider.calls == 1
    ((key, result),) = topics.sent["extractions"]  # the fresh one, though its event time is old
    assert key == b"L1" and b"x-fresh" in result
    assert _stale_count() == before + 1
    (line,) = [r.getMessage() for r in caplog.records if "stale" in r.getMessage()]
    assert "extraction-requests[3]@42" in line and "180 s ago" in line
    for secret in ("Sarah", "+15550100", "Jake", "L1", "x-stale"):
        assert secret not in line


async def test_a_result_the_broker_refuses_stops_the_request_from_being_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(extractor_agent.time, "time", lambda: NOW)
    app, provider = FakeApp(), CountingExtractor()
    topics = NotedTopics(refused=frozenset({"extractions"}))
    settings = Settings(extraction_deadline_s=DEADLINE_S)
    extractor_agent.register(cast(Any, app), settings, cast(Any, topics), provider)
    assert app.agent_fn is not None
    stream = FakeStream(Message(_request("x-1"), timestamp=NOW - 1))
    # The loop raises before the request's offset is acked: it is read again.
    with pytest.raises(ConnectionError):
        await app.agent_fn(stream)
    assert topics.log == ["send extractions"]
