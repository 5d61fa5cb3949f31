"""Offline evaluation formulas on hand-checked data, and the snapshot store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from stream_app.config.settings import Settings
from stream_app.domain.actions import Action
from stream_app.domain.learner import LearnerParams
from stream_app.domain.messages import LeadTransition
from stream_app.domain.qlearning import QEntry, QTable, seeded_priors
from stream_app.offline import snapshots
from stream_app.offline.evaluate import LoggedCandidate, LoggedDecision, evaluate
from stream_app.offline.snapshots import (
    Active,
    Snapshot,
    SnapshotStore,
    TrainOptions,
    _whole,
    active_from,
    entries_of,
    train_and_promote,
)
from stream_app.wire.models import QUpdate

S = "interested:neutral"
W, N = Action.WARM_FOLLOW_UP, Action.GENTLE_NUDGE
AT = datetime(2026, 1, 1, tzinfo=UTC)
CANDIDATE = QTable().with_entry(S, W, QEntry(0.5, 10)).with_entry(S, N, QEntry(0.1, 10))


def decision(
    i: int, action: Action, propensity: float | None, override: str | None = None
) -> LoggedDecision:
    return LoggedDecision(
        decision_id=f"d{i}",
        lead_id=f"L{i}",
        action=action,
        rl_state=S,
        candidates=(LoggedCandidate(action=W), LoggedCandidate(action=N)),
        override=override,
        propensity=propensity,
    )


def transition(i: int, reward: float, lead: str | None = None, n: int = 0) -> LeadTransition:
    return LeadTransition(
        transition_id=f"t{i}-{n}",
        lead_id=lead or f"L{i}",
        occurred_at=AT,
        state_before=S,
        action=W.value,
        decision_id=f"d{i}",
        reward=reward,
        state_after=S,
        cause_event_id="e",
    )


def test_agreement_ips_and_dr_by_hand() -> None:
    """The candidate picks warm_follow_up. Logged: d0 warm (p .8, r 1), d1 nudge (p .2, r 0),
    d2 warm (p .8, r 0), d3 overridden, d4 without a closed step."""
    decisions = [
        decision(0, W, 0.8),
        decision(1, N, 0.2),
        decision(2, W, 0.8),
        decision(3, Action.WAIT, 1.0, override="guardrail:cap"),
        decision(4, W, 0.8),
    ]
    transitions = [transition(0, 1.0), transition(1, 0.0), transition(2, 0.0)]
    result = evaluate(CANDIDATE, decisions, transitions)
    assert (result.decisions, result.chosen, result.agreed) == (5, 4, 3)
    assert result.agreement == pytest.approx(0.75)
    o = result.off_policy
    assert o is not None and o.decisions == 3
    assert o.ips == pytest.approx((1 / 0.8 * 1.0 + 0 + 1 / 0.8 * 0.0) / 3)
    rhat_w = 0.5  # mean logged reward of (S, warm); the candidate never picks nudge
    dr = ((rhat_w + (1.0 - rhat_w) / 0.8) + (rhat_w + 0.0) + (rhat_w + (0.0 - rhat_w) / 0.8)) / 3
    assert o.dr == pytest.approx(dr)
    assert o.dm == pytest.approx(rhat_w) and o.logged_mean_reward == pytest.approx(1 / 3)


def test_per_state_value_is_the_discounted_return_walked_back_per_lead() -> None:
    transitions = [transition(0, 0.0, "A", 1), transition(0, 1.0, "A", 2)]
    [value] = evaluate(CANDIDATE, [], transitions, gamma=0.9).states
    assert value.transitions == 2
    assert value.mean_return == pytest.approx((0.9 + 1.0) / 2)
    assert value.candidate_value == 0.5


def test_no_propensity_means_no_off_policy_estimate() -> None:
    result = evaluate(CANDIDATE, [decision(0, W, None)], [transition(0, 1.0)])
    assert result.off_policy is None and result.agreement == 1.0


def test_store_keeps_versions_and_the_checkpoint(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert (store.versions(), store.checkpoint()) == ([], 0)
    table = seeded_priors()
    snap = Snapshot(version=3, created_at=AT, parent_version=2, entries=entries_of(table))
    store.save(snap)
    store.save_checkpoint(17)
    assert store.versions() == [3] and store.checkpoint() == 17
    assert dict(store.load(3).table().items()) == dict(table.items())
    with pytest.raises(LookupError, match="kept: 3"):
        store.load(1)


def test_active_table_is_the_priors_under_the_last_update_per_entry() -> None:
    def update(q: float, version: int) -> QUpdate:
        return QUpdate(
            state=S,
            action=W.value,
            q_before=0,
            q_after=q,
            visits=1,
            td_error=0,
            transition_id="t",
            q_version=version,
        )

    active = active_from([update(0.7, 5), update(0.9, 4)])
    assert active.q_version == 5 and active.table.entry(S, W).q == 0.9
    assert len(active.table) == len(seeded_priors())


def test_a_promoted_table_resets_what_only_the_active_table_has() -> None:
    active = seeded_priors().with_entry("new:neutral", Action.WAIT, QEntry(0.4, 3))
    whole = _whole(seeded_priors().with_entry(S, W, QEntry(0.9, 2)), active)
    assert whole.entry("new:neutral", Action.WAIT) == QEntry(0.0, 0)
    assert whole.entry(S, W) == QEntry(0.9, 2)


def test_compare_arms_sums_the_reward_of_each_arms_decisions() -> None:
    from stream_app.domain.messages import LeadTransition
    from stream_app.offline.evaluate import LoggedDecision, compare_arms

    def decision(did: str, lead: str, arm: str) -> LoggedDecision:
        return LoggedDecision(
            decision_id=did,
            lead_id=lead,
            action="wait",
            rl_state="new:neutral",
            candidates=(),
            arm=arm,
        )

    def transition(tid: str, did: str, reward: float) -> LeadTransition:
        return LeadTransition(
            transition_id=tid,
            lead_id="x",
            occurred_at="2026-01-01T00:00:00Z",
            state_before="new:neutral",
            action="wait",
            decision_id=did,
            reward=reward,
            state_after="new:neutral",
            cause_event_id="e",
        )

    decisions = [
        decision("d1", "a", "learning"),
        decision("d2", "a", "learning"),
        decision("d3", "b", "holdout"),
    ]
    transitions = [
        transition("t1", "d1", 0.5),
        transition("t1", "d1", 0.5),
        transition("t2", "d2", -0.1),
        transition("t3", "d3", 1.0),
    ]
    arms = {a.arm: a for a in compare_arms(decisions, transitions)}
    assert arms["learning"].decisions == 2 and arms["learning"].leads == 1
    assert arms["learning"].mean_reward_per_decision == pytest.approx(0.2)
    assert arms["holdout"].mean_return_per_lead == pytest.approx(1.0)


class _Producer:
    """Stands in for the broker's producer: keeps what a promotion publishes."""

    def __init__(self) -> None:
        self.sent: list[QUpdate] = []

    async def send(self, topic: str, value: bytes, key: bytes) -> asyncio.Future[None]:
        self.sent.append(QUpdate.model_validate_json(value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None:
        return None


@pytest.mark.parametrize("exploit", [True, False])
async def test_a_promotion_for_exploitation_trusts_visited_entries_and_stops_exploring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exploit: bool
) -> None:
    """`--epochs 0 --trust-visits 20 --exploit`, as `simulate --report` promotes its table."""
    lucky, known = QEntry(0.95, 3), QEntry(0.7, 40)
    online = seeded_priors().with_entry(S, Action.STOP, lucky).with_entry(S, W, known)
    producer = _Producer()

    async def active(settings: Settings) -> Active:
        return Active(online, 9)

    async def log(settings: Settings, topics: list[str], start: object) -> list[SimpleNamespace]:
        value = transition(1, 0.5).model_dump_json().encode()
        return [SimpleNamespace(offset=0, value=value)]

    async def start(settings: Settings, linger_ms: int) -> _Producer:
        return producer

    monkeypatch.setattr(snapshots, "read_active", active)
    monkeypatch.setattr(snapshots, "read_to_end", log)
    monkeypatch.setattr(snapshots, "start_producer", start)
    options = TrainOptions(epochs=0, trust_visits=20, exploit=exploit)
    report = await train_and_promote(Settings(), SnapshotStore(tmp_path), options, LearnerParams())
    assert report.promoted is not None and report.promoted.version == 10
    table = report.promoted.table()
    assert table.entry(S, Action.STOP) == QEntry(0.0, 0) and table.entry(S, W) == known
    assert {u.explore for u in producer.sent} == {not exploit}
    assert report.promoted.trained_on is not None and report.promoted.trained_on.exploit is exploit
