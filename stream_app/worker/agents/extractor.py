"""The extractor agent: slow work (LLM calls) off the lead agent's hot path."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import faust

from stream_app.config.settings import Settings
from stream_app.domain.extraction.base import Extractor
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.messages import ExtractionRequest, ExtractionResult
from stream_app.wire.codec import (
    EventTimeBounds,
    InvalidEvent,
    decode_extraction_request,
    encode,
    escaped,
    poison,
)
from stream_app.worker import metrics
from stream_app.worker.dead_letters import divert, via_topic
from stream_app.worker.topics import Topics, publish

log = logging.getLogger(__name__)


def is_stale(produced_at: float | None, now: float, deadline_s: float) -> bool:
    """A request produced more than the extraction deadline before `now` (epoch seconds).

    `produced_at` is the record's Kafka timestamp, not the request's `requested_at`
    (event time: the trigger's `occurred_at`, possibly days old in a replay or a late
    upload). The lead sets its wall-clock deadline when it builds the request, before
    producing it, so past `produced_at + deadline_s` the lead decides (or has decided)
    without the result, which would change nothing: the LLM call would be wasted on a
    backlog. A record without a timestamp (None, or Kafka's -1) is never stale.
    """
    if produced_at is None or produced_at <= 0:
        return False
    return now - produced_at > deadline_s


def register(app: faust.App, settings: Settings, topics: Topics, extractor: Extractor) -> None:
    bounds = EventTimeBounds.of(settings)
    dead_letters = via_topic(topics.dead_letters)

    async def extract(request: ExtractionRequest) -> ExtractionResult:
        """The pure part: parse, extract (a provider never raises), build the result."""
        started = time.perf_counter()
        conversation = parse_transcript(request.transcript, request.channel.value)
        extraction = await extractor.extract(conversation)
        elapsed = time.perf_counter() - started
        metrics.EXTRACTION_SECONDS.labels(extractor.name).observe(elapsed)
        metrics.EXTRACTIONS.labels(extractor.name, extraction.status.value).inc()
        if extraction.status.value == "failed":
            metrics.EXTRACTION_FAILURES.labels(extractor.name).inc()
            # The provider's error is a short cause, no response body (escaped all
            # the same: it is text from outside the process).
            log.warning(
                "extraction %s failed: %s",
                escaped(request.extraction_id),
                escaped(extraction.error, 200),
            )
        return ExtractionResult(
            extraction_id=request.extraction_id,
            lead_id=request.lead_id,
            extracted_at=datetime.now(UTC),
            source_event_ids=request.source_event_ids,
            extraction=extraction,
        )

    # Concurrency > 1 may commit past an in-flight request on a crash (faust #606);
    # the lead agent's extraction deadline covers that loss.
    @app.agent(
        topics.extraction_requests, concurrency=settings.extractor_concurrency, name="extractor"
    )
    async def extractor_agent(stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            message = record.message
            now = time.time()
            if is_stale(message.timestamp, now, settings.extraction_deadline_s):
                metrics.STALE_EXTRACTION_REQUESTS.inc()
                log.info(
                    "stale extraction request extraction-requests[%d]@%d dropped: produced "
                    "%.0f s ago, its lead decides without it after %g s",
                    message.partition,
                    message.offset,
                    now - message.timestamp,
                    settings.extraction_deadline_s,
                )
                continue
            started = time.perf_counter()
            error: InvalidEvent | None = None
            try:
                # The error names fields and error types; pydantic's own text would
                # repeat the transcript in the dead letter's `error`.
                request = decode_extraction_request(
                    message.key, message.value, now=datetime.now(UTC), bounds=bounds
                )
                result = await extract(request)
                value = encode(result)
            except InvalidEvent as exc:
                error = exc
            except Exception as exc:  # the pure part raising (a provider never does): poison
                error = poison(exc, "the extraction", "step_error")
            if error is not None:
                # A dead letter the broker does not acknowledge raises: transient.
                await divert(
                    dead_letters,
                    log,
                    "extraction-requests",
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    error,
                )
                continue
            # Transient, not poison: a send that fails propagates (never a dead
            # letter). The request is acked once its result is on the broker; what a
            # crash of a concurrent extractor still loses, the lead's deadline covers.
            await (await publish(topics.extractions, request.lead_id.encode(), value))
            metrics.PROCESSING_SECONDS.labels("extractor").observe(time.perf_counter() - started)
