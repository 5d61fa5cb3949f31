"""The seam between the extractor agent and whatever reads a conversation.

Providers are swapped by configuration (rules offline, an LLM in production), so
the agent depends on this protocol only. The contract that matters is the failure
one: `extract` never raises. A provider that cannot produce a result returns
`Extraction.failed(...)`, the lead agent records it and still decides from what it
already knows, and a bad provider can never stall a partition.
"""

from __future__ import annotations

from typing import Protocol

from stream_app.domain.extraction.conversation import Conversation
from stream_app.domain.extraction.model import Extraction


class Extractor(Protocol):
    name: str

    async def extract(self, conversation: Conversation) -> Extraction: ...
