"""HTTP views on Faust's web server; lead views are routed to the worker that owns the lead."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from faust.web import Request, Response, View

from stream_app.domain.lead import LeadState

if TYPE_CHECKING:
    from stream_app.app import Runtime


def _json(web: Any, body: Any, status: int = 200) -> Response:
    response: Response = web.bytes(
        orjson.dumps(body), content_type="application/json", status=status
    )
    return response


def register_views(runtime: Runtime) -> None:
    app = runtime.app
    leads = runtime.leads

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> Response:
        return _json(web, {"status": "ok"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> Response:
        if runtime.ready:
            return _json(web, {"status": "ready"})
        return _json(web, {"status": "starting"}, status=503)

    @app.page("/leads/{lead_id}")
    @app.table_route(table=leads, match_info="lead_id")
    async def lead(web: View, request: Request, lead_id: str) -> Response:
        raw = leads.get(lead_id)
        if raw is None:
            return _json(web, {"error": f"lead {lead_id!r} not found"}, status=404)
        return _json(web, LeadState.model_validate_json(raw).model_dump(mode="json"))
