"""`stream-app extraction-eval`: the tables, the JSON file, and the locked set kept unread."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stream_app.cli.app import app
from stream_app.domain.extraction.scoring import DIMENSIONS, METRICS

runner = CliRunner()


def test_prints_the_table_and_writes_every_number(tmp_path: Path) -> None:
    out = tmp_path / "eval.json"
    result = runner.invoke(
        app, ["extraction-eval", "--set", "dev", "--draws", "200", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "rules on dev (80 items)" in result.output
    assert "intent confusion" in result.output
    data = json.loads(out.read_text())
    assert (data["set"], data["items"]) == ("dev", 80)
    dims = data["rules"]["dimensions"]
    assert set(dims) == set(DIMENSIONS)
    for d in DIMENSIONS:
        for m in METRICS:
            low, high = dims[d][m]["ci95"]
            assert 0.0 <= low <= high <= 1.0
    assert sum(c["count"] for c in data["rules"]["intent_confusion"]) == 80


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
