"""The HTTP API secure by default, through a real worker on the embedded broker.

Lead data (children's names, parents' phones, money worries) is served only with a
bearer token; probes stay open; Faust's raw table and router views are off; POST
/events/* takes JSON only and answers 202 once the broker has the record; a worker
that other machines could reach will not start without a token; rejected input never
reaches a response or the log.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker, start_broker
from stream_app.kafka.ends import end_offsets
from tests.integration.conftest import Events, IsolatedWorkers, watch
from tests.integration.harness import Upstream, WorkerProcess, bearer, until

TOKEN_A = "rotating-out-" + "a1" * 10
TOKEN_B = "rotating-in-" + "b2" * 10
TOKENS = f"{TOKEN_A}, {TOKEN_B}"
WRONG = "not-the-token-" + "c3" * 10
JSON = {"Content-Type": "application/json"}
PARTITIONS = Settings.model_fields["partitions"].default


def lead_routes(lead_id: str) -> list[str]:
    """Every GET view that returns lead or learned data (stream_app/worker/web.py)."""
    return [f"/leads/{lead_id}", f"/leads/{lead_id}/nba", f"/leads/{lead_id}/context-pack"]


DATA_ROUTES = ["/q-table"]


@pytest.fixture(scope="module")
def secured(broker: EmbeddedBroker, artifacts: Path) -> Iterator[WorkerProcess]:
    """A worker with two tokens, bound to every interface (allowed: it has a token)."""
    factory = IsolatedWorkers(broker, artifacts, f"http-security-{uuid.uuid4().hex[:6]}")
    worker = factory.start(STREAM_APP_HTTP_TOKEN=TOKENS, STREAM_APP_WEB_HOST="0.0.0.0")
    yield worker
    for started in factory.started:
        started.stop()


@pytest.fixture(scope="module")
async def secured_lead(
    broker: EmbeddedBroker, secured: WorkerProcess, upstream: Upstream
) -> AsyncIterator[Events]:
    """A lead the secured worker has decided for, so every lead view has data."""
    watcher = await watch(broker, secured, "next-best-actions")
    try:
        lead = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start())
        await upstream.send(prefix(secured) + "leads", lead.created(phone="+1 555 0100"))
        await watcher.wait_for(
            prefix(secured) + "next-best-actions", lambda r: r["lead_id"] == lead.lead_id
        )
        yield lead
    finally:
        await watcher.stop()


def prefix(worker: WorkerProcess) -> str:
    return worker.extra_env["STREAM_APP_TOPIC_PREFIX"]


# --- tokens -----------------------------------------------------------------------------


async def test_every_data_route_needs_one_of_the_configured_tokens(
    secured: WorkerProcess, secured_lead: Events
) -> None:
    routes = lead_routes(secured_lead.lead_id) + DATA_ROUTES
    refused = {
        "no header": {},
        "wrong token": bearer(WRONG),
        "a token's prefix": bearer(TOKEN_A[:-1]),
        "another scheme": {"Authorization": f"Basic {TOKEN_A}"},
        "both tokens as one": bearer(TOKENS),
    }
    for route in routes:
        for why, headers in refused.items():
            status, body, response_headers = secured.request("GET", route, headers=headers)
            assert status == 401, f"{route} with {why}: {status}"
            assert body == {"error": "missing or wrong bearer token", "error_type": "unauthorized"}
            assert response_headers.get("WWW-Authenticate") == "Bearer"
        for token in (TOKEN_A, TOKEN_B):
            status, body, _ = secured.request("GET", route, headers=bearer(token))
            assert status == 200, f"{route} with a configured token: {status} {body}"

    status, state, _ = secured.request(
        "GET", f"/leads/{secured_lead.lead_id}", headers=bearer(TOKEN_B)
    )
    assert (state["lead_id"], state["profile"]["phone"]) == (secured_lead.lead_id, "+1 555 0100")


async def test_posting_an_event_needs_a_token(secured: WorkerProcess, secured_lead: Events) -> None:
    event = orjson.dumps(secured_lead.event("lead.milestone", milestone="trial_booked"))
    for headers in ({}, bearer(WRONG)):
        status, body, _ = secured.request("POST", "/events/leads", event, {**JSON, **headers})
        assert (status, body["error_type"]) == (401, "unauthorized")


async def test_probes_and_scrapes_stay_open(secured: WorkerProcess) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        status, _, _ = secured.request("GET", path)
        assert status == 200, path


async def test_faust_table_and_router_views_are_off(
    secured: WorkerProcess, secured_lead: Events
) -> None:
    lead_id = secured_lead.lead_id
    paths = [
        f"/table/leads/{lead_id}/",
        "/table/leads/",
        "/table/",
        "/router/",
        f"/router/leads/{lead_id}/",
        "/router/leads/",
        "/router/topics/",
        "/assignment/",
        "/graph/",
        "/performance/",
    ]
    for path in paths:
        for headers in ({}, bearer(TOKEN_A)):
            status, body, _ = secured.request("GET", path, headers=headers)
            assert status in (403, 404), f"{path}: {status} {body}"
            assert "Sarah" not in str(body) and "555" not in str(body), path


async def test_a_lead_id_is_length_checked_and_never_echoed(secured: WorkerProcess) -> None:
    too_long = "x" * 60 + "-" + "y" * 4  # 65 characters
    for route in lead_routes(too_long):
        status, body, _ = secured.request("GET", route, headers=bearer(TOKEN_A))
        assert (status, body["error_type"]) == (400, "invalid_lead_id"), route
        assert too_long not in str(body)
    longest = "z" * 64
    status, body, _ = secured.request("GET", f"/leads/{longest}", headers=bearer(TOKEN_A))
    assert (status, body) == (404, {"error": "lead not found", "error_type": "not_found"})


# --- POST /events/{topic} -----------------------------------------------------------------


async def test_a_body_that_is_not_json_is_415(secured: WorkerProcess) -> None:
    event = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start()).created()
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        headers = {**bearer(TOKEN_A), "Content-Type": content_type}
        status, body, _ = secured.request("POST", "/events/leads", orjson.dumps(event), headers)
        assert (status, body["error_type"]) == (415, "unsupported_media_type")


async def test_an_event_dated_past_the_allowed_skew_is_refused_at_the_door(
    secured: WorkerProcess,
) -> None:
    event = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start()).created()
    far = (datetime.now(UTC) + timedelta(days=3650)).isoformat()
    raw = orjson.dumps({**event, "occurred_at": far})
    status, body, _ = secured.request("POST", "/events/leads", raw, {**JSON, **bearer(TOKEN_A)})
    assert (status, body["error_type"]) == (400, "event_time")
    assert far not in str(body)


async def test_202_comes_only_once_the_record_is_on_the_topic(
    broker: EmbeddedBroker, secured: WorkerProcess
) -> None:
    event = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start()).created()
    raw = orjson.dumps(event)
    status, body, _ = secured.request("POST", "/events/leads", raw, {**JSON, **bearer(TOKEN_A)})
    assert status == 202, body
    assert body["accepted"] == event["event_id"]

    # Read up to the end offset as it is right after the 202: the record is below it.
    tp = TopicPartition(prefix(secured) + "leads", body["partition"])
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await end_offsets(consumer, [tp]))[tp]
        assert body["offset"] < end, "202 before the broker had the record"
        consumer.seek(tp, body["offset"])
        record = await consumer.getone(tp)
    finally:
        await consumer.stop()
    assert (record.key, record.value) == (event["lead_id"].encode(), raw)


async def test_the_size_limit_holds_for_chunked_bodies(secured: WorkerProcess) -> None:
    limit = Settings.model_fields["max_event_bytes"].default
    lead = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start())

    def post_chunked(body: bytes) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", secured.web_port, timeout=10)
        try:
            chunks = (body[i : i + 4096] for i in range(0, len(body), 4096))
            connection.request(
                "POST",
                "/events/leads",
                body=chunks,
                headers={**JSON, **bearer(TOKEN_A)},
                encode_chunked=True,
            )
            response = connection.getresponse()
            return response.status, orjson.loads(response.read())
        finally:
            connection.close()

    padding = "p" * (limit + 1000)
    status, body = post_chunked(orjson.dumps(lead.created(campaign_goal=padding)))
    assert (status, body["error_type"]) == (413, "too_large")
    status, body = post_chunked(orjson.dumps(lead.created()))
    assert status == 202, body


async def test_an_event_the_broker_cannot_take_is_503(
    artifacts: Path, secured: WorkerProcess
) -> None:
    """A worker whose broker is gone: the send is never acknowledged."""
    doomed = start_broker(log_path=artifacts / "doomed-broker.log")
    worker = WorkerProcess(
        broker=doomed,
        data_dir=artifacts / "doomed-data",
        log_path=artifacts / "doomed-worker.log",
        extra_env={"STREAM_APP_HTTP_TOKEN": TOKEN_A, "STREAM_APP_HTTP_TIMEOUT_S": "2"},
    )
    try:
        worker.start()
        worker.wait_ready()
        doomed.stop()
        event = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start()).created()
        status, body, _ = worker.request(
            "POST", "/events/leads", orjson.dumps(event), {**JSON, **bearer(TOKEN_A)}
        )
        assert status == 503, body
        assert body["error_type"] == "not_acknowledged"
        assert "Traceback" not in str(body) and len(body["error"]) < 100
    finally:
        worker.stop(signal.SIGKILL)
        doomed.stop()


# --- what reaches the log -----------------------------------------------------------------


async def test_a_planted_value_in_a_rejected_event_reaches_neither_response_nor_log(
    secured: WorkerProcess,
) -> None:
    planted = f"PII-{uuid.uuid4().hex}"
    lead = Events(f"sec-{uuid.uuid4().hex[:10]}", Events.default_start())
    rejected = [
        {**lead.created(), "phone": f"+1 555 {planted}"},  # over the phone's 32 characters
        {**lead.created(), "child_age": planted},  # not a number
        {**lead.created(), "type": planted},  # no such event type
        {**lead.created(), "lead_id": planted * 3},  # over 64 characters
        {**lead.created(), planted: "x"},  # no such field
    ]
    before = secured.log_text().count("rejected:")
    headers = {**JSON, **bearer(TOKEN_A)}
    for event in rejected:
        status, body, _ = secured.request("POST", "/events/leads", orjson.dumps(event), headers)
        assert status == 400, body
        assert planted not in str(body)
        if event.get("phone", "").endswith(planted):
            assert body["error"] == "lead.created.phone: String should have at most 32 characters"
    status, body, _ = secured.request("POST", "/events/leads", f"{{{planted}".encode(), headers)
    assert (status, body["error_type"]) == (400, "invalid_json")
    assert planted not in str(body)

    # Each rejection logs one line (field names and error type); wait for all of them.
    await until(
        "a log line per rejected event",
        lambda: secured.log_text().count("rejected:") >= before + len(rejected) + 1,
    )
    log = secured.log_text()
    assert planted not in log, "a rejected value reached the log"
    assert "rejected: validation ['lead.created.phone']" in log
    assert "rejected: validation ['lead.created.(unknown field)']" in log


# --- several workers ---------------------------------------------------------------------


async def test_two_workers_with_distinct_advertised_urls_each_answer_for_every_lead(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    first = workers.start_advertised(STREAM_APP_HTTP_TOKEN=TOKENS)
    second = workers.start_advertised(peer_of=first, STREAM_APP_HTTP_TOKEN=TOKENS)
    first.wait_ready()
    assert (
        first.extra_env["STREAM_APP_ADVERTISED_URL"]
        != (second.extra_env["STREAM_APP_ADVERTISED_URL"])
    )
    watcher = await watch(broker, first, "next-best-actions")
    try:
        leads = [lead_on_partition(partition) for partition in range(PARTITIONS)]
        for lead in leads:
            await upstream.send(prefix(first) + "leads", lead.created())
        for lead in leads:
            await watcher.wait_for(
                prefix(first) + "next-best-actions",
                lambda r, lead_id=lead.lead_id: r["lead_id"] == lead_id,
            )
        # Both own some of the partitions, so each worker forwards some requests.
        await until(
            "both workers owning lead partitions",
            lambda: bool(owned(first) and owned(second)),
            timeout_s=30,
        )
        assert owned(first) | owned(second) == set(range(PARTITIONS))

        def answers(worker: WorkerProcess, lead: Events, path: str) -> bool:
            status, body, _ = worker.request("GET", path, headers=bearer(TOKEN_A))
            return status == 200 and body["lead_id"] == lead.lead_id

        for worker in (first, second):
            for lead in leads:
                for path in lead_routes(lead.lead_id):
                    await until(
                        f"{worker.base_url}{path}",
                        lambda w=worker, le=lead, p=path: answers(w, le, p),
                        timeout_s=15,
                    )
                    status, _, _ = worker.request("GET", path)
                    assert status == 401, f"{path} without a token, {worker.base_url}"
    finally:
        await watcher.stop()


def lead_on_partition(partition: int) -> Events:
    """A lead whose id the default (murmur2) partitioner sends to `partition`."""
    while True:
        lead = Events(f"adv-{uuid.uuid4().hex[:10]}", Events.default_start())
        if (murmur2(lead.lead_id.encode()) & 0x7FFFFFFF) % PARTITIONS == partition:
            return lead


def owned(worker: WorkerProcess) -> set[int]:
    """The `leads` partitions this worker is assigned (its consumer-lag series)."""
    status, text, _ = worker.request("GET", "/metrics")
    if status != 200:
        return set()
    topic = re.escape(prefix(worker) + "leads")
    pattern = rf'stream_app_consumer_lag\{{partition="(\d+)",topic="{topic}"\}}'
    return {int(p) for p in re.findall(pattern, text)}


# --- refusing to start -------------------------------------------------------------------


def run_worker_command(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "STREAM_APP_HTTP_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "stream_app", "worker"],
        env={**clean, "STREAM_APP_BROKER": "kafka://127.0.0.1:9", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_worker_on_a_public_address_refuses_to_start_without_a_token() -> None:
    result = run_worker_command(STREAM_APP_WEB_HOST="0.0.0.0")
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("refusing to start: STREAM_APP_WEB_HOST='0.0.0.0'"), line
    assert "STREAM_APP_HTTP_TOKEN is not set" in line
    assert result.stdout == ""


def test_a_short_token_is_a_settings_error_that_does_not_print_the_token() -> None:
    short = "fifteen-chars-x"
    result = run_worker_command(STREAM_APP_WEB_HOST="0.0.0.0", STREAM_APP_HTTP_TOKEN=short)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("invalid settings: STREAM_APP_HTTP_TOKEN: "), line
    assert "at least 16 characters" in line
    assert short not in result.stderr + result.stdout
