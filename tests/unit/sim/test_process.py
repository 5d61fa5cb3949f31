"""The simulator process dev starts: its seed, deadline and readiness URL."""

from __future__ import annotations

from stream_app.config.settings import Settings
from stream_app.sim.process import simulator_command


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_the_command_carries_the_seed_and_a_deadline_that_grows_with_families() -> None:
    settings = Settings(web_port=6123)
    small = simulator_command(settings, 20, seed=1003)
    large = simulator_command(settings, 400, seed=7)
    assert (_option(small, "--leads"), _option(small, "--seed")) == ("20", "1003")
    assert _option(small, "--timeout-s") == "600"
    assert _option(large, "--timeout-s") == "2000"
    assert _option(large, "--ready-url") == "http://127.0.0.1:6123/readyz"
