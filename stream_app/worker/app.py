"""The Faust application, built from Settings: topics, tables, agents, views."""

from __future__ import annotations

import logging
import ssl
import time
from typing import Any, cast

import faust

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import ExtractorName, Settings
from stream_app.domain.extraction.base import Extractor
from stream_app.domain.extraction.rules import RulesExtractor
from stream_app.kafka.options import ACKS_ALL, fetch_max_wait_ms, unreplicated
from stream_app.wire.models import INPUT_TYPES
from stream_app.worker import metrics
from stream_app.worker.agents import extractor as extractor_agent
from stream_app.worker.agents import lead as lead_agent
from stream_app.worker.agents import qlearner as qlearner_agent
from stream_app.worker.faust_fixes import FixedApp, FixedTableManager
from stream_app.worker.qtable_view import QTableView
from stream_app.worker.runtime import Runtime
from stream_app.worker.tables import budget_table, lead_table, learner_table
from stream_app.worker.topics import Topics
from stream_app.worker.web import register_views

log = logging.getLogger(__name__)

PROCESS_STARTED = time.monotonic()


def faust_options(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from ours; nothing here reads the environment.

    Faust declares the topics it uses at start (changelogs too) with
    `topic_replication_factor`, so outside `STREAM_APP_ENV=dev` a replication factor
    of 1 is refused here, before anything is created. Faust has no setting for an
    idempotent producer outside `exactly_once` (which the embedded broker cannot
    run); its producer gets `acks=all`.
    """
    refusal = unreplicated(settings)
    if refusal:
        raise ValueError(refusal)
    options: dict[str, Any] = {
        "broker": settings.broker,
        "store": settings.store,
        "datadir": str(settings.data_dir),
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        # Nothing runs `on_leader=True`: no leader-election topic to create.
        "topic_disable_leader": True,
        "producer_acks": ACKS_ALL,
        "producer_max_batch_size": settings.kafka_max_batch_bytes,
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
        # Faust's own views are off: /table/{name}/{key}/ serves raw table values (every
        # lead's PII, unauthenticated) and /router/ the cluster's layout. @table_route
        # does not need them; it asks the partition assignor in process. Statistics,
        # the graph and /performance/ describe internals. web.py serves what we mean to.
        "web_tables_enabled": False,
        "web_router_enabled": False,
        "web_stats_enabled": False,
        "web_graph_enabled": False,
        "web_metrics_enabled": False,
        "TableManager": "stream_app.worker.faust_fixes:FixedTableManager",
        "Table": "stream_app.worker.faust_fixes:RawKeyTable",
    }
    if settings.advertised_url:
        options["canonical_url"] = settings.advertised_url
    if settings.kafka_security_protocol != "PLAINTEXT":
        options["broker_credentials"] = _credentials(settings)
    return options


def _credentials(settings: Settings) -> Any:
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


def _extractor(settings: Settings) -> Extractor:
    """The provider Settings name; secrets stay in Settings and never reach logs."""
    if settings.extractor == ExtractorName.OPENAI:
        # Imported here: the openai package takes 2-5 s to import, which every
        # `stream-app` command (and every worker on the rules provider) paid.
        from stream_app.worker.openai_extractor import OpenAIExtractor

        provider: Extractor = OpenAIExtractor.from_settings(settings)
        return provider
    return RulesExtractor(settings.keyword_scan)


def create_app(settings: Settings) -> Runtime:
    """The composition root: every part of the worker is chosen and wired here."""
    app = FixedApp(
        settings.app_id,
        leaves_group_on_stop=settings.kafka_leave_group_on_stop,
        fetch_max_wait_ms=fetch_max_wait_ms(settings),
        **faust_options(settings),
    )
    topics = Topics.build(app, settings)
    leads = lead_table(app, settings)
    learned = learner_table(app)
    q_view = QTableView(settings)
    app.service(cast(Any, q_view))  # Faust starts instances as well as classes
    runtime = Runtime(
        app=app,
        settings=settings,
        topics=topics,
        leads=leads,
        q_view=q_view,
        topics_by_name={
            name: app.topic(settings.topic(name), key_serializer="raw", value_serializer="raw")
            for name in INPUT_TYPES
        },
    )
    budgets = budget_table(app, settings)
    lead_agent.register(
        app,
        lead_agent.LeadAgent(settings, topics, leads, budgets, q_view, lead_params(settings)),
    )
    extractor_agent.register(app, settings, topics, _extractor(settings))
    qlearner_agent.register(app, settings, topics, learned, learner_params(settings))

    @app.task
    async def _report_ready() -> None:
        await cast(FixedTableManager, app.tables).recovery.completed.wait()
        await q_view.caught_up.wait()
        runtime.ready_at = time.monotonic()
        metrics.WORKER_READY.set(1)
        log.info("worker ready %.1fs after process start", runtime.ready_at - PROCESS_STARTED)

    reported: set[tuple[str, str]] = set()

    @app.timer(interval=settings.sweep_interval_s, name="consumer-lag")
    async def _consumer_lag() -> None:
        """Records behind the highwater per assigned input partition, for lag alerts.

        Faust keeps the last read offset privately (`_read_offset`); there is no
        public accessor in 0.15. Revoked partitions' series are removed so a worker
        never reports lag for partitions it no longer owns.
        """
        consumer = app.consumer
        read = getattr(consumer, "_read_offset", {})
        current: set[tuple[str, str]] = set()
        for tp in consumer.assignment():
            if tp.topic.endswith("-changelog"):
                continue
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            offset = read.get(tp)
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(
                max(0, highwater - (offset + 1 if offset is not None else 0))
            )
            current.add(labels)
        for labels in reported - current:
            metrics.CONSUMER_LAG.remove(*labels)
        reported.clear()
        reported.update(current)

    register_views(runtime)
    return runtime
