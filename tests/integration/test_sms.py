"""SMS threads through the broker: stored at once, extracted once per thread, crash-safe.

Event times follow the wall clock here, as live traffic does, so the sweep's
quiet-period rule (2 s in these tests) fires between messages only when a test
means it to.
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from aiokafka.partitioner import murmur2

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import Events, IsolatedWorkers, live_lead, of, sms, watch
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess


async def test_three_messages_then_quiet_make_one_extraction_and_one_decision(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("sms")
    await upstream.send("leads", lead.created())
    await watcher.wait_for("next-best-actions", of(lead))
    thread = [
        sms(lead, "Hi! Got your text about the robotics club"),
        sms(lead, "Ok thanks", direction="sent"),
        sms(lead, "What ages is it for? Jake is 9"),
    ]
    for message in thread:
        await upstream.send("sms-messages", message)

    [request] = await watcher.wait_for("extraction-requests", of(lead), timeout_s=20)
    assert list(request["source_event_ids"]) == [m["event_id"] for m in thread]
    assert request["transcript"].splitlines()[1].startswith("Agent:")
    [decision] = await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == thread[-1]["event_id"]
    )
    assert decision["lead_id"] == lead.lead_id
    status, state = worker.get(f"/leads/{lead.lead_id}")
    assert status == 200 and state["sms"]["messages"] == []
    assert len(watcher.matching("extraction-requests", of(lead))) == 1


async def test_six_messages_flush_at_once(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("sms")
    await upstream.send("leads", lead.created())
    await watcher.wait_for("next-best-actions", of(lead))
    messages = [sms(lead, text) for text in ("hi", "so", "we were", "thinking", "about", "it")]
    for message in messages:
        await upstream.send("sms-messages", message)
    [request] = await watcher.wait_for("extraction-requests", of(lead), timeout_s=20)
    assert len(request["source_event_ids"]) == 6
    status, metrics = worker.get("/metrics")
    assert status == 200
    assert 'stream_app_sms_flushes_total{trigger="max_messages"}' in metrics


async def test_stop_is_a_stop_decision_within_one_event(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("sms")
    await upstream.send("leads", lead.created())
    await watcher.wait_for("next-best-actions", of(lead))
    stop = sms(lead, "STOP")
    await upstream.send("sms-messages", stop)
    [decision] = await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == stop["event_id"]
    )
    assert (decision["action"], decision["override"]) == ("stop", "opted_out")
    assert not watcher.matching("extraction-requests", of(lead))


async def test_a_thread_buffered_when_the_worker_dies_is_flushed_once_after_restart(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    # A long quiet period so the thread is still buffered when the worker is killed.
    worker = workers.start(STREAM_APP_SMS_QUIET_S="30", STREAM_APP_SMS_MAX_AGE_S="60")
    prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, worker, "next-best-actions", "extraction-requests")
    try:
        lead = live_lead("sms")
        await upstream.send(prefix + "leads", lead.created())
        await watcher.wait_for(prefix + "next-best-actions", of(lead))
        thread = [sms(lead, "Hello!"), sms(lead, "Is there a trial class?"), sms(lead, "Thx")]
        for message in thread:
            await upstream.send(prefix + "sms-messages", message)
        await wait_until_buffered(worker, lead.lead_id, 3)

        worker.stop(signal.SIGKILL)
        worker.extra_env.update(STREAM_APP_SMS_QUIET_S="2", STREAM_APP_SMS_MAX_AGE_S="8")
        worker.start()
        worker.wait_ready(timeout_s=90)

        [decision] = await watcher.wait_for(
            prefix + "next-best-actions",
            lambda r: r["trigger_event_id"] == thread[-1]["event_id"],
            timeout_s=30,
        )
        assert_one_extraction(watcher.matching(prefix + "extraction-requests", of(lead)), thread)
        assert decision["lead_id"] == lead.lead_id
    finally:
        await watcher.stop()


async def test_a_thread_buffered_on_a_departing_worker_is_flushed_by_the_one_that_takes_over(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    # The thread outlives its worker (long quiet period) but not the takeover (max age).
    timing = {"STREAM_APP_SMS_QUIET_S": "60", "STREAM_APP_SMS_MAX_AGE_S": "12"}
    staying = workers.start(**timing)
    leaving = workers.start(peer_of=staying, **timing)
    staying.wait_ready()
    prefix = staying.extra_env["STREAM_APP_TOPIC_PREFIX"]
    watcher = await watch(broker, staying, "next-best-actions", "extraction-requests")
    try:
        # One lead per partition, so the leaving worker surely owns some of them.
        leads = [lead_on_partition(partition) for partition in range(PARTITIONS)]
        threads = {}
        for lead in leads:
            await upstream.send(prefix + "leads", lead.created())
            await watcher.wait_for(prefix + "next-best-actions", of(lead))
            threads[lead.lead_id] = [sms(lead, "Hello!"), sms(lead, "Trial class?")]
            for message in threads[lead.lead_id]:
                await upstream.send(prefix + "sms-messages", message)
        for lead in leads:
            # Either worker answers for any lead: the one that owns it does.
            await wait_until_buffered(staying, lead.lead_id, 2)
            status, state = leaving.get(f"/leads/{lead.lead_id}")
            assert status == 200 and len(state["sms"]["messages"]) == 2

        leaving.stop()
        staying.wait_ready(timeout_s=60)

        # The staying worker can still answer ready before it has noticed the
        # departure, so each deadline covers the whole chain: the group re-forming,
        # the changelog recovery, a sweep, and four topic hops (timer, flush,
        # extraction, decision). 30 s was missed once on a 2-core machine running two
        # suites side by side.
        for lead in leads:
            thread = threads[lead.lead_id]
            await watcher.wait_for(
                prefix + "next-best-actions",
                lambda r, last=thread[-1]["event_id"]: r["trigger_event_id"] == last,
                timeout_s=90,
            )
            requests = watcher.matching(prefix + "extraction-requests", of(lead))
            assert_one_extraction(requests, thread)
    finally:
        await watcher.stop()


PARTITIONS = Settings.model_fields["partitions"].default


def assert_one_extraction(requests: list[dict[str, Any]], thread: list[dict[str, Any]]) -> None:
    """One extraction of the whole thread; a redelivery may repeat it, under the same id only."""
    assert {r["extraction_id"] for r in requests} == {requests[0]["extraction_id"]}
    assert list(requests[0]["source_event_ids"]) == [m["event_id"] for m in thread]


def lead_on_partition(partition: int) -> Events:
    """A live lead whose id the default (murmur2) partitioner sends to `partition`."""
    while True:
        lead = live_lead("sms")
        if (murmur2(lead.lead_id.encode()) & 0x7FFFFFFF) % PARTITIONS == partition:
            return lead


async def wait_until_buffered(worker: WorkerProcess, lead_id: str, count: int) -> None:
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        status, state = worker.get(f"/leads/{lead_id}")
        if status == 200 and len(state["sms"]["messages"]) == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"lead {lead_id} never had {count} buffered messages: {state}")
