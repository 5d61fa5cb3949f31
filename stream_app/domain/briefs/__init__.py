"""Action briefs: the tactics for the strategy the learner chose.

The learner picks *which* semantic action; the brief says how to carry it out:
content directives, tone, what to prepare, what to avoid, when and why, and a
message draft for written channels.

- `templates`: each action's texts, as data;
- `directives`: the table of rules that turns the lead's signals into directives;
- `timing`: when the action is due (`scheduled_for`) and the rationale;
- `build`: `build_brief`, which puts them together;
- `model`: the brief, the profile it addresses and the builder's knobs.
"""

from stream_app.domain.briefs.build import build_brief
from stream_app.domain.briefs.model import (
    DEFAULT_BRIEFS,
    DEFAULT_DELAYS,
    ActionBrief,
    BriefParams,
    Directive,
    LeadProfile,
)
from stream_app.domain.briefs.timing import timing

__all__ = [
    "DEFAULT_BRIEFS",
    "DEFAULT_DELAYS",
    "ActionBrief",
    "BriefParams",
    "Directive",
    "LeadProfile",
    "build_brief",
    "timing",
]
