"""The console process: the feed, the publisher and the web server on one event loop.

One loop, one SQLite connection: the feed writes between requests, so no write ever
races a read. The feed and the web server start together; pages show "catching up"
until the feed reached the ends the topics had at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from stream_app.config.settings import Settings
from stream_app.console.analytics import weekly_report
from stream_app.console.auth import ConsoleGuard
from stream_app.console.feed import Feed
from stream_app.console.publish import Publisher
from stream_app.console.server import Console
from stream_app.console.store import Store
from stream_app.console.views import clock

log = logging.getLogger(__name__)


def db_path(settings: Settings) -> Path:
    return settings.data_dir / "console.sqlite3"


async def serve(
    settings: Settings, host: str, port: int, rebuild: bool, ready: asyncio.Event | None = None
) -> None:
    """Run until SIGINT or SIGTERM."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(db_path(settings))
    feed = Feed(settings, store)
    publisher = Publisher(settings)
    console = Console(store, publisher, ConsoleGuard(settings, host))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await feed.start(rebuild=rebuild)
    await publisher.start()
    runner = web.AppRunner(console.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("console serving on http://%s:%d", host, port)
    feed_task = asyncio.create_task(_feed(feed, console, stop))
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        feed_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feed_task
        await runner.cleanup()
        await publisher.stop()
        await feed.stop()
        store.close()


async def _feed(feed: Feed, console: Console, stop: asyncio.Event) -> None:
    stats = feed.stats
    while not stop.is_set():
        try:
            await feed.poll_once()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("console feed: %s; retrying", type(exc).__name__)
            await asyncio.sleep(1.0)
        console.status.update(
            read=stats.read, skipped=stats.skipped, caught_up=stats.caught_up.is_set()
        )


async def report(settings: Settings, since: datetime | None, timeout_s: float) -> dict[str, Any]:
    """Bring the read model up to the topics' ends, then the weekly report from it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(db_path(settings))
    feed = Feed(settings, store)
    try:
        await feed.start()
        await feed.catch_up(timeout_s)
        return weekly_report(store, clock(store, datetime.now().astimezone()), since)
    finally:
        await feed.stop()
        store.close()
