"""Every plain Kafka client the package builds takes its options from one place.

A consumer built without `consumer_options` fetches at aiokafka's 500 ms wait, which
the embedded broker holds up to 250 ms after a record arrives (a q-update then
reaches a worker's view a quarter second late), and connects without the settings'
SASL/TLS. A producer built without `producer_options` acks with the leader alone
(aiokafka's `acks=1`) and loses an acknowledged record when the leader dies. Both
were found by reading each call site once; this check reads them every time, from
the parsed source, so a call that a test never runs is seen too.

The bench's own clients (`stream_app/sim/benchmark.py`) talk to the bench's embedded
broker by its bootstrap address and name the options they need: they pass the
same keywords explicitly, and the check holds them to that.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "stream_app"

REQUIRED: dict[str, tuple[str, str]] = {
    "AIOKafkaConsumer": ("consumer_options", "fetch_max_wait_ms"),
    "AIOKafkaProducer": ("producer_options", "acks"),
}
"""Per client class: the options function to spread into it, or else the keyword it
must name explicitly."""


@dataclass(frozen=True)
class Site:
    path: str
    line: int
    client: str
    spreads: frozenset[str]
    keywords: frozenset[str]


def sites(source: str, path: str) -> Iterator[Site]:
    """Every call of a client class in the source, with what its keywords say."""
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name not in REQUIRED:
            continue
        spreads = {
            _name(kw.value.func)
            for kw in node.keywords
            if kw.arg is None and isinstance(kw.value, ast.Call)
        }
        keywords = {kw.arg for kw in node.keywords if kw.arg is not None}
        yield Site(path, node.lineno, name, frozenset(s for s in spreads if s), frozenset(keywords))


def _name(func: ast.expr) -> str | None:
    """A called name, bare or as a module's attribute (`aiokafka.AIOKafkaConsumer`)."""
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def unconfigured(site: Site) -> bool:
    options, keyword = REQUIRED[site.client]
    return options not in site.spreads and keyword not in site.keywords


def package_sites() -> list[Site]:
    return [
        site
        for path in sorted(PACKAGE.rglob("*.py"))
        for site in sites(path.read_text(), str(path.relative_to(PACKAGE.parent)))
    ]


def test_every_client_in_the_package_takes_its_options() -> None:
    found = package_sites()
    assert {site.client for site in found} == set(REQUIRED)  # the scan sees both kinds
    assert [site for site in found if unconfigured(site)] == []


@pytest.mark.parametrize(
    ("source", "flagged"),
    [
        ("AIOKafkaConsumer('t', bootstrap_servers=b)", True),
        ("aiokafka.AIOKafkaProducer(bootstrap_servers=b, linger_ms=5)", True),
        ("AIOKafkaConsumer('t', **consumer_options(settings), group_id=None)", False),
        ("AIOKafkaConsumer('t', **options.consumer_options(s))", False),
        ("AIOKafkaConsumer('t', bootstrap_servers=b, fetch_max_wait_ms=wait)", False),
        ("AIOKafkaProducer(**producer_options(settings), linger_ms=5)", False),
        ("AIOKafkaProducer(bootstrap_servers=b, acks='all')", False),
        ("AIOKafkaProducer(**client_options(settings))", True),
    ],
)
def test_the_check_tells_a_configured_client_from_a_bare_one(source: str, flagged: bool) -> None:
    (site,) = sites(source, "example.py")
    assert unconfigured(site) is flagged
