"""The RL state key: `status:bucket`, or the bucket with compound signal flags.

A bucket keeps one situation per lead and throws the rest of the context away, so
a keen parent who is worried about cost lands in `positive_engagement` next to a
keen parent who is not, and the table cannot learn that the two want different
actions. The `compound` model keeps the bucket and appends the few signals the
bucket discarded that change the right next step most, each a plain fact of the
`LeadContext`:

- `cost`: a payment concern, or a financial concern at `financial_concern_from` or
  above; a push to book backfires on a family that cannot afford it.
- `objection`: an objection is on record; left unanswered it blocks the next step.
- `family`: decision makers or siblings are named; someone else has to agree.
- `schedule`: scheduling constraints are named; the usual times do not work.

The key is `status:bucket+flag+flag`, flags in the order above; with no flag set it
is the bucket key itself, so every `status:bucket` table, snapshot and log stays
valid under either model. Flags are kept only where they say something the bucket
does not (`FLAGS_OF`): a bucket never repeats its own signal (no `cost` on
`financial_concern`), and a signal ranked above the bucket in the bucket order
cannot be on (a `family_context` lead has no cost worry, or it would be in a cost
bucket). Flags apply to the acquisition statuses only (new to trial), where a
concern decides whether the family enrols; later statuses keep their bucket, so
their few leads are not split further. The state space is `STATES`: 434 keys,
of which the 110 bucket keys are a subset.

A compound key's unseen entries are its bucket's (`base_state`): `QTable` falls
back to the bucket's row, so on day one both models decide the same, and a
compound state starts from what its bucket knows instead of from zero.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import combinations

from stream_app.domain.buckets import DEFAULT_BUCKETS, Bucket, BucketParams, bucket, rl_state
from stream_app.domain.context import LeadContext
from stream_app.domain.lifecycle import Status


class StateModel(StrEnum):
    BUCKET = "bucket"
    COMPOUND = "compound"


class Flag(StrEnum):
    """A signal the bucket discarded; the key lists them in this order."""

    COST = "cost"
    OBJECTION = "objection"
    FAMILY = "family"
    SCHEDULE = "schedule"


SEPARATOR = "+"

FLAGGED_STATUSES: frozenset[Status] = frozenset(
    {Status.NEW, Status.CONTACTED, Status.INTERESTED, Status.TRIAL}
)
"""Where a compound key carries flags: acquisition, where concerns block enrolment."""

_B, _F = Bucket, Flag
_ALL_FLAGS = tuple(Flag)
FLAGS_OF: dict[Bucket, tuple[Flag, ...]] = {
    _B.UNREACHED: _ALL_FLAGS,
    _B.NEGATIVE: _ALL_FLAGS,
    _B.SCHEDULING_INTENT: _ALL_FLAGS,
    _B.POSITIVE_ENGAGEMENT: _ALL_FLAGS,
    _B.PAYMENT_CONCERN: (_F.OBJECTION, _F.FAMILY, _F.SCHEDULE),
    _B.FINANCIAL_CONCERN: (_F.OBJECTION, _F.FAMILY, _F.SCHEDULE),
    _B.HAS_OBJECTIONS: (_F.FAMILY, _F.SCHEDULE),
    _B.FAMILY_CONTEXT: (_F.SCHEDULE,),
    _B.CONSIDERING: (_F.SCHEDULE,),
    _B.NOVEL_SIGNAL: (_F.SCHEDULE,),
    _B.NEUTRAL: (_F.SCHEDULE,),
}
"""The flags a bucket can carry: not its own signal, nor one the bucket order rules out."""


def flags(ctx: LeadContext, params: BucketParams = DEFAULT_BUCKETS) -> frozenset[Flag]:
    """Every flag the context sets, whatever the bucket (`state_key` keeps the allowed)."""
    on = {
        Flag.COST: ctx.payment_concern
        or ctx.financial_concern.rank >= params.financial_concern_from.rank,
        Flag.OBJECTION: bool(ctx.objections),
        Flag.FAMILY: bool(ctx.decision_makers or ctx.siblings),
        Flag.SCHEDULE: bool(ctx.scheduling_constraints),
    }
    return frozenset(f for f, set_ in on.items() if set_)


def compound_key(status: Status, b: Bucket, present: frozenset[Flag]) -> str:
    """The key of a bucket with the flags it may carry, in `Flag` order."""
    base = rl_state(status, b)
    if status not in FLAGGED_STATUSES:
        return base
    kept = [f.value for f in FLAGS_OF[b] if f in present]
    return SEPARATOR.join((base, *kept)) if kept else base


def state_key(
    status: Status,
    ctx: LeadContext,
    model: StateModel = StateModel.BUCKET,
    params: BucketParams = DEFAULT_BUCKETS,
) -> str:
    """The RL state of a lead under `model`."""
    b = bucket(ctx, params)
    if model == StateModel.BUCKET:
        return rl_state(status, b)
    return compound_key(status, b, flags(ctx, params))


def base_state(key: str) -> str:
    """The bucket key under a compound key (a bucket key is its own base)."""
    return key.split(SEPARATOR, 1)[0]


def _all_keys() -> frozenset[str]:
    keys: set[str] = set()
    for status in Status:
        for b in Bucket:
            allowed = FLAGS_OF[b]
            for n in range(len(allowed) + 1):
                for chosen in combinations(allowed, n):
                    keys.add(compound_key(status, b, frozenset(chosen)))
    return frozenset(keys)


STATES: frozenset[str] = _all_keys()
"""Every key either model makes: what a transition or q-update may name."""
