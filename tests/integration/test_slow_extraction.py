"""A slow LLM call at the head of a partition is waited for, never sent again.

The extractor runs at concurrency > 1, so requests after a slow one are extracted
and acknowledged while it is still in its LLM call, and the commit waits at the slow
one. The stall healer used to take that for a lost record: after 5 s it re-read the
partition from the committed offset, and every later request (and the slow one) went
to the LLM again, every 5 s. Here the worker talks to a fake OpenAI-compatible server
(`tests.llm_server`, shared with the extractor's unit tests) that holds one reply
for 8 s (longer than the healer's 5 s), and calls are counted per extraction id.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from stream_app.domain.messages import ExtractionRequest
from stream_app.kafka.embedded import EmbeddedBroker
from tests.integration.conftest import IsolatedWorkers, watch
from tests.integration.harness import Upstream, group_positions
from tests.llm_server import LLMServer, json_reply, llm_server

SLOW_S = 8.0  # above the healer's 5 s (ContiguousCommitConsumer.heal_after_s)
REQUESTS = 6
REPLY = {"summary": "Parent asked about Thursday.", "intent": "scheduling"}


def _ref(body: dict[str, Any]) -> str:
    found = re.search(r"ref ([\w-]+)", body["messages"][-1]["content"])
    return found.group(1) if found else "?"


def fake_llm(slow: str) -> AbstractAsyncContextManager[LLMServer]:
    """The shared local LLM server; the request whose prompt says `ref <slow>` waits."""
    return llm_server(lambda body: json_reply(REPLY, delay_s=SLOW_S if _ref(body) == slow else 0))


def calls(server: LLMServer) -> Counter[str]:
    """LLM calls per extraction id (the `ref <id>` in each prompt)."""
    return Counter(_ref(body) for body in server.requests)


def request(extraction_id: str, lead_id: str) -> dict[str, Any]:
    return ExtractionRequest(
        extraction_id=extraction_id,
        lead_id=lead_id,
        requested_at=datetime.now(UTC),
        channel="voice",
        transcript=f"Agent: Hi!\nParent: ref {extraction_id}: can we book Thursday at 4:30?",
        source_event_ids=(f"{extraction_id}-e1",),
    ).model_dump(mode="json")


async def test_a_slow_extraction_at_the_head_is_waited_for_not_sent_again(
    broker: EmbeddedBroker, workers: IsolatedWorkers, upstream: Upstream
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"x-{run}-{i}" for i in range(REQUESTS)]
    async with fake_llm(slow=ids[0]) as llm:
        worker = workers.start(
            STREAM_APP_PARTITIONS="1",  # every request in one partition, the slow one first
            STREAM_APP_EXTRACTOR="openai",
            STREAM_APP_EXTRACTOR_CONCURRENCY="4",
            STREAM_APP_OPENAI_API_KEY="sk-test",
            STREAM_APP_OPENAI_BASE_URL=llm.base_url,
            STREAM_APP_OPENAI_TIMEOUT_S="30",
            STREAM_APP_OPENAI_MAX_RETRIES="0",
        )
        prefix = worker.extra_env["STREAM_APP_TOPIC_PREFIX"]
        group = worker.extra_env["STREAM_APP_APP_ID"]
        topic = prefix + "extraction-requests"
        watcher = await watch(broker, worker, "extractions")
        try:
            started = time.monotonic()
            for extraction_id in ids:
                await upstream.send(topic, request(extraction_id, f"lead-{run}"))

            def results() -> list[str]:
                records = watcher.records[prefix + "extractions"]
                return [r["extraction_id"] for r in records if r["extraction_id"] in ids]

            await watcher.wait_for(
                prefix + "extractions", lambda r: r["extraction_id"] == ids[0], timeout_s=60
            )
            assert time.monotonic() - started >= SLOW_S
            assert set(results()[: REQUESTS - 1]) == set(ids[1:]), "the later ones went first"
            committed, end = 0, -1
            for _ in range(100):  # the commit passes them all once the slow one is done
                committed, end = (await group_positions(broker.bootstrap, group, topic))[0]
                if committed == end:
                    break
                await asyncio.sleep(0.1)
            assert (committed, end) == (REQUESTS, REQUESTS)
            await asyncio.sleep(1.0)  # a late re-read would show now

            healed = [line for line in worker.log_text().splitlines() if "re-reading" in line]
            assert dict(calls(llm)) == dict.fromkeys(ids, 1), (
                f"LLM calls per extraction id (the first one slow): {dict(calls(llm))}; "
                f"healer: {len(healed)} re-reads {healed[-2:]}"
            )
            assert Counter(results()) == Counter(ids), "one result per request"
            assert healed == []
        finally:
            await watcher.stop()
