"""A local OpenAI-compatible chat-completions server for tests: real HTTP, scripted replies.

Both the extractor's unit tests and the slow-extraction integration test (where a
real worker process calls it) talk to this one server over a real socket, so the
OpenAI SDK, httpx and our retry, deadline and parsing code all run as in
production. Replies are scripted: a list served in order (the last repeats), or a
function of the request body (to answer per conversation).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

USAGE = {"prompt_tokens": 812, "completion_tokens": 164, "total_tokens": 976}
"""What a reply reports it cost, unless told otherwise (a local server may send none)."""


@dataclass
class Reply:
    """One answer: a completion with `content`, or an HTTP error, a hang or a trickle."""

    content: str | None = None
    status: int = 200
    hang: bool = False
    trickle_s: float | None = None
    """Send a space every trickle_s seconds and never finish the body."""
    delay_s: float = 0.0
    finish_reason: str = "stop"
    usage: dict[str, int] | None = field(
        default_factory=lambda: {
            "prompt_tokens": 812,
            "completion_tokens": 164,
            "total_tokens": 976,
        }
    )
    raw_body: str | None = None
    """A body sent as it is (not a completion): a server that answers nonsense."""


def json_reply(payload: dict[str, Any], **options: Any) -> Reply:
    return Reply(content=json.dumps(payload), **options)


@dataclass
class LLMServer:
    base_url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0


def completion(reply: Reply) -> dict[str, Any]:
    """The chat.completion object an OpenAI-compatible server returns for `reply`."""
    body: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "local-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": reply.finish_reason,
            }
        ],
    }
    if reply.usage is not None:
        body["usage"] = reply.usage
    return body


Script = Sequence[Reply] | Callable[[dict[str, Any]], Reply]


@asynccontextmanager
async def llm_server(script: Script, gate: asyncio.Event | None = None) -> AsyncIterator[LLMServer]:
    """Serve `script` on 127.0.0.1 at a free port; `gate` holds every request open."""
    from aiohttp import web

    release = asyncio.Event()
    server = LLMServer()

    def pick(body: dict[str, Any]) -> Reply:
        if callable(script):
            return script(body)
        return script[min(len(server.requests), len(script)) - 1]

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        server.requests.append(body)
        reply = pick(body)
        server.in_flight += 1
        server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if reply.hang:
                await release.wait()
            if gate is not None:
                await gate.wait()
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.trickle_s is not None:
                # Headers at once, then a byte at a time (JSON may start with blanks):
                # every read succeeds well within httpx's timeouts, the body never ends.
                response = web.StreamResponse(headers={"Content-Type": "application/json"})
                await response.prepare(request)
                while not release.is_set():
                    await response.write(b" ")
                    await asyncio.sleep(reply.trickle_s)
                return response
        except ConnectionResetError:  # the client gave up on the trickle
            return web.Response()
        finally:
            server.in_flight -= 1
        if reply.status != 200:
            return web.json_response({"error": {"message": "boom"}}, status=reply.status)
        if reply.raw_body is not None:
            return web.Response(text=reply.raw_body, content_type="application/json")
        return web.json_response(completion(reply))

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
