"""The Faust fixes refuse releases they were not measured against."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from stream_app.worker.faust_fixes import TESTED_VERSIONS, check_versions

ROOT = Path(__file__).resolve().parents[3]


def versions(**found: str | None) -> dict[str, str | None]:
    return {**TESTED_VERSIONS, **{k.replace("_", "-"): v for k, v in found.items()}}


def test_the_tested_versions_pass() -> None:
    check_versions(versions().get)


@pytest.mark.parametrize(
    "found",
    [
        {"faust_streaming": "0.15.4"},
        {"faust_streaming": "0.16.0"},
        {"faust_streaming": "0.15.2"},
        {"aiokafka": "0.14.1"},
        {"aiokafka": "0.13.0"},
        {"faust_streaming": "0.16.0", "aiokafka": "0.15.0"},
    ],
)
def test_any_other_version_is_refused_naming_installed_and_tested(
    found: dict[str, str],
) -> None:
    installed = versions(**found)
    with pytest.raises(RuntimeError) as caught:
        check_versions(installed.get)
    message = str(caught.value)
    for package, tested in TESTED_VERSIONS.items():
        assert f"{package}=={tested}" in message
    for package in found:
        name = package.replace("_", "-")
        assert f"{name} {installed[name]}" in message


def test_a_missing_package_is_refused() -> None:
    with pytest.raises(RuntimeError, match="aiokafka not installed"):
        check_versions(versions(aiokafka=None).get)


def test_the_installed_environment_is_the_tested_one() -> None:
    check_versions()  # what the import did; here so a failure reads as a test failure


def test_pyproject_pins_exactly_the_tested_versions() -> None:
    """The pins and the check move together (dependencies and the rocksdb extra)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["rocksdb"]]
    pinned: dict[str, list[str]] = {}
    for spec in specs:
        requirement = Requirement(spec)
        if requirement.name in TESTED_VERSIONS:
            pinned.setdefault(requirement.name, []).append(str(requirement.specifier))
    faust, aiokafka = TESTED_VERSIONS["faust-streaming"], TESTED_VERSIONS["aiokafka"]
    assert pinned == {"faust-streaming": [f"=={faust}"] * 2, "aiokafka": [f"=={aiokafka}"]}
