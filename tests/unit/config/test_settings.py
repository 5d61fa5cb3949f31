from __future__ import annotations

import pytest
from pydantic import ValidationError

from stream_app.config.settings import ExtractorName, LearningMode, Settings


def test_defaults_are_production_sane() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.broker == "kafka://127.0.0.1:9092"
    assert settings.session_timeout_s >= 10  # real Kafka: tolerate GC pauses and deploys
    assert settings.learning_mode is LearningMode.ONLINE
    assert settings.extractor is ExtractorName.RULES


def test_reads_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_APP_BROKER", "kafka://k1:9092;k2:9092")
    monkeypatch.setenv("STREAM_APP_PARTITIONS", "12")
    monkeypatch.setenv("STREAM_APP_STORE", "rocksdb://")
    monkeypatch.setenv("STREAM_APP_WEB_PORT", "7000")
    monkeypatch.setenv("STREAM_APP_LEARNING_MODE", "batch")
    monkeypatch.setenv("STREAM_APP_OPENAI_API_KEY", "sk-secret")
    settings = Settings()
    assert settings.bootstrap_servers == "k1:9092,k2:9092"
    assert (settings.partitions, settings.store, settings.web_port) == (12, "rocksdb://", 7000)
    assert settings.learning_mode is LearningMode.BATCH
    assert "sk-secret" not in repr(settings)
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-secret"


@pytest.mark.parametrize(
    "field, value",
    [
        ("broker", "localhost:9092"),
        ("store", "redis://"),
        ("partitions", 0),
        ("learning_mode", "sometimes"),
        ("extractor", "magic"),
        ("web_port", 70000),
    ],
)
def test_rejects_bad_values_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_topic_prefix_applies_to_physical_names() -> None:
    assert Settings(topic_prefix="t1.").topic("leads") == "t1.leads"


# --- the HTTP token and the web bind ----------------------------------------------------

TOKEN = "a-token-of-sixteen+"


def test_no_token_by_default_on_loopback() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.http_token is None and settings.http_tokens == ()
    assert settings.web_binds_loopback


def test_several_comma_separated_tokens_for_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_APP_HTTP_TOKEN", f" {TOKEN}-old , {TOKEN}-new ")
    settings = Settings()
    assert settings.http_tokens == (f"{TOKEN}-old".encode(), f"{TOKEN}-new".encode())
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(
    "value, rule",
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ("fifteen-chars-x", "at least 16 characters"),
        (f"{TOKEN},short", "at least 16 characters"),
        (f"{TOKEN},", "no entry may be empty"),
        (f"{TOKEN} with-a-space", "printable ASCII without spaces"),
        ("tøken-with-ümlauts-x", "printable ASCII without spaces"),
    ],
)
def test_an_empty_short_or_malformed_token_is_an_error_naming_the_rule(
    monkeypatch: pytest.MonkeyPatch, value: str, rule: str
) -> None:
    monkeypatch.setenv("STREAM_APP_HTTP_TOKEN", value)
    with pytest.raises(ValidationError, match=rule) as caught:
        Settings()
    [error] = caught.value.errors()
    assert error["loc"] == ("http_token",)


def test_the_command_line_reports_a_bad_token_without_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from stream_app.cli.settings import load_settings

    monkeypatch.setenv("STREAM_APP_HTTP_TOKEN", "secret-too-shrt")
    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal still gets one line
    with pytest.raises(typer.Exit) as caught:
        load_settings()
    assert caught.value.exit_code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("invalid settings: STREAM_APP_HTTP_TOKEN: Value error, each token")
    assert "secret-too-shrt" not in line


@pytest.mark.parametrize(
    "host, loopback, wildcard",
    [
        ("127.0.0.1", True, False),
        ("127.0.0.2", True, False),
        ("::1", True, False),
        ("[::1]", True, False),
        ("localhost", True, False),
        ("0.0.0.0", False, True),
        ("::", False, True),
        ("", False, True),
        ("10.0.0.7", False, False),
        ("worker-0.stream-app", False, False),
    ],
)
def test_which_binds_count_as_loopback(host: str, loopback: bool, wildcard: bool) -> None:
    settings = Settings(web_host=host)
    assert (settings.web_binds_loopback, settings.web_binds_wildcard) == (loopback, wildcard)


def test_a_non_loopback_worker_without_a_token_is_refused_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import typer

    from stream_app.cli.settings import refuse_unsafe_web

    with pytest.raises(typer.Exit) as caught:
        refuse_unsafe_web(Settings(web_host="0.0.0.0", http_token=None))
    assert caught.value.exit_code == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("refusing to start: STREAM_APP_WEB_HOST='0.0.0.0' is not a loopback")

    refuse_unsafe_web(Settings(web_host="127.0.0.1", http_token=None))  # dev: open, no exit
    refuse_unsafe_web(Settings(web_host="10.0.0.7", http_token=TOKEN))  # SecretStr from str
    assert capsys.readouterr().err == ""
    refuse_unsafe_web(Settings(web_host="0.0.0.0", http_token=TOKEN))
    assert "STREAM_APP_ADVERTISED_URL" in capsys.readouterr().err  # a warning, no exit


@pytest.mark.parametrize(
    "url", ["worker-0:6066", "ftp://worker-0:6066", "http://", "http://0.0.0.0:6066", "http://w:x"]
)
def test_an_advertised_url_must_be_a_reachable_http_address(url: str) -> None:
    with pytest.raises(ValidationError, match="advertised_url"):
        Settings(advertised_url=url)


def test_an_advertised_url_per_worker() -> None:
    url = "http://stream-app-0.stream-app.ns.svc:6066"
    assert Settings(advertised_url=url).advertised_url == url


def test_http_timeout_is_bounded() -> None:
    assert Settings().http_timeout_s == 10.0
    with pytest.raises(ValidationError, match="http_timeout_s"):
        Settings(http_timeout_s=0)


# --- Kafka: environment, durability, SASL ----------------------------------------------


def test_kafka_defaults_are_secure() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.env == "prod"
    assert settings.kafka_idempotence is True
    assert settings.min_insync_replicas is None


@pytest.mark.parametrize(
    "replication_factor, min_insync, effective",
    [(1, None, 1), (2, None, 1), (3, None, 2), (5, None, 2), (3, 3, 3), (5, 1, 1)],
)
def test_min_insync_replicas_is_derived_unless_set(
    replication_factor: int, min_insync: int | None, effective: int
) -> None:
    settings = Settings(replication_factor=replication_factor, min_insync_replicas=min_insync)
    assert settings.insync_replicas == effective


def test_min_insync_above_the_replication_factor_is_refused() -> None:
    with pytest.raises(ValidationError, match="STREAM_APP_MIN_INSYNC_REPLICAS=3 is above"):
        Settings(replication_factor=2, min_insync_replicas=3)


def test_env_and_idempotence_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAM_APP_ENV", "dev")
    monkeypatch.setenv("STREAM_APP_KAFKA_IDEMPOTENCE", "false")
    settings = Settings()
    assert (settings.env, settings.kafka_idempotence) == ("dev", False)
    monkeypatch.setenv("STREAM_APP_ENV", "production")
    with pytest.raises(ValidationError, match="env"):
        Settings()


@pytest.mark.parametrize(
    "values, message",
    [
        pytest.param(
            {"kafka_sasl_username": "app", "kafka_sasl_password": "secret"},
            "STREAM_APP_KAFKA_SASL_USERNAME and STREAM_APP_KAFKA_SASL_PASSWORD set but "
            "STREAM_APP_KAFKA_SECURITY_PROTOCOL is PLAINTEXT",
            id="credentials on PLAINTEXT",
        ),
        pytest.param(
            {"kafka_security_protocol": "SSL", "kafka_sasl_password": "secret"},
            "STREAM_APP_KAFKA_SASL_PASSWORD set but STREAM_APP_KAFKA_SECURITY_PROTOCOL is SSL",
            id="a password on SSL",
        ),
        pytest.param(
            {"kafka_security_protocol": "SASL_SSL"},
            "STREAM_APP_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs STREAM_APP_KAFKA_SASL_USERNAME",
            id="SASL without credentials",
        ),
        pytest.param(
            {"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "app"},
            "SASL_PLAINTEXT needs",
            id="SASL with a username only",
        ),
    ],
)
def test_sasl_credentials_and_protocol_must_agree(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        Settings(_env_file=None, **values)  # type: ignore[arg-type, call-arg]
    # The message names variables, never values (the CLI prints messages without input).
    assert all("secret" not in error["msg"] for error in raised.value.errors())


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
def test_sasl_with_both_credentials_is_accepted(protocol: str) -> None:
    settings = Settings(
        kafka_security_protocol=protocol,  # type: ignore[arg-type]
        kafka_sasl_username="app",
        kafka_sasl_password="secret",  # type: ignore[arg-type]
    )
    assert settings.kafka_sasl_password is not None
    assert "secret" not in repr(settings)
