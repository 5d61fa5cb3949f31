"""`stream-app simulate --report`: seed sets, hostile seed lists, the JSON it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream_app.cli.app import app
from stream_app.sim.seeds import REPORT_SEEDS, TUNING_SEEDS

runner = CliRunner()


@pytest.mark.parametrize("seeds", ["abc", "1,x", "", ",", "1e3", "report;rm -rf /"])
def test_a_bad_seed_list_is_refused_before_any_run(seeds: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = runner.invoke(
        app, ["simulate", "--report", "--seeds", seeds, "--leads", "10", "--json", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "--seeds" in result.output
    assert not out.exists()


def test_too_few_families_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "--report", "--seeds", "1", "--leads", "3"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValueError) or "deciles" in result.output


def test_a_small_report_prints_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    args = ["simulate", "--report", "--seeds", "3", "--leads", "20", "--max-steps", "6"]
    result = runner.invoke(app, [*args, "--workers", "1", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Targets (issue 12)" in result.output
    assert f"report seeds {REPORT_SEEDS[0]}-{REPORT_SEEDS[-1]}" in " ".join(result.output.split())
    data = json.loads(out.read_text())
    assert data["seeds"] == [3] and data["seed_set"] == "custom"
    assert data["tuning_seeds"] == list(TUNING_SEEDS)
    assert data["leads"] == 20 and data["workers"] == 1 and data["elapsed_s"] > 0
