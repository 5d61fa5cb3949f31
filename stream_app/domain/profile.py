"""Who a lead is: the names and contact details a brief addresses and guardrails use.

Stored in the lead's state and filled from `lead.created` / `lead.updated`, whose
wire fields (with their size limits) are in `messages`.
"""

from __future__ import annotations

from stream_app.domain.frozen import Stored


class Profile(Stored):
    parent_name: str = ""
    phone: str | None = None
    email: str | None = None
    child_name: str | None = None
    child_age: int | None = None
    campaign_goal: str | None = None
    segment: str | None = None
    value_tier: str | None = None
    owner: str | None = None
    timezone: str | None = None
