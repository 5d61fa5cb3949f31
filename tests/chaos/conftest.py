"""Chaos and fuzz runs against the embedded broker: `pytest tests/chaos --chaos-cycles N`.

The broker, the artifacts directory, the upstream producer and the dev environment are
the integration suite's fixtures (tests/integration/conftest.py), imported here so
both suites build workers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.integration.conftest import (  # noqa: F401  (fixtures, registered by import)
    artifacts,
    broker,
    embedded_broker_env,
    upstream,
    workers,
)

# CI (the whole suite under 20 minutes on 2 cores, this directory under 3) gets a
# short run; a long run is `pytest tests/chaos --chaos-cycles 24 --chaos-leads 80`.
# Each cycle is one kill point (a rebalance or recovery kill is two kills).
DEFAULT_CYCLES = 2
DEFAULT_SEED = 20_240_611
DEFAULT_LEADS = 24
DEFAULT_FUZZ_EXAMPLES = 45


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos and fuzz runs (tests/chaos)")
    group.addoption(
        "--chaos-cycles",
        type=int,
        default=DEFAULT_CYCLES,
        help=f"kill/restart cycles of the chaos run (default {DEFAULT_CYCLES}; 20+ is long)",
    )
    group.addoption(
        "--chaos-seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the chaos run's kill points and scripts (printed by every run)",
    )
    group.addoption("--chaos-leads", type=int, default=DEFAULT_LEADS, help="leads of the chaos run")
    group.addoption(
        "--fuzz-examples",
        type=int,
        default=DEFAULT_FUZZ_EXAMPLES,
        help="hypothesis cases per fuzzed topic group produced to a real worker",
    )


@dataclass(frozen=True)
class ChaosConfig:
    cycles: int
    seed: int
    leads: int
    fuzz_examples: int


def _config(config: pytest.Config) -> ChaosConfig:
    # getoption with a default: when pytest runs the whole tree this conftest is not an
    # initial one, so the options may be unregistered; the defaults apply then.
    return ChaosConfig(
        cycles=int(config.getoption("--chaos-cycles", default=DEFAULT_CYCLES)),
        seed=int(config.getoption("--chaos-seed", default=DEFAULT_SEED)),
        leads=int(config.getoption("--chaos-leads", default=DEFAULT_LEADS)),
        fuzz_examples=int(config.getoption("--fuzz-examples", default=DEFAULT_FUZZ_EXAMPLES)),
    )


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> ChaosConfig:
    return _config(request.config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The chaos run's time limit grows with its cycles (pyproject's 300 s is per test)."""
    cfg = _config(config)
    for item in items:
        real = ("tests/chaos/test_chaos.py", "tests/chaos/test_fuzz.py")
        if item.nodeid.startswith(real) and "integration" not in item.keywords:
            item.add_marker(pytest.mark.integration)
        if item.nodeid.startswith("tests/chaos/test_chaos.py"):
            item.add_marker(pytest.mark.timeout(240 + 60 * cfg.cycles + cfg.leads * 2))
