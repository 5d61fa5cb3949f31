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
