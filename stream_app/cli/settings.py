"""Settings for a command: the environment (STREAM_APP_*), then the command's own values."""

from __future__ import annotations

import typer

from stream_app.cli import render
from stream_app.config.settings import Settings


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with `overrides` (None: not given) on top; invalid
    settings end the command with exit code 2."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except Exception as exc:  # pydantic's error already names the variable and the rule
        render.invalid_settings(exc)
        raise typer.Exit(2) from None
