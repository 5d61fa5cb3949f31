"""The console's HTTP surface: pages and JSON over a real store, the token rule, CSRF,
size limits and errors without traces. Publishing is tested through a real broker
(tests/integration/test_console.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from stream_app.config.settings import Settings
from stream_app.console.auth import ConsoleGuard
from stream_app.console.server import Console
from stream_app.console.store import Store
from tests.unit.console.records import created, nba, read

TOKEN = "console-token-" + "x" * 20
PAGES = ["/", "/leads/L2", "/segments", "/segments.csv", "/learning", "/reminders"]
APIS = [
    "/api/worklist",
    "/api/leads/L2",
    "/api/segments",
    "/api/learning",
    "/api/reminders",
    "/api/report",
]


def store() -> Store:
    s = Store(None)
    s.apply(
        [
            read("leads", created("L2", 0, parent_name="=cmd|' /C calc'!A0"), 0),
            read("next-best-actions", nba("L2", "L2-created", 0, requires_approval=True), 0),
        ]
    )
    return s


async def client(host: str, token: str | None) -> TestClient:  # type: ignore[type-arg]
    settings = Settings(http_token=token) if token else Settings()
    console = Console(store(), None, ConsoleGuard(settings, host))
    test_client: TestClient = TestClient(TestServer(console.app()))  # type: ignore[type-arg]
    await test_client.start_server()
    return test_client


@pytest.fixture
async def open_console() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    c = await client("127.0.0.1", None)
    yield c
    await c.close()


@pytest.fixture
async def locked() -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    c = await client("0.0.0.0", TOKEN)
    yield c
    await c.close()


async def test_every_page_and_api_answers_on_loopback(open_console: TestClient) -> None:  # type: ignore[type-arg]
    for path in PAGES + APIS:
        response = await open_console.get(path)
        assert response.status == 200, path
    worklist = await (await open_console.get("/api/worklist")).json()
    assert [i["approval"] for i in worklist["items"]] == ["pending"]
    html = await (await open_console.get("/")).text()
    assert "needs approval" in html and "Approve" in html
    csv_text = await (await open_console.get("/segments.csv")).text()
    assert "'=cmd" in csv_text  # a name that a spreadsheet would run is quoted


async def test_names_are_escaped_in_pages(open_console: TestClient) -> None:  # type: ignore[type-arg]
    page = await (await open_console.get("/leads/L2")).text()
    assert "=cmd|&#39; /C calc&#39;!A0" in page


async def test_unknown_lead_and_bad_id_are_short_errors(open_console: TestClient) -> None:  # type: ignore[type-arg]
    missing = await open_console.get("/api/leads/nobody")
    assert missing.status == 404 and (await missing.json())["error_type"] == "http"
    too_long = await open_console.get("/api/leads/" + "x" * 65)
    assert too_long.status == 400
    body = await (await open_console.get("/leads/nobody")).text()
    assert "Traceback" not in body


async def test_forms_need_the_session_csrf_token(open_console: TestClient) -> None:  # type: ignore[type-arg]
    page = await (await open_console.get("/")).text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    refused = await open_console.post("/decisions/d-L2-L2-created/approve", data={"csrf": "forged"})
    assert refused.status == 403
    # The right token passes CSRF; this console has no publisher, so it says so (503).
    accepted = await open_console.post(
        "/decisions/d-L2-L2-created/approve", data={"csrf": token.group(1)}, allow_redirects=False
    )
    assert accepted.status == 503
    unknown = await open_console.post("/decisions/nope/approve", data={"csrf": token.group(1)})
    assert unknown.status == 404


async def test_a_body_over_the_limit_is_refused(open_console: TestClient) -> None:  # type: ignore[type-arg]
    response = await open_console.post(
        "/decisions/d-L2-L2-created/reject", data={"reason": "x" * 40_000}
    )
    assert response.status == 413


async def test_off_loopback_every_data_path_needs_the_token(locked: TestClient) -> None:  # type: ignore[type-arg]
    for path in [*APIS, "/segments.csv"]:
        response = await locked.get(path)
        assert response.status == 401, path
    page = await locked.get("/", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"].startswith("/login")
    assert (await locked.get("/healthz")).status == 200
    bearer = await locked.get("/api/worklist", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200


async def test_login_with_the_token_sets_a_session(locked: TestClient) -> None:  # type: ignore[type-arg]
    form = await (await locked.get("/login?next=/segments")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    wrong = await locked.post("/login", data={"csrf": csrf.group(1), "token": "nope", "next": "/"})
    assert wrong.status == 401
    no_csrf = await locked.post("/login", data={"token": TOKEN})
    assert no_csrf.status == 403
    ok = await locked.post(
        "/login",
        data={"csrf": csrf.group(1), "token": TOKEN, "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert ok.status == 303 and ok.headers["Location"] == "/"
    assert "HttpOnly" in ok.headers["Set-Cookie"] and "SameSite=Strict" in ok.headers["Set-Cookie"]
    assert (await locked.get("/api/worklist")).status == 200
