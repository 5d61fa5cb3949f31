"""Opt-out keywords through the broker and a real worker, in both shipped languages.

Opt-out is a compliance rule, so it is proven where it runs: a worker reading
`sms-messages` and `interactions`. A Spanish "dejen de escribirme" is an opt-out
like "STOP"; a family quoting our own compliance line, or saying "no me den de
baja", is not, and the lead is still contacted.
"""

from __future__ import annotations

import uuid

from tests.integration.conftest import live_lead, of, sms
from tests.integration.harness import TopicWatcher, Upstream, WorkerProcess


async def test_a_spanish_sms_opt_out_is_a_stop_decision_at_once(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("kw")
    await upstream.send("leads", lead.created(parent_name="Rosa Díaz"))
    await watcher.wait_for("next-best-actions", of(lead))
    stop = sms(lead, "Por favor dejen de escribirme")
    await upstream.send("sms-messages", stop)
    [decision] = await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == stop["event_id"]
    )
    assert (decision["action"], decision["override"]) == ("stop", "opted_out")
    assert not watcher.matching("extraction-requests", of(lead))


async def test_a_spanish_opt_out_on_a_call_stops_before_any_extraction(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("kw")
    await upstream.send("leads", lead.created())
    await watcher.wait_for("next-best-actions", of(lead))
    call = lead.event(
        "interaction.completed",
        interaction_id=f"i-{uuid.uuid4().hex[:6]}",
        channel="voice",
        direction="outbound",
        outcome="completed",
        transcript="Agent: Hola, ¿le interesa la clase?\nParent: No me llamen más, gracias.",
    )
    await upstream.send("interactions", call)
    [decision] = await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == call["event_id"]
    )
    assert (decision["action"], decision["override"]) == ("stop", "opted_out")
    assert not watcher.matching("extraction-requests", of(lead))


async def test_quoting_our_line_or_a_negated_opt_out_keeps_the_lead_reachable(
    upstream: Upstream, watcher: TopicWatcher, worker: WorkerProcess
) -> None:
    lead = live_lead("kw")
    await upstream.send("leads", lead.created())
    await watcher.wait_for("next-best-actions", of(lead))
    quoted = sms(lead, 'Your text said "reply STOP to opt out". No me den de baja, porfa!')
    await upstream.send("sms-messages", quoted)
    # Not an opt-out: the message is buffered for its thread and extracted (the
    # quiet-period sweep flushes it), and no decision on it is a stop.
    [request] = await watcher.wait_for("extraction-requests", of(lead), timeout_s=60)
    assert quoted["event_id"] in request["source_event_ids"]
    [decision] = await watcher.wait_for(
        "next-best-actions", lambda r: r["trigger_event_id"] == quoted["event_id"], timeout_s=60
    )
    assert decision["override"] != "opted_out" and decision["action"] != "stop"
