"""Tabular Q-learning: the Q-table value, the TD update, UCB selection and the priors.

Storage: `QTable` is persistent. It is a two-level map, state -> row, row = action ->
`QEntry`. An update copies one row (at most 18 entries) and the row index (at most
one entry per state, and the state space is bounded: 10 statuses x 11 buckets, 434
compound states), then
shares everything else with the old table. So an update costs the same on a table
after a million updates as on a fresh one, never copies the ~2,000 entries, and an
old table stays valid: a worker can keep serving from a snapshot while the learner
moves on. Selection reads one row, which is exactly what UCB needs.

UCB: score = Q(s,a) + C * sqrt(ln(N_s + 1) / (n_sa + 1)), N_s the visits of
the allowed actions in s. With no visits the bonus is zero everywhere, so the priors
decide day one; every visit then raises the bonus of the actions not taken. Ties go
to the earlier action in the catalog, so the same table and state always give the
same action: no randomness on real families.

Seeded priors (visits 0, so UCB still explores). Values sit between 0.05 and 0.6,
below one trial->enrolled reward, so real outcomes overrule them within a few
visits. `*` rows apply to every bucket; bucket rows refine them.

One row per state family: preferred actions (prior Q); why.

- new:* -- warm_follow_up .30, info_send .15, gentle_nudge .10; a first real
  conversation is worth most.
- new|contacted|interested|trial:unreached -- channel_switch .35 (not for trial),
  gentle_nudge .30, warm_follow_up down to .15; calls are not landing: change
  channel, keep it light.
- new:financial_concern -- info_send .30; let them read the options before a call.
- contacted|interested:* -- warm_follow_up .20, gentle_nudge .10, wait .05; keep warm.
- contacted|interested|trial (acquisition) by bucket:
  negative -- wait .30, gentle_nudge .10; pushing an upset family loses it.
  scheduling_intent -- scheduling_push .60, warm_follow_up .30; book while fresh.
  positive_engagement -- scheduling_push .45, warm_follow_up .35; use the momentum.
  payment/financial_concern -- scholarship_outreach .50, info_send .20; cost blocks.
  has_objections -- objection_address .45; answer the stated concern.
  family_context -- family_engage .40; the other decision-makers decide.
  considering -- low_commitment_invite .35, info_send .30, social_proof .35
  (interested) / .40 (trial); lower the next step.
  novel_signal -- warm_follow_up .30; a person should hear the new signal.
  neutral -- warm_follow_up .25, info_send .20 (contacted|interested); rapport.
- trial:* -- scheduling_push .30, warm_follow_up .25, social_proof .20; turn the
  trial into an enrolment.
- enrolled:* -- reschedule_offer .55, first_session_reminder .50, welcome_onboard
  .45; the first session is the biggest drop-off, a missed one is rebooked first
  (reschedule_offer is only offered after a miss).
- enrolled:unreached -- gentle_nudge .35; enrolled:negative -- wait .30.
- active:* -- wait .30, retention_check_in .25, social_proof .20; happy families
  need little. active:negative|payment_concern -- retention_check_in .50,
  active:financial_concern -- .45; a check-in catches trouble early.
  active:positive_engagement -- social_proof .35; share the enthusiasm.
- at_risk:* -- reschedule_offer .50, barrier_investigation .45, retention_check_in
  .40, low_commitment_invite .25; rebook, then find the barrier.
  at_risk:negative -- barrier_investigation .55; understand before offering.
  at_risk:payment|financial_concern -- scholarship_outreach .55, retention_check_in
  .50; money is the barrier. at_risk:family_context -- family_engage .40.
  at_risk:unreached -- low_commitment_invite .35; an easy SMS over another call.
- inactive:* -- win_back_offer .50, low_commitment_invite .35,
  barrier_investigation .30, retention_check_in .20; give a reason to return.
  inactive:negative -- barrier_investigation .35, wait .30; listen first.
  inactive:unreached -- low_commitment_invite .40; cheap and asynchronous.

57 rules expand to 330 entries over 88 states.

Closed statuses (declined, opted_out) have no priors: the hard override answers them.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

from stream_app.domain.actions import CATALOG_INDEX, Action
from stream_app.domain.buckets import Bucket
from stream_app.domain.lifecycle import Status
from stream_app.domain.state_model import SEPARATOR, base_state


class QEntry(NamedTuple):
    """Q-value and visit count of one (state, action).

    The small values of this module are NamedTuples rather than frozen dataclasses:
    equally immutable, and several times cheaper to build, which matters on the
    decision path (one Scored per allowed action per decision).
    """

    q: float = 0.0
    visits: int = 0


_ZERO = QEntry()
_EMPTY_ROW: Mapping[Action, QEntry] = MappingProxyType({})


class QTable(Mapping[tuple[str, Action], QEntry]):
    """An immutable map (state, action) -> QEntry with cheap persistent updates.

    `explores` is the running guard's verdict as the learner last published it
    (`domain/guard.py`): False while the learning arm is significantly below the
    priors, and decisions from this table are then greedy. It travels with the
    table because the table is what every worker's decisions are made from.
    """

    __slots__ = ("_explores", "_rows", "_size")

    def __init__(self, rows: Mapping[str, Mapping[Action, QEntry]] | None = None) -> None:
        self._rows: dict[str, Mapping[Action, QEntry]] = {
            s: MappingProxyType(dict(r)) for s, r in (rows or {}).items() if r
        }
        self._size = sum(len(r) for r in self._rows.values())
        self._explores = True

    @property
    def explores(self) -> bool:
        return self._explores

    def exploring(self, explores: bool) -> QTable:
        """This table with the guard's verdict set; the entries are shared."""
        if explores == self._explores:
            return self
        new = QTable.__new__(QTable)
        new._rows, new._size, new._explores = self._rows, self._size, explores
        return new

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[tuple[str, Action], QEntry]]) -> QTable:
        rows: dict[str, dict[Action, QEntry]] = {}
        for (state, action), entry in entries:
            rows.setdefault(state, {})[Action(action)] = entry
        return cls(rows)

    def __getitem__(self, key: tuple[str, Action]) -> QEntry:
        state, action = key
        return self._rows[state][action]

    def __iter__(self) -> Iterator[tuple[str, Action]]:
        for state, row in self._rows.items():
            for action in row:
                yield state, action

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"QTable({self._size} entries, {len(self._rows)} states)"

    def entry(self, state: str, action: Action) -> QEntry:
        """The entry, or Q=0 with no visits for a pair never seen."""
        return self.row(state).get(action, _ZERO)

    def row(self, state: str) -> Mapping[Action, QEntry]:
        """Every known entry of one state (read-only).

        A compound state (`state_model`) reads its bucket's entries for the actions
        it has none of, with its own visit count (0): it starts from what the bucket
        knows, seeded priors included, and explores as a state never visited.
        """
        own = self._rows.get(state, _EMPTY_ROW)
        if SEPARATOR not in state:
            return own
        parent = self._rows.get(base_state(state))
        if parent is None:
            return own
        merged = {a: QEntry(e.q, 0) for a, e in parent.items()}
        merged.update(own)
        return merged

    def states(self) -> Iterable[str]:
        return self._rows.keys()

    def with_entry(self, state: str, action: Action, entry: QEntry) -> QTable:
        """A new table with one entry replaced; this one is unchanged (path copying)."""
        old_row = self._rows.get(state, _EMPTY_ROW)
        row = dict(old_row)
        row[action] = entry
        new = QTable.__new__(QTable)
        new._rows = {**self._rows, state: MappingProxyType(row)}
        new._size = self._size + (0 if action in old_row else 1)
        new._explores = self._explores
        return new


class TDStep(NamedTuple):
    """What one TD step did, for the `q-updates` topic and the audit trail."""

    q_before: float
    q_after: float
    visits: int
    td_error: float


def max_q(q_table: QTable, state: str | None, actions: Iterable[Action] | None = None) -> float:
    """max_a Q(state, a) over `actions` (default: the whole catalog); 0 if terminal."""
    if state is None:
        return 0.0
    row = q_table.row(state)
    candidates = Action if actions is None else actions
    return max((row.get(a, _ZERO).q for a in candidates), default=0.0)


def step_size(visits: int, pseudo_visits: float, floor: float) -> float:
    """The visit-aware step 1/(n + 1 + n0), never below `floor`.

    With n0 pseudo-visits a seeded prior weighs as much as n0 observed returns, so
    Q becomes the running mean of the prior and the targets: the first outcomes
    move it a little, a hundred of them overrule it. A constant step (`floor` with
    n0 large) forgets the prior at (1 - alpha)^n whatever the evidence says. The
    floor keeps a long-visited entry able to follow a world that changes.
    """
    return max(floor, 1.0 / (visits + 1 + pseudo_visits))


def td_update(
    q_table: QTable,
    state: str,
    action: Action,
    reward: float,
    next_state: str | None,
    next_allowed_actions: Iterable[Action] | None = None,
    alpha: float = 0.1,
    gamma: float = 0.9,
) -> tuple[QTable, TDStep]:
    """One Q-learning step: Q(s,a) += alpha * (r + gamma * max_a' Q(s',a') - Q(s,a)).

    Pass `next_state=None` when the step ended the episode (the lead declined or
    opted out): nothing follows, so the future is worth 0. Unseen pairs count as 0.
    A non-finite reward is rejected: one NaN would poison every state it reaches.
    `alpha` is this update's step (`step_size` gives the learner's).
    """
    if not math.isfinite(reward):
        raise ValueError(f"reward must be finite, got {reward!r}")
    if not (0.0 < alpha <= 1.0 and 0.0 <= gamma < 1.0):
        raise ValueError(f"need 0 < alpha <= 1 and 0 <= gamma < 1, got {alpha}, {gamma}")
    current = q_table.entry(state, action)
    target = reward + gamma * max_q(q_table, next_state, next_allowed_actions)
    td_error = target - current.q
    updated = QEntry(current.q + alpha * td_error, current.visits + 1)
    return (
        q_table.with_entry(state, action, updated),
        TDStep(current.q, updated.q, updated.visits, td_error),
    )


class Scored(NamedTuple):
    """One allowed action as UCB saw it: its Q, visits and score."""

    action: Action
    q: float
    visits: int
    score: float


class Selection(NamedTuple):
    action: Action
    q_value: float
    score: float
    candidates: list[Scored]


def select_action(
    q_table: QTable, state: str, allowed: Iterable[Action], c: float = 1.0
) -> Selection:
    """Pick by UCB among `allowed`; deterministic, ties to the earlier catalog action.

    Candidates come back in the order given (`allowed_actions` gives catalog order),
    each with its Q, visits and score. This runs once per decision, so it reads the
    row directly and builds the candidate tuples without NamedTuple's Python-level
    constructor.
    """
    get = q_table.row(state).get
    actions = list(allowed)
    entries = [get(a, _ZERO) for a in actions]
    if not entries:
        raise ValueError(f"no allowed action for state {state!r}")
    bonus = c * math.sqrt(math.log(sum(map(_visits, entries)) + 1))
    sqrt, new = math.sqrt, tuple.__new__
    candidates: list[Scored] = [
        new(Scored, (a, q, v, q + bonus / sqrt(v + 1)))
        for a, (q, v) in zip(actions, entries, strict=True)
    ]
    best = max(candidates, key=_score)
    ties = [x for x in candidates if x[3] == best[3]]
    if len(ties) > 1:
        best = min(ties, key=_catalog_position)
    return new(Selection, (best[0], best[1], best[3], candidates))


_visits = operator.itemgetter(1)


_score = operator.itemgetter(3)


def _catalog_position(candidate: Scored) -> int:
    return CATALOG_INDEX[candidate[0]]


_ACQUISITION = (Status.CONTACTED, Status.INTERESTED, Status.TRIAL)
_B = Bucket
_A = Action
_ALL = tuple(Bucket)

# (statuses, buckets, action, prior Q); later rules override earlier ones.
_PRIOR_RULES: tuple[tuple[tuple[Status, ...], tuple[Bucket, ...], Action, float], ...] = (
    ((Status.NEW,), _ALL, _A.WARM_FOLLOW_UP, 0.30),
    ((Status.NEW,), _ALL, _A.INFO_SEND, 0.15),
    ((Status.NEW,), _ALL, _A.GENTLE_NUDGE, 0.10),
    ((Status.NEW,), (_B.FINANCIAL_CONCERN,), _A.INFO_SEND, 0.30),
    ((Status.CONTACTED, Status.INTERESTED), _ALL, _A.WARM_FOLLOW_UP, 0.20),
    ((Status.CONTACTED, Status.INTERESTED), _ALL, _A.GENTLE_NUDGE, 0.10),
    ((Status.CONTACTED, Status.INTERESTED), _ALL, _A.WAIT, 0.05),
    ((Status.TRIAL,), _ALL, _A.SCHEDULING_PUSH, 0.30),
    ((Status.TRIAL,), _ALL, _A.WARM_FOLLOW_UP, 0.25),
    ((Status.TRIAL,), _ALL, _A.SOCIAL_PROOF, 0.20),
    ((Status.NEW, *_ACQUISITION), (_B.UNREACHED,), _A.CHANNEL_SWITCH, 0.35),
    ((Status.NEW, *_ACQUISITION), (_B.UNREACHED,), _A.GENTLE_NUDGE, 0.30),
    ((Status.NEW, *_ACQUISITION), (_B.UNREACHED,), _A.WARM_FOLLOW_UP, 0.15),
    (_ACQUISITION, (_B.NEGATIVE,), _A.WAIT, 0.30),
    (_ACQUISITION, (_B.NEGATIVE,), _A.GENTLE_NUDGE, 0.10),
    (_ACQUISITION, (_B.SCHEDULING_INTENT,), _A.SCHEDULING_PUSH, 0.60),
    (_ACQUISITION, (_B.SCHEDULING_INTENT,), _A.WARM_FOLLOW_UP, 0.30),
    (_ACQUISITION, (_B.POSITIVE_ENGAGEMENT,), _A.SCHEDULING_PUSH, 0.45),
    (_ACQUISITION, (_B.POSITIVE_ENGAGEMENT,), _A.WARM_FOLLOW_UP, 0.35),
    (_ACQUISITION, (_B.PAYMENT_CONCERN, _B.FINANCIAL_CONCERN), _A.SCHOLARSHIP_OUTREACH, 0.50),
    (_ACQUISITION, (_B.PAYMENT_CONCERN, _B.FINANCIAL_CONCERN), _A.INFO_SEND, 0.20),
    (_ACQUISITION, (_B.HAS_OBJECTIONS,), _A.OBJECTION_ADDRESS, 0.45),
    (_ACQUISITION, (_B.FAMILY_CONTEXT,), _A.FAMILY_ENGAGE, 0.40),
    (_ACQUISITION, (_B.CONSIDERING,), _A.LOW_COMMITMENT_INVITE, 0.35),
    (_ACQUISITION, (_B.CONSIDERING,), _A.INFO_SEND, 0.30),
    ((Status.INTERESTED,), (_B.CONSIDERING,), _A.SOCIAL_PROOF, 0.35),
    ((Status.TRIAL,), (_B.CONSIDERING,), _A.SOCIAL_PROOF, 0.40),
    (_ACQUISITION, (_B.NOVEL_SIGNAL,), _A.WARM_FOLLOW_UP, 0.30),
    ((Status.CONTACTED, Status.INTERESTED), (_B.NEUTRAL,), _A.WARM_FOLLOW_UP, 0.25),
    ((Status.CONTACTED, Status.INTERESTED), (_B.NEUTRAL,), _A.INFO_SEND, 0.20),
    ((Status.ENROLLED,), _ALL, _A.RESCHEDULE_OFFER, 0.55),
    ((Status.ENROLLED,), _ALL, _A.FIRST_SESSION_REMINDER, 0.50),
    ((Status.ENROLLED,), _ALL, _A.WELCOME_ONBOARD, 0.45),
    ((Status.ENROLLED,), (_B.UNREACHED,), _A.GENTLE_NUDGE, 0.35),
    ((Status.ENROLLED,), (_B.NEGATIVE,), _A.WAIT, 0.30),
    ((Status.ACTIVE,), _ALL, _A.WAIT, 0.30),
    ((Status.ACTIVE,), _ALL, _A.RETENTION_CHECK_IN, 0.25),
    ((Status.ACTIVE,), _ALL, _A.SOCIAL_PROOF, 0.20),
    ((Status.ACTIVE,), (_B.NEGATIVE, _B.PAYMENT_CONCERN), _A.RETENTION_CHECK_IN, 0.50),
    ((Status.ACTIVE,), (_B.FINANCIAL_CONCERN,), _A.RETENTION_CHECK_IN, 0.45),
    ((Status.ACTIVE,), (_B.POSITIVE_ENGAGEMENT,), _A.SOCIAL_PROOF, 0.35),
    ((Status.AT_RISK,), _ALL, _A.RESCHEDULE_OFFER, 0.50),
    ((Status.AT_RISK,), _ALL, _A.BARRIER_INVESTIGATION, 0.45),
    ((Status.AT_RISK,), _ALL, _A.RETENTION_CHECK_IN, 0.40),
    ((Status.AT_RISK,), _ALL, _A.LOW_COMMITMENT_INVITE, 0.25),
    ((Status.AT_RISK,), (_B.NEGATIVE,), _A.BARRIER_INVESTIGATION, 0.55),
    ((Status.AT_RISK,), (_B.PAYMENT_CONCERN, _B.FINANCIAL_CONCERN), _A.SCHOLARSHIP_OUTREACH, 0.55),
    ((Status.AT_RISK,), (_B.PAYMENT_CONCERN, _B.FINANCIAL_CONCERN), _A.RETENTION_CHECK_IN, 0.50),
    ((Status.AT_RISK,), (_B.FAMILY_CONTEXT,), _A.FAMILY_ENGAGE, 0.40),
    ((Status.AT_RISK,), (_B.UNREACHED,), _A.LOW_COMMITMENT_INVITE, 0.35),
    ((Status.INACTIVE,), _ALL, _A.WIN_BACK_OFFER, 0.50),
    ((Status.INACTIVE,), _ALL, _A.LOW_COMMITMENT_INVITE, 0.35),
    ((Status.INACTIVE,), _ALL, _A.BARRIER_INVESTIGATION, 0.30),
    ((Status.INACTIVE,), _ALL, _A.RETENTION_CHECK_IN, 0.20),
    ((Status.INACTIVE,), (_B.NEGATIVE,), _A.BARRIER_INVESTIGATION, 0.35),
    ((Status.INACTIVE,), (_B.NEGATIVE,), _A.WAIT, 0.30),
    ((Status.INACTIVE,), (_B.UNREACHED,), _A.LOW_COMMITMENT_INVITE, 0.40),
)


def seeded_priors() -> QTable:
    """The day-one Q-table: the rule engine's preferences, all with zero visits."""
    rows: dict[str, dict[Action, QEntry]] = {}
    for statuses, buckets, action, q in _PRIOR_RULES:
        for status in statuses:
            for b in buckets:
                rows.setdefault(f"{status.value}:{b.value}", {})[action] = QEntry(q, 0)
    return QTable(rows)
