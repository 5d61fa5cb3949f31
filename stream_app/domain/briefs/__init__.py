"""Action briefs: the tactics for the strategy the learner chose.

The learner picks *which* semantic action; the brief says how to carry it out:
content directives, tone, what to prepare, what to avoid, when and why, and a
message draft for written channels.

- `templates`: each action's texts, as data;
- `directives`: the table of rules that turns the lead's signals into directives;
- `build`: `build_brief`, which puts them together;
- `model`: the brief, its schedule and the builder's knobs.

When the contact may happen is `stream_app.domain.scheduling`'s to say.
"""

from stream_app.domain.briefs.build import build_brief
from stream_app.domain.briefs.model import (
    DEFAULT_BRIEFS,
    DEFAULT_DELAYS,
    ActionBrief,
    BriefParams,
    Directive,
    Schedule,
)

__all__ = [
    "DEFAULT_BRIEFS",
    "DEFAULT_DELAYS",
    "ActionBrief",
    "BriefParams",
    "Directive",
    "Schedule",
    "build_brief",
]
