"""Who may use the console: the worker's token rule, a login form, sessions and CSRF.

The console shows personal data (children's names, phones, money worries), so it takes
the worker's rule as is (`worker.web.BearerGuard` over `STREAM_APP_HTTP_TOKEN`): open
only while it binds a loopback address and no token is set; otherwise a request needs
the bearer token, or a session cookie that a login with the token created. The CLI
refuses a non-loopback bind without a token, as the worker does.

Every visitor gets a session (an unguessable id in an HttpOnly, SameSite=Strict
cookie) carrying a CSRF token that every form posts back, compared in constant time:
even on loopback, another site's page must not be able to approve a decision through
the operator's browser. Sessions live in memory, bounded; a restart logs everyone out.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from stream_app.config.settings import Settings
from stream_app.worker.web import BearerGuard

COOKIE: Final = "console_session"
SESSION_TTL_S: Final = 12 * 3600
MAX_SESSIONS: Final = 10_000


@dataclass
class Session:
    csrf: str
    authenticated: bool
    expires: float


class Sessions:
    """In-memory sessions, oldest evicted past `MAX_SESSIONS`."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        session = self._by_id.get(sid)
        if session is None or session.expires < self._clock():
            self._by_id.pop(sid, None)
            return None
        return session

    def create(self, authenticated: bool) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        session = Session(secrets.token_urlsafe(32), authenticated, self._clock() + SESSION_TTL_S)
        self._by_id[sid] = session
        while len(self._by_id) > MAX_SESSIONS:
            self._by_id.popitem(last=False)
        return sid, session

    def drop(self, sid: str | None) -> None:
        if sid:
            self._by_id.pop(sid, None)


class ConsoleGuard:
    """The worker's token rule for the console's own bind address."""

    def __init__(self, settings: Settings, host: str) -> None:
        self._bearer = BearerGuard(settings.model_copy(update={"web_host": host}))
        self.sessions = Sessions()

    @property
    def open(self) -> bool:
        return self._bearer.open

    def token_ok(self, presented: str) -> bool:
        return self._bearer.matches(presented)

    def bearer_ok(self, request: web.Request) -> bool:
        return "Authorization" in request.headers and self._bearer.allows(request)  # type: ignore[arg-type]

    def session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def allows(self, request: web.Request) -> bool:
        """May read pages and the API: open, a bearer token, or a logged-in session."""
        if self.open or self.bearer_ok(request):
            return True
        session = self.session(request)
        return session is not None and session.authenticated


def csrf_ok(session: Session | None, presented: str | None) -> bool:
    if session is None or not presented:
        return False
    return hmac.compare_digest(session.csrf.encode(), presented.encode("utf-8", "replace"))


def set_cookie(response: web.StreamResponse, sid: str) -> None:
    response.set_cookie(
        COOKIE, sid, httponly=True, samesite="Strict", path="/", max_age=SESSION_TTL_S
    )


def safe_next(target: str | None) -> str:
    """Only a path of this site: `//host` or a scheme would send the operator elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]
