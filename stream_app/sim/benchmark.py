"""`stream-app bench`: the pipeline against a bare Faust table, in one run, on one broker.

Phases, all on the same embedded broker and with the same Faust producer settings:

1. **Baseline** (a): `stream_app.worker.baseline`, a bare Faust agent doing
   consume → table update → send, fed a backlog of `baseline_events` records.
2. **Pipeline** (b): real `stream-app worker` processes (1 or 2) fed a backlog of
   the realistic mix (`bench_mix`): every lead's events, all of which decide.
3. **Latency**: fresh leads of the same mix produced at a fixed rate; each
   decision's latency is the time from its trigger's send to its arrival on
   `next-best-actions`, read by a consumer in this process.

Throughput is input events over the time from the first record produced to the
last output read, with the backlog produced faster than either process drains it.
Every producer batches (`STREAM_APP_KAFKA_MAX_BATCH_BYTES`, from the environment
like any setting), the baseline's and the pipeline's alike. CPU seconds and peak RSS come from
`/proc` of the measured processes. The stored lead states' size distribution is read
from the `leads` changelog.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream_app.config.settings import Settings
from stream_app.kafka.embedded import EmbeddedBroker, free_port, start_broker
from stream_app.kafka.ends import end_offsets
from stream_app.kafka.options import fetch_max_wait_ms
from stream_app.sim.bench_mix import Produced, produced, realistic_mix
from stream_app.worker.baseline import SINK, SOURCE

GROUP_ENV = {
    # Tansu holds a JoinGroup for half the session timeout: a short session gets the
    # workers ready in seconds (docs/runtime-notes.md).
    "STREAM_APP_SESSION_TIMEOUT_S": "6",
    "STREAM_APP_HEARTBEAT_INTERVAL_S": "1",
    "STREAM_APP_REBALANCE_TIMEOUT_S": "6",
    "STREAM_APP_ENV": "dev",
    "STREAM_APP_KAFKA_IDEMPOTENCE": "false",
    "STREAM_APP_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class BenchConfig:
    leads: int = 10_000
    latency_leads: int = 1_000
    rate: float = 1_000.0
    baseline_events: int = 20_000
    workers: int = 1
    partitions: int = 8
    store: str = "memory://"
    seed: int = 1
    timeout_s: float = 1_800.0
    workdir: Path | None = None
    profile_s: float = 0.0
    """Seconds of py-spy sampling of the (first) worker during the pipeline phase."""


@dataclass
class Usage:
    cpu_s: float
    peak_rss_mb: float


@dataclass
class Phase:
    events: int
    seconds: float
    events_per_s: float
    cpu_s_per_1k_events: float
    peak_rss_mb: float
    broker_cpu_s_per_1k_events: float = 0.0
    """The embedded broker's own CPU over the same phase: it shares the machine."""


@dataclass
class Latency:
    target_rate: float
    achieved_rate: float
    decisions: int
    missing: int
    p50_ms: float
    p95_ms: float
    p99_ms: float


@dataclass
class StateSizes:
    samples: int
    p50_bytes: float
    p99_bytes: float
    max_bytes: int


@dataclass
class BenchResult:
    config: dict[str, Any]
    machine: dict[str, Any]
    baseline: Phase
    pipeline: Phase
    ratio: float
    latency: Latency
    state_sizes: StateSizes | None
    top_frames: list[str] = field(default_factory=list)

    def as_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 of no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    index = round(q * 10) - 1
    return float(cuts[min(max(index, 0), len(cuts) - 1)])


def usage(pid: int) -> Usage:
    """CPU seconds (user + system) and peak RSS of a live process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    peak_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak_kb = int(line.split()[1])
    return Usage(cpu, peak_kb / 1024)


@dataclass
class Process:
    """A measured child process: `stream-app worker` or the baseline app."""

    module: str
    env: dict[str, str]
    log_path: Path
    web_port: int
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", *self.module.split()],
                env={**os.environ, **self.env, "STREAM_APP_WEB_PORT": str(self.web_port)},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> None:
        assert self.popen is not None
        if self.popen.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.module} exited with {self.popen.returncode}:\n{tail}")

    def get(self, path: str) -> tuple[int, bytes]:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, b""

    async def ready(self, deadline: float) -> None:
        while self.get("/readyz")[0] != 200:
            self.alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.module} not ready")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(30)


async def create_topics(bootstrap: str, names: Sequence[str], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


class Outputs:
    """A consumer of one output topic from its beginning, noting when each key arrives.

    `arrived` maps an id (the decision's trigger event id, or the baseline record's
    value) to the monotonic time it was first read. It fetches with the workers' wait
    (`kafka.options.fetch_max_wait_ms`): at aiokafka's default 500 ms the embedded
    broker held each of its fetches up to 250 ms after a decision arrived, which the
    latency counted as the pipeline's.
    """

    def __init__(self, bootstrap: str, topic: str, id_of: Any, settings: Settings) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=fetch_max_wait_ms(settings),
        )
        self.id_of = id_of
        self.arrived: dict[str, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self.arrived.setdefault(self.id_of(record.value), now)

    async def wait_for(self, ids: set[str], deadline: float, check: Any) -> None:
        while not ids.issubset(self.arrived.keys()):
            check()
            if time.monotonic() > deadline:
                missing = len(ids - self.arrived.keys())
                raise TimeoutError(f"{missing} of {len(ids)} outputs never arrived")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.consumer.stop()


def _trigger(value: bytes) -> str:
    return str(orjson.loads(value)["trigger_event_id"])


def _itself(value: bytes) -> str:
    return value.decode()


async def produce_backlog(bootstrap: str, records: Sequence[Produced], topic_of: Any) -> float:
    """Every record as fast as a batching producer sends them; the start time."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
    await producer.start()
    try:
        started = time.monotonic()
        pending = [await producer.send(topic_of(r.topic), r.value, key=r.key) for r in records]
        await asyncio.gather(*pending)
        return started
    finally:
        await producer.stop()


async def produce_paced(
    bootstrap: str, records: Sequence[Produced], topic_of: Any, rate: float
) -> tuple[dict[str, float], float]:
    """Each record at its slot of a fixed rate; when each was sent, and the rate achieved."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent: dict[str, float] = {}
    try:
        started = time.monotonic()
        pending = []
        for i, record in enumerate(records):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[record.event_id] = time.monotonic()
            pending.append(
                await producer.send(topic_of(record.topic), record.value, key=record.key)
            )
        await asyncio.gather(*pending)
        elapsed = time.monotonic() - started
        return sent, len(records) / elapsed if elapsed > 0 else 0.0
    finally:
        await producer.stop()


def _phase(
    events: int,
    seconds: float,
    before: list[Usage],
    after: list[Usage],
    broker: tuple[Usage, Usage] | None = None,
) -> Phase:
    """`before` and `after` of each measured process; `broker`: the broker's two readings."""
    cpu = sum(a.cpu_s - b.cpu_s for a, b in zip(after, before, strict=True))
    broker_cpu = broker[1].cpu_s - broker[0].cpu_s if broker else 0.0
    return Phase(
        events=events,
        seconds=round(seconds, 3),
        events_per_s=round(events / seconds, 1) if seconds > 0 else 0.0,
        cpu_s_per_1k_events=round(cpu / events * 1000, 4) if events else 0.0,
        peak_rss_mb=round(max(a.peak_rss_mb for a in after), 1),
        broker_cpu_s_per_1k_events=round(broker_cpu / events * 1000, 4) if events else 0.0,
    )


async def _baseline(
    config: BenchConfig,
    broker: EmbeddedBroker,
    env: dict[str, str],
    settings: Settings,
    workdir: Path,
) -> Phase:
    await create_topics(broker.bootstrap, [SOURCE, SINK], config.partitions)
    process = Process(
        "stream_app.worker.baseline",
        {**env, "STREAM_APP_DATA_DIR": str(workdir / "baseline")},
        workdir / "baseline.log",
        free_port(),
    )
    outputs = Outputs(broker.bootstrap, SINK, _itself, settings)
    process.start()
    await outputs.start()
    deadline = time.monotonic() + config.timeout_s
    try:
        warmup = [Produced(SOURCE, b"warm", b"warm-0", "warm-0")]
        await produce_backlog(broker.bootstrap, warmup, str)
        await outputs.wait_for({"warm-0"}, time.monotonic() + 120, process.alive)
        records = [
            Produced(SOURCE, f"k{i % 10_000}".encode(), f"b-{i}".encode(), f"b-{i}")
            for i in range(config.baseline_events)
        ]
        before, broker_before = [usage(process.pid)], usage(broker.process.pid)
        started = await produce_backlog(broker.bootstrap, records, str)
        await outputs.wait_for({r.event_id for r in records}, deadline, process.alive)
        finished = max(outputs.arrived[r.event_id] for r in records)
        after, broker_after = [usage(process.pid)], usage(broker.process.pid)
        return _phase(
            len(records), finished - started, before, after, (broker_before, broker_after)
        )
    finally:
        await outputs.stop()
        process.stop()


async def run_bench(config: BenchConfig, say: Any = print) -> BenchResult:
    """Every phase in one run; `say` is told what happens as it happens."""
    workdir = config.workdir or Path(tempfile.mkdtemp(prefix="stream-app-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    broker = start_broker(log_path=workdir / "broker.log")
    env = {
        **GROUP_ENV,
        "STREAM_APP_BROKER": broker.url,
        "STREAM_APP_PARTITIONS": str(config.partitions),
        "STREAM_APP_STORE": config.store,
    }
    settings = Settings(
        _env_file=None,
        broker=broker.url,
        partitions=config.partitions,
        env="dev",  # the embedded broker, as GROUP_ENV tells the workers
    )
    try:
        say(f"baseline: bare Faust table passthrough, {config.baseline_events} records")
        baseline = await _baseline(config, broker, env, settings, workdir)
        say(f"  {baseline.events_per_s:,.0f} events/s")
        pipeline, latency, sizes, frames = await _pipeline(
            config, broker, env, settings, workdir, say
        )
    finally:
        broker.stop()
    load_after = os.getloadavg()
    return BenchResult(
        config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_before": [round(x, 2) for x in load_before],
            "load_after": [round(x, 2) for x in load_after],
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        baseline=baseline,
        pipeline=pipeline,
        ratio=round(pipeline.events_per_s / baseline.events_per_s, 3)
        if baseline.events_per_s
        else 0.0,
        latency=latency,
        state_sizes=sizes,
        top_frames=frames,
    )


async def _pipeline(
    config: BenchConfig,
    broker: EmbeddedBroker,
    env: dict[str, str],
    settings: Settings,
    workdir: Path,
    say: Any,
) -> tuple[Phase, Latency, StateSizes | None, list[str]]:
    start = datetime.now(UTC) - timedelta(days=25)
    mix = realistic_mix("bench", config.leads, config.seed, start)
    later = realistic_mix("lat", config.latency_leads, config.seed + 1, start)
    workers = [
        Process(
            "stream_app worker",
            {**env, "STREAM_APP_DATA_DIR": str(workdir / f"worker-{n}")},
            workdir / f"worker-{n}.log",
            free_port(),
        )
        for n in range(config.workers)
    ]
    outputs = Outputs(broker.bootstrap, settings.topic("next-best-actions"), _trigger, settings)
    frames: list[str] = []
    try:
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + config.timeout_s
        for worker in workers:
            await worker.ready(deadline)
        await outputs.start()
        records = produced(mix)
        say(
            f"pipeline: {config.workers} worker(s), {config.partitions} partitions, "
            f"{config.store}, {config.leads} leads, {len(records)} events"
        )
        check = _all_alive(workers)
        before, broker_before = [usage(w.pid) for w in workers], usage(broker.process.pid)
        profiling = _profile(workers[0].pid, config.profile_s, workdir)
        started = await produce_backlog(broker.bootstrap, records, settings.topic)
        ids = {r.event_id for r in records}
        await outputs.wait_for(ids, deadline, check)
        finished = max(outputs.arrived[i] for i in ids)
        after, broker_after = [usage(w.pid) for w in workers], usage(broker.process.pid)
        pipeline = _phase(
            len(records), finished - started, before, after, (broker_before, broker_after)
        )
        say(f"  {pipeline.events_per_s:,.0f} events/s")
        if profiling is not None:
            frames = await _frames(profiling, workdir)
        paced = produced(later)
        say(f"latency: {len(paced)} events at {config.rate:g}/s")
        sent, achieved = await produce_paced(broker.bootstrap, paced, settings.topic, config.rate)
        await outputs.wait_for(set(sent), time.monotonic() + config.timeout_s, check)
        delays = [(outputs.arrived[i] - at) * 1000 for i, at in sent.items()]
        latency = Latency(
            target_rate=config.rate,
            achieved_rate=round(achieved, 1),
            decisions=len(delays),
            missing=len(set(sent) - outputs.arrived.keys()),
            p50_ms=round(percentile(delays, 50), 2),
            p95_ms=round(percentile(delays, 95), 2),
            p99_ms=round(percentile(delays, 99), 2),
        )
        changelog = f"{settings.app_id}-leads-changelog"
        sizes = await _state_sizes(broker.bootstrap, changelog, config.partitions, settings)
        return pipeline, latency, sizes, frames
    finally:
        await outputs.stop()
        for worker in workers:
            worker.stop()


def _all_alive(workers: Sequence[Process]) -> Any:
    def check() -> None:
        for worker in workers:
            worker.alive()

    return check


async def _state_sizes(
    bootstrap: str, changelog: str, count: int, settings: Settings
) -> StateSizes | None:
    """Serialized size of every lead's latest stored state, read from the `leads` changelog.

    The changelog holds exactly the bytes the table stores, read to its end
    (`kafka.ends.end_offsets`, right after the workers' multi-record batches), with
    the workers' fetch wait, as every reader of the bench.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms(settings),
    )
    await consumer.start()
    latest: dict[bytes, int] = {}
    try:
        partitions = [TopicPartition(changelog, p) for p in range(count)]
        consumer.assign(partitions)
        ends = await end_offsets(consumer, partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                for record in records:
                    if record.key is not None:
                        latest[record.key] = len(record.value or b"")
    finally:
        await consumer.stop()
    sizes = [size for size in latest.values() if size]
    if not sizes:
        return None
    return StateSizes(
        samples=len(sizes),
        p50_bytes=percentile(sizes, 50),
        p99_bytes=percentile(sizes, 99),
        max_bytes=max(sizes),
    )


def _profile(pid: int, seconds: float, workdir: Path) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the worker for `seconds`, into collapsed stacks.

    Only the thread holding the GIL is sampled (`--gil`): the worker's CPU. Without
    it a thread waiting in `select` or for the GIL counted too, and the consumer
    thread's waits passed for work (40% of a heavy run's samples were `select`).

    The worker is not paused to be read (`--nonblocking`): paused, its samples
    gathered where it makes a system call. On this project's VM, 25.7% of a heavy
    run's samples fell on the lines that look up the running event loop (asyncio
    calls `getpid` there, ~200 ns a call) and 1.3% unpaused; `--native` put 46.8% in
    `getpid` itself. Unpaused, some stacks are read torn (about a third lack their
    outer frames), so the outer frames' shares read low.
    """
    if seconds <= 0:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "-p", str(pid), "-d", f"{seconds:g}", "-r", "200"]
    command += ["--gil", "--nonblocking"]
    return subprocess.Popen(
        [*command, "-f", "raw", "-o", str(workdir / "profile.raw")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _frames(spy: subprocess.Popen[bytes], workdir: Path) -> list[str]:
    while spy.poll() is None:
        await asyncio.sleep(0.2)
    path = workdir / "profile.raw"
    return top_frames(path.read_text().splitlines()) if path.exists() else []


_LINE_NUMBER = re.compile(r":\d+\)$")


def top_frames(lines: Sequence[str], count: int = 25) -> list[str]:
    """The functions most samples were in (inclusive), from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in lines:
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        samples = int(number)
        total += samples
        for frame in {_LINE_NUMBER.sub(")", f) for f in stack.split(";")}:
            inclusive[frame] = inclusive.get(frame, 0) + samples
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:count]
    return [f"{100 * n / total:5.1f}% {frame}" for frame, n in ranked] if total else []
