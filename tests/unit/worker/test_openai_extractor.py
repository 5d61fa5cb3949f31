"""OpenAIExtractor over real HTTP against a canned OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from stream_app.domain.extraction.conversation import parse_transcript, sms_thread
from stream_app.domain.extraction.model import ExtractionStatus, Intent, Level
from stream_app.worker.openai_extractor import OpenAIExtractor

GOOD = {
    "summary": "Parent wants a Thursday trial. No concerns raised.",
    "facts": ["Free Thursdays after school"],
    "intent": "scheduling",
    "sentiment": "positive",
    "open_questions": [],
    "financial": {"concern_level": "none", "mentions": []},
    "scheduling": {"constraints": [], "preferred_times": ["Thursday 4:30"]},
    "family": {"siblings": [], "decision_makers": [], "notes": []},
    "objections": [],
    "additional_signals": [{"signal": "referral_source", "detail": "friend", "urgency": "low"}],
    "opt_out": False,
    "confidence": 0.9,
    "provider": "someone-else",
}
CONV = parse_transcript("Agent: Hi!\nParent: Can we book Thursday at 4:30?", "voice")


@dataclass
class Reply:
    content: str | None = None
    status: int = 200
    hang: bool = False


@dataclass
class FakeLLM:
    base_url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def _completion(content: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


@asynccontextmanager
async def fake_llm(*replies: Reply, gate: asyncio.Event | None = None) -> AsyncIterator[FakeLLM]:
    """Serve `replies` in order (the last one repeats); `gate` holds every request open."""
    release = asyncio.Event()
    server = FakeLLM(base_url="")

    async def handler(request: web.Request) -> web.StreamResponse:
        server.requests.append(await request.json())
        reply = replies[min(len(server.requests), len(replies)) - 1]
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if reply.hang:
                await release.wait()
            if gate is not None:
                await gate.wait()
        finally:
            server.in_flight -= 1
        if reply.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=reply.status)
        return web.json_response(_completion(reply.content))

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.base_url = f"http://{host}:{port}/v1"
    try:
        yield server
    finally:
        release.set()
        if gate is not None:
            gate.set()
        await runner.cleanup()


def extractor(server: FakeLLM, **overrides: Any) -> OpenAIExtractor:
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
    assert request["response_format"] == {"type": "json_object"}
    assert request["temperature"] <= 0.2
    system, user = request["messages"]
    assert '"intent"' in system["content"] and '"provider"' not in system["content"]
    assert "Family (Parent): Can we book Thursday at 4:30?" in user["content"]


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
    reply = {**GOOD, "financial": {"concern_level": "high", "mentions": ["can't afford"]}}
    async with fake_llm(Reply(json.dumps(reply))) as server:
        result = await extractor(server).extract(CONV)
    assert result.financial.concern_level is Level.HIGH
