"""OpenAIExtractor over real HTTP against a canned OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AbstractAsyncContextManager
from typing import Any

from stream_app.domain.extraction.conversation import parse_transcript, sms_thread
from stream_app.domain.extraction.model import (
    DETAIL_CHARS,
    ITEM_CHARS,
    LIST_ITEMS,
    NAME_CHARS,
    SUMMARY_CHARS,
    Extraction,
    ExtractionStatus,
    Intent,
    Level,
)
from stream_app.worker import metrics
from stream_app.worker.openai_extractor import CircuitBreaker, OpenAIExtractor
from tests.llm_server import LLMServer, Reply, llm_server

GOOD = {
    "summary": "Parent wants a Thursday trial, on a friend's word. No concerns raised.",
    "facts": ["Free Thursdays after school"],
    "intent": "scheduling",
    "intent_evidence": [{"quote": "Can we book Thursday at 4:30?"}],
    "sentiment": "positive",
    "sentiment_evidence": [{"quote": "my friend loves you guys"}],
    "open_questions": [],
    "financial": {"concern_level": "none", "mentions": []},
    "scheduling": {
        "constraints": [],
        "preferred_times": ["Thursday 4:30"],
        "evidence": [{"quote": "Thursday at 4:30"}],
    },
    "family": {"siblings": [], "decision_makers": [], "notes": []},
    "objections": [],
    "additional_signals": [
        {
            "signal": "referral_source",
            "detail": "friend",
            "urgency": "low",
            "evidence": [{"quote": "My friend loves you guys"}],
        }
    ],
    "opt_out": False,
    "confidence": 0.9,
    "provider": "someone-else",
}
CONV = parse_transcript(
    "Agent: Hi!\nParent: My friend loves you guys. Can we book Thursday at 4:30?", "voice"
)


def fake_llm(
    *replies: Reply, gate: asyncio.Event | None = None
) -> AbstractAsyncContextManager[LLMServer]:
    """Serve `replies` in order (the last one repeats); `gate` holds every request open."""
    return llm_server(list(replies), gate)


def extractor(server: LLMServer, **overrides: Any) -> OpenAIExtractor:
    options: dict[str, Any] = {
        "api_key": "sk-test-secret",
        "model": "fake-model",
        "base_url": server.base_url,
        "timeout_s": 2.0,
        "max_retries": 2,
        "max_concurrency": 4,
        "backoff_s": 0.001,
        "backoff_max_s": 0.01,
    }
    options.update(overrides)
    return OpenAIExtractor(**options)


async def test_success_is_validated_into_an_extraction() -> None:
    async with fake_llm(Reply(json.dumps(GOOD))) as server:
        result = await extractor(server).extract(CONV)
    assert result.status is ExtractionStatus.OK
    assert result.provider == "openai"
    assert result.intent is Intent.SCHEDULING
    assert result.additional_signals[0].signal == "referral_source"
    (request,) = server.requests
    assert request["model"] == "fake-model"
    assert request["response_format"]["type"] == "json_schema"
    schema = request["response_format"]["json_schema"]["schema"]
    assert "intent_evidence" in schema["properties"] and "provider" not in schema["properties"]
    assert request["temperature"] <= 0.2
    system, user = request["messages"]
    assert '"intent"' in system["content"] and '"provider"' not in system["content"]
    assert "Family (Parent): My friend loves you guys. Can we book" in user["content"]


async def test_invalid_json_is_retried() -> None:
    async with fake_llm(Reply("Sure! Here is the JSON: {"), Reply(json.dumps(GOOD))) as server:
        result = await extractor(server).extract(CONV)
    assert result.status is ExtractionStatus.OK
    assert len(server.requests) == 2


async def test_schema_mismatch_is_retried_then_fails() -> None:
    async with fake_llm(Reply(json.dumps({**GOOD, "intent": "maybe"}))) as server:
        result = await extractor(server, max_retries=1).extract(CONV)
    assert result.status is ExtractionStatus.FAILED
    assert result.error == "invalid output: schema mismatch at intent after 2 attempts"
    assert len(server.requests) == 2


async def test_persistent_500_fails_without_raising() -> None:
    async with fake_llm(Reply(status=500)) as server:
        result = await extractor(server, max_retries=2).extract(CONV)
    assert result.status is ExtractionStatus.FAILED
    assert result.provider == "openai"
    assert result.error == "http 500 after 3 attempts"
    assert len(server.requests) == 3  # ours only: the SDK's own retries are off


async def test_rate_limit_is_retried() -> None:
    async with fake_llm(Reply(status=429), Reply(json.dumps(GOOD))) as server:
        result = await extractor(server).extract(CONV)
    assert result.status is ExtractionStatus.OK
    assert len(server.requests) == 2


async def test_client_errors_are_not_retried_and_leak_no_secret() -> None:
    async with fake_llm(Reply(status=401)) as server:
        result = await extractor(server).extract(CONV)
    assert result.error == "http 401 after 1 attempt"
    assert "sk-test-secret" not in result.model_dump_json()
    assert len(server.requests) == 1


async def test_timeout_fails_without_raising() -> None:
    async with fake_llm(Reply(hang=True)) as server:
        result = await extractor(server, timeout_s=0.2, max_retries=0).extract(CONV)
    assert result.status is ExtractionStatus.FAILED
    assert result.error == "timeout after 1 attempt"


async def test_unreachable_endpoint_fails_without_raising() -> None:
    async with fake_llm(Reply(json.dumps(GOOD))) as server:
        base_url = server.base_url
    result = await OpenAIExtractor(
        api_key="k", model="m", base_url=base_url, timeout_s=1.0, max_retries=0, max_concurrency=1
    ).extract(CONV)
    assert result.status is ExtractionStatus.FAILED
    assert result.error == "connection error after 1 attempt"


async def test_concurrency_is_bounded() -> None:
    gate = asyncio.Event()
    async with fake_llm(Reply(json.dumps(GOOD)), gate=gate) as server:
        client = extractor(server, max_concurrency=2)
        tasks = [asyncio.create_task(client.extract(CONV)) for _ in range(5)]
        async with asyncio.timeout(5):
            while server.in_flight < 2:
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # give a third request the chance to (wrongly) arrive
        assert server.max_in_flight == 2
        gate.set()
        results = await asyncio.gather(*tasks)
    assert all(r.status is ExtractionStatus.OK for r in results)
    assert len(server.requests) == 5


async def test_family_opt_out_survives_a_model_that_missed_it() -> None:
    conv = sms_thread([("outbound", "Reply STOP to opt out"), ("inbound", "STOP")])
    reply = {**GOOD, "intent": "unclear", "opt_out": False}
    async with fake_llm(Reply(json.dumps(reply))) as server:
        result = await extractor(server).extract(conv)
    assert result.opt_out is True


async def test_no_family_words_makes_no_call() -> None:
    async with fake_llm(Reply(json.dumps(GOOD))) as server:
        result = await extractor(server).extract(sms_thread([("outbound", "Still interested?")]))
    assert result.intent is Intent.NO_RESPONSE
    assert server.requests == []


async def test_financial_levels_round_trip() -> None:
    conv = parse_transcript("Agent: Hi!\nParent: We can't afford it right now.", "voice")
    money = {"concern_level": "high", "mentions": ["can't afford"]}
    reply = {**GOOD, "financial": {**money, "evidence": [{"quote": "can't afford"}]}}
    async with fake_llm(Reply(json.dumps(reply))) as server:
        result = await extractor(server).extract(conv)
    assert result.financial.concern_level is Level.HIGH
    [quote] = result.financial.evidence
    assert (quote.turn, quote.start, quote.end) == (1, 3, 15)


# --- time: per attempt and overall deadline -------------------------------------------


async def test_a_trickling_server_hits_the_overall_deadline() -> None:
    """httpx's read timeout never fires on a byte every 100 ms; the deadline does."""
    async with fake_llm(Reply(trickle_s=0.1)) as server:
        client = extractor(server, timeout_s=5.0, max_retries=3, deadline_s=0.5)
        started = time.monotonic()
        result = await client.extract(CONV)
        elapsed = time.monotonic() - started
    assert result.status is ExtractionStatus.FAILED
    assert result.error == "deadline: 0.5 s passed, 1 attempt started"
    assert 0.5 <= elapsed < 1.5
    assert len(server.requests) == 1


async def test_a_trickling_server_is_cut_off_per_attempt_and_retried() -> None:
    async with fake_llm(Reply(trickle_s=0.05), Reply(json.dumps(GOOD))) as server:
        client = extractor(server, timeout_s=0.3, max_retries=1, deadline_s=5.0)
        started = time.monotonic()
        result = await client.extract(CONV)
        elapsed = time.monotonic() - started
    assert result.status is ExtractionStatus.OK
    assert len(server.requests) == 2
    assert elapsed < 2.0


async def test_no_retry_starts_whose_backoff_would_outlast_the_deadline() -> None:
    async with fake_llm(Reply(status=500)) as server:
        client = extractor(
            server, max_retries=3, backoff_s=10.0, backoff_max_s=10.0, deadline_s=1.0
        )
        started = time.monotonic()
        result = await client.extract(CONV)
        elapsed = time.monotonic() - started
    assert result.error == "deadline: 1 s leaves no time to retry http 500 after 1 attempt"
    assert len(server.requests) == 1
    assert elapsed < 1.0  # it did not sleep 10 s, nor wait for the deadline


async def test_the_deadline_covers_waiting_for_a_slot() -> None:
    async with fake_llm(Reply(json.dumps(GOOD))) as server:
        client = extractor(server, max_concurrency=1, deadline_s=0.3, timeout_s=5.0)
        async with client._slots:  # another conversation holds the one slot throughout
            started = time.monotonic()
            queued = await client.extract(CONV)
            elapsed = time.monotonic() - started
    assert queued.error == "deadline: 0.3 s passed, 1 attempt started"
    assert 0.3 <= elapsed < 1.0
    assert server.requests == []


# --- the circuit breaker --------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _circuit_open() -> float | None:
    return metrics.REGISTRY.get_sample_value("stream_app_extractor_circuit_open")


def _short_circuits() -> float:
    value = metrics.REGISTRY.get_sample_value("stream_app_extractor_short_circuits_total")
    return value or 0.0


async def test_the_breaker_opens_after_n_failures_and_then_makes_no_call() -> None:
    clock = FakeClock()
    replies = (Reply(status=500),) * 4 + (Reply(json.dumps(GOOD)),)
    async with fake_llm(*replies) as server:
        client = extractor(
            server, max_retries=0, circuit_failures=3, circuit_cooldown_s=30.0, clock=clock
        )
        for _ in range(3):
            assert (await client.extract(CONV)).error == "http 500 after 1 attempt"
        assert _circuit_open() == 1.0
        before = _short_circuits()

        short = await client.extract(CONV)
        assert short.status is ExtractionStatus.FAILED
        assert short.provider == "openai"
        assert short.error == "circuit_open: 3 failed extractions in a row, next trial in 30 s"
        assert len(server.requests) == 3  # no network call
        assert _short_circuits() == before + 1

        clock.now += 29.9
        assert (await client.extract(CONV)).error is not None
        assert client.breaker.state == "open" and len(server.requests) == 3

        clock.now += 0.1  # cool-down over: half-open, one trial, which fails
        assert client.breaker.state == "half_open"
        assert (await client.extract(CONV)).error == "http 500 after 1 attempt"
        assert len(server.requests) == 4
        assert client.breaker.state == "open"  # re-opened for another cool-down
        assert (await client.extract(CONV)).error.startswith("circuit_open")  # type: ignore[union-attr]
        assert len(server.requests) == 4

        clock.now += 30.0  # the next trial succeeds and closes the breaker
        assert (await client.extract(CONV)).status is ExtractionStatus.OK
        assert client.breaker.state == "closed"
        assert _circuit_open() == 0.0
        assert (await client.extract(CONV)).status is ExtractionStatus.OK
        assert len(server.requests) == 6


async def test_a_success_resets_the_count_of_failures() -> None:
    replies = (Reply(status=500), Reply(status=500), Reply(json.dumps(GOOD)), Reply(status=500))
    async with fake_llm(*replies) as server:
        client = extractor(server, max_retries=0, circuit_failures=3, clock=FakeClock())
        for _ in range(5):
            await client.extract(CONV)
    assert client.breaker.state == "closed"  # 2 failures, a success, 2 failures
    assert len(server.requests) == 5


def test_half_open_lets_exactly_one_trial_through() -> None:
    clock = FakeClock()
    changes: list[bool] = []
    breaker = CircuitBreaker(2, 10.0, clock=clock, on_change=changes.append)
    for _ in range(2):
        permit = breaker.allow()
        assert permit == "call"
        breaker.record(permit, ok=False)
    assert breaker.state == "open" and changes == [True]
    assert breaker.allow() is None
    clock.now += 10.0
    assert breaker.allow() == "trial"
    assert breaker.allow() is None  # a second caller while the trial runs
    breaker.record("trial", ok=None)  # cancelled: no verdict, the trial is free again
    assert breaker.allow() == "trial"
    breaker.record("trial", ok=True)
    assert breaker.state == "closed" and changes == [True, False]
    assert breaker.allow() == "call"


def test_late_failures_of_calls_started_before_opening_do_not_extend_the_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 10.0, clock=clock)
    breaker.record("call", ok=False)
    clock.now += 5.0
    breaker.record("call", ok=False)  # was in flight when the breaker opened
    assert breaker.retry_in_s == 5.0


# --- request and reply bounds ---------------------------------------------------------


async def test_max_tokens_is_sent() -> None:
    async with fake_llm(Reply(json.dumps(GOOD))) as server:
        await extractor(server, max_tokens=777).extract(CONV)
    (request,) = server.requests
    assert request["max_tokens"] == 777


async def test_a_reply_cut_off_at_max_tokens_fails_without_a_retry() -> None:
    async with fake_llm(Reply('{"summary": "Parent wa', finish_reason="length")) as server:
        result = await extractor(server, max_retries=3).extract(CONV)
    assert result.error == "invalid output: reply cut off at max_tokens after 1 attempt"
    assert len(server.requests) == 1


async def test_an_oversized_reply_comes_back_truncated_within_bounds() -> None:
    long = "x" * 2000
    q = [{"quote": "Can we book"}] * 50  # real words, so grounding keeps every signal
    reply = {
        **GOOD,
        "summary": "x" * 100_000,
        "facts": [long] * 200,
        "open_questions": [long] * 50,
        "financial": {"concern_level": "low", "mentions": [long] * 50, "evidence": q},
        "scheduling": {"constraints": [long] * 50, "preferred_times": [long] * 50, "evidence": q},
        "family": {
            "siblings": [long] * 50,
            "decision_makers": [long] * 50,
            "notes": [long],
            "evidence": q,
        },
        "objections": [{"topic": long, "detail": long, "severity": "high", "evidence": q}] * 50,
        "additional_signals": [
            {"signal": long, "detail": long, "suggested_action": long, "evidence": q}
        ]
        * 50,
    }
    async with fake_llm(Reply(json.dumps(reply))) as server:
        result = await extractor(server).extract(CONV)
    assert result.status is ExtractionStatus.OK
    assert len(server.requests) == 1  # truncated, not rejected and retried
    assert len(result.summary) == SUMMARY_CHARS
    lists = (
        result.facts,
        result.open_questions,
        result.financial.mentions,
        result.scheduling.constraints,
        result.scheduling.preferred_times,
        result.family.siblings,
        result.family.decision_makers,
    )
    for items in lists:
        assert len(items) == LIST_ITEMS
        assert all(len(item) == ITEM_CHARS for item in items)
    assert len(result.objections) == len(result.additional_signals) == LIST_ITEMS
    assert {len(o.topic) for o in result.objections} == {NAME_CHARS}
    assert {len(o.detail) for o in result.objections} == {DETAIL_CHARS}
    assert {len(s.suggested_action or "") for s in result.additional_signals} == {NAME_CHARS}
    assert len(result.model_dump_json()) < 100_000


def test_the_largest_possible_extraction_stays_far_below_a_kafka_record() -> None:
    # 4 bytes per character (UTF-8's worst) everywhere, as the model would truncate it.
    wide = "\U0001f600" * 100_000
    many = [wide] * 1000
    signal = {"signal": wide, "detail": wide, "suggested_action": wide}
    largest = Extraction.model_validate(
        {
            "summary": wide,
            "facts": many,
            "open_questions": many,
            "financial": {"mentions": many},
            "scheduling": {"constraints": many, "preferred_times": many},
            "family": {"siblings": many, "decision_makers": many, "notes": many},
            "objections": [{"topic": wide, "detail": wide}] * 1000,
            "additional_signals": [signal] * 1000,
            "error": wide,
        }
    )
    assert len(largest.model_dump_json().encode()) < 512 * 1024


def test_stored_extractions_within_the_old_limits_still_validate_unchanged() -> None:
    old = Extraction(
        summary="s" * 900, facts=("f" * 250,) * 12, objections=(), error="e" * 500
    ).model_dump_json()
    assert Extraction.model_validate_json(old).model_dump_json() == old
