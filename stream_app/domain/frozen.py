"""The one base for the domain's records: immutable values that travel and rest as JSON.

Frozen, so a state is changed only by building a new one (the agent writes the new
value back; Faust changelogs only reassignment), and strict about fields, so a
typo in a producer's JSON is an error rather than silently dropped data.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
