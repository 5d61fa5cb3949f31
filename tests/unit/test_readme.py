"""The README is the user's manual: every setting it must name, and the two commands."""

from __future__ import annotations

from pathlib import Path

from stream_app.config.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    missing = [
        f"STREAM_APP_{n.upper()}"
        for n in Settings.model_fields
        if f"STREAM_APP_{n.upper()}`" not in README
    ]
    assert not missing, f"document these settings in README.md: {missing}"


def test_quickstart_is_two_commands() -> None:
    assert "make dev" in README and "make test" in README
    assert "stream-app dev" in README
