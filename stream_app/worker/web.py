"""HTTP views on Faust's web server; lead views are routed to the worker that owns the lead.

Who may read what (README, "HTTP"):

- `/healthz`, `/readyz` and `/metrics` are open, for probes and scrapes.
- Every other view returns lead or learned data, or takes events: with
  `STREAM_APP_HTTP_TOKEN` set it needs `Authorization: Bearer <token>`, any one of the
  configured tokens, compared in constant time. Without a token it is open only while
  the server binds a loopback address (the worker command refuses any other bind
  without a token; this module closes the views too, should anything else start one).
- Faust's own `/table/` and `/router/` views are off (`faust_options` in `app.py`).

Errors carry a short message and an `error_type`, never a stack trace or a value the
client sent. Log lines quote ids with `%r` and name fields and error types, never
values: a lead's data is children's names, phone numbers and money worries.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from aiohttp import ClientError
from aiohttp import web as aiohttp_web
from faust.web import Request, Response, View
from faust.web.exceptions import ServiceUnavailable
from pydantic import TypeAdapter, ValidationError

from stream_app.config.settings import Settings
from stream_app.domain.context_pack import context_pack, minimal_pack
from stream_app.domain.messages import LeadId
from stream_app.wire.codec import EventTimeBounds, InvalidEvent, decode_event
from stream_app.wire.models import INPUT_TYPES
from stream_app.worker import metrics
from stream_app.worker.runtime import Runtime
from stream_app.worker.tables import load_lead

log = logging.getLogger(__name__)

LEAD_ID: TypeAdapter[str] = TypeAdapter(LeadId)
"""The same length rule as every event's `lead_id` (1 to 64 characters)."""

# pydantic messages are safe to return when their context holds only the rule (limits,
# expected values); other context (a tag, a custom error) may quote the input.
_RULE_CONTEXT = frozenset(
    {
        "expected",
        "expected_tags",
        "discriminator",
        "min_length",
        "max_length",
        "ge",
        "gt",
        "le",
        "lt",
        "multiple_of",
        "pattern",
        "max_digits",
        "decimal_places",
        "whole_digits",
    }
)

Handler = Callable[..., Awaitable[Response]]


def _json(
    web: Any, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    response: Response = web.bytes(
        orjson.dumps(body), content_type="application/json", status=status, headers=headers
    )
    return response


def _error(web: Any, status: int, error_type: str, message: str) -> Response:
    return _json(web, {"error": message, "error_type": error_type}, status)


class BearerGuard:
    """Decides whether a request may read lead data or post events."""

    def __init__(self, settings: Settings) -> None:
        self._tokens = settings.http_tokens
        self._open = not self._tokens and settings.web_binds_loopback

    def allows(self, request: Request) -> bool:
        if self._open:
            return True
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return self.matches(presented)

    def matches(self, presented: str) -> bool:
        """`presented` is one of the configured tokens (none configured: never)."""
        if not self._tokens:
            return False
        given = presented.strip().encode("utf-8", "surrogateescape")
        # Every token is compared, so the time taken does not say which one came close.
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(given, token)
        return matched

    @property
    def open(self) -> bool:
        """No token is needed: none is set and the server binds loopback only."""
        return self._open

    def refuse(self, web: Any) -> Response:
        if not self._tokens:
            return _error(
                web,
                403,
                "forbidden",
                "this worker has no STREAM_APP_HTTP_TOKEN and does not bind loopback",
            )
        return _json(
            web,
            {"error": "missing or wrong bearer token", "error_type": "unauthorized"},
            401,
            headers={"WWW-Authenticate": "Bearer"},
        )


def register_views(runtime: Runtime) -> None:
    app = runtime.app
    leads = runtime.leads
    settings = runtime.settings
    guard = BearerGuard(settings)

    def guarded(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def view(web: View, request: Request, **match: str) -> Response:
            if not guard.allows(request):
                return guard.refuse(web)
            return await handler(web, request, **match)

        return view

    def lead_view(path: str) -> Callable[[Handler], Handler]:
        """A GET view of one lead: token, then the id's length, then Faust routes the
        request to the lead's owner (headers included, so the owner checks the token
        too) or, on the owner, runs `handler`."""

        def register(handler: Handler) -> Handler:
            routed = cast(Handler, app.table_route(table=leads, match_info="lead_id")(handler))

            @functools.wraps(handler)
            async def view(web: View, request: Request, lead_id: str) -> Response:
                if not guard.allows(request):
                    return guard.refuse(web)
                try:
                    LEAD_ID.validate_python(lead_id)
                except ValidationError:
                    return _error(web, 400, "invalid_lead_id", "a lead id has 1 to 64 characters")
                try:
                    return await asyncio.wait_for(
                        routed(web, request, lead_id=lead_id), settings.http_timeout_s
                    )
                except ServiceUnavailable:
                    return _error(web, 503, "unavailable", "no worker owns this lead right now")
                except (ClientError, TimeoutError) as exc:
                    log.warning("%s: lead %r: owner unreachable (%s)", path, lead_id, _name(exc))
                    return _error(web, 503, "unavailable", "the worker owning this lead is away")
                except Exception as exc:
                    log.error("%s: lead %r: %s", path, lead_id, _where(exc))
                    return _error(web, 500, "internal", "internal error")

            app.page(path)(view)
            return handler

        return register

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        return _json(web, {"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        if runtime.ready:
            return _json(web, {"status": "ready", "q_version": runtime.q_view.q_version})
        return _json(web, {"status": "starting"}, status=503)

    @app.page("/metrics")
    async def prometheus(web: View, request: Request) -> Response:
        body, content_type = metrics.render_latest()
        # aiohttp refuses a charset inside `content_type`; the header carries it whole.
        response: Response = web.bytes(body, headers={"Content-Type": content_type})
        return response

    @app.page("/q-table")
    @guarded
    async def q_table(web: View, request: Request) -> Response:
        q_view = runtime.q_view
        rows: dict[str, dict[str, Any]] = {}
        for (state, action), entry in q_view.table.items():
            rows.setdefault(state, {})[action.value] = {"q": entry.q, "visits": entry.visits}
        return _json(web, {"q_version": q_view.q_version, "states": rows})

    @lead_view("/leads/{lead_id}")
    async def lead(web: View, request: Request, lead_id: str) -> Response:
        state = load_lead(leads, lead_id)
        if state is None:
            return _error(web, 404, "not_found", "lead not found")
        return _json(web, state.model_dump(mode="json"))

    @lead_view("/leads/{lead_id}/nba")
    async def lead_nba(web: View, request: Request, lead_id: str) -> Response:
        state = load_lead(leads, lead_id)
        if state is None or state.last_nba is None:
            return _error(web, 404, "not_found", "no decision for this lead yet")
        return _json(web, state.last_nba.model_dump(mode="json"))

    @lead_view("/leads/{lead_id}/context-pack")
    async def lead_context_pack(web: View, request: Request, lead_id: str) -> Response:
        try:
            state = load_lead(leads, lead_id)
        except Exception as exc:
            log.error("lead %r: stored state unreadable: %s", lead_id, _where(exc))
            return _json(web, minimal_pack(lead_id, None, None))
        if state is None:
            return _error(web, 404, "not_found", "lead not found")
        try:
            return _json(web, context_pack(state))
        except Exception as exc:
            log.error("lead %r: context pack assembly failed: %s", lead_id, _where(exc))
            profile = state.profile
            return _json(web, minimal_pack(lead_id, profile.parent_name, profile.phone))

    @app.page("/events/{topic}")
    class PostEvent(View):
        """For upstream systems without a Kafka client: validated like the topic path,
        202 only once the broker acknowledged the record."""

        async def post(self, request: Request, topic: str) -> Response:
            if not guard.allows(request):
                return guard.refuse(self)
            return await _post_event(self, request, topic)

    bounds = EventTimeBounds.of(settings)

    async def _post_event(web: View, request: Request, topic: str) -> Response:
        limit = settings.max_event_bytes
        if topic not in INPUT_TYPES:
            return _json(
                web,
                {
                    "error": "unknown topic",
                    "error_type": "unknown_topic",
                    "topics": sorted(INPUT_TYPES),
                },
                404,
            )
        raw_request = cast(aiohttp_web.Request, request)
        if (raw_request.content_length or 0) > limit:
            return _error(web, 413, "too_large", f"body over {limit} bytes")
        if raw_request.content_type != "application/json":
            return _error(
                web, 415, "unsupported_media_type", "Content-Type must be application/json"
            )
        body = await _read_at_most(raw_request, limit)
        if body is None:  # chunked, or a Content-Length that understated it
            return _error(web, 413, "too_large", f"body over {limit} bytes")
        try:
            now = datetime.now(UTC)
            event = decode_event(topic, None, body, limit, now=now, bounds=bounds)
        except InvalidEvent as exc:
            fields = _fields(exc)
            where = f" {fields}" if fields else ""
            log.info("POST /events/%s rejected: %s%s", topic, exc.error_type, where)
            status = 413 if exc.error_type == "too_large" else 400
            return _error(web, status, exc.error_type, _client_message(topic, exc, fields))
        try:
            async with asyncio.timeout(settings.http_timeout_s):
                metadata = await _send(runtime, topic, event.lead_id, body)
        except Exception as exc:
            log.warning(
                "POST /events/%s: event %r not acknowledged by the broker (%s)",
                topic,
                event.event_id,
                _name(exc),
            )
            return _error(
                web,
                503,
                "not_acknowledged",
                "the broker did not acknowledge the event; retry it (same event_id)",
            )
        return _json(
            web,
            {
                "accepted": event.event_id,
                "topic": topic,
                "partition": metadata.partition,
                "offset": metadata.offset,
            },
            status=202,
        )


async def _send(runtime: Runtime, topic: str, lead_id: str, body: bytes) -> Any:
    """Produce and await the broker's ack: Faust's send returns the delivery future.

    A timeout abandons the wait, not the record (shielded): the producer may still
    deliver it, which a retry with the same event_id makes harmless.
    """
    delivery = await runtime.topics_by_name[topic].send(key=lead_id.encode(), value=body)
    return await asyncio.shield(delivery)


async def _read_at_most(request: aiohttp_web.Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes: never reads more than limit + 1."""
    body = bytearray()
    while len(body) <= limit:
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            return bytes(body)
        body += chunk
    return None


def _errors(exc: InvalidEvent) -> list[Any]:
    # decode_event raises `from None`, which hides the ValidationError from tracebacks
    # but keeps it as the context.
    context = exc.__context__
    if isinstance(context, ValidationError):
        return context.errors(include_url=False, include_input=False)
    return []


def _fields(exc: InvalidEvent) -> list[str]:
    """Where each error is, as the codec names it (`lead.created.phone`); a field the
    schema does not know is client text, so it is not named."""
    fields = []
    for err in _errors(exc):
        loc = [str(part) for part in err["loc"]]
        if err["type"] == "extra_forbidden" and loc:
            loc[-1] = "(unknown field)"
        fields.append(".".join(loc) or "(root)")
    return fields


def _client_message(topic: str, exc: InvalidEvent, fields: list[str]) -> str:
    """What went wrong, in words that quote no value of the request."""
    if exc.error_type == "validation":
        parts = []
        for field, err in zip(fields, _errors(exc), strict=True):
            safe = set(err.get("ctx") or ()) <= _RULE_CONTEXT
            parts.append(f"{field}: {err['msg'] if safe else err['type']}")
        return "; ".join(parts[:5]) or "the event failed validation"
    if exc.error_type == "unknown_type":
        return f"type must be one of {list(INPUT_TYPES[topic])} on this topic"
    if exc.error_type == "invalid_json":
        return "the body must be a UTF-8 JSON object"
    if exc.error_type == "too_large":
        return "the body is over the size limit"
    return "the event was rejected"


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _where(exc: BaseException) -> str:
    """The exception's type and the line that raised it: its message may quote data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return _name(exc)
    last = frames[-1]
    return f"{_name(exc)} at {last.filename}:{last.lineno} in {last.name}"
