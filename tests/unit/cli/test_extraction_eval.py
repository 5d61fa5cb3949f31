"""`stream-app extraction-eval`: the tables, the JSON file, and the locked set kept unread."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import stream_app.domain.extraction.rules as rules_package
from stream_app.cli.app import app
from stream_app.domain.extraction.scoring import DIMENSIONS, METRICS, parse_records
from tests.llm_server import json_reply, llm_server

runner = CliRunner()
DEV = Path(rules_package.__file__).resolve().parents[1] / "labelled" / "dev.jsonl"
DEV_ITEMS = len(parse_records(DEV.read_text(encoding="utf-8")))
"""The dev set grows as batches are labelled (test_labelled_sets.py pins its size)."""


def test_prints_the_table_and_writes_every_number(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["extraction-eval", "--set", "dev", "--draws", "200", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert f"rules on dev ({DEV_ITEMS} items)" in result.output
    assert "intent confusion" in result.output
    data = json.loads(out.read_text())
    assert (data["set"], data["items"]) == ("dev", DEV_ITEMS)
    dims = data["rules"]["dimensions"]
    assert set(dims) == set(DIMENSIONS)
    for d in DIMENSIONS:
        for m in METRICS:
            low, high = dims[d][m]["ci95"]
            assert 0.0 <= low <= high <= 1.0
    assert sum(c["count"] for c in data["rules"]["intent_confusion"]) == DEV_ITEMS


def test_refuses_to_list_the_locked_sets_misses() -> None:
    result = runner.invoke(app, ["extraction-eval", "--set", "locked", "--misses"])
    assert result.exit_code == 2
    assert "locked set" in result.output


def test_the_same_seed_gives_the_same_intervals(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.json"
        args = ["extraction-eval", "--set", "locked", "--draws", "200", "--json", str(out)]
        assert runner.invoke(app, args).exit_code == 0
        runs.append(json.loads(out.read_text()))
    assert runs[0] == runs[1]


async def test_an_openai_compatible_provider_is_scored_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A local server answering every conversation alike: scored, and its one invented
    quote per conversation counted as a hallucination."""
    reply = {
        "summary": "Family asked a question.",
        "intent": "requesting_info",
        "intent_evidence": [{"quote": "we are thrilled to enroll today"}],  # said by nobody
    }
    out = tmp_path / "eval.json"
    async with llm_server([json_reply(reply)]) as server:
        monkeypatch.setenv("STREAM_APP_OPENAI_API_KEY", "sk-local")
        monkeypatch.setenv("STREAM_APP_OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("STREAM_APP_OPENAI_MAX_RETRIES", "0")
        args = ["extraction-eval", "--provider", "rules", "--provider", "openai", "--set", "dev"]
        result = await asyncio.to_thread(
            runner.invoke, app, [*args, "--draws", "100", "--json", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert f"openai on dev ({DEV_ITEMS} items)" in result.output and "rules on dev" in result.output
    data = json.loads(out.read_text())
    # no_response conversations (agent only) make no call, so they quote nothing
    assert data["openai"]["unverified_quotes"] == len(server.requests) > 70
    assert data["rules"]["unverified_quotes"] == 0
    # every grounded-away intent became "unclear": the provider's table shows it
    predicted = {c["predicted"] for c in data["openai"]["intent_confusion"]}
    assert predicted <= {"unclear", "no_response"}
