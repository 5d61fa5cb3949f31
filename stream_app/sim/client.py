"""The simulated population against a real broker: families and a CRM on the topics.

It does what an upstream system does: produces `lead.created` for each family,
consumes `next-best-actions`, and answers each decision through the input topics
(keyed by lead_id, built from the wire models, so anything it sends is valid by
construction). It answers only the decision made on the last event it sent for a
lead, as a family would only react to the latest outreach. `lead-transitions`
feeds the live summary's mean reward per decision. The run ends when every
family is done (or out of steps) or the deadline passes.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stream_app.config.settings import Settings
from stream_app.domain.messages import InputEvent, LeadTransition, NextBestAction
from stream_app.kafka.options import consumer_options, producer_options
from stream_app.sim.engine import SIM_START, RunConfig
from stream_app.sim.population import Decision, Family
from stream_app.sim.stats import Estimate, unpaired_difference, wilson
from stream_app.wire.models import INPUT_TYPES

_TOPIC_OF = {t: topic for topic, types in INPUT_TYPES.items() for t in types}
CONVERTED = frozenset({"enrolled", "active", "at_risk", "inactive"})
"""Statuses a lead reaches only after enrolling: a decision in one means a conversion."""


@dataclass(frozen=True, slots=True)
class ArmSummary:
    """One arm's leads as the topics tell it."""

    arm: str
    leads: int
    converted: int
    conversion: Estimate
    """Wilson 95% interval over the arm's leads."""
    reward_per_lead: float


@dataclass
class LiveStats:
    """What the live summary shows; also the run's result."""

    leads: int
    finished: set[str] = field(default_factory=set)
    enrolled: set[str] = field(default_factory=set)
    status: dict[str, str] = field(default_factory=dict)
    actions: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    decisions: int = 0
    answered: int = 0
    produced: int = 0
    transitions: int = 0
    reward_sum: float = 0.0
    arm: dict[str, str] = field(default_factory=dict)
    """Lead -> the arm its decisions came from (`arm` on next-best-actions)."""
    converted: set[str] = field(default_factory=set)
    """Leads with a decision in a converted status."""
    reward: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Lead -> the sum of its rewards on lead-transitions."""
    transition_ids: set[str] = field(default_factory=set)
    """Transitions counted, once each: a redelivered one is not counted again."""

    @property
    def mean_reward(self) -> float:
        return self.reward_sum / self.transitions if self.transitions else 0.0

    def arms(self) -> list[ArmSummary]:
        """Per arm: leads, conversions (Wilson CI) and reward per lead, from the topics."""
        by_arm: defaultdict[str, list[str]] = defaultdict(list)
        for lead, group in self.arm.items():
            by_arm[group].append(lead)
        out = []
        for group, leads in sorted(by_arm.items()):
            converted = sum(lead in self.converted for lead in leads)
            out.append(
                ArmSummary(
                    arm=group,
                    leads=len(leads),
                    converted=converted,
                    conversion=wilson(converted, len(leads)),
                    reward_per_lead=sum(self.reward[lead] for lead in leads) / len(leads),
                )
            )
        return out

    def learning_minus_holdout(self) -> Estimate | None:
        """Learning-arm minus holdout-arm conversion with a bootstrap 95% CI (the arms
        are different families, so the interval is that of an A/B test); None unless
        both arms have leads."""
        by_arm: defaultdict[str, list[float]] = defaultdict(list)
        for lead, group in self.arm.items():
            by_arm[group].append(float(lead in self.converted))
        if not (by_arm["learning"] and by_arm["holdout"]):
            return None
        return unpaired_difference([by_arm["learning"]], [by_arm["holdout"]])

    def moved_past_new(self) -> int:
        return sum(1 for s in self.status.values() if s != "new")

    def render(self) -> Table:
        grid = Table.grid(padding=(0, 3))
        grid.add_column()
        grid.add_column()
        by_status = Table("status", "leads", title="leads by status (as decided)")
        for status, count in Counter(self.status.values()).most_common():
            by_status.add_row(status, str(count))
        top = Table("state", "top actions", title="top actions per state")
        busiest = sorted(self.actions.items(), key=lambda kv: -sum(kv[1].values()))[:8]
        for state, counts in busiest:
            top.add_row(state, ", ".join(f"{a} ({n})" for a, n in counts.most_common(2)))
        totals = Table.grid(padding=(0, 1))
        totals.add_row("conversions (enrolled):", f"{len(self.enrolled)}/{self.leads}")
        totals.add_row("decisions consumed:", str(self.decisions))
        totals.add_row("events produced:", str(self.produced))
        totals.add_row("mean reward per decision:", f"{self.mean_reward:+.3f} ({self.transitions})")
        arms = Table("arm", "leads", "converted", "rate [95% CI]", "reward/lead", title="per arm")
        for a in self.arms():
            arms.add_row(
                a.arm,
                str(a.leads),
                str(a.converted),
                str(a.conversion),
                f"{a.reward_per_lead:+.3f}",
            )
        grid.add_row(Group(totals, by_status, arms), top)
        return grid


async def wait_ready(url: str, timeout_s: float) -> None:
    """Poll the worker's /readyz until it answers 200: decisions need a ready worker."""

    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(ready):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not ready within {timeout_s:.0f}s")
        await asyncio.sleep(0.5)


class _Driver:
    """The families and their CRM: answers decisions, counts what it sees."""

    def __init__(self, settings: Settings, families: dict[str, Family], max_steps: int) -> None:
        self.settings = settings
        self.families = families
        self.max_steps = max_steps
        self.awaiting: dict[str, str] = {}
        self.last_events: set[str] = set()
        """Deciding events of finished families whose decision has not come back yet: the
        run waits for them, or a conversion on a family's last step would go uncounted."""
        self.answered: set[str] = set()
        self.stats = LiveStats(len(families))
        self.progress = Progress(
            TextColumn("families done"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self._task = self.progress.add_task("simulate", total=len(families))
        self.producer = AIOKafkaProducer(**producer_options(settings), linger_ms=5)

    def view(self) -> Group:
        return Group(self.progress, self.stats.render())

    async def send(self, events: tuple[InputEvent, ...]) -> None:
        for event in events:
            topic = self.settings.topic(_TOPIC_OF[event.type])
            value = event.model_dump_json(exclude_none=True).encode()
            await self.producer.send(topic, value, key=event.lead_id.encode())
            self.stats.produced += 1

    async def start_families(self) -> None:
        for lead_id, family in self.families.items():
            created = family.created()
            self.awaiting[lead_id] = created.event_id
            await self.send((created,))
        await self.producer.flush()

    def _finish(self, lead_id: str) -> None:
        if lead_id not in self.stats.finished:
            self.stats.finished.add(lead_id)
            self.progress.advance(self._task)

    async def on_decision(self, raw: bytes | None) -> None:
        try:
            nba = NextBestAction.model_validate_json(raw or b"")
        except ValidationError:
            return  # not ours to judge: the worker's own tests own its output
        family = self.families.get(nba.lead_id)
        if family is None or nba.decision_id in self.answered:
            return
        self.answered.add(nba.decision_id)
        self.stats.decisions += 1
        status = nba.rl_state.split(":", 1)[0]
        self.stats.status[nba.lead_id] = status
        self.stats.arm[nba.lead_id] = nba.arm
        if status in CONVERTED:
            self.stats.converted.add(nba.lead_id)
        self.stats.actions[nba.rl_state][nba.action] += 1
        self.last_events.discard(nba.trigger_event_id)
        if nba.trigger_event_id != self.awaiting.get(nba.lead_id):
            return
        reaction = family.react(Decision.of(nba))
        if family.enrolled:
            self.stats.enrolled.add(nba.lead_id)
        await self.send(reaction.events)
        if reaction.deciding_event_id is None or family.steps >= self.max_steps:
            self.awaiting.pop(nba.lead_id, None)
            self._finish(nba.lead_id)
            if reaction.deciding_event_id is not None:
                self.last_events.add(reaction.deciding_event_id)
        else:
            self.awaiting[nba.lead_id] = reaction.deciding_event_id

    def on_transition(self, raw: bytes | None) -> None:
        try:
            transition = LeadTransition.model_validate_json(raw or b"")
        except ValidationError:
            return
        if transition.lead_id in self.families:
            if transition.transition_id in self.stats.transition_ids:
                return
            self.stats.transition_ids.add(transition.transition_id)
            self.stats.transitions += 1
            self.stats.reward_sum += transition.reward
            self.stats.reward[transition.lead_id] += transition.reward


async def simulate(
    settings: Settings,
    leads: int,
    seed: int,
    run_tag: str,
    max_steps: int = 25,
    timeout_s: float = 600.0,
    console: Console | None = None,
) -> LiveStats:
    """Drive `leads` families through the topics until they are done or time runs out.

    `run_tag` goes into every lead id so runs against one broker never collide
    (the worker remembers event ids); the families' behaviour depends only on
    `seed`, so two runs with the same seed make the same families, and they are
    the families `engine.run` makes for `RunConfig(seed, leads, prefix=...)`.
    """
    config = RunConfig(seed=seed, leads=leads, max_steps=max_steps, prefix=f"sim-{run_tag}-")
    families = {
        config.lead_id(i): Family.create(
            seed, i, config.lead_id(i), SIM_START + i * config.arrival_gap
        )
        for i in range(leads)
    }
    driver = _Driver(settings, families, max_steps)
    nba_topic = settings.topic("next-best-actions")
    consumer = AIOKafkaConsumer(
        nba_topic,
        settings.topic("lead-transitions"),
        **consumer_options(settings),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        metadata_max_age_ms=1000,
    )
    await driver.producer.start()
    await consumer.start()
    try:
        await driver.start_families()
        deadline = time.monotonic() + timeout_s
        with Live(driver.view(), console=console, refresh_per_second=2) as live:
            while (
                len(driver.stats.finished) < leads or driver.last_events
            ) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        if tp.topic == nba_topic:
                            await driver.on_decision(record.value)
                        else:
                            driver.on_transition(record.value)
                await driver.producer.flush()
                live.update(driver.view())
    finally:
        await consumer.stop()
        await driver.producer.stop()
    return driver.stats


__all__ = ["CONVERTED", "ArmSummary", "LiveStats", "simulate", "wait_ready"]
