"""The opt-out and urgent keyword scan is configuration: languages and extra phrases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from pydantic import TypeAdapter, ValidationError

from stream_app.config.params import lead_params
from stream_app.config.settings import Settings
from stream_app.domain.extraction.keywords import is_opt_out
from stream_app.domain.lead import Policy, handle_event
from stream_app.domain.messages import InputEvent
from stream_app.domain.qlearning import seeded_priors


def test_both_shipped_languages_are_on_by_default() -> None:
    scan = lead_params(Settings()).sms.keywords
    assert scan.languages == ("en", "es")
    assert is_opt_out("STOP", scan) and is_opt_out("Dejen de llamarme", scan)


def test_languages_and_extra_phrases_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STREAM_APP_KEYWORD_LANGUAGES", "en")
    monkeypatch.setenv("STREAM_APP_OPT_OUT_EXTRA_PHRASES", "leave me alone | no more texts")
    scan = lead_params(Settings()).sms.keywords
    assert scan.languages == ("en",)
    assert is_opt_out("please leave me alone", scan)
    assert is_opt_out("No more texts!", scan)
    assert not is_opt_out("Dejen de llamarme", scan)


@pytest.mark.parametrize("languages", ["en,fr", "", " , "])
def test_an_unknown_or_empty_language_list_is_a_settings_error(languages: str) -> None:
    with pytest.raises(ValidationError, match="keyword languages"):
        Settings(keyword_languages=languages)


@pytest.mark.parametrize(("languages", "opted_out"), [("en,es", True), ("en", False)])
def test_a_spanish_sms_opt_out_stops_outreach_at_once_when_spanish_is_on(
    languages: str, opted_out: bool
) -> None:
    params = lead_params(Settings(keyword_languages=languages))
    events: TypeAdapter[InputEvent] = TypeAdapter(cast(Any, InputEvent))
    at = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    base = {"lead_id": "L1", "occurred_at": at.isoformat()}
    created = events.validate_python(
        {**base, "type": "lead.created", "event_id": "e1", "parent_name": "Rosa"}
    )
    sms = events.validate_python(
        {
            **base,
            "type": "sms.received",
            "event_id": "e2",
            "message_id": "m1",
            "body": "Por favor dejen de escribirme",
        }
    )
    policy = Policy(seeded_priors(), 1)
    state, _ = handle_event(None, created, policy, params, at)
    state, effects = handle_event(state, sms, policy, params, at)
    assert (state.status.value == "opted_out") is opted_out
    assert ([d.action for d in effects.decisions] == ["stop"]) is opted_out
