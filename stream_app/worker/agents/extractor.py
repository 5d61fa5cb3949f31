"""The extractor agent: slow work (LLM calls) off the lead agent's hot path."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import faust
from pydantic import ValidationError

from stream_app.config.settings import Settings
from stream_app.domain.extraction.base import Extractor
from stream_app.domain.extraction.conversation import parse_transcript
from stream_app.domain.messages import ExtractionRequest, ExtractionResult
from stream_app.wire.codec import InvalidEvent, dead_letter, encode
from stream_app.worker import metrics
from stream_app.worker.topics import Topics

log = logging.getLogger(__name__)


def register(app: faust.App, settings: Settings, topics: Topics, extractor: Extractor) -> None:
    # Concurrency > 1 may commit past an in-flight request on a crash (faust #606);
    # the lead agent's extraction deadline covers that loss.
    @app.agent(
        topics.extraction_requests, concurrency=settings.extractor_concurrency, name="extractor"
    )
    async def extractor_agent(stream: faust.StreamT[bytes]) -> None:
        async for record in stream.events():
            message = record.message
            try:
                request = ExtractionRequest.model_validate_json(message.value or b"")
            except ValidationError as exc:
                error = InvalidEvent("validation", str(exc)[:1000])
                letter = dead_letter(
                    "extraction-requests",
                    message.partition,
                    message.offset,
                    message.value,
                    error,
                    datetime.now(UTC),
                )
                await topics.dead_letters.send(key=message.key, value=encode(letter))
                continue
            started = time.perf_counter()
            conversation = parse_transcript(request.transcript, request.channel.value)
            extraction = await extractor.extract(conversation)
            elapsed = time.perf_counter() - started
            metrics.EXTRACTION_SECONDS.labels(extractor.name).observe(elapsed)
            metrics.EXTRACTIONS.labels(extractor.name, extraction.status.value).inc()
            if extraction.status.value == "failed":
                metrics.EXTRACTION_FAILURES.labels(extractor.name).inc()
                log.warning("extraction %s failed: %s", request.extraction_id, extraction.error)
            result = ExtractionResult(
                extraction_id=request.extraction_id,
                lead_id=request.lead_id,
                extracted_at=datetime.now(UTC),
                source_event_ids=request.source_event_ids,
                extraction=extraction,
            )
            await topics.extractions.send(key=request.lead_id.encode(), value=encode(result))
            metrics.PROCESSING_SECONDS.labels("extractor").observe(time.perf_counter() - started)
