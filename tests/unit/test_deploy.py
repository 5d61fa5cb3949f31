"""The deploy files, checked for real without Docker or a cluster.

Names that cross file boundaries must agree: settings (STREAM_APP_* = a `Settings`
field), metric names (alerts and dashboard vs. `stream_app.worker.metrics.REGISTRY`), ports,
mounted paths, the console script.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from stream_app.config.settings import Settings
from stream_app.kafka.options import unreplicated
from stream_app.worker.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

ENV_PREFIX = "STREAM_APP_"
SETTINGS_ENV = frozenset(f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields)

# Ports the official images listen on by default.
IMAGE_PORTS = {"prom/prometheus": {9090}, "grafana/grafana": {3000}}

PLACEHOLDER = re.compile(r"^(REPLACE_ME|<[^>]+>|change-me)?$")


# --- helpers -----------------------------------------------------------------------


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _compose() -> dict[str, Any]:
    return _yaml(ROOT / "docker-compose.yml")  # type: ignore[no-any-return]


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]  # type: ignore[no-any-return]


def _environment(service: Mapping[str, Any]) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        env = dict(pairs)
    return {str(k): None if v is None else str(v) for k, v in env.items()}


_INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)

# What a person fills a required secret with (`${VAR:?message}`, a Secret's
# placeholder) when a test builds the Settings a container would see: valid for every
# secret setting (an HTTP token needs 16+ printable characters without spaces).
STAND_IN_SECRET = "stand-in-secret-0123456789abcdef"


def _interpolate(value: str, required: str = "") -> str:
    """Compose's `${VAR:-default}` with an empty environment: the default; a required
    `${VAR:?message}` (compose refuses to start without it) becomes `required`."""

    def one(match: re.Match[str]) -> str:
        if (match.group("op") or "").endswith("?"):
            return required
        return match.group("arg") or ""

    return _INTERPOLATION.sub(one, value)


def _unknown_settings(names: set[str] | Mapping[str, object]) -> set[str]:
    """STREAM_APP_* names that no `Settings` field reads (they would be ignored)."""
    return {n for n in names if n.startswith(ENV_PREFIX) and n not in SETTINGS_ENV}


def _settings_from(env: Mapping[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Build Settings from exactly these variables, as the container would."""
    with monkeypatch.context() as m:
        for name in SETTINGS_ENV:
            m.delenv(name, raising=False)
        for name, value in env.items():
            if name.startswith(ENV_PREFIX) and value is not None:
                m.setenv(name, _interpolate(value, required=STAND_IN_SECRET))
        return Settings()


def _uses_app_image(service: Mapping[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("stream-app")


def _exposed_series() -> set[str]:
    """Every series name REGISTRY can expose, suffixes included."""
    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    return {f.name + s for f in REGISTRY.collect() for s in suffixes.get(f.type, ("",))}


_METRIC = re.compile(r"\bstream_app_[a-zA-Z0-9_]+")


def _metric_names(expr: str) -> set[str]:
    return set(_METRIC.findall(expr))


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines: list[str] = []
    buffer = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        lines.append(buffer + stripped)
        buffer = ""
    pairs = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def _instructions(name: str) -> list[str]:
    return [args for instruction, args in _dockerfile() if instruction == name]


def _last_stage() -> list[tuple[str, str]]:
    pairs = _dockerfile()
    start = max(i for i, (instruction, _) in enumerate(pairs) if instruction == "FROM")
    return pairs[start:]


def _k8s_docs() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                yield path, doc


def _k8s(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in _k8s_docs() if doc["kind"] == kind]


def _pod_specs() -> Iterator[dict[str, Any]]:
    for kind in ("StatefulSet", "Deployment", "Job", "DaemonSet"):
        for doc in _k8s(kind):
            yield doc["spec"]["template"]["spec"]


_K8S_REFERENCE = re.compile(r"\$\((\w+)\)")


def _k8s_pod_env(container: Mapping[str, Any], pod_name: str) -> dict[str, str | None]:
    """The environment one pod of `container` sees, as the kubelet builds it: the
    ConfigMap, the Secret (each placeholder filled with a stand-in), then `env` in
    order, `$(VAR)` expanded and a `metadata.name` fieldRef set to `pod_name`."""
    (config,) = _k8s("ConfigMap")
    (secret,) = _k8s("Secret")
    env: dict[str, str | None] = dict(config["data"])
    env |= {k: STAND_IN_SECRET for k in {**secret.get("stringData", {}), **secret.get("data", {})}}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = _K8S_REFERENCE.sub(lambda m: str(env[m.group(1)]), var["value"])
        elif var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[var["name"]] = pod_name
    return env


def _k8s_worker() -> tuple[dict[str, Any], dict[str, Any]]:
    """The StatefulSet and its one container."""
    (sts,) = _k8s("StatefulSet")
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    return sts, container


def _k8s_settings(monkeypatch: pytest.MonkeyPatch, replica: int = 0) -> Settings:
    sts, container = _k8s_worker()
    name = f"{sts['metadata']['name']}-{replica}"
    return _settings_from(_k8s_pod_env(container, name), monkeypatch)


def _worker_defaults(monkeypatch: pytest.MonkeyPatch) -> Settings:
    return _settings_from(_environment(_services()["worker"]), monkeypatch)


# --- the settings-name check itself --------------------------------------------------


def test_an_unknown_setting_name_is_caught() -> None:
    assert _unknown_settings({"STREAM_APP_BROKER", "STREAM_APP_BROKR", "PATH"}) == {
        "STREAM_APP_BROKR"
    }


def test_settings_names_cover_the_documented_ones() -> None:
    documented = {
        "STREAM_APP_BROKER",
        "STREAM_APP_PARTITIONS",
        "STREAM_APP_STORE",
        "STREAM_APP_DATA_DIR",
        "STREAM_APP_WEB_HOST",
        "STREAM_APP_WEB_PORT",
        "STREAM_APP_EXTRACTOR",
        "STREAM_APP_OPENAI_API_KEY",
        "STREAM_APP_LEARNING_MODE",
        "STREAM_APP_KAFKA_SECURITY_PROTOCOL",
        "STREAM_APP_HTTP_TOKEN",
    }
    assert documented <= SETTINGS_ENV


# --- Dockerfile ----------------------------------------------------------------------


def test_dockerfile_entrypoint_is_the_console_script() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scripts = pyproject["project"]["scripts"]
    (entrypoint,) = _instructions("ENTRYPOINT")
    command = json.loads(entrypoint)
    assert command[0] in scripts
    assert json.loads(_instructions("CMD")[-1]) == ["worker"]


def test_dockerfile_base_user_port_and_healthcheck() -> None:
    args: dict[str, str] = {}
    for arg in _instructions("ARG"):
        name, _, default = arg.partition("=")
        args[name] = default
    froms = [
        re.sub(r"\$\{(\w+)\}", lambda m: args[str(m.group(1))], f.split()[0])
        for f in _instructions("FROM")
    ]
    assert froms and all(f == "python:3.11-slim" for f in froms)

    runtime = _last_stage()
    users = [a for i, a in runtime if i == "USER"]
    assert users, "the runtime stage must drop root"
    assert users[-1].split(":")[0] not in {"root", "0"}

    exposed = {p.split("/")[0] for a in _instructions("EXPOSE") for p in a.split()}
    assert str(Settings.model_fields["web_port"].default) in exposed

    (healthcheck,) = _instructions("HEALTHCHECK")
    assert "/healthz" in healthcheck
    assert "python" in healthcheck
    assert "curl" not in healthcheck


def test_dockerfile_installs_the_rocksdb_extra() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "rocksdb" in pyproject["project"]["optional-dependencies"]
    assert any("pip install" in run and "[rocksdb]" in run for run in _instructions("RUN"))


def test_dockerfile_copies_only_what_exists() -> None:
    for args in _instructions("COPY"):
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        if any(a.startswith("--from") for a in shlex.split(args)):
            continue
        for source in parts[:-1]:
            if "*" in source:
                continue  # optional by design (README*)
            assert (ROOT / source).exists(), f"COPY {source}: not in the repo"


def test_dockerfile_env_names_are_settings_fields() -> None:
    names = {
        pair.split("=", 1)[0]
        for args in _instructions("ENV")
        for pair in shlex.split(args)
        if "=" in pair
    }
    assert not _unknown_settings(names)


# --- docker-compose ------------------------------------------------------------------


def test_compose_parses_and_has_the_stack() -> None:
    assert {"kafka", "topics", "worker", "prometheus", "grafana"} <= set(_services())


def test_every_build_context_has_its_dockerfile() -> None:
    builds = [s["build"] for s in _services().values() if "build" in s]
    assert builds
    for build in builds:
        spec = {"context": build} if isinstance(build, str) else build
        context = (ROOT / spec.get("context", ".")).resolve()
        assert (context / spec.get("dockerfile", "Dockerfile")).is_file()


def test_bind_mounts_exist_and_named_volumes_are_declared() -> None:
    compose = _compose()
    declared = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                kind, source = volume.get("type"), volume.get("source", "")
            else:
                source = volume.split(":")[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "bind":
                assert (ROOT / source).exists(), f"{name}: {source} is not in the repo"
            elif kind == "volume":
                assert source in declared, f"{name}: volume {source} is not declared"


def _published(service: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) for each published port."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/")[0].split(":")
        ports.append((int(parts[-2]), int(parts[-1])))
    return ports


def test_published_ports_are_ports_the_services_listen_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = _services()
    host_ports = [host for s in services.values() for host, _ in _published(s)]
    assert len(host_ports) == len(set(host_ports)), "a host port is published twice"

    worker = _worker_defaults(monkeypatch)
    assert _published(services["worker"]) == [(worker.web_port, worker.web_port)]
    exposed = {p for a in _instructions("EXPOSE") for p in a.split()}
    assert str(worker.web_port) in exposed
    assert worker.web_host == "0.0.0.0"  # reachable from outside the container

    kafka = _environment(services["kafka"])
    listeners = dict(item.split("://") for item in (kafka["KAFKA_LISTENERS"] or "").split(","))
    advertised = dict(
        item.split("://") for item in (kafka["KAFKA_ADVERTISED_LISTENERS"] or "").split(",")
    )
    for host, container in _published(services["kafka"]):
        (name,) = [n for n, addr in listeners.items() if addr.endswith(f":{container}")]
        assert advertised[name] == f"localhost:{host}", "host clients must get a host address"
    internal = str(kafka["KAFKA_INTER_BROKER_LISTENER_NAME"])
    assert worker.broker == f"kafka://{advertised[internal]}"

    for name, service in services.items():
        image = str(service.get("image", "")).split(":")[0]
        if image in IMAGE_PORTS:
            for _, container in _published(service):
                assert container in IMAGE_PORTS[image], f"{name} does not listen on {container}"


def test_app_services_use_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    app_services = {n: s for n, s in _services().items() if _uses_app_image(s)}
    assert {"topics", "worker"} <= set(app_services)
    for name, service in app_services.items():
        env = _environment(service)
        assert not _unknown_settings(env), f"{name}: unknown settings"
        settings = _settings_from(env, monkeypatch)  # values validate too
        # One Kafka node: replication factor 1, which only dev allows.
        assert unreplicated(settings) is None, f"{name} would refuse to start"


def test_worker_runs_rocksdb_on_a_volume(monkeypatch: pytest.MonkeyPatch) -> None:
    service = _services()["worker"]
    settings = _worker_defaults(monkeypatch)
    assert settings.store.startswith("rocksdb://")
    targets = {str(v).split(":")[1] for v in service["volumes"] if isinstance(v, str)}
    assert str(settings.data_dir) in targets


def test_compose_start_order() -> None:
    services = _services()
    assert services["topics"]["command"] == ["topics", "apply"]
    assert services["topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert (
        services["worker"]["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    )
    assert "healthcheck" in services["kafka"]


def test_compose_holds_no_credentials() -> None:
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|API_KEY", key) and value is not None:
                assert value.startswith("${"), f"{name}.{key} must come from the environment"
                assert PLACEHOLDER.match(_interpolate(value)), f"{name}.{key}: not a placeholder"


def _host_ip(port: object) -> str | None:
    """The host address a published port binds (None: every interface)."""
    if isinstance(port, dict):
        return port.get("host_ip")
    parts = str(port).split("/")[0].rsplit(":", 2)
    return parts[0] if len(parts) == 3 else None


def test_host_ip_reads_every_port_form() -> None:
    assert _host_ip("127.0.0.1:6066:6066") == "127.0.0.1"
    assert _host_ip("6066:6066") is None
    assert _host_ip("6066") is None
    assert _host_ip("127.0.0.1:9094:9094/tcp") == "127.0.0.1"
    assert _host_ip({"target": 80, "published": 8080, "host_ip": "127.0.0.1"}) == "127.0.0.1"


def test_every_published_port_is_bound_to_loopback() -> None:
    for name, service in _services().items():
        for port in service.get("ports", []):
            assert _host_ip(port) == "127.0.0.1", f"{name}: {port} is reachable from the LAN"


_DEFAULTED = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-")


def test_no_secret_has_a_default_and_the_required_ones_are_required() -> None:
    """A secret comes from the environment or compose refuses to start, never a default."""
    required = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):\?[^}]+\}$")
    for name, service in _services().items():
        for key, value in _environment(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|API_KEY", key) and value is not None:
                assert not _DEFAULTED.search(value), f"{name}.{key} has a default: {value}"
                assert required.match(value), f"{name}.{key} must be ${{VAR:?message}}"
    grafana = _environment(_services()["grafana"])["GF_SECURITY_ADMIN_PASSWORD"] or ""
    assert required.match(grafana) and "change-me" not in grafana
    token = _environment(_services()["worker"])["STREAM_APP_HTTP_TOKEN"] or ""
    match = required.match(token)
    assert match and match.group("name") == "STREAM_APP_HTTP_TOKEN"


def test_interpolation_of_required_and_defaulted_variables() -> None:
    assert _interpolate("${A:-x}") == "x"
    assert _interpolate("${A-x}") == "x"
    assert _interpolate("${A}") == ""
    assert _interpolate("${A:?set A}") == ""
    assert _interpolate("${A:?set A}", required="v") == "v"
    assert _DEFAULTED.search("${GRAFANA_ADMIN_PASSWORD:-change-me}")
    assert not _DEFAULTED.search("${GRAFANA_ADMIN_PASSWORD:?set it}")


# --- Prometheus ----------------------------------------------------------------------


def _mount_target(service: str, source: str) -> str:
    for volume in _services()[service]["volumes"]:
        host, target = str(volume).split(":")[:2]
        if Path(host) == Path(source):
            return target
    raise AssertionError(f"{source} is not mounted into {service}")


def test_prometheus_lifecycle_api_is_off() -> None:
    """`--web.enable-lifecycle` lets anyone who reaches :9090 shut Prometheus down."""
    command = _services()["prometheus"].get("command") or []
    assert not any("enable-lifecycle" in str(arg) for arg in command)


def test_prometheus_scrapes_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    config = _yaml(DEPLOY / "prometheus" / "prometheus.yml")
    worker = _worker_defaults(monkeypatch)
    targets = {
        t
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", [])
        for t in static["targets"]
    }
    assert f"worker:{worker.web_port}" in targets
    assert config["rule_files"] == [_mount_target("prometheus", "./deploy/prometheus/alerts.yml")]
    assert _mount_target("prometheus", "./deploy/prometheus/prometheus.yml") == (
        "/etc/prometheus/prometheus.yml"
    )


def _rules() -> list[dict[str, Any]]:
    alerts = _yaml(DEPLOY / "prometheus" / "alerts.yml")
    return [rule for group in alerts["groups"] for rule in group["rules"]]


def test_alert_rules_are_well_formed() -> None:
    rules = _rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["expr"].strip()
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]


@pytest.mark.parametrize(
    "needle",
    [
        "stream_app_dead_letters_total",
        "stream_app_consumer_lag",
        "stream_app_extraction_failures_total",
        "stream_app_worker_ready",
        "stream_app_decisions_total",
        "stream_app_td_error_abs",
    ],
)
def test_each_required_alert_exists(needle: str) -> None:
    assert any(needle in rule["expr"] for rule in _rules())


def test_alerts_use_only_real_metrics() -> None:
    exposed = _exposed_series()
    for rule in _rules():
        missing = _metric_names(rule["expr"]) - exposed
        assert not missing, f"{rule['alert']}: {sorted(missing)}"


# --- Grafana -------------------------------------------------------------------------


def _dashboard() -> dict[str, Any]:
    text = (DEPLOY / "grafana" / "dashboards" / "stream-app.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


# Families with no dashboard panel yet (family names, without `_total`). Each one
# is a to-do for deploy/grafana/dashboards/stream-app.json; the test fails once it
# is on the dashboard, so the entry goes with it.
NOT_ON_THE_DASHBOARD_YET: set[str] = set()


def test_dashboard_uses_only_real_metrics() -> None:
    exposed = _exposed_series()
    used: set[str] = set()
    for panel in _panels(_dashboard()["panels"]):
        for target in panel.get("targets", []):
            names = _metric_names(target["expr"])
            assert not names - exposed, f"{panel['title']}: {sorted(names - exposed)}"
            used |= names
    templating = json.dumps(_dashboard()["templating"])
    assert not _metric_names(templating) - exposed
    # Every family shows up somewhere on the dashboard, except those waiting for a panel.
    families = {f.name for f in REGISTRY.collect()}
    missing = {f for f in families if not any(u.startswith(f) for u in used)}
    assert missing == NOT_ON_THE_DASHBOARD_YET


def test_dashboard_has_the_required_panels() -> None:
    dashboard = _dashboard()
    panels = list(_panels(dashboard["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    for needle in (
        "stream_app_events_in_total",
        "stream_app_dead_letters_total",
        "histogram_quantile(0.5, sum by (agent, le) (rate(stream_app_processing_seconds",
        "histogram_quantile(0.99, sum by (agent, le) (rate(stream_app_processing_seconds",
        "stream_app_decisions_total",
        "stream_app_transitions_total",
        "stream_app_q_updates_total",
        "stream_app_td_error_abs",
        "stream_app_extraction_seconds_bucket",
        "stream_app_extraction_failures_total",
        "stream_app_consumer_lag",
        "stream_app_leads_by_status",
        "stream_app_sms_flushes_total",
        "stream_app_guardrail_blocks_total",
    ):
        assert needle in exprs, needle


def test_grafana_provisioning_matches_the_mounts() -> None:
    provisioning = DEPLOY / "grafana" / "provisioning"
    datasources = _yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    (prometheus,) = [d for d in datasources if d["type"] == "prometheus"]
    assert prometheus["url"] == "http://prometheus:9090"

    variables = {v["name"]: v for v in _dashboard()["templating"]["list"]}
    assert variables["datasource"]["current"]["value"] == prometheus["uid"]

    (provider,) = _yaml(provisioning / "dashboards" / "dashboards.yml")["providers"]
    assert provider["options"]["path"] == _mount_target("grafana", "./deploy/grafana/dashboards")
    assert _mount_target("grafana", "./deploy/grafana/provisioning") == "/etc/grafana/provisioning"


# --- Kubernetes ----------------------------------------------------------------------


def test_k8s_manifests_parse_and_are_namespace_agnostic() -> None:
    docs = list(_k8s_docs())
    assert docs
    for path, doc in docs:
        if doc.get("kind") == "Kustomization":
            assert "namespace" not in doc, path.name
            continue
        assert doc["apiVersion"] and doc["kind"], path.name
        assert doc["metadata"]["name"], path.name
        assert "namespace" not in doc["metadata"], f"{path.name}: {doc['metadata']['name']}"
    kinds = [doc["kind"] for _, doc in docs]
    for kind in ("ConfigMap", "Secret", "StatefulSet", "Job", "PodDisruptionBudget"):
        assert kind in kinds, kind
    assert kinds.count("Service") >= 2


def test_kustomization_lists_existing_files_but_not_the_secret_template() -> None:
    (kustomization,) = _k8s("Kustomization")
    for resource in kustomization["resources"]:
        assert (K8S / resource).is_file(), resource
    assert "secret.example.yaml" not in kustomization["resources"]


def test_k8s_env_names_are_settings_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    (config,) = _k8s("ConfigMap")
    (secret,) = _k8s("Secret")
    names = set(config["data"]) | set(secret.get("stringData", {})) | set(secret.get("data", {}))
    for pod in _pod_specs():
        for container in pod["containers"] + pod.get("initContainers", []):
            names |= {e["name"] for e in container.get("env", [])}
    assert not _unknown_settings(names)
    assert all(n.startswith(ENV_PREFIX) for n in config["data"])
    settings = _k8s_settings(monkeypatch)
    assert settings.store.startswith("rocksdb://")


def test_k8s_secret_is_a_template() -> None:
    (secret,) = _k8s("Secret")
    values = {**secret.get("stringData", {}), **secret.get("data", {})}
    assert values
    for key, value in values.items():
        assert PLACEHOLDER.match(str(value)), f"{key} must be a placeholder"


def test_k8s_pods_read_the_config_and_secret_that_exist() -> None:
    (config,) = _k8s("ConfigMap")
    (secret,) = _k8s("Secret")
    for pod in _pod_specs():
        for container in pod["containers"]:
            refs = container["envFrom"]
            config_refs = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
            secret_refs = [r["secretRef"] for r in refs if "secretRef" in r]
            assert config_refs == [config["metadata"]["name"]]
            assert [r["name"] for r in secret_refs] == [secret["metadata"]["name"]]


def test_k8s_secret_with_the_token_is_required() -> None:
    """An optional Secret lets a pod start without its HTTP token and SASL credentials."""
    (secret,) = _k8s("Secret")
    assert "STREAM_APP_HTTP_TOKEN" in secret["stringData"]
    for pod in _pod_specs():
        for container in pod["containers"] + pod.get("initContainers", []):
            for ref in container.get("envFrom", []):
                if "secretRef" in ref:
                    assert "optional" not in ref["secretRef"], container["name"]
            for var in container.get("env", []):
                key = var.get("valueFrom", {}).get("secretKeyRef")
                assert key is None or "optional" not in key, var["name"]


def test_k8s_each_pod_advertises_its_own_url_through_the_headless_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sts, container = _k8s_worker()
    services = {s["metadata"]["name"]: s for s in _k8s("Service")}
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    settings = _k8s_settings(monkeypatch)
    names = [var["name"] for var in container["env"]]
    # The kubelet expands $(POD_NAME) only from variables listed before it.
    assert names.index("POD_NAME") < names.index("STREAM_APP_ADVERTISED_URL")
    (pod_name,) = [var for var in container["env"] if var["name"] == "POD_NAME"]
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    (advertised,) = [v for v in container["env"] if v["name"] == "STREAM_APP_ADVERTISED_URL"]
    service = headless["metadata"]["name"]
    assert advertised["value"] == f"http://$(POD_NAME).{service}:{settings.web_port}"
    urls = {_k8s_settings(monkeypatch, replica).advertised_url for replica in range(3)}
    assert urls == {f"http://stream-app-{i}.{service}:{settings.web_port}" for i in range(3)}
    assert settings.web_port in {p["port"] for p in headless["spec"]["ports"]}


def test_k8s_security_protocol_matches_the_credentials_the_secret_carries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (config,) = _k8s("ConfigMap")
    (secret,) = _k8s("Secret")
    protocol = config["data"]["STREAM_APP_KAFKA_SECURITY_PROTOCOL"]
    carried = {k for k in secret["stringData"] if k.startswith("STREAM_APP_KAFKA_SASL_")}
    assert protocol == "SASL_SSL"  # credentials, and TLS so they never cross in clear
    assert carried == {"STREAM_APP_KAFKA_SASL_USERNAME", "STREAM_APP_KAFKA_SASL_PASSWORD"}
    settings = _k8s_settings(monkeypatch)
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_sasl_mechanism.startswith("SCRAM")
    # Settings refuse either half without the other.
    with pytest.raises(ValueError, match="STREAM_APP_KAFKA_SASL_USERNAME"):
        _settings_from(config["data"], monkeypatch)


def test_k8s_topics_are_durable(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _k8s_settings(monkeypatch)
    assert settings.env == "prod"
    assert settings.replication_factor >= 3
    assert settings.insync_replicas == 2
    assert settings.kafka_idempotence
    assert unreplicated(settings) is None


def test_k8s_statefulset_probes_volume_and_services(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _k8s_settings(monkeypatch)
    (sts,) = _k8s("StatefulSet")
    pod = sts["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"] == ["worker"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == settings.web_port

    def probe(kind: str) -> tuple[str, int]:
        get = container[kind]["httpGet"]
        port = get["port"]
        return get["path"], ports[port] if isinstance(port, str) else port

    assert probe("livenessProbe") == ("/healthz", settings.web_port)
    assert probe("readinessProbe") == ("/readyz", settings.web_port)

    (claim,) = sts["spec"]["volumeClaimTemplates"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts[claim["metadata"]["name"]] == str(settings.data_dir)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True

    labels = pod["metadata"]["labels"]
    assert sts["spec"]["selector"]["matchLabels"].items() <= labels.items()
    services = {s["metadata"]["name"]: s for s in _k8s("Service")}
    headless = services[sts["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    metrics = [
        s
        for s in services.values()
        if "prometheus.io/scrape" in s["metadata"].get("annotations", {})
    ]
    assert len(metrics) == 1
    annotations = metrics[0]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.web_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    for service in services.values():
        assert service["spec"]["selector"].items() <= labels.items()
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in ports or port["targetPort"] == settings.web_port

    (pdb,) = _k8s("PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_k8s_job_applies_the_topics() -> None:
    (job,) = _k8s("Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["topics", "apply"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}
