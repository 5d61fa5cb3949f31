"""`stream-app report` refuses a --since it cannot read before it touches the broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream_app.cli.app import app


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "1' OR '1'='1"])
def test_a_since_that_is_not_an_iso_date_exits_2_and_writes_nothing(
    since: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(app, ["report", "--json", str(out), "--since", since])
    assert result.exit_code == 2 and "--since must be an ISO date" in result.output
    assert not out.exists()
