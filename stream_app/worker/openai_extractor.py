"""Extraction by any OpenAI-compatible chat-completions endpoint.

One call per conversation asks for all ten dimensions as JSON (docs/architecture.md,
"Extraction"). The request carries the `Extraction` model's JSON Schema as
`response_format` `json_schema`, which OpenAI, vLLM, llama.cpp's server and Ollama
use to constrain decoding; `response_format="json_object"` (JSON mode, the schema in
the prompt only) is the setting for servers that lack it. The answer is validated
against the same model the rest of the system uses, so a model that drifts from the
schema is retried and then recorded as a failure rather than leaking malformed data
into lead state.

Every signal comes with verbatim quotes of the family's words, and
`evidence.ground` checks each against the family's lines: a quote that is not
there is dropped, counted (`stream_app_extractor_unverified_quotes_total`) and its
signal downgraded. Each call's tokens and wall time are metrics too.

Retries are ours alone (the SDK's are switched off) so the attempt budget and the
backoff are exactly what the settings say. The semaphore is taken per attempt, not
per conversation, so a request sleeping through its backoff does not hold a slot
another conversation could use.

Time is bounded twice. httpx's timeouts are per read, so a server that trickles a
byte at a time would never trip them: each attempt also has a wall-clock bound
(`timeout_s`), and the whole extraction (waiting for a slot, every attempt, every
backoff) one overall deadline (`deadline_s`); no retry starts whose backoff would
end past it. A `CircuitBreaker` fails extractions at once, without a call, after
`circuit_failures` failed ones in a row, until a trial call after the cool-down
succeeds. `max_tokens` caps the reply, and the `Extraction` model truncates every
string and list the model sends to its bounds.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from typing import Any, Literal

import openai
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema
from pydantic import ValidationError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential,
)
from tenacity.stop import stop_base

from stream_app.config.settings import Settings
from stream_app.domain.extraction.conversation import Conversation, family_turns, render
from stream_app.domain.extraction.evidence import ground
from stream_app.domain.extraction.keywords import DEFAULT_KEYWORDS, Keywords, opt_out_in
from stream_app.domain.extraction.model import (
    ITEM_CHARS,
    LIST_ITEMS,
    SUMMARY_CHARS,
    Extraction,
    ExtractionStatus,
    Intent,
)
from stream_app.worker import metrics

PROVIDER = "openai"
_PRODUCED_BY_US = ("status", "provider", "error", "unverified_quotes")

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


class _CutOff(Exception):
    """The reply stopped at `max_tokens`; the same request would stop there again."""


class _AttemptTimeout(Exception):
    """One attempt ran past `timeout_s` (a slow or trickling server); worth another."""


_RETRYABLE = (
    openai.APIConnectionError,  # includes APITimeoutError
    openai.RateLimitError,
    openai.InternalServerError,
    _InvalidOutput,
    _AttemptTimeout,
)

Permit = Literal["call", "trial"]
ResponseFormat = Literal["json_schema", "json_object"]


class CircuitBreaker:
    """Closed, open after `failures` failed calls in a row, half-open after `cooldown_s`.

    `allow()` says whether a call may go: always while closed, never while open, and
    once (the trial) when the cool-down has passed. `record(permit, ok)` reports the
    call's outcome: a success closes the breaker, a failed trial re-opens it for
    another cool-down, and `ok=None` (cancelled, no verdict) frees the trial for the
    next call. Time is `clock()`, monotonic seconds, so tests move it by hand.
    `on_change(is_open)` is told each time the breaker opens or closes.
    """

    def __init__(
        self,
        failures: int,
        cooldown_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] | None = None,
    ) -> None:
        self._threshold = max(1, failures)
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._on_change = on_change
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._trial or self.retry_in_s > 0:
            return "open"
        return "half_open"

    @property
    def failures(self) -> int:
        """Failed calls in a row."""
        return self._failures

    @property
    def retry_in_s(self) -> float:
        """Seconds until the next trial may go (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._cooldown_s - self._clock())

    def allow(self) -> Permit | None:
        if self._opened_at is None:
            return "call"
        if self._trial or self.retry_in_s > 0:
            return None
        self._trial = True
        return "trial"

    def record(self, permit: Permit, ok: bool | None) -> None:
        if ok is None:
            if permit == "trial":
                self._trial = False
            return
        if ok:
            self._failures = 0
            self._trial = False
            if self._opened_at is not None:
                self._opened_at = None
                self._changed(False)
            return
        self._failures += 1
        if permit == "trial":
            self._trial = False
            self._opened_at = self._clock()  # another cool-down; still open
        elif self._opened_at is None and self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._changed(True)

    def _changed(self, is_open: bool) -> None:
        if self._on_change is not None:
            self._on_change(is_open)


def _export_circuit(is_open: bool) -> None:
    metrics.EXTRACTOR_CIRCUIT_OPEN.set(1 if is_open else 0)


def _response_schema() -> dict[str, Any]:
    """The Extraction schema less what we fill in; evidence spans are ours to find."""
    schema = Extraction.model_json_schema()
    for key in _PRODUCED_BY_US:
        schema["properties"].pop(key, None)
    if "required" in schema:
        schema["required"] = [k for k in schema["required"] if k not in _PRODUCED_BY_US]
    evidence = schema.get("$defs", {}).get("Evidence")
    if evidence is not None:
        evidence["properties"] = {"quote": evidence["properties"]["quote"]}
        evidence["required"] = ["quote"]
    return schema


RESPONSE_SCHEMA: dict[str, Any] = _response_schema()
"""What the model is asked to produce: sent as `response_format` and in the prompt."""


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
- Evidence: for every signal you report (intent, sentiment, financial, each objection,
  each additional signal, family, scheduling) give one to three quotes in its
  `evidence` list (`intent_evidence`, `sentiment_evidence` for the top-level ones),
  each {{"quote": "..."}} copied character for character from a Family line, a few
  words long. Never quote the Agent, never paraphrase. A signal you cannot quote is
  one you should not report; leave intent "unclear" and sentiment "neutral" then.
- opt_out is true only if the family asks not to be contacted.
- summary is 2-3 sentences; open_questions are questions nobody has answered yet.
- Be brief: summary under {SUMMARY_CHARS} characters, every list item under {ITEM_CHARS},
  at most {LIST_ITEMS} items per list; longer text is cut off.

Reply with one JSON object, no prose, matching this JSON Schema:
{json.dumps(RESPONSE_SCHEMA, separators=(",", ":"))}"""


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
        deadline_s: float = 60.0,
        max_tokens: int = 1024,
        circuit_failures: int = 5,
        circuit_cooldown_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        backoff_s: float = 0.5,
        backoff_max_s: float = 8.0,
        temperature: float = 0.1,
        response_format: ResponseFormat = "json_schema",
        keywords: Keywords = DEFAULT_KEYWORDS,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        self._model = model
        self._timeout_s = timeout_s
        self._attempts = max(1, max_retries + 1)
        self._deadline_s = deadline_s
        self._max_tokens = max_tokens
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._temperature = temperature
        self._keywords = keywords
        self._response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject = (
            ResponseFormatJSONSchema(
                type="json_schema",
                json_schema={"name": "extraction", "schema": RESPONSE_SCHEMA, "strict": False},
            )
            if response_format == "json_schema"
            else ResponseFormatJSONObject(type="json_object")
        )
        self._slots = asyncio.Semaphore(max(1, max_concurrency))
        self.breaker = CircuitBreaker(
            circuit_failures, circuit_cooldown_s, clock=clock, on_change=_export_circuit
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIExtractor:
        """The provider Settings describe; refuses settings that could never work."""
        if settings.openai_api_key is None:
            raise ValueError("STREAM_APP_EXTRACTOR=openai needs STREAM_APP_OPENAI_API_KEY")
        if settings.openai_deadline_s >= settings.extraction_deadline_s:
            # Every slow extraction would come back after its lead decided without it.
            raise ValueError(
                f"STREAM_APP_OPENAI_DEADLINE_S={settings.openai_deadline_s:g} must be below "
                f"STREAM_APP_EXTRACTION_DEADLINE_S={settings.extraction_deadline_s:g}"
            )
        return cls(
            api_key=settings.openai_api_key.get_secret_value(),
            model=settings.openai_model,
            base_url=settings.openai_base_url,
            timeout_s=settings.openai_timeout_s,
            max_retries=settings.openai_max_retries,
            max_concurrency=settings.extractor_concurrency,
            deadline_s=settings.openai_deadline_s,
            max_tokens=settings.openai_max_tokens,
            circuit_failures=settings.openai_circuit_failures,
            circuit_cooldown_s=settings.openai_circuit_cooldown_s,
            response_format=settings.openai_response_format,
            keywords=settings.keyword_scan,
        )

    async def extract(self, conversation: Conversation) -> Extraction:
        if not family_turns(conversation):
            return Extraction(
                provider=PROVIDER,
                intent=Intent.NO_RESPONSE,
                summary="Only the academy's side is on record; nothing was sent to the model.",
            )
        permit = self.breaker.allow()
        if permit is None:
            metrics.EXTRACTOR_SHORT_CIRCUITS.inc()
            return Extraction.failed(
                PROVIDER,
                f"circuit_open: {self.breaker.failures} failed extractions in a row, "
                f"next trial in {self.breaker.retry_in_s:.0f} s",
            )
        ok: bool | None = None
        try:
            extraction = await self._extract(conversation)
            ok = extraction.status is not ExtractionStatus.FAILED
        finally:
            self.breaker.record(permit, ok)  # ok None: cancelled, no verdict
        if ok:
            extraction = ground(extraction, conversation)
            if extraction.unverified_quotes:
                metrics.EXTRACTOR_UNVERIFIED_QUOTES.inc(extraction.unverified_quotes)
        if ok and opt_out_in(conversation, self._keywords) and not extraction.opt_out:
            extraction = extraction.model_copy(update={"opt_out": True})
        return extraction

    async def _extract(self, conversation: Conversation) -> Extraction:
        """Every attempt and backoff within one deadline; a failed Extraction, no raise."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._deadline_s
        out_of_time = _StopAtDeadline(loop, deadline)
        retrying = AsyncRetrying(
            stop=stop_any(stop_after_attempt(self._attempts), out_of_time),
            wait=wait_exponential(multiplier=self._backoff_s, max=self._backoff_max_s),
            retry=retry_if_exception_type(_RETRYABLE),
            reraise=True,
        )
        attempts = 0
        last: Exception | None = None
        budget = asyncio.timeout_at(deadline)
        try:
            async with budget:
                async for attempt in retrying:
                    with attempt:
                        attempts += 1
                        try:
                            return await self._attempt(conversation)
                        except Exception as exc:
                            last = exc
                            raise
        except TimeoutError:
            if not budget.expired():
                raise  # not ours: nothing inside raises a bare TimeoutError
            cause = f"; last error: {_reason(last)}" if last is not None else ""
            return Extraction.failed(
                PROVIDER,
                f"deadline: {self._deadline_s:g} s passed, {_times(attempts)} started{cause}",
            )
        except Exception as exc:  # the Extractor contract: a result, never a raise
            failure = f"{_reason(exc)} after {_times(attempts)}"
            if out_of_time.hit and attempts < self._attempts:
                return Extraction.failed(
                    PROVIDER, f"deadline: {self._deadline_s:g} s leaves no time to retry {failure}"
                )
            return Extraction.failed(PROVIDER, failure)
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def _attempt(self, conversation: Conversation) -> Extraction:
        async with self._slots:
            started = time.monotonic()
            outcome = "error"
            try:
                async with asyncio.timeout(self._timeout_s):
                    response = await self._client.chat.completions.create(
                        model=self._model,
                        temperature=self._temperature,
                        max_tokens=self._max_tokens,
                        response_format=self._response_format,
                        messages=[
                            {"role": "system", "content": SYSTEM_PROMPT},
                            {
                                "role": "user",
                                "content": f"Channel: {conversation.channel}\n\n"
                                f"{render(conversation)}",
                            },
                        ],
                    )
                outcome = "invalid"
                _count_tokens(response)
                choice = response.choices[0] if response.choices else None
                if choice is not None and choice.finish_reason == "length":
                    raise _CutOff
                extraction = _parse(choice.message.content if choice is not None else None)
                outcome = "ok"
                return extraction
            except TimeoutError as exc:
                outcome = "timeout"
                raise _AttemptTimeout from exc
            finally:
                metrics.EXTRACTOR_LLM_SECONDS.labels(outcome).observe(time.monotonic() - started)


def _count_tokens(response: Any) -> None:
    """The reply's `usage`, when the server reports it (some local servers do not)."""
    usage = getattr(response, "usage", None)
    for kind in ("prompt", "completion"):
        tokens = getattr(usage, f"{kind}_tokens", None) if usage is not None else None
        if isinstance(tokens, int) and tokens > 0:
            metrics.EXTRACTOR_TOKENS.labels(kind).inc(tokens)


class _StopAtDeadline(stop_base):
    """Stop retrying when the next backoff would end at or past the deadline."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        self._loop = loop
        self._deadline = deadline
        self.hit = False

    def __call__(self, retry_state: RetryCallState) -> bool:
        upcoming = retry_state.upcoming_sleep or 0.0
        self.hit = self._loop.time() + upcoming >= self._deadline
        return self.hit


def _times(attempts: int) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''}"


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)
"""Small local models in JSON mode still wrap the object in a Markdown code fence."""


def _parse(content: str | None) -> Extraction:
    if not content:
        raise _InvalidOutput("empty reply")
    fenced = _FENCE.match(content)
    if fenced:
        content = fenced.group(1)
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
    if isinstance(exc, openai.APITimeoutError | _AttemptTimeout):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    if isinstance(exc, openai.APIStatusError):
        return f"http {exc.status_code}"
    if isinstance(exc, _InvalidOutput):
        return f"invalid output: {exc}"
    if isinstance(exc, _CutOff):
        return "invalid output: reply cut off at max_tokens"
    return f"unexpected {type(exc).__name__}"
