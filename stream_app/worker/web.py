"""HTTP views on Faust's web server; lead views are routed to the worker that owns the lead.

Errors carry a short message and never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from faust.web import Request, Response, View

from stream_app.domain.context_pack import context_pack, minimal_pack
from stream_app.wire.codec import InvalidEvent, decode_event
from stream_app.wire.models import INPUT_TYPES
from stream_app.worker import metrics
from stream_app.worker.runtime import Runtime
from stream_app.worker.tables import load_lead

log = logging.getLogger(__name__)


def _json(web: Any, body: Any, status: int = 200) -> Response:
    response: Response = web.bytes(
        orjson.dumps(body), content_type="application/json", status=status
    )
    return response


def register_views(runtime: Runtime) -> None:
    app = runtime.app
    leads = runtime.leads
    settings = runtime.settings

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
    async def q_table(web: View, request: Request) -> Response:
        q_view = runtime.q_view
        rows: dict[str, dict[str, Any]] = {}
        for (state, action), entry in q_view.table.items():
            rows.setdefault(state, {})[action.value] = {"q": entry.q, "visits": entry.visits}
        return _json(web, {"q_version": q_view.q_version, "states": rows})

    @app.page("/leads/{lead_id}")
    @app.table_route(table=leads, match_info="lead_id")
    async def lead(web: View, request: Request, lead_id: str) -> Response:
        state = load_lead(leads, lead_id)
        if state is None:
            return _json(web, {"error": f"lead {lead_id!r} not found"}, status=404)
        return _json(web, state.model_dump(mode="json"))

    @app.page("/leads/{lead_id}/nba")
    @app.table_route(table=leads, match_info="lead_id")
    async def lead_nba(web: View, request: Request, lead_id: str) -> Response:
        state = load_lead(leads, lead_id)
        if state is None or state.last_nba is None:
            return _json(web, {"error": f"no decision for lead {lead_id!r} yet"}, status=404)
        return _json(web, state.last_nba.model_dump(mode="json"))

    @app.page("/leads/{lead_id}/context-pack")
    @app.table_route(table=leads, match_info="lead_id")
    async def lead_context_pack(web: View, request: Request, lead_id: str) -> Response:
        try:
            state = load_lead(leads, lead_id)
        except Exception:
            log.exception("lead %s: stored state unreadable", lead_id)
            return _json(web, minimal_pack(lead_id, None, None))
        if state is None:
            return _json(web, {"error": f"lead {lead_id!r} not found"}, status=404)
        try:
            return _json(web, context_pack(state))
        except Exception:
            log.exception("lead %s: context pack assembly failed", lead_id)
            profile = state.profile
            return _json(web, minimal_pack(lead_id, profile.parent_name, profile.phone))

    @app.page("/events/{topic}")
    class PostEvent(View):
        """For upstream systems without a Kafka client: validated like the topic path."""

        async def post(self, request: Request, topic: str) -> Response:
            return await _post_event(self, request, topic)

    async def _post_event(web: View, request: Request, topic: str) -> Response:
        if settings.http_token is not None:
            expected = f"Bearer {settings.http_token.get_secret_value()}"
            if request.headers.get("Authorization") != expected:
                return _json(web, {"error": "missing or wrong bearer token"}, status=401)
        if topic not in INPUT_TYPES:
            known = sorted(INPUT_TYPES)
            return _json(web, {"error": f"unknown topic {topic!r}; use one of {known}"}, 404)
        length = int(request.headers.get("Content-Length") or 0)
        if length > settings.max_event_bytes:
            return _json(web, {"error": f"body over {settings.max_event_bytes} bytes"}, 413)
        body = await request.read()
        try:
            event = decode_event(topic, None, body, settings.max_event_bytes)
        except InvalidEvent as exc:
            status = 413 if exc.error_type == "too_large" else 400
            return _json(web, {"error": exc.message, "error_type": exc.error_type}, status)
        await runtime.topics_by_name[topic].send(key=event.lead_id.encode(), value=body)
        return _json(web, {"accepted": event.event_id, "topic": topic}, status=202)
