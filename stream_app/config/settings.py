"""The one place that reads the environment.

Every knob is a `STREAM_APP_*` variable (names are public: docker-compose, the
Kubernetes manifests and the README use them). Everything else in the project
receives a `Settings` instance, so tests build one directly instead of patching
the environment.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stream_app.domain.extraction.keywords import Keywords, keywords
from stream_app.domain.state_model import StateModel

MIN_HTTP_TOKEN_CHARS = 16
_TOKEN_CHARS = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # printable ASCII, no space or comma


def _is_wildcard(host: str) -> bool:
    return host.strip().strip("[]") in ("", "0.0.0.0", "::")


class LearningMode(StrEnum):
    ONLINE = "online"
    BATCH = "batch"


class ExtractorName(StrEnum):
    RULES = "rules"
    OPENAI = "openai"


class Settings(BaseSettings):
    """Runtime configuration, read from `STREAM_APP_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="STREAM_APP_", frozen=True, extra="ignore")

    # --- Kafka and Faust -------------------------------------------------------
    env: Literal["dev", "prod"] = Field(
        default="prod",
        description=(
            "`dev` allows replication factor 1 (one broker: the embedded one, compose); "
            "`prod` refuses to start a worker with it."
        ),
    )
    broker: str = Field(
        default="kafka://127.0.0.1:9092",
        description="Bootstrap servers, `kafka://host:port[;host:port]`.",
    )
    app_id: str = Field(default="stream-app", min_length=1, max_length=100)
    topic_prefix: str = Field(
        default="",
        max_length=100,
        description="Prepended to every catalog topic name (isolates tests and tenants).",
    )
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=10)
    min_insync_replicas: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Of created topics; unset: 2 when the replication factor is 3 or more, else 1.",
    )
    store: str = Field(default="memory://", description="`memory://` or `rocksdb://`.")
    data_dir: Path = Field(default=Path(".stream-app"), description="Tables and snapshots.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_idempotence: bool = Field(
        default=True,
        description="Idempotent producers (acks=all always); off for the embedded broker.",
    )
    kafka_max_batch_bytes: int = Field(
        default=16_384,
        ge=1,
        le=16 * 1024 * 1024,
        description=(
            "Producer batch size per partition (aiokafka's default); 1 sends one record "
            "per batch (about 1k records/s per producer on the embedded broker)."
        ),
    )
    kafka_fetch_max_wait_ms: int | None = Field(
        default=None,
        ge=1,
        le=30_000,
        description=(
            "How long the broker may hold a consumer's Fetch while it has no records to "
            "return: the worker's consumer (Faust fixes it at 1.5 s) and the plain readers "
            "(`stream-app tail`). Unset: 500, Kafka's default, in `dev` 100 "
            "(`kafka.options.fetch_max_wait_ms` says why)."
        ),
    )
    kafka_leave_group_on_stop: bool = Field(
        default=True,
        description=(
            "A stopping worker sends LeaveGroup, so its partitions move at once. The "
            "embedded broker needs false when several workers share a group: it keeps a "
            "member that leaves during a rebalance as the group's leader, and the group "
            "never forms again; without the LeaveGroup, missed heartbeats drop the member "
            "after the session timeout."
        ),
    )
    # Group timings. Kafka's usual values by default; the embedded Tansu broker holds
    # a JoinGroup for half the session timeout, so `stream-app dev` lowers them
    # (docs/runtime-notes.md, "Tansu, the embedded broker") to get a worker ready in
    # seconds rather than 30 s.
    session_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    rebalance_timeout_s: float = Field(default=60.0, gt=0)
    request_timeout_s: float = Field(default=90.0, gt=0)
    commit_interval_s: float = Field(default=1.0, gt=0)

    # --- Web -------------------------------------------------------------------
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=0, le=65535)
    advertised_url: str | None = Field(
        default=None,
        description="URL other workers use to reach this one (lead views are routed by owner).",
    )
    # Secure by default (README "HTTP"): a worker bound to anything but loopback
    # refuses to start without a token (`stream_app/cli/settings.py`).
    http_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer tokens for the lead and Q-table views and POST /events/*; several, "
            f"comma-separated, to rotate; each {MIN_HTTP_TOKEN_CHARS}+ characters."
        ),
    )
    http_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="POST /events/* waits this long for the broker's ack, a routed lead view "
        "for the owning worker; then 503.",
    )
    max_event_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    # Event time at the door (wire.codec.EventTimeBounds): one far-future occurred_at
    # would move stream time for every lead of its worker.
    event_max_ahead_s: float = Field(
        default=86_400.0,
        gt=0,
        le=10 * 365 * 86_400,
        description="An occurred_at further ahead of the wall clock is a dead letter.",
    )
    event_time_floor: AwareDatetime = Field(
        default=datetime(2000, 1, 1, tzinfo=UTC),
        description="An occurred_at before this is a dead letter.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- Extraction ------------------------------------------------------------
    extractor: ExtractorName = ExtractorName.RULES
    extractor_concurrency: int = Field(default=4, ge=1, le=256)
    extraction_deadline_s: float = Field(
        default=120.0, gt=0, description="Decide without extraction after this long (event time)."
    )
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_timeout_s: float = Field(default=20.0, gt=0, description="Wall time of one attempt.")
    openai_max_retries: int = Field(default=3, ge=0, le=10)
    # Under the extraction deadline with room for queueing and the result's trip back
    # (a late result is wasted: the lead has decided); `create_app` refuses more.
    openai_deadline_s: float = Field(
        default=60.0,
        gt=0,
        description="One extraction, every attempt and backoff included; then it fails.",
    )
    openai_max_tokens: int = Field(default=1024, ge=64, le=32768, description="Reply cap.")
    openai_circuit_failures: int = Field(
        default=5, ge=1, le=1000, description="Failed extractions in a row that open the circuit."
    )
    openai_circuit_cooldown_s: float = Field(
        default=30.0, gt=0, le=3600, description="Open circuit: fail at once, then one trial."
    )
    openai_response_format: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="json_schema: send the schema (OpenAI, vLLM, llama.cpp, Ollama); "
        "json_object: JSON mode, for servers without it.",
    )

    # --- Learning --------------------------------------------------------------
    learning_mode: LearningMode = LearningMode.ONLINE
    alpha: float = Field(
        default=0.01, gt=0, le=1, description="Floor of the visit-aware step 1/(n + 1 + n0)."
    )
    gamma: float = Field(default=0.9, ge=0, le=1)
    prior_visits: float = Field(
        default=10.0, ge=0, description="Pseudo-visits n0 a seeded prior counts as."
    )
    ucb_c: float = Field(default=0.2, ge=0, description="UCB coefficient, on the reward's scale.")
    state_model: StateModel = Field(
        default=StateModel.BUCKET,
        description="RL state: `bucket` (status:bucket) or `compound` (the bucket plus the "
        "cost, objection, family and schedule flags it discards).",
    )
    guard_greedy: bool = Field(
        default=True,
        description="Stop exploring (greedy over learned Q) while the learning arm is "
        "significantly below the holdout arm.",
    )
    guard_min_leads: int = Field(
        default=200, ge=2, description="Leads per arm before the running guard judges."
    )
    guard_alpha: float = Field(
        default=0.05,
        gt=0,
        lt=1,
        description="Chance the running guard ever trips over a whole run when the arms "
        "are equal (its sequential test's false alarm bound, any number of looks).",
    )
    guard_mixing_sd: float = Field(
        default=0.1,
        gt=0,
        description="Scale of the conversion gaps (learning - holdout) the guard's "
        "sequential test is tuned to detect.",
    )
    policy_version: str = "ucb-v1"
    holdout_share: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of leads (stable by id) decided by the frozen seeded priors.",
    )
    exploration: str = Field(
        default="none",
        pattern=r"^(none|epsilon:(0(\.\d+)?|1(\.0+)?)|thompson:\d+(\.\d+)?)$",
        description="`none` (deterministic UCB), `epsilon:<e>` or `thompson:<spread>` "
        "(Thompson sampling instead of UCB); decisions log their propensity.",
    )

    # --- Time rules (event time) ------------------------------------------------
    inactive_after_days: float = Field(default=14.0, gt=0)
    sms_quiet_s: float = Field(default=300.0, gt=0)
    sms_max_age_s: float = Field(default=900.0, gt=0)
    sms_max_messages: int = Field(default=6, ge=1)
    keyword_languages: str = Field(
        default="en,es",
        description="Languages of the opt-out and urgent keyword scan, comma-separated (en, es).",
    )
    opt_out_extra_phrases: str = Field(
        default="",
        description="More opt-out phrases, separated by '|', matched as whole words.",
    )
    sweep_interval_s: float = Field(default=5.0, gt=0, le=3600)
    lead_batch_max: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description=(
            "Records the lead agent (and the Q-learner) applies before it sends, awaits "
            "and writes once."
        ),
    )
    lead_cache_size: int = Field(
        default=20_000,
        ge=0,
        le=10_000_000,
        description="Decoded lead states kept in memory per worker (0: none).",
    )
    remembered_event_ids: int = Field(default=256, ge=16, le=100_000)
    state_encoding: Literal["zstd", "json"] = Field(
        default="zstd",
        description=(
            "How lead states are written: zstd frames (a third of the bytes), or the"
            " same JSON unframed, which releases before state version 2 can read."
        ),
    )

    # --- Risk segment and urgency (docs/architecture.md, "Decisions") -----------
    risk_critical_days: float = Field(default=14.0, gt=0, description="No engagement this long.")
    risk_moderate_days: float = Field(default=7.0, gt=0)
    risk_attendance_critical: float = Field(default=0.5, ge=0, le=1)
    risk_attendance_moderate: float = Field(default=0.7, ge=0, le=1)
    lead_goes_cold_days: float = Field(default=45.0, gt=0)
    unreached_urgent: int = Field(default=3, ge=1)

    # --- Contact policy (guardrails) ---------------------------------------------
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    default_timezone: str = Field(default="UTC", description="For leads without a timezone.")
    contact_cooldown_h: float = Field(default=24.0, ge=0)
    cap_voice_week: int = Field(default=3, ge=0)
    cap_sms_week: int = Field(default=4, ge=0)
    cap_email_week: int = Field(default=3, ge=0)
    suppress_after_rejections: int = Field(default=2, ge=1)
    voice_per_hour: int = Field(default=50, ge=0)

    @field_validator("broker")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if not value.startswith("kafka://") or len(value) <= len("kafka://"):
            raise ValueError("must look like kafka://host:port[;host:port]")
        return value

    @field_validator("keyword_languages")
    @classmethod
    def _keyword_languages(cls, value: str) -> str:
        # An unknown code must not silently switch the opt-out rule off.
        keywords(tuple(code.strip() for code in value.split(",") if code.strip()))
        return value

    @property
    def keyword_scan(self) -> Keywords:
        """The compiled opt-out and urgent keyword scan these settings name."""
        languages = tuple(c.strip() for c in self.keyword_languages.split(",") if c.strip())
        extra = tuple(p.strip() for p in self.opt_out_extra_phrases.split("|") if p.strip())
        return keywords(languages, extra)

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if value.split("://")[0] not in {"memory", "rocksdb"}:
            raise ValueError("must be memory:// or rocksdb://")
        return value

    @field_validator("http_token")
    @classmethod
    def _http_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        # Messages never quote the value: it is a secret.
        if value is None:
            return None
        tokens = [token.strip() for token in value.get_secret_value().split(",")]
        if not any(tokens):
            raise ValueError("is empty: unset it, or give one or more comma-separated tokens")
        if not all(_TOKEN_CHARS.fullmatch(token) for token in tokens):
            raise ValueError(
                "each comma-separated token must be printable ASCII without spaces "
                "(and no entry may be empty)"
            )
        if any(len(token) < MIN_HTTP_TOKEN_CHARS for token in tokens):
            raise ValueError(
                f"each token needs at least {MIN_HTTP_TOKEN_CHARS} characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("advertised_url")
    @classmethod
    def _advertised(cls, value: str | None) -> str | None:
        if value is None:
            return None
        problem = "must look like http://host:port, an address the other workers can reach"
        try:
            url = urlsplit(value)
            url.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError(problem) from None
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(problem)
        if _is_wildcard(url.hostname):
            raise ValueError(f"{problem} (a wildcard address means every worker alike)")
        return value

    @model_validator(mode="after")
    def _kafka_consistent(self) -> Self:
        """Credentials that would be ignored, or a SASL protocol without any, is a typo."""
        sasl = self.kafka_security_protocol.startswith("SASL")
        given = [
            f"STREAM_APP_KAFKA_SASL_{name.upper()}"
            for name, value in (
                ("username", self.kafka_sasl_username),
                ("password", self.kafka_sasl_password),
            )
            if value is not None
        ]
        if given and not sasl:
            raise ValueError(
                f"{' and '.join(given)} set but STREAM_APP_KAFKA_SECURITY_PROTOCOL is "
                f"{self.kafka_security_protocol}: the credentials would not be used; "
                "set SASL_SSL (or SASL_PLAINTEXT), or remove them"
            )
        if sasl and len(given) < 2:
            raise ValueError(
                f"STREAM_APP_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "STREAM_APP_KAFKA_SASL_USERNAME and STREAM_APP_KAFKA_SASL_PASSWORD"
            )
        if self.min_insync_replicas is not None and (
            self.min_insync_replicas > self.replication_factor
        ):
            raise ValueError(
                f"STREAM_APP_MIN_INSYNC_REPLICAS={self.min_insync_replicas} is above "
                f"STREAM_APP_REPLICATION_FACTOR={self.replication_factor}: no write could succeed"
            )
        return self

    @property
    def insync_replicas(self) -> int:
        """`min.insync.replicas` of created topics: the setting, else 2 from RF 3 up, else 1."""
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return 2 if self.replication_factor >= 3 else 1

    @property
    def http_tokens(self) -> tuple[bytes, ...]:
        """Every accepted bearer token (several while one is rotated out); empty: none set."""
        if self.http_token is None:
            return ()
        return tuple(t.strip().encode() for t in self.http_token.get_secret_value().split(","))

    @property
    def web_binds_loopback(self) -> bool:
        """The web server is reachable from this machine only (`127.0.0.0/8`, `::1`)."""
        host = self.web_host.strip().strip("[]").lower()
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:  # a host name: it may resolve to any interface
            return False

    @property
    def web_binds_wildcard(self) -> bool:
        """Bound to every interface: Faust's default URL for this worker is then no
        address another worker can tell apart (STREAM_APP_ADVERTISED_URL is needed)."""
        return _is_wildcard(self.web_host)

    @property
    def bootstrap_servers(self) -> str:
        """The broker list in the comma form plain Kafka clients expect."""
        hosts = self.broker.removeprefix("kafka://").replace(";", ",")
        return ",".join(h.removeprefix("kafka://") for h in hosts.split(","))

    def topic(self, name: str) -> str:
        """The physical name of a catalog topic."""
        return f"{self.topic_prefix}{name}"
