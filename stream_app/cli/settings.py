"""Settings for a command: the environment (STREAM_APP_*), then the command's own values."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from stream_app.cli import render
from stream_app.config.settings import MIN_HTTP_TOKEN_CHARS, Settings


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with `overrides` (None: not given) on top; invalid
    settings end the command with exit code 2."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as exc:
        # Each error names the variable and the rule, never the value: it may be a secret.
        _one_line(f"[red]invalid settings:[/red] {escape(_without_values(exc))}")
        raise typer.Exit(2) from None
    except Exception as exc:
        render.invalid_settings(exc)
        raise typer.Exit(2) from None


def _without_values(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        field = ".".join(str(part) for part in err["loc"])
        name = f"STREAM_APP_{field.upper()}: " if field else ""
        parts.append(f"{name}{err['msg']}")
    return "; ".join(parts)


def refuse_unsafe_web(settings: Settings) -> None:
    """A worker whose lead views other machines can reach needs a token: exit 2 with the
    one-line reason (docs: README "HTTP"). Also warns, in one line, when workers would
    advertise indistinguishable URLs, so lead views could not be routed to their owner."""
    host = settings.web_host
    if not settings.http_tokens and not settings.web_binds_loopback:
        _one_line(
            f"[red]refusing to start:[/red] STREAM_APP_WEB_HOST={escape(repr(host))} is not "
            "a loopback address and STREAM_APP_HTTP_TOKEN is not set; set a token "
            f"({MIN_HTTP_TOKEN_CHARS}+ characters) or bind 127.0.0.1"
        )
        raise typer.Exit(2)
    if settings.web_binds_wildcard and settings.advertised_url is None:
        _one_line(
            f"[yellow]warning:[/yellow] STREAM_APP_WEB_HOST={escape(repr(host))} without "
            "STREAM_APP_ADVERTISED_URL: with more than one worker, lead views answer 404 "
            "for leads other workers own"
        )


def _one_line(markup: str) -> None:
    render.console.print(markup, soft_wrap=True)
