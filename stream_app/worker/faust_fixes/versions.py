"""The faust-streaming and aiokafka releases these fixes were measured against."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

# The fixes in this package override private methods of exactly these releases, each one
# measured against them (docs/runtime-notes.md). pyproject.toml pins the same
# versions; moving a pin means re-running the kill tests and updating both.
TESTED_VERSIONS = {"faust-streaming": "0.15.3", "aiokafka": "0.14.0"}


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def check_versions(installed: Callable[[str], str | None] = _installed) -> None:
    """Refuse to run on a faust-streaming or aiokafka these fixes were not tested with.

    Checked when the package is imported, before it imports Faust's internals, so
    an untested release fails with this message rather than with an import error
    or, worse, with a fix that silently no longer applies (lost or stalled input).
    """
    found_versions = {package: installed(package) for package in TESTED_VERSIONS}
    wrong = {p: v for p, v in found_versions.items() if v != TESTED_VERSIONS[p]}
    if wrong:
        found = ", ".join(f"{p} {v or 'not installed'}" for p, v in wrong.items())
        tested = ", ".join(f"{p}=={v}" for p, v in TESTED_VERSIONS.items())
        raise RuntimeError(
            f"stream_app.worker.faust_fixes is tested with {tested} only, but found {found}: "
            "install the pinned versions (pip install -e .), or re-run the kill tests "
            "against the new release and update TESTED_VERSIONS and the pins in "
            "pyproject.toml together"
        )
