"""Every Prometheus metric the worker exposes, defined once.

The metrics live in their own `CollectorRegistry` (`REGISTRY`), not the process-wide
default one, so that:

- `/metrics` serves exactly these series (no accidental extras from libraries);
- tests read values with `REGISTRY.get_sample_value(...)`;
- `tests/unit/test_deploy.py` can check that every name used by the alert rules and
  the Grafana dashboard really exists here.

Names and label sets are a public contract: dashboards and alerts in `deploy/` use
them. Rename one only together with `deploy/` (the deploy test fails otherwise).

Label values must stay bounded: topic names, event types, action names, statuses,
reasons from a fixed vocabulary. Never a lead id, an event id or an error message.

Counters are declared with their public `_total` name; prometheus-client stores the
family without the suffix and exposes `<name>_total` (plus `<name>_created`).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

__all__ = [
    "ACTION_OUTCOMES",
    "ARM_CONVERSIONS",
    "ARM_LEADS",
    "ARM_RETURN",
    "CONSUMER_LAG",
    "CONTENT_TYPE",
    "DEAD_LETTERS",
    "DECAY_TRANSITIONS",
    "DECISIONS",
    "EVENTS_IN",
    "EXTRACTIONS",
    "EXTRACTION_FAILURES",
    "EXTRACTION_SECONDS",
    "EXTRACTOR_CIRCUIT_OPEN",
    "EXTRACTOR_LLM_SECONDS",
    "EXTRACTOR_SHORT_CIRCUITS",
    "EXTRACTOR_TOKENS",
    "EXTRACTOR_UNVERIFIED_QUOTES",
    "GUARDRAIL_BLOCKS",
    "GUARD_EVIDENCE",
    "GUARD_LEARNING_BELOW",
    "GUARD_Z",
    "LEADS_BY_STATUS",
    "LEAD_ERASURES",
    "PROCESSING_SECONDS",
    "Q_UPDATES",
    "Q_VERSION",
    "REGISTRY",
    "REMINDERS",
    "REWARD",
    "SMS_BUFFERED_MESSAGES",
    "SMS_BUFFER_AGE_SECONDS",
    "SMS_FLUSHES",
    "SMS_THREADS_OPEN",
    "SMS_THREAD_SIZE",
    "STALE_EXTRACTION_REQUESTS",
    "TABLE_KEYS",
    "TD_ERROR_ABS",
    "TRANSITIONS",
    "WORKER_READY",
    "render_latest",
]

# The body `generate_latest` writes is the classic text format (all names here are
# legacy-valid), so say 0.0.4: every scraper understands it, while the "latest" type of
# recent prometheus-client releases (version=1.0.0) is unknown to older ones.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)
"""The registry `/metrics` serves; holds every metric below and nothing else."""

# Bucket layouts -------------------------------------------------------------------

# One agent step: pure domain code plus table reads/writes, normally sub-millisecond;
# anything past a second means the event loop is starved or the store is slow.
_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05,
    0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
)  # fmt: skip

# Extraction: the rules provider takes milliseconds, an LLM call seconds, and a call
# that exhausts its retries can take timeout x (retries + 1).
_EXTRACTION_BUCKETS = (
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
)  # fmt: skip

# Rewards per step: the reward table (`domain/lifecycle.py`) ranges from -1.0
# (declined/opted_out) to +1.0, a funnel jump sums the steps it skips (new -> enrolled
# = +2.2), and an operator rejection adds -0.2. -0.02 is the "nothing changed" step.
_REWARD_BUCKETS = (
    -1.2, -1.0, -0.7, -0.5, -0.2, -0.02,
    0.0, 0.1, 0.3, 0.5, 0.7, 1.0, 1.5, 2.5,
)  # fmt: skip

# |TD error|: Q-values live roughly in [-10, 10] with gamma 0.9 and rewards <= ~2.
_TD_ERROR_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

# Messages per flushed SMS thread; the default size trigger is 6.
_THREAD_SIZE_BUCKETS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50)

# Age of an SMS buffer at flush (event time): quiet trigger 5 min, max age 15 min.
_BUFFER_AGE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)

# Input ----------------------------------------------------------------------------

EVENTS_IN = Counter(
    "stream_app_events_in_total",
    "Input events accepted for processing, by source topic and event type.",
    ["topic", "type"],
    registry=REGISTRY,
)
"""Throughput per topic and event type.

SRE: the first panel to look at. A topic dropping to zero while upstream says it
publishes points at consumption (lag, rebalance loop); a type never seen points at an
upstream contract change.
"""

DEAD_LETTERS = Counter(
    "stream_app_dead_letters_total",
    "Records diverted to the dead-letters topic instead of applied, by source topic and "
    "error type (q-updates: skipped by this worker's Q-table view).",
    ["topic", "error_type"],
    registry=REGISTRY,
)
"""Poison records diverted to `dead-letters` instead of stopping the worker.

Every agent counts here (lead, extractor, Q-learner) once the dead letter is sent,
labelled with the record's logical topic. `error_type` is a fixed vocabulary:
`empty`, `too_large`, `invalid_json`, `unknown_topic`, `unknown_type`, `validation`,
`missing_key`, `key_mismatch`, `event_time` (the door), `unreadable_state` (the
stored state the record needs), `step_error` (the pure step raised on it). The
Q-table view on every worker counts each `q-updates` record it skips, at every
start too while the record is on the compacted topic; it sends the dead letter only
for one that arrived while it ran.

SRE: any sustained increase means an upstream producer sends something the contract
rejects (`error_type` says which class). The `dead-letters` topic holds the payloads
(cut to 64 KiB, `raw_size` the original) to hand back to the producer's owner;
`step_error` and `unreadable_state` point at this service instead.
"""

PROCESSING_SECONDS = Histogram(
    "stream_app_processing_seconds",
    "Wall time to process one event in an agent, from decode to the last send.",
    ["agent"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
"""Per-event latency inside each agent (0.1 ms to 5 s buckets).

SRE: p99 creeping up with flat throughput means the state store or the event loop is
slow (RocksDB compaction, a blocking call); with rising throughput it means the worker
is saturated and needs more partitions/workers.
"""

# Decisions and learning -----------------------------------------------------------

DECISIONS = Counter(
    "stream_app_decisions_total",
    "Next-best-actions published, by action and override (`none` when not overridden).",
    ["action", "override"],
    registry=REGISTRY,
)
"""Decisions published to `next-best-actions`.

SRE: events flowing in with no decisions coming out means the lead agent is stuck
(often waiting on extraction). The `override` split shows how often hard rules and
guardrails overrule the policy.
"""

TRANSITIONS = Counter(
    "stream_app_transitions_total",
    "Lead status transitions recorded in lead-transitions, by status before and after.",
    ["from_status", "to_status"],
    registry=REGISTRY,
)
"""Funnel movement (`same -> same` included).

SRE/analyst: the business view of the learner's effect: conversions
(`trial -> enrolled`), churn (`at_risk -> inactive`), and a sudden jump in
`-> opted_out` that may mean a broken outreach template.
"""

REWARD = Histogram(
    "stream_app_reward",
    "Reward of each transition fed to the Q-learner.",
    buckets=_REWARD_BUCKETS,
    registry=REGISTRY,
)
"""Distribution of rewards per decision step.

SRE/analyst: `rate(_sum) / rate(_count)` is the mean reward per step, the policy's
health in one number; a shift towards the negative buckets after a deploy is a
regression even when nothing errors.
"""

Q_UPDATES = Counter(
    "stream_app_q_updates_total",
    "Q-table updates applied by the Q-learner (one per transition, at most once).",
    registry=REGISTRY,
)
"""Learning throughput.

SRE: should follow the rate of `lead-transitions` in online mode and stay at zero in
batch mode. Flat while transitions flow means the single-writer learner is down.
"""

TD_ERROR_ABS = Histogram(
    "stream_app_td_error_abs",
    "Absolute temporal-difference error of each Q-update.",
    buckets=_TD_ERROR_BUCKETS,
    registry=REGISTRY,
)
"""|r + gamma * max Q(s') - Q(s, a)| per update.

SRE/analyst: should trend down as the table converges. A spike means the environment
changed (new campaign, broken reward source, replayed or duplicated transitions).
"""

Q_VERSION = Gauge(
    "stream_app_q_version",
    "Version of the Q-table snapshot this worker decides with.",
    registry=REGISTRY,
)
"""The Q snapshot version serving decisions on this worker.

SRE: all workers should converge on the same value within seconds; one worker behind
means its `q-updates` consumer is stuck and it decides with a stale policy.
"""

# Running guard (learning arm vs the frozen-priors holdout arm) ---------------------

ARM_LEADS = Gauge(
    "stream_app_arm_leads",
    "Leads per arm (learning, holdout) the Q-learner has seen a first step of.",
    ["arm"],
    registry=REGISTRY,
)
ARM_CONVERSIONS = Gauge(
    "stream_app_arm_conversions",
    "Leads per arm that stepped from acquisition into enrolled or active.",
    ["arm"],
    registry=REGISTRY,
)
ARM_RETURN = Gauge(
    "stream_app_arm_return",
    "Sum of the rewards of each arm's transitions.",
    ["arm"],
    registry=REGISTRY,
)
"""Per-arm totals, kept by the Q-learner in its changelogged table (`domain/guard.py`).

Only the worker that owns `lead-transitions` sets them (the others show 0): read
them with `max by (arm)`. Conversion per lead is conversions / leads, mean return
per lead is return / leads.
"""

GUARD_Z = Gauge(
    "stream_app_guard_z",
    "Two-proportion z of learning minus holdout conversion (0 until both arms have enough leads).",
    registry=REGISTRY,
)
GUARD_EVIDENCE = Gauge(
    "stream_app_guard_evidence",
    "Log mixture likelihood ratio of 'learning converts worse' vs 'the arms are equal' "
    "(the guard's sequential test); it trips at log(1/STREAM_APP_GUARD_ALPHA).",
    registry=REGISTRY,
)
GUARD_LEARNING_BELOW = Gauge(
    "stream_app_guard_learning_below",
    "1 while the learning arm converts significantly worse than the holdout arm.",
    registry=REGISTRY,
)
"""The running guard's verdict. Analyst/SRE: 1 means online learning is doing worse
than the rule book on the same population; with STREAM_APP_GUARD_GREEDY the workers
stop exploring until it recovers. Look at recent reward sources and q-updates.

The z is the gap's size in standard errors, for reading; the trip is decided by the
evidence, which is valid however often it is looked at: with equal arms it reaches
log(1/alpha) (3.0 at the default alpha 0.05) in at most a share alpha of runs. A
trip needs roughly z below -2.8 at a few hundred leads per arm, a little lower as
leads accumulate.
"""

# Extraction -----------------------------------------------------------------------

EXTRACTION_SECONDS = Histogram(
    "stream_app_extraction_seconds",
    "Time to run one extraction, by provider (rules, openai), retries included.",
    ["provider"],
    buckets=_EXTRACTION_BUCKETS,
    registry=REGISTRY,
)
"""Extraction latency per provider.

SRE: for `openai` this is the LLM endpoint's latency as this service sees it; when
p99 nears `STREAM_APP_EXTRACTION_DEADLINE_S`, leads get decided without extraction.
"""

EXTRACTION_FAILURES = Counter(
    "stream_app_extraction_failures_total",
    "Extractions that ended as failed (timeout, retries exhausted, invalid output).",
    ["provider"],
    registry=REGISTRY,
)
"""Failed extractions per provider.

SRE: divided by `stream_app_extractions_total` it is the failure ratio the alert
watches; a jump usually means the LLM endpoint is down, rate-limited or the key
expired.
"""

EXTRACTIONS = Counter(
    "stream_app_extractions_total",
    "Extractions finished, failed ones included, by provider and status (ok, failed, ...).",
    ["provider", "status"],
    registry=REGISTRY,
)
"""All finished extractions per provider and outcome.

Every finished extraction counts here, a failed one too (`status="failed"`, counted
in `stream_app_extraction_failures_total` as well), so failures / extractions is the
failure ratio the alert watches. SRE: also shows the split between real extractions
and skipped ones (no-answer calls, empty threads).
"""

EXTRACTOR_CIRCUIT_OPEN = Gauge(
    "stream_app_extractor_circuit_open",
    "1 while the openai extractor's circuit breaker is open or half-open, else 0.",
    registry=REGISTRY,
)
"""The LLM endpoint failed `STREAM_APP_OPENAI_CIRCUIT_FAILURES` extractions in a row.

SRE: while 1, extractions fail at once without a call (leads decide without them)
and one trial call per `STREAM_APP_OPENAI_CIRCUIT_COOLDOWN_S` probes the endpoint;
it goes back to 0 on the first success. Stuck at 1: the endpoint or the key is bad.
"""

EXTRACTOR_SHORT_CIRCUITS = Counter(
    "stream_app_extractor_short_circuits_total",
    "Extractions failed at once by the open circuit breaker, without a network call.",
    registry=REGISTRY,
)
"""Calls the breaker saved; they are in `stream_app_extraction_failures_total` too."""

EXTRACTOR_TOKENS = Counter(
    "stream_app_extractor_tokens_total",
    "Tokens the LLM endpoint reported per call, by kind (prompt, completion).",
    ["kind"],
    registry=REGISTRY,
)
"""What extraction costs: the `usage` of every answered call, retries included.

SRE/finance: prompt tokens per extraction are mostly the fixed schema and rules;
a rise in completion tokens per call means replies are growing towards max_tokens.
"""

EXTRACTOR_LLM_SECONDS = Histogram(
    "stream_app_extractor_llm_seconds",
    "Wall time of one LLM call (one attempt), by outcome (ok, invalid, error, timeout).",
    ["outcome"],
    buckets=_EXTRACTION_BUCKETS,
    registry=REGISTRY,
)
"""Per-call latency, apart from `stream_app_extraction_seconds` (which adds retries,
backoff and waiting for a slot): SRE compares the two to see where time goes."""

EXTRACTOR_UNVERIFIED_QUOTES = Counter(
    "stream_app_extractor_unverified_quotes_total",
    "Quotes an LLM gave as evidence that are not in the family's lines (dropped).",
    registry=REGISTRY,
)
"""The hallucination metric: each dropped quote downgraded the signal it supported.

Analyst/SRE: per extraction it should be near 0; a rise after a model or prompt
change means the model paraphrases or invents, and its signals are being weakened.
"""

STALE_EXTRACTION_REQUESTS = Counter(
    "stream_app_stale_extraction_requests_total",
    "Extraction requests dropped unread: produced longer ago than the extraction deadline.",
    registry=REGISTRY,
)
"""Requests whose lead has decided without them already (`STREAM_APP_EXTRACTION_DEADLINE_S`).

SRE: non-zero after an outage or a long rebalance is the backlog being skipped instead
of sent to the LLM; steadily non-zero means the extractor cannot keep up (raise
`STREAM_APP_EXTRACTOR_CONCURRENCY`, add workers) or the workers' clocks disagree.
"""

# State ----------------------------------------------------------------------------

TABLE_KEYS = Gauge(
    "stream_app_table_keys",
    "Keys held by this worker in each table (active partitions only).",
    ["table"],
    registry=REGISTRY,
)
"""Table sizes on this worker.

SRE: capacity planning for the RocksDB volume and recovery time; a table that only
grows (SMS buffers) means flushes are not happening.
"""

CONSUMER_LAG = Gauge(
    "stream_app_consumer_lag",
    "Messages between the committed/consumed offset and the end of each assigned partition.",
    ["topic", "partition"],
    registry=REGISTRY,
)
"""Consumer lag per assigned partition, as this worker sees it.

SRE: sustained lag means the worker cannot keep up (scale out, up to the partition
count) or is stuck on one partition (look at `partition` for a single hot one).
"""

LEADS_BY_STATUS = Gauge(
    "stream_app_leads_by_status",
    "Leads owned by this worker in each lifecycle status.",
    ["status"],
    registry=REGISTRY,
)
"""The funnel as a snapshot; sum across workers for the whole population.

SRE/analyst: a status that only grows (`at_risk`) or a sudden drop of a status after
a restart (state lost during recovery) are worth a look.
"""

LEAD_ERASURES = Counter(
    "stream_app_lead_erasures_total",
    "Leads erased by a lead.erased event: state deleted, a tombstone on the changelog.",
    registry=REGISTRY,
)
"""Erasures applied (a redelivered erasure, or one for a lead without state, is not
counted: there was nothing left to erase).

SRE/DPO: should follow the erasure requests upstream sends; zero while requests are
sent means they do not reach the `leads` topic (see dead letters for rejected ones).
No label: neither the lead nor the free-text reason may become a label value.
"""

DECAY_TRANSITIONS = Counter(
    "stream_app_decay_transitions_total",
    "Status changes fired by time rules without a new event (at_risk -> inactive).",
    registry=REGISTRY,
)
"""Time-rule transitions.

SRE: zero for days while there are at_risk leads means the sweeper timer is not
running on some worker.
"""

REMINDERS = Counter(
    "stream_app_reminders_total",
    "Follow-up reminders that came due and were published to the reminders topic.",
    registry=REGISTRY,
)
"""Reminders published.

SRE: a drop to zero with decisions still flowing means the reminder sweep stopped.
"""

WORKER_READY = Gauge(
    "stream_app_worker_ready",
    "1 when this worker has recovered its tables and processes events, else 0.",
    registry=REGISTRY,
)
"""Readiness as a metric (mirrors `/readyz`).

SRE: 0 for minutes means the worker is stuck in recovery or a rebalance loop; alerts
fire on it because a not-ready worker still answers `/healthz`.
"""

# SMS threads ----------------------------------------------------------------------

SMS_BUFFERED_MESSAGES = Gauge(
    "stream_app_sms_buffered_messages",
    "SMS messages stored in thread buffers and not yet flushed to extraction.",
    registry=REGISTRY,
)
"""Messages waiting in SMS buffers on this worker.

SRE: should hover near zero; steady growth means the flush triggers or the
wall-clock sweep are not firing.
"""

SMS_THREADS_OPEN = Gauge(
    "stream_app_sms_threads_open",
    "SMS threads with at least one unflushed message.",
    registry=REGISTRY,
)
"""Open SMS threads on this worker; read together with buffered messages."""

SMS_FLUSHES = Counter(
    "stream_app_sms_flushes_total",
    "SMS thread flushes, by trigger (quiet, max_age, size, keyword, recovery, ...).",
    ["trigger"],
    registry=REGISTRY,
)
"""Why threads get flushed.

SRE: a shift in the trigger mix (say, all `max_age`, no `quiet`) hints at a
conversation pattern change or a misconfigured window.
"""

SMS_THREAD_SIZE = Histogram(
    "stream_app_sms_thread_size",
    "Messages per flushed SMS thread.",
    buckets=_THREAD_SIZE_BUCKETS,
    registry=REGISTRY,
)
"""Thread sizes at flush; explains extraction cost per thread."""

SMS_BUFFER_AGE_SECONDS = Histogram(
    "stream_app_sms_buffer_age_seconds",
    "Event-time age of the oldest buffered message when its thread flushes.",
    buckets=_BUFFER_AGE_BUCKETS,
    registry=REGISTRY,
)
"""How long SMS waited before extraction.

SRE: values beyond the max-age window (15 min by default) mean flushes ran late
(worker down, sweep stalled) and decisions on those leads were delayed.
"""

# Guardrails and feedback ----------------------------------------------------------

GUARDRAIL_BLOCKS = Counter(
    "stream_app_guardrail_blocks_total",
    "Actions replaced by `wait` by a guardrail, by reason (quiet_hours, cooldown, ...).",
    ["reason"],
    registry=REGISTRY,
)
"""Guardrail interventions.

SRE: a sudden rise in `rate_limit` means the global voice budget is too small for
the current volume; in `opted_out_channel` it may mean a consent sync problem.
"""

ACTION_OUTCOMES = Counter(
    "stream_app_action_outcomes_total",
    "Operator/CRM feedback on decisions, by action and outcome.",
    ["action", "outcome"],
    registry=REGISTRY,
)
"""What happened to the published decisions (delivered, accepted, rejected, ...).

SRE/analyst: many `rejected` for one action means operators disagree with the
policy; many `expired` means the CRM is not consuming `next-best-actions`.
"""


def render_latest() -> tuple[bytes, str]:
    """The `/metrics` response: the text exposition of `REGISTRY` and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE
