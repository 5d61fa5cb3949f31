"""Per-event cost and memory of the lead agent as its stored leads grow: 10k, 100k, 1M.

A benchmark, not the worker: it runs the real `LeadAgent` (stream_app/worker/
agents/lead.py) with stand-ins for what Faust gives it, so that what grows with
the number of leads shows and the broker's cost does not:

- the `leads` table is Faust's RocksDB store as `faust/stores/rocksdb.py` lays it
  out (one database per partition, opened with Faust's own `RocksDBOptions`, a
  read or write going to the current event's partition, `len()` a key scan of
  every partition, `keys()` a scan of every key, a read without an event a probe of
  each partition's database), or a dict (Faust's
  `memory://` store is one), inside a table stand-in whose changelog topic
  counts records and acks at once (so an agent that sends its writes to the
  changelog itself and one that writes through `table[key] = value` both run);
- every output topic is a collecting topic, sent to directly or through its app's
  producer, whose send returns a done future (the broker's ack), counting records;
- records are the bench mix (`stream_app.sim.bench_mix`: calls, transcripts, SMS,
  attendances, payments; no `lead.created`, the leads exist) for leads drawn
  uniformly at random across the N, through `LeadAgent.add` and `flush` in batches
  of the worker's size, with the stream's current event set as Faust sets it.

The N stored leads are real states: the bench mix run through the worker's own
lead step, each copied under new lead ids. Then, for each size, timed with CPU
time (the whole process, RocksDB's threads included): the old state-only path
(read, decode, encode, write a random lead: no agent), `reindex()` (what every
recovery runs: its CPU, and the longest the loop went without running another
task while it ran; and the CPU of its read of one row, whole and lean, on the
same stored values without the store), the sweeps after it until the rules that
came due are sent (at most `SWEEP_TIMERS_MAX` a call), then the stream of records
with `sweep()` run at its interval share (every `--rate` x
`STREAM_APP_SWEEP_INTERVAL_S` records) and `report()` and a sweep with nothing
due timed alone per call. Memory is the process's resident set (VmRSS, and
VmHWM reset before each phase) after filling the store, after indexing and after
the records; per stored lead is what indexing and the records added, over N.

    .venv/bin/python bench/state_scale.py [--sizes 10000,100000,1000000]
        [--store rocksdb|memory] [--events 20000] [--rate 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import orjson
import zstandard
from faust.streams import _current_event, current_event
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stream_app.config.params import lead_params, learner_params
from stream_app.config.settings import Settings
from stream_app.domain.lead.state import LeadState, encode_state, read_state
from stream_app.domain.qlearning import seeded_priors
from stream_app.kafka.partitioner import partition_for
from stream_app.offline.pipeline import InProcess, Learner
from stream_app.sim.bench_mix import TOPIC_OF, realistic_mix
from stream_app.sim.benchmark import percentile
from stream_app.worker.agents.lead import LeadAgent
from stream_app.worker.tables import read_indexed_lead, read_lead

OFFSET_KEY = b"__faust\0offset__"
"""Where Faust's RocksDB store keeps a partition's changelog offset (never a lead)."""


class FaustRocks:
    """A Faust RocksDB store as `faust/stores/rocksdb.py` lays it out and reads it."""

    def __init__(self, path: Path, partitions: int) -> None:
        from faust.stores.rocksdb import RocksDBOptions

        options = RocksDBOptions()
        self.dbs = [options.open(path / f"leads-{p}.db") for p in range(partitions)]

    def _db(self) -> Any:
        event = current_event()
        assert event is not None, "Faust reads and writes a row in the current event's partition"
        return self.dbs[event.message.partition]

    def get(self, key: str, default: Any = None) -> Any:
        if current_event() is None:
            # No event, no partition (the sweep's re-index): Faust's `_get_bucket_for_key`
            # asks each partition's database whether the key may exist, then reads it.
            raw = key.encode()
            for db in self.dbs:
                if db.key_may_exist(raw) and (value := db.get(raw)) is not None:
                    return value
            return default
        value = self._db().get(key.encode())
        return default if value is None else value

    def __setitem__(self, key: str, value: bytes) -> None:
        self._db()[key.encode()] = value

    def __delitem__(self, key: str) -> None:
        del self._db()[key.encode()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._db().get(key.encode()) is not None

    def __len__(self) -> int:
        # An Rdict iterated itself is no key iterator: keys(), as Faust's store scans.
        return sum(sum(1 for k in db.keys() if k != OFFSET_KEY) for db in self.dbs)  # noqa: SIM118

    def keys(self) -> Iterator[str]:
        for db in self.dbs:
            yield from (k.decode() for k in db.keys() if k != OFFSET_KEY)  # noqa: SIM118

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        self.dbs[tp.partition].put(OFFSET_KEY, str(offset).encode())

    def close(self) -> None:
        for db in self.dbs:
            db.close()


class MemoryStore(dict[str, bytes]):
    """Faust's `memory://` store is a dict."""

    def set_persisted_offset(self, tp: Any, offset: int) -> None:
        """Faust's memory store keeps no offsets."""


class Table:
    """The Faust table the agent is handed: its store (`data`), changelog and serializers.

    Reads go to the store as Faust's `Table` sends them; `table[key] = value` stores
    at once, as Faust's does, for an agent that writes through the table itself.
    """

    key_serializer = "raw"
    value_serializer = "raw"

    def __init__(self, data: Any, changelog: CollectingTopic) -> None:
        self.data, self.changelog_topic = data, changelog

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __len__(self) -> int:
        return len(self.data)

    def keys(self) -> Any:
        return self.data.keys()

    def __setitem__(self, key: str, value: bytes) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


@dataclass
class Event:
    """What Faust's stream yields and `current_event()` returns: the event and its message."""

    message: Message


@contextmanager
def current(event: Event) -> Iterator[None]:
    """`event` as Faust's current event (what its stream sets while an agent handles it)."""
    token = _current_event.set(weakref.ref(cast(Any, event)))
    try:
        yield
    finally:
        _current_event.reset(token)


def in_partition(key: str, partitions: int) -> Event:
    """An event of the lead's partition, to read or write its row outside the stream."""
    return Event(Message("leads", partition_for(key, partitions), 0, b"", b""))


@dataclass(frozen=True)
class Sent:
    """What aiokafka's send future resolves to: where the record landed."""

    topic_partition: Any
    offset: int


@dataclass
class Producer:
    """The app's producer: counts records per topic, acks at once."""

    counts: Counter[str]

    async def send(
        self, topic: str, key: Any, value: Any, partition: int | None, *_: Any
    ) -> asyncio.Future[Sent]:
        self.counts[topic] += 1
        acked: asyncio.Future[Sent] = asyncio.get_running_loop().create_future()
        where = SimpleNamespace(partition=partition or 0)
        acked.set_result(Sent(where, self.counts[topic]))
        return acked


@dataclass
class App:
    producer: Producer

    async def maybe_start_producer(self) -> Producer:
        return self.producer


@dataclass
class CollectingTopic:
    """A topic the agent sends to, through `send` or straight to the app's producer."""

    app: App
    name: str

    def get_topic_name(self) -> str:
        return self.name

    async def send(
        self, key: Any, value: Any, partition: int | None = None, **_: Any
    ) -> asyncio.Future[Sent]:
        return await self.app.producer.send(self.name, key, value, partition)


@dataclass
class CollectingTopics:
    counts: Counter[str] = field(default_factory=Counter)

    def __getattr__(self, name: str) -> CollectingTopic:
        if name.startswith("__"):
            raise AttributeError(name)
        return CollectingTopic(App(Producer(self.counts)), name)


@dataclass
class QView:
    table: Any = field(default_factory=seeded_priors)
    q_version: int = 0


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
    )


def templates_of(leads: int, seed: int, start: datetime) -> list[LeadState]:
    """States the worker's lead step leaves after the bench mix."""
    settings = Settings(_env_file=None)
    pipeline = InProcess(lead_params(settings), Learner(learner_params(settings)))
    for event in realistic_mix("scale", leads, seed, start):
        for _ in pipeline.feed(event, partition_for(event.lead_id, 8), event.occurred_at):
            pass
    return list(pipeline.states.values())


def lead_key(i: int) -> str:
    return f"L{i:07d}"


def fill(
    store: Any, templates: list[LeadState], size: int, partitions: int, compressed: bool
) -> None:
    """`size` leads, each a template's JSON with the template's id replaced by its own,
    then framed as the agent writes it. (The JSON is edited, not the frame: the id in a
    zstd frame is not its bytes.)"""
    bodies = [(t.lead_id, encode_state(t, compressed=False)) for t in templates]
    compressor = zstandard.ZstdCompressor(level=1)
    with progress() as bar:
        task = bar.add_task(f"fill {size:,}", total=size)
        for i in range(size):
            old, body = bodies[i % len(bodies)]
            lead_id = lead_key(i)
            value = body.replace(f'"{old}"'.encode(), f'"{lead_id}"'.encode())
            if compressed:
                value = compressor.compress(value)
            with current(in_partition(lead_id, partitions)):
                store[lead_id] = value
            if i % 4096 == 4095:
                bar.advance(task, 4096)


def follow_ups(seed: int, start: datetime) -> list[dict[str, Any]]:
    """Bodies of the bench mix's records after `lead.created`, to retarget at stored leads."""
    events = realistic_mix("next", 500, seed, start)
    return [orjson.loads(e.model_dump_json()) for e in events if e.type != "lead.created"]


def records(
    bodies: list[dict[str, Any]], size: int, count: int, partitions: int, rng: random.Random
) -> list[tuple[Event, str]]:
    """`count` records for leads drawn at random, a second apart, ending a minute ago."""
    base = datetime.now(UTC) - timedelta(seconds=count + 60)
    made = []
    for j in range(count):
        lead_id = lead_key(rng.randrange(size))
        body = dict(bodies[j % len(bodies)])
        event_id = f"{lead_id}-scale-{j}"
        body.update(lead_id=lead_id, event_id=event_id, occurred_at=base + timedelta(seconds=j))
        for name in ("interaction_id", "message_id", "session_id", "payment_id"):
            if name in body:
                body[name] = f"{name[0]}-{event_id}"
        if "session_at" in body:
            body["session_at"] = body["occurred_at"]
        topic = TOPIC_OF[body["type"]]
        message = Message(
            topic, partition_for(lead_id, partitions), j, lead_id.encode(), orjson.dumps(body)
        )
        made.append((Event(message), topic))
    return made


def rss_mb(field_name: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    raise LookupError(field_name)


def reset_peak() -> None:
    """VmHWM back to the current RSS (Linux: `clear_refs` 5), so a phase's peak is its own."""
    Path("/proc/self/clear_refs").write_text("5")


@dataclass
class Timed:
    cpu_s: float
    wall_s: float


def timed(run: Callable[[], Any]) -> Timed:
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    return Timed(time.process_time() - cpu, time.perf_counter() - wall)


async def timed_async(run: Callable[[], Any]) -> Timed:
    cpu, wall = time.process_time(), time.perf_counter()
    await run()
    return Timed(time.process_time() - cpu, time.perf_counter() - wall)


@dataclass
class Blocks:
    """The longest the loop went without running another task, and how often it did."""

    longest_wall_s: float = 0.0
    longest_cpu_s: float = 0.0
    turns: int = 0
    longest_at: int = 0
    """The turn that ended the longest block (0: before the first yield)."""
    longest_gc_s: float = 0.0
    """The longest garbage collection meanwhile: it holds the loop too, wherever it lands."""
    collecting: float = 0.0


async def watched(run: Callable[[], Any]) -> tuple[Timed, Blocks]:
    """`run` timed, beside a task that notes each gap between its own turns of the loop:
    what the lead agent, the web server and Faust's tasks would have waited at most."""
    blocks, done = Blocks(), asyncio.Event()

    async def watch(wall: float, cpu: float) -> None:
        while not done.is_set():
            await asyncio.sleep(0)
            now_wall, now_cpu = time.perf_counter(), time.process_time()
            if now_wall - wall > blocks.longest_wall_s:
                blocks.longest_wall_s, blocks.longest_at = now_wall - wall, blocks.turns
            blocks.longest_cpu_s = max(blocks.longest_cpu_s, now_cpu - cpu)
            blocks.turns += 1
            wall, cpu = now_wall, now_cpu

    # From now, not from the watcher's first turn: that comes after `run`'s first slice.
    def collected(phase: str, _: dict[str, Any]) -> None:
        if phase == "start":
            blocks.collecting = time.perf_counter()
        else:
            blocks.longest_gc_s = max(blocks.longest_gc_s, time.perf_counter() - blocks.collecting)

    gc.callbacks.append(collected)
    watcher = asyncio.create_task(watch(time.perf_counter(), time.process_time()))
    try:
        return await timed_async(run), blocks
    finally:
        done.set()
        await watcher
        gc.callbacks.remove(collected)


def state_only(store: Any, size: int, partitions: int, events: int, rng: random.Random) -> float:
    """The old number: CPU us per event of read + decode + encode + write, no agent."""
    keys = [lead_key(rng.randrange(size)) for _ in range(events)]
    began = time.process_time()
    for key in keys:
        with current(in_partition(key, partitions)):
            state = read_state(store.get(key))
            store[key] = encode_state(state.model_copy(update={"updated_at": state.updated_at}))
    return (time.process_time() - began) / events * 1e6


def read_costs(raws: list[bytes], rounds: int) -> tuple[float, float]:
    """CPU us per row of the re-index's read of a stored value, whole (`read_lead`, what
    it read before) and lean (`read_indexed_lead`), on the same values without the
    store: the least disturbed of interleaved rounds."""
    whole: list[float] = []
    lean: list[float] = []
    for _ in range(rounds):
        for read, into in ((read_lead, whole), (read_indexed_lead, lean)):
            began = time.process_time()
            for raw in raws:
                read(raw)
            into.append((time.process_time() - began) / len(raws) * 1e6)
    return min(whole), min(lean)


async def run_size(
    args: argparse.Namespace, templates: list[LeadState], size: int
) -> dict[str, Any]:
    settings = Settings(_env_file=None, partitions=args.partitions, lead_cache_size=args.cache)
    rng = random.Random(args.seed + size)
    workdir = Path(tempfile.mkdtemp(prefix="state-scale-", dir=args.dir))
    store: Any = FaustRocks(workdir, args.partitions) if args.store == "rocksdb" else MemoryStore()
    out: dict[str, Any] = {"leads": size, "store": args.store}
    try:
        gc.collect()
        rss_base = rss_mb()
        filled = timed(
            lambda: fill(store, templates, size, args.partitions, settings.state_encoding == "zstd")
        )
        gc.collect()
        out["rss_filled_mb"] = rss_filled = rss_mb()
        out["fill_s"] = filled.wall_s
        sample = [lead_key(rng.randrange(size)) for _ in range(min(size, 10_000))]
        raws = []
        for key in sample:
            with current(in_partition(key, args.partitions)):
                raws.append(store.get(key))
        sizes = [len(raw) for raw in raws]
        out["state_p50_b"], out["state_p99_b"] = percentile(sizes, 50), percentile(sizes, 99)
        out["read_whole_us"], out["read_lean_us"] = read_costs(raws, args.rounds)
        rounds = [
            state_only(store, size, args.partitions, args.state_events, rng)
            for _ in range(args.rounds)
        ]
        out["state_only_us"] = statistics.median(rounds)

        topics = CollectingTopics()
        leads = Table(store, getattr(topics, "leads-changelog"))
        budgets = Table(MemoryStore(), getattr(topics, "budgets-changelog"))
        agent = LeadAgent(
            settings, cast(Any, topics), leads, budgets, cast(Any, QView()), lead_params(settings)
        )
        gc.collect()
        rss_before_index = rss_mb()
        reset_peak()
        reindexed, blocks = await watched(lambda: agent.reindex(lambda: 1))
        out["reindex_peak_mb"] = rss_mb("VmHWM")
        gc.collect()
        out["rss_indexed_mb"] = rss_indexed = rss_mb()
        out["reindex_cpu_s"] = reindexed.cpu_s
        out["reindex_us_per_lead"] = reindexed.cpu_s / size * 1e6
        out["reindex_longest_block_ms"] = blocks.longest_wall_s * 1e3
        out["reindex_longest_block_cpu_ms"] = blocks.longest_cpu_s * 1e3
        out["reindex_yields"] = blocks.turns
        out["reindex_longest_at"] = blocks.longest_at
        out["reindex_longest_gc_ms"] = blocks.longest_gc_s * 1e3
        out["index_rss_b_per_lead"] = (rss_indexed - rss_before_index) * 2**20 / size
        assert len(agent.facts) == size, f"{len(agent.facts)} of {size} leads indexed"
        if size <= args.trace_max:
            # Again under tracemalloc: what the rebuilt index and facts hold (the old
            # ones were allocated before tracing began), and the transient peak.
            tracemalloc.start()
            await agent.reindex(lambda: 1)
            held, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out["index_b_per_lead"], out["reindex_peak_b_per_lead"] = held / size, peak / size
        out["indexed_due"] = len(agent.index)

        # The sweeps after the re-index until one sends nothing: the backlog of due rules,
        # at most SWEEP_TIMERS_MAX timers per call.
        first_sweeps: list[Timed] = []
        while True:
            sent = topics.counts["lead_timers"]
            first_sweeps.append(await timed_async(lambda: agent.sweep(lambda: 1)))
            if topics.counts["lead_timers"] == sent:
                break
        out["first_sweep_cpu_s"] = first_sweeps[0].cpu_s
        out["first_sweeps"] = len(first_sweeps) - 1
        out["first_sweeps_cpu_s"] = sum(t.cpu_s for t in first_sweeps)
        out["first_sweep_timers"] = topics.counts["lead_timers"]

        def report_calls() -> None:
            for _ in range(args.calls):
                agent.report()

        out["report_ms"] = timed(report_calls).cpu_s / args.calls * 1e3

        async def idle_sweeps() -> None:
            for _ in range(args.calls):
                await agent.sweep(lambda: 1)

        out["idle_sweep_ms"] = (await timed_async(idle_sweeps)).cpu_s / args.calls * 1e3

        stream = records(
            follow_ups(args.seed + 1, datetime.now(UTC) - timedelta(days=2)),
            size,
            args.warmup + args.events,
            args.partitions,
            rng,
        )
        every = max(1, int(args.rate * settings.sweep_interval_s))
        batch_max = settings.lead_batch_max
        sweep_cpu: list[float] = []
        cpu_records = 0.0
        since_sweep = 0
        reset_peak()
        for phase, chunk in (("warmup", stream[: args.warmup]), ("timed", stream[args.warmup :])):
            if phase == "timed":
                agent.cache.hits = agent.cache.misses = 0
                sweep_cpu.clear()
                timers_before = topics.counts["lead_timers"]
            for start in range(0, len(chunk), batch_max):
                began = time.process_time()
                batch = agent.batch()
                for event, topic in chunk[start : start + batch_max]:
                    with current(event):
                        agent.add(batch, event, event.message, topic)
                await agent.flush(batch)
                if phase == "timed":
                    cpu_records += time.process_time() - began
                since_sweep += len(batch.events)
                if since_sweep >= every:
                    since_sweep = 0
                    sweep_cpu.append((await timed_async(lambda: agent.sweep(lambda: 1))).cpu_s)
        events = args.events
        out["agent_us"] = cpu_records / events * 1e6
        out["sweeps"] = len(sweep_cpu)
        out["sweep_ms"] = statistics.median(sweep_cpu) * 1e3 if sweep_cpu else 0.0
        out["agent_with_sweep_us"] = (cpu_records + sum(sweep_cpu)) / events * 1e6
        out["timers_in_timed"] = topics.counts["lead_timers"] - timers_before
        out["cache_hit"] = agent.cache.hits / max(1, agent.cache.hits + agent.cache.misses)
        out["dead_letters"] = topics.counts["dead_letters"]
        out["decisions"] = topics.counts["next_best_actions"]
        out["records_peak_mb"] = rss_mb("VmHWM")
        gc.collect()
        out["rss_end_mb"] = rss_end = rss_mb()
        out["kb_per_lead"] = (rss_end - rss_base) / size * 1024
        out["agent_kb_per_lead"] = (rss_end - rss_filled) / size * 1024
        on_disk = sum(f.stat().st_size for f in workdir.rglob("*") if f.is_file())
        out["on_disk_mb"] = on_disk / 1e6
        return out
    finally:
        if hasattr(store, "close"):
            store.close()
        shutil.rmtree(workdir, ignore_errors=True)


def say(r: dict[str, Any]) -> None:
    traced = (
        f"index and facts {r['index_b_per_lead']:,.0f} B/lead held, "
        f"{r['reindex_peak_b_per_lead']:,.0f} B/lead at reindex's peak (tracemalloc); "
        if "index_b_per_lead" in r
        else ""
    )
    print(
        f"{r['leads']:>9,} leads ({r['store']}): agent {r['agent_us']:,.0f} us CPU/event, "
        f"{r['agent_with_sweep_us']:,.0f} with {r['sweeps']} sweeps at their share "
        f"({r['sweep_ms']:,.1f} ms each); cache hits {r['cache_hit']:.0%}; "
        f"{r['decisions']:,} decisions, {r['dead_letters']} dead letters\n"
        f"    report() {r['report_ms']:,.2f} ms/call, "
        f"idle sweep {r['idle_sweep_ms']:,.2f} ms/call; "
        f"reindex {r['reindex_cpu_s']:,.1f} s CPU ({r['reindex_us_per_lead']:,.0f} us/lead, "
        f"peak RSS {r['reindex_peak_mb']:,.0f} MB), longest block of the loop "
        f"{r['reindex_longest_block_ms']:,.1f} ms ({r['reindex_longest_block_cpu_ms']:,.1f} ms "
        f"CPU, at turn {r['reindex_longest_at']:,}) over {r['reindex_yields']:,} yields; "
        f"longest garbage collection meanwhile {r['reindex_longest_gc_ms']:,.0f} ms; "
        f"a row's read {r['read_whole_us']:,.0f} us CPU whole, {r['read_lean_us']:,.0f} lean\n"
        f"    after it {r['first_sweep_timers']:,} timers ({r['indexed_due']:,} leads due some "
        f"day) in {r['first_sweeps']:,} sweeps, {r['first_sweeps_cpu_s']:,.2f} s CPU in all, "
        f"the first {r['first_sweep_cpu_s'] * 1e3:,.0f} ms\n"
        f"    state only (read, decode, encode, write) {r['state_only_us']:,.0f} us CPU/event\n"
        f"    RSS filled {r['rss_filled_mb']:,.0f} MB, indexed {r['rss_indexed_mb']:,.0f} MB "
        f"(+{r['index_rss_b_per_lead']:,.0f} B/lead), after records {r['rss_end_mb']:,.0f} MB "
        f"(peak {r['records_peak_mb']:,.0f}); {traced}"
        f"{r['kb_per_lead']:,.2f} KB/lead in all, {r['agent_kb_per_lead']:,.2f} KB/lead "
        f"beside the store\n"
        f"    stored state p50 {r['state_p50_b']:,.0f} B, p99 {r['state_p99_b']:,.0f} B; "
        f"on disk {r['on_disk_mb']:,.0f} MB; filled in {r['fill_s']:,.0f} s",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--store", choices=("rocksdb", "memory"), default="rocksdb")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--templates", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20_000, help="timed records per size")
    parser.add_argument("--warmup", type=int, default=2_000)
    parser.add_argument(
        "--rate", type=float, default=200.0, help="events/s the sweep share assumes"
    )
    parser.add_argument("--calls", type=int, default=20, help="report() and idle sweep calls")
    parser.add_argument("--state-events", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cache", type=int, default=Settings.model_fields["lead_cache_size"].default
    )
    parser.add_argument("--trace-max", type=int, default=100_000, help="tracemalloc up to N")
    parser.add_argument("--dir", default=None, help="where the RocksDB files go")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    start = datetime.now(UTC) - timedelta(days=2)
    templates = templates_of(args.templates, args.seed, start)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(await run_size(args, templates, size))
        say(results[-1])
    if args.json is not None:
        args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    asyncio.run(main())
