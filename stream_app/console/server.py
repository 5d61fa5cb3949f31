"""The console's web server (aiohttp, which Faust already brings): pages, JSON, forms.

Each page has a JSON twin under `/api/`, built from the same view function, so what a
script reads and what a person sees cannot disagree. Forms publish events and redirect
back (post/redirect/get). Errors are a short page or JSON with an `error_type`: never
a stack trace, never a value the client sent; the log names the exception's type and
where it was raised only.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from pydantic import ValidationError

from stream_app.console import analytics, views
from stream_app.console.auth import (
    COOKIE,
    ConsoleGuard,
    Session,
    csrf_ok,
    safe_next,
    set_cookie,
)
from stream_app.console.publish import Publisher, outcome_event, reminder_event
from stream_app.console.store import Store
from stream_app.domain.messages import OutcomeKind
from stream_app.wire.codec import validation_summary

log = logging.getLogger(__name__)

HERE: Final = Path(__file__).resolve().parent
MAX_BODY: Final = 16 * 1024
"""Forms carry a reason or a note at most: anything larger is refused (413)."""
MAX_PARAM: Final = 100
OPERATOR: Final = "console"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION: Final = web.RequestKey("session", Session)


def _redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)
_env.filters["short"] = lambda text, n=16: text if len(text) <= n else text[: n - 1] + "…"
_env.filters["when"] = lambda text: (text or "")[:16].replace("T", " ")


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    last = frames[-1] if frames else None
    place = f" at {Path(last.filename).name}:{last.lineno} in {last.name}" if last else ""
    return f"{type(exc).__name__}{place}"


class Console:
    """The application: store, feed's clock, publisher and guard, wired to routes."""

    def __init__(self, store: Store, publisher: Publisher | None, guard: ConsoleGuard) -> None:
        self.store = store
        self.publisher = publisher
        self.guard = guard
        self.status: dict[str, Any] = {"read": 0, "skipped": 0, "caught_up": False}

    def now(self) -> datetime:
        return views.clock(self.store, datetime.now(UTC))

    # --- plumbing ----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._middleware])
        get = [
            ("/", self.worklist),
            ("/api/worklist", self.worklist_json),
            ("/leads/{lead_id}", self.lead),
            ("/api/leads/{lead_id}", self.lead_json),
            ("/segments", self.segments),
            ("/segments.csv", self.segments_csv),
            ("/api/segments", self.segments_json),
            ("/learning", self.learning),
            ("/api/learning", self.learning_json),
            ("/reminders", self.reminders),
            ("/api/reminders", self.reminders_json),
            ("/api/report", self.report_json),
            ("/healthz", self.healthz),
            ("/login", self.login_form),
        ]
        for path, handler in get:
            app.router.add_get(path, handler)
        app.router.add_post("/login", self.login)
        app.router.add_post("/logout", self.logout)
        app.router.add_post("/decisions/{decision_id}/approve", self.approve)
        app.router.add_post("/decisions/{decision_id}/reject", self.reject)
        app.router.add_post("/leads/{lead_id}/reminders", self.set_reminder)
        app.router.add_post("/reminders/{reminder_id}/snooze", self.snooze)
        app.router.add_post("/reminders/{reminder_id}/dismiss", self.dismiss)
        app.router.add_static("/static/", HERE / "static", show_index=False)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        open_paths = ("/healthz", "/login", "/static/")
        sid = request.cookies.get(COOKIE)
        session = self.guard.session(request)
        new_sid = None
        if session is None:
            new_sid, session = self.guard.sessions.create(authenticated=False)
        request[SESSION] = session
        try:
            if not request.path.startswith(open_paths) and not self.guard.allows(request):
                response: web.StreamResponse = self._refuse(request)
            else:
                response = await handler(request)
        except web.HTTPException as exc:
            if exc.status >= 400:
                response = self._error(request, exc.status, "http", exc.reason)
            else:
                response = _redirect(exc.headers.get("Location", "/"))
        except Exception as exc:
            log.error(
                "console %s %s: %s",
                request.method,
                request.match_info.route.name or request.path.split("/")[1],
                _where(exc),
            )
            response = self._error(request, 500, "internal", "internal error")
        if new_sid is not None and sid != new_sid:
            set_cookie(response, new_sid)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        return response

    def _wants_json(self, request: web.Request) -> bool:
        return request.path.startswith("/api/") or request.path.endswith(".csv")

    def _refuse(self, request: web.Request) -> web.StreamResponse:
        if self._wants_json(request) or request.method != "GET":
            return web.json_response(
                {"error": "login or a bearer token required", "error_type": "unauthorized"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return _redirect("/login?" + urlencode({"next": safe_next(request.path_qs)}))

    def _error(self, request: web.Request, status: int, error_type: str, message: str) -> Any:
        if self._wants_json(request):
            return web.json_response({"error": message, "error_type": error_type}, status=status)
        return self._page(request, "error.html", {"status": status, "message": message}, status)

    def _page(
        self, request: web.Request, template: str, context: dict[str, Any], status: int = 200
    ) -> web.Response:
        session = request[SESSION]
        body = _env.get_template(template).render(
            **context,
            csrf=session.csrf,
            path=request.path_qs,
            login_needed=not self.guard.open,
            authenticated=session.authenticated or self.guard.open,
            feed=self.status,
            records=sum(self.store.positions().values()),
            done=request.query.get("done", "")[:40],
        )
        return web.Response(text=body, content_type="text/html", status=status)

    # --- pages -------------------------------------------------------------------

    def _filter(self, request: web.Request) -> views.WorkFilter:
        q = {k: v[:MAX_PARAM] for k, v in request.query.items()}
        return views.WorkFilter(
            show=q.get("show", "open") if q.get("show") in ("open", "approval", "all") else "open",
            risk=q.get("risk", ""),
            due=q.get("due", ""),
            action=q.get("action", ""),
            channel=q.get("channel", ""),
            owner=q.get("owner", ""),
            search=q.get("q", ""),
            sort=q.get("sort", "priority") if q.get("sort") in views.SORTS else "priority",
        )

    async def worklist_json(self, request: web.Request) -> web.Response:
        return web.json_response(views.worklist(self.store, self.now(), self._filter(request)))

    async def worklist(self, request: web.Request) -> web.Response:
        wanted = self._filter(request)
        data = views.worklist(self.store, self.now(), wanted)
        return self._page(
            request, "worklist.html", {"data": data, "wanted": wanted, "sorts": views.SORTS}
        )

    def _lead_id(self, request: web.Request) -> str:
        lead_id = request.match_info["lead_id"]
        if not 1 <= len(lead_id) <= 64:
            raise web.HTTPBadRequest(reason="a lead id has 1 to 64 characters")
        return lead_id

    def _lead_data(self, request: web.Request) -> dict[str, Any]:
        data = views.lead_page(self.store, self._lead_id(request), self.now())
        if data is None:
            raise web.HTTPNotFound(reason="the console has nothing on this lead")
        return data

    async def lead_json(self, request: web.Request) -> web.Response:
        return web.json_response(self._lead_data(request))

    async def lead(self, request: web.Request) -> web.Response:
        return self._page(request, "lead.html", {"lead": self._lead_data(request)})

    async def segments_json(self, request: web.Request) -> web.Response:
        return web.json_response(analytics.segments(self.store, self.now()))

    async def segments(self, request: web.Request) -> web.Response:
        return self._page(
            request, "segments.html", {"data": analytics.segments(self.store, self.now())}
        )

    async def segments_csv(self, request: web.Request) -> web.Response:
        return web.Response(
            text=analytics.segments_csv(self.store, self.now()),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
        )

    async def learning_json(self, request: web.Request) -> web.Response:
        return web.json_response(analytics.learning(self.store, self.now()))

    async def learning(self, request: web.Request) -> web.Response:
        data = analytics.learning(self.store, self.now())
        return self._page(request, "learning.html", {"data": data, "chart": _chart(data)})

    async def reminders_json(self, request: web.Request) -> web.Response:
        return web.json_response(views.reminders_page(self.store, self.now()))

    async def reminders(self, request: web.Request) -> web.Response:
        data = views.reminders_page(self.store, self.now())
        return self._page(request, "reminders.html", {"data": data})

    async def report_json(self, request: web.Request) -> web.Response:
        since = _time(request.query.get("since"))
        return web.json_response(analytics.weekly_report(self.store, self.now(), since))

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **self.status})

    # --- login -------------------------------------------------------------------

    async def login_form(self, request: web.Request) -> web.Response:
        target = safe_next(request.query.get("next"))
        return self._page(request, "login.html", {"next": target, "failed": False})

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        target = safe_next(_field(form, "next"))
        if not csrf_ok(request[SESSION], _field(form, "csrf")):
            raise web.HTTPForbidden(reason="the form expired; reload the page")
        if not self.guard.token_ok(_field(form, "token") or ""):
            log.info("console login refused")
            return self._page(request, "login.html", {"next": target, "failed": True}, 401)
        self.guard.sessions.drop(request.cookies.get(COOKIE))
        sid, _ = self.guard.sessions.create(authenticated=True)
        response = _redirect(target)
        set_cookie(response, sid)
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not csrf_ok(request[SESSION], _field(form, "csrf")):
            raise web.HTTPForbidden(reason="the form expired; reload the page")
        self.guard.sessions.drop(request.cookies.get(COOKIE))
        response = _redirect("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    # --- forms that publish ------------------------------------------------------

    async def _form(self, request: web.Request) -> Any:
        form = await request.post()
        if not csrf_ok(request[SESSION], _field(form, "csrf")):
            raise web.HTTPForbidden(reason="the form expired; reload the page")
        return form

    async def _publish(self, event: Any) -> None:
        if self.publisher is None:
            raise web.HTTPServiceUnavailable(reason="this console does not publish")
        try:
            await self.publisher.send(event)
        except Exception as exc:
            log.warning("console publish failed: %s", type(exc).__name__)
            raise web.HTTPServiceUnavailable(
                reason="the broker did not take the event; try again"
            ) from None
        log.info("console published %s %r", event.type, event.event_id)

    def _decision_lead(self, decision_id: str) -> str:
        rows = self.store.query(
            "SELECT lead_id FROM decisions WHERE decision_id = ?", (decision_id[:128],)
        )
        if not rows:
            raise web.HTTPNotFound(reason="no such decision")
        return str(rows[0]["lead_id"])

    async def _outcome(self, request: web.Request, outcome: OutcomeKind) -> web.StreamResponse:
        form = await self._form(request)
        decision_id = request.match_info["decision_id"]
        lead_id = self._decision_lead(decision_id)
        reason = (_field(form, "reason") or "").strip()
        if outcome is OutcomeKind.REJECTED and not reason:
            raise web.HTTPBadRequest(reason="a rejection needs a reason")
        event = _valid(
            lambda: outcome_event(
                lead_id, decision_id, outcome, reason, OPERATOR, datetime.now(UTC)
            )
        )
        await self._publish(event)
        return _back(form, outcome.value)

    async def approve(self, request: web.Request) -> web.StreamResponse:
        return await self._outcome(request, OutcomeKind.ACCEPTED)

    async def reject(self, request: web.Request) -> web.StreamResponse:
        return await self._outcome(request, OutcomeKind.REJECTED)

    async def set_reminder(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        lead_id = self._lead_id(request)
        remind_at = _time(_field(form, "remind_at"))
        if remind_at is None:
            raise web.HTTPBadRequest(reason="remind_at must be a date and time")
        note = (_field(form, "note") or "").strip()
        event = _valid(
            lambda: reminder_event(
                "reminder.set", lead_id, None, remind_at, note, OPERATOR, datetime.now(UTC)
            )
        )
        await self._publish(event)
        return _back(form, "reminder_set")

    def _reminder(self, reminder_id: str) -> views.ReminderState:
        for state in views._all_reminders(self.store, None):
            if state.reminder_id == reminder_id:
                return state
        raise web.HTTPNotFound(reason="no such reminder")

    async def snooze(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        state = self._reminder(request.match_info["reminder_id"])
        hours = _field(form, "hours") or "24"
        if hours not in ("1", "4", "24", "72", "168"):
            raise web.HTTPBadRequest(reason="snooze for 1, 4, 24, 72 or 168 hours")
        until = max(self.now(), state.remind_at) + timedelta(hours=int(hours))
        event = _valid(
            lambda: reminder_event(
                "reminder.snoozed",
                state.lead_id,
                state.reminder_id,
                until,
                None,
                OPERATOR,
                datetime.now(UTC),
            )
        )
        await self._publish(event)
        return _back(form, "snoozed")

    async def dismiss(self, request: web.Request) -> web.StreamResponse:
        form = await self._form(request)
        state = self._reminder(request.match_info["reminder_id"])
        event = _valid(
            lambda: reminder_event(
                "reminder.dismissed",
                state.lead_id,
                state.reminder_id,
                None,
                None,
                OPERATOR,
                datetime.now(UTC),
            )
        )
        await self._publish(event)
        return _back(form, "dismissed")


def _field(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _time(text: str | None) -> datetime | None:
    """An ISO date or date-time from a form or query; naive means UTC."""
    if not text or len(text) > 40:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _valid(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except ValidationError as exc:
        raise web.HTTPBadRequest(reason=validation_summary(exc)[:200]) from None


def _back(form: Any, done: str) -> web.StreamResponse:
    target = safe_next(_field(form, "next"))
    sep = "&" if "?" in target else "?"
    return _redirect(f"{target}{sep}done={done}")


def _chart(data: dict[str, Any]) -> dict[str, Any]:
    """Polyline points of cumulative conversions and daily decisions, in a 600x160 box."""
    series = data["conversion"]
    if not series:
        return {"conversions": "", "decisions": "", "days": [], "max_c": 0, "max_d": 0}
    width, height = 600, 160
    max_c = max(p["cumulative"] for p in series) or 1
    max_d = max(p["decisions"] for p in series) or 1
    step = width / max(1, len(series) - 1)

    def points(key: str, top: int) -> str:
        return " ".join(
            f"{i * step:.1f},{height - p[key] / top * (height - 10):.1f}"
            for i, p in enumerate(series)
        )

    return {
        "conversions": points("cumulative", max_c),
        "decisions": points("decisions", max_d),
        "days": [series[0]["day"], series[-1]["day"]],
        "max_c": max_c,
        "max_d": max_d,
    }
