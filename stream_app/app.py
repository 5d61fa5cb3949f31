"""The Faust application, built from Settings.

The shell only: decode, load state, call the domain, write state back, send.
Every `if` about leads lives in `stream_app.domain`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import faust

from stream_app.catalog import load_catalog
from stream_app.codec import InvalidEvent, dead_letter, decode_event, encode
from stream_app.domain.lead import LeadState, Params, apply_event
from stream_app.faust_fixes import FixedTableManager
from stream_app.models import INPUT_TYPES
from stream_app.settings import Settings

log = logging.getLogger(__name__)

PROCESS_STARTED = time.monotonic()


@dataclass
class Runtime:
    """Handles the CLI and the web views need after the app is built."""

    app: faust.App
    settings: Settings
    leads: Any
    ready_at: float | None = None

    @property
    def ready(self) -> bool:
        """Tables recovered and partitions assigned: safe to serve lead state."""
        recovery = cast(FixedTableManager, self.app.tables).recovery
        return recovery.completed.is_set() and not self.app.rebalancing


def faust_options(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from ours; nothing here reads the environment."""
    options: dict[str, Any] = {
        "broker": settings.broker,
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": settings.rebalance_timeout_s,
        "broker_request_timeout": settings.request_timeout_s,
        "broker_commit_interval": settings.commit_interval_s,
        "consumer_auto_offset_reset": "earliest",
        "stream_publish_on_commit": False,
        "processing_guarantee": "at_least_once",
        "key_serializer": "raw",
        "value_serializer": "raw",
        "web_enabled": True,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        "TableManager": "stream_app.faust_fixes:FixedTableManager",
    }
    if settings.kafka_security_protocol != "PLAINTEXT":
        options["broker_credentials"] = _credentials(settings)
    return options


def _credentials(settings: Settings) -> Any:
    import ssl

    context = None
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        context = ssl.create_default_context(cafile=cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    return faust.SSLCredentials(context)


def create_app(settings: Settings) -> Runtime:
    app = faust.App(settings.app_id, **faust_options(settings))
    catalog = load_catalog()
    params = Params(
        policy_version=settings.policy_version,
        remembered_event_ids=settings.remembered_event_ids,
    )

    def topic(name: str) -> faust.TopicT:
        spec = catalog[name]
        return app.topic(
            settings.topic(name),
            partitions=spec.partition_count(settings.partitions),
            key_serializer="raw",
            value_serializer="raw",
            config=spec.config(),
            internal=False,
        )

    inputs = [settings.topic(name) for name in INPUT_TYPES]
    source = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    next_best_actions = topic("next-best-actions")
    dead_letters = topic("dead-letters")
    leads = app.Table(
        "leads",
        default=None,
        partitions=settings.partitions,
        key_type=str,
        value_type=bytes,
    )
    runtime = Runtime(app=app, settings=settings, leads=leads)
    by_physical = {settings.topic(name): name for name in catalog.names}

    @app.agent(source, concurrency=1)
    async def lead_agent(stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            message = record.message
            logical = by_physical.get(message.topic, message.topic)
            try:
                event = decode_event(logical, message.key, message.value, settings.max_event_bytes)
            except InvalidEvent as exc:
                letter = dead_letter(
                    logical, message.partition, message.offset, message.value, exc, _utcnow()
                )
                log.warning(
                    "dead letter from %s[%d]@%d: %s",
                    logical,
                    message.partition,
                    message.offset,
                    exc.message,
                )
                await dead_letters.send(key=message.key, value=encode(letter))
                continue
            raw = leads.get(event.lead_id)
            state = LeadState.model_validate_json(raw) if raw else None
            state, effects = apply_event(state, event, params)
            leads[event.lead_id] = state.model_dump_json().encode()
            for decision in effects.decisions:
                await next_best_actions.send(key=decision.lead_id.encode(), value=encode(decision))

    @app.task
    async def _report_ready() -> None:
        await cast(FixedTableManager, app.tables).recovery.completed.wait()
        runtime.ready_at = time.monotonic()
        log.info("worker ready %.1fs after process start", runtime.ready_at - PROCESS_STARTED)

    from stream_app.web import register_views

    register_views(runtime)
    return runtime


def _utcnow() -> datetime:
    return datetime.now(UTC)
