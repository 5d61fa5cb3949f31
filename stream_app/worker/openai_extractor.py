"""Extraction by any OpenAI-compatible chat-completions endpoint.

One call per conversation asks for all ten dimensions as JSON (docs/architecture.md,
"Extraction"); the answer is validated against the same `Extraction` model the rest of
the system uses, so a model that drifts from the schema is retried and then
recorded as a failure rather than leaking malformed data into lead state.

Retries are ours alone (the SDK's are switched off) so the attempt budget and the
backoff are exactly what the settings say. The semaphore is taken per attempt, not
per conversation, so a request sleeping through its backoff does not hold a slot
another conversation could use.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from stream_app.domain.extraction.conversation import Conversation, family_turns, render
from stream_app.domain.extraction.keywords import opt_out_in
from stream_app.domain.extraction.model import Extraction, Intent

PROVIDER = "openai"
_PRODUCED_BY_US = ("status", "provider", "error")

ACTION_NAMES = (
    "warm_follow_up",
    "scheduling_push",
    "scholarship_outreach",
    "info_send",
    "gentle_nudge",
    "objection_address",
    "family_engage",
    "barrier_investigation",
    "low_commitment_invite",
    "social_proof",
    "retention_check_in",
    "reschedule_offer",
    "win_back_offer",
)


class _InvalidOutput(Exception):
    """The endpoint answered, but not with an Extraction; worth another attempt."""


_RETRYABLE = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
    _InvalidOutput,
)


def _response_schema() -> dict[str, Any]:
    schema = Extraction.model_json_schema()
    for key in _PRODUCED_BY_US:
        schema["properties"].pop(key, None)
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k not in _PRODUCED_BY_US]
    return schema


SYSTEM_PROMPT = f"""You read one conversation between an academy's outreach team and a family
(a parent or guardian) about a child's program, and extract what a thoughtful rep would note.

Rules:
- Signals come only from the family's words. Agent lines are context: an agent offering
  scholarships is not a financial concern; an agent saying "reply STOP" is not an opt-out.
- intent is the family's stance at the end of the conversation, one of: interested,
  considering, objecting, scheduling, requesting_info, declining, no_response, unclear.
- Levels are none, low, moderate, high. financial.concern_level: low for neutral price
  questions, moderate for worry or asking for aid, high for "can't afford" or lost income.
- Price is recorded under financial, not as an objection. Objection topics are short
  snake_case words such as distance, schedule, child_reluctant, program_fit, competitor,
  commitment, service_quality.
- additional_signals capture anything else a rep should know (referral_source, job_loss,
  competitor_offer, special_needs, family_change, relocation, health, ...). Where useful,
  set suggested_action to one of: {", ".join(ACTION_NAMES)}.
- opt_out is true only if the family asks not to be contacted.
- summary is 2-3 sentences; open_questions are questions nobody has answered yet.

Reply with one JSON object, no prose, matching this JSON Schema:
{json.dumps(_response_schema(), separators=(",", ":"))}"""


class OpenAIExtractor:
    """`Extractor` backed by an OpenAI-compatible endpoint; never raises."""

    name = PROVIDER

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_s: float = 20.0,
        max_retries: int = 3,
        max_concurrency: int = 8,
        *,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        temperature: float = 0.1,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        self._model = model
        self._attempts = max(1, max_retries + 1)
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._temperature = temperature
        self._slots = asyncio.Semaphore(max(1, max_concurrency))

    async def extract(self, conversation: Conversation) -> Extraction:
        if not family_turns(conversation):
            return Extraction(
                provider=PROVIDER,
                intent=Intent.NO_RESPONSE,
                summary="Only the academy's side is on record; nothing was sent to the model.",
            )
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=self._backoff_s, max=self._backoff_max_s),
            retry=retry_if_exception_type(_RETRYABLE),
            reraise=True,
        )
        attempts = 0
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    extraction = await self._attempt(conversation)
        except Exception as exc:  # the Extractor contract: a result, never a raise
            plural = "s" if attempts != 1 else ""
            return Extraction.failed(PROVIDER, f"{_reason(exc)} after {attempts} attempt{plural}")
        if opt_out_in(conversation) and not extraction.opt_out:
            extraction = extraction.model_copy(update={"opt_out": True})
        return extraction

    async def _attempt(self, conversation: Conversation) -> Extraction:
        async with self._slots:
            response = await self._client.chat.completions.create(
                model=self._model,
                temperature=self._temperature,
                response_format={"type": "json_object"},
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {
                        "role": "user",
                        "content": f"Channel: {conversation.channel}\n\n{render(conversation)}",
                    },
                ],
            )
        content = response.choices[0].message.content if response.choices else None
        return _parse(content)


def _parse(content: str | None) -> Extraction:
    if not content:
        raise _InvalidOutput("empty reply")
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        raise _InvalidOutput("reply is not JSON") from exc
    if not isinstance(data, dict):
        raise _InvalidOutput("reply is not a JSON object")
    allowed = Extraction.model_fields.keys() - set(_PRODUCED_BY_US)
    # Models add chatty top-level keys; dropping them costs nothing, rejecting costs a call.
    payload = {k: v for k, v in data.items() if k in allowed}
    try:
        return Extraction.model_validate({**payload, "provider": PROVIDER})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _InvalidOutput(f"schema mismatch at {where}") from exc


def _reason(exc: Exception) -> str:
    """A short, operator-readable cause: no response bodies, headers or keys."""
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, openai.APIStatusError):
        return f"http {exc.status_code}"
    if isinstance(exc, _InvalidOutput):
        return f"invalid output: {exc}"
    return f"unexpected {type(exc).__name__}"
