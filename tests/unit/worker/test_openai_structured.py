"""The OpenAI-compatible provider against a local server: schema out, evidence checked back.

Real HTTP to `tests.llm_server` (the same server the integration test points a
worker at): the request must carry the extraction schema, the replies are what
local models really send (quotes retyped or invented, an agent's line quoted,
code fences, wrong types, no usage), and what comes back must be grounded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from stream_app.config.settings import Settings
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.extraction.evidence import missing_evidence
from stream_app.domain.extraction.model import ExtractionStatus, Intent, Level
from stream_app.worker import metrics
from stream_app.worker.openai_extractor import RESPONSE_SCHEMA, OpenAIExtractor
from tests.llm_server import USAGE, Reply, json_reply, llm_server

CALL = parse_transcript(
    "Agent: Hi, it's Dana from Northstar Coding. We have scholarships if cost is a worry.\n"
    "Parent: Thanks. Honestly the $180 a month is steep for us since my hours got cut.\n"
    "Agent: Understood.\n"
    "Parent: He's autistic and loud groups are hard. How big are the classes?",
    "voice",
)

REALISTIC: dict[str, Any] = {
    "summary": "Parent worried about cost after reduced hours; asks about class size.",
    "facts": ["Child is autistic", "Hours were cut"],
    "intent": "requesting_info",
    "intent_evidence": [{"quote": "How big are the classes?"}],
    "sentiment": "neutral",
    "sentiment_evidence": [],
    "open_questions": ["How big are the classes?"],
    "financial": {
        "concern_level": "high",
        "mentions": ["$180 a month is steep"],
        # retyped (curly apostrophe, case), really said, and one the model invented
        "evidence": [
            {"quote": "the $180 A MONTH is steep"},
            {"quote": "my hours got cut"},
            {"quote": "we can’t pay anything"},
        ],
    },
    "scheduling": {"constraints": [], "preferred_times": []},
    "family": {"siblings": [], "decision_makers": [], "notes": []},
    "objections": [],
    "additional_signals": [
        {
            "signal": "special_needs",
            "detail": "autism; loud groups hard",
            "urgency": "moderate",
            "evidence": [{"quote": "He’s autistic", "speaker": "Parent"}],
        },
        {
            # the agent's words: never evidence of the family's situation
            "signal": "scholarship_interest",
            "urgency": "moderate",
            "evidence": [{"quote": "We have scholarships"}],
        },
    ],
    "opt_out": False,
}


def _client(base_url: str, **options: Any) -> OpenAIExtractor:
    return OpenAIExtractor(
        api_key="sk-local",
        model="qwen2.5-3b-instruct",
        base_url=base_url,
        timeout_s=2.0,
        max_retries=1,
        backoff_s=0.001,
        backoff_max_s=0.01,
        **options,
    )


def _sample(name: str, labels: dict[str, str] | None = None) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def test_a_realistic_reply_is_grounded_counted_and_downgraded() -> None:
    before = _sample("stream_app_extractor_unverified_quotes_total")
    async with llm_server([json_reply(REALISTIC)]) as server:
        e = await _client(server.base_url).extract(CALL)
    assert e.status is ExtractionStatus.OK
    assert e.unverified_quotes == 2  # "we can't pay anything" and the agent's scholarships
    assert _sample("stream_app_extractor_unverified_quotes_total") - before == 2
    # high concern, one of its three quotes invented: one level down, kept quotes grounded
    assert e.financial.concern_level is Level.MODERATE
    assert [q.quote for q in e.financial.evidence] == [
        "the $180 a month is steep",
        "my hours got cut",
    ]
    assert [s.signal for s in e.additional_signals] == ["special_needs"]
    [autistic] = e.additional_signals[0].evidence
    assert (autistic.quote, autistic.turn) == ("He's autistic", 3)
    assert e.intent is Intent.REQUESTING_INFO
    assert not missing_evidence(e, CALL)


async def test_the_request_carries_the_extraction_schema() -> None:
    async with llm_server([json_reply(REALISTIC)]) as server:
        await _client(server.base_url).extract(CALL)
    [request] = server.requests
    fmt = request["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "extraction"
    assert fmt["json_schema"]["schema"] == json.loads(json.dumps(RESPONSE_SCHEMA))
    # evidence spans are ours to find: the model is asked for the quote only
    assert fmt["json_schema"]["schema"]["$defs"]["Evidence"]["required"] == ["quote"]
    assert set(fmt["json_schema"]["schema"]["$defs"]["Evidence"]["properties"]) == {"quote"}
    assert "copied character for character" in request["messages"][0]["content"]


async def test_json_mode_is_the_fallback_by_setting() -> None:
    settings = Settings(
        openai_api_key="sk-local",
        openai_response_format="json_object",
        openai_base_url="http://127.0.0.1:9/v1",
    )
    async with llm_server([json_reply(REALISTIC)]) as server:
        client = OpenAIExtractor.from_settings(
            settings.model_copy(update={"openai_base_url": server.base_url})
        )
        e = await client.extract(CALL)
    assert e.status is ExtractionStatus.OK
    assert server.requests[0]["response_format"] == {"type": "json_object"}


async def test_tokens_and_latency_of_every_call_are_metrics() -> None:
    prompt = _sample("stream_app_extractor_tokens_total", {"kind": "prompt"})
    completion = _sample("stream_app_extractor_tokens_total", {"kind": "completion"})
    ok = _sample("stream_app_extractor_llm_seconds_count", {"outcome": "ok"})
    invalid = _sample("stream_app_extractor_llm_seconds_count", {"outcome": "invalid"})
    replies = [Reply(content="I think the family is interested!"), json_reply(REALISTIC)]
    async with llm_server(replies) as server:
        e = await _client(server.base_url).extract(CALL)
    assert e.status is ExtractionStatus.OK and len(server.requests) == 2
    tokens = _sample("stream_app_extractor_tokens_total", {"kind": "prompt"}) - prompt
    assert tokens == 2 * USAGE["prompt_tokens"]  # both answered calls cost tokens
    assert (
        _sample("stream_app_extractor_tokens_total", {"kind": "completion"}) - completion
        == 2 * USAGE["completion_tokens"]
    )
    assert _sample("stream_app_extractor_llm_seconds_count", {"outcome": "ok"}) - ok == 1
    assert _sample("stream_app_extractor_llm_seconds_count", {"outcome": "invalid"}) - invalid == 1


async def test_a_reply_without_usage_costs_no_tokens_on_the_books() -> None:
    before = _sample("stream_app_extractor_tokens_total", {"kind": "prompt"})
    async with llm_server([json_reply(REALISTIC, usage=None)]) as server:
        e = await _client(server.base_url).extract(CALL)
    assert e.status is ExtractionStatus.OK
    assert _sample("stream_app_extractor_tokens_total", {"kind": "prompt"}) == before


async def test_a_fenced_json_reply_is_read() -> None:
    fenced = "```json\n" + json.dumps(REALISTIC, indent=2) + "\n```"
    async with llm_server([Reply(content=fenced)]) as server:
        e = await _client(server.base_url).extract(CALL)
    assert e.status is ExtractionStatus.OK and len(server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(content="Sure! The family seems interested."), "invalid output: reply is not JSON"),
        (Reply(content="[1, 2, 3]"), "invalid output: reply is not a JSON object"),
        (Reply(content=None), "invalid output: empty reply"),
        (
            json_reply({**REALISTIC, "intent_evidence": "How big are the classes?"}),
            "invalid output: schema mismatch at intent_evidence",
        ),
        (
            json_reply({**REALISTIC, "financial": {"concern_level": "severe"}}),
            "invalid output: schema mismatch at financial.concern_level",
        ),
        (Reply(raw_body='{"error": "model not loaded"}'), "invalid output: empty reply"),
    ],
    ids=["prose", "array", "empty", "evidence-not-a-list", "unknown-level", "not-a-completion"],
)
async def test_malformed_replies_are_retried_then_fail(reply: Reply, error: str) -> None:
    async with llm_server([reply]) as server:
        e = await _client(server.base_url).extract(CALL)
    assert e.status is ExtractionStatus.FAILED
    assert e.error is not None and e.error.startswith(error)
    assert len(server.requests) == 2  # one retry (max_retries=1), then the failure
