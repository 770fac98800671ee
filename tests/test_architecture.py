"""Imports point one way: base ← stages ← commands (shared/STYLE.md), with no circle.

A static check over the first-party packages' source (no database, nothing imported): each
module's imports are resolved to modules, and the graph is checked for cycles, for imports
hidden inside functions, and for arrows pointing up the layers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from dealer360.db import LockKey

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dealer360", "ingest", "entity_resolution", "generator", "orchestration", "dashboard")

# The layers, lowest first. A module may import its own layer or a lower one.
# Descriptions: pure definitions that import only each other: the settings and errors every
# stage shares, the landing contract, the VIN check, and entity resolution's value
# standardizers (each kept in the folder a reader looks in, and read by the suppression
# check below the stages).
DESCRIPTIONS = {
    "dealer360",
    "dealer360.errors",
    "dealer360.settings",
    "ingest.arrays",
    "ingest.contract",
    "ingest.vin",
    "entity_resolution.standardize",
}
BASE = {"dealer360.db", "dealer360.suppression"}
STAGES = ("ingest", "entity_resolution", "generator")
# Everything else is a command or an application: dealer360's CLI, forget, grants and
# exports, orchestration/ and dashboard/.

# Imports inside a function, by module and imported module, with the reason they are there.
# None of them dodges a cycle (the graph test below counts them as edges too).
DEFERRED = {
    ("dealer360.cli", "*"): "each command imports its stage when it runs, so that `dealer360"
    " --help` or `db url` starts in a fraction of a second instead of loading Dagster, dbt and"
    " pandas",
    ("dealer360.exports", "entity_resolution"): "the dashboard imports exports for the"
    " audience; only `export links` needs entity resolution (SciPy, rapidfuzz)",
    ("orchestration.runner", "orchestration.automation"): "loading the Dagster definitions"
    " parses the dbt project (seconds); only run_pipeline needs them",
    ("orchestration.runner", "orchestration.definitions"): "as orchestration.automation",
    ("orchestration.runner", "orchestration.resources"): "as orchestration.automation",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module
    line: int
    in_function: bool


def _module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


MODULES = _module_files()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute name a `from … import` starts from."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if _is_package(module) else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """First-party modules the statement imports (`from x import y`: x.y when it is a
    module, else x)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        start = _resolve(module, node)
        names = [
            f"{start}.{alias.name}" if f"{start}.{alias.name}" in MODULES else start
            for alias in node.names
        ]
    return [name for name in dict.fromkeys(names) if name.split(".")[0] in PACKAGES]


def _imports(module: str) -> list[Import]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend(
                    Import(module, target, child.lineno, in_function)
                    for target in _targets(module, child)
                )
            inside = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            visit(child, inside)

    visit(tree, False)
    return found


IMPORTS = [i for module in MODULES for i in _imports(module)]


def _graph() -> dict[str, set[str]]:
    """Module → the modules importing it runs. Importing `a.b.c` runs the packages `a` and
    `a.b` first, unless the importer is inside them (they are already being imported)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in IMPORTS:
        parts = i.target.split(".")
        for n in range(1, len(parts) + 1):
            name = ".".join(parts[:n])
            inside = i.module == name or i.module.startswith(name + ".")
            if name in MODULES and not (n < len(parts) and inside) and name != i.module:
                graph[i.module].add(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _layer(module: str) -> int:
    if module in DESCRIPTIONS:
        return 0
    if module in BASE:
        return 1
    if module.split(".")[0] in STAGES:
        return 2
    return 3


def test_the_scan_sees_every_package_and_resolves_imports_to_modules():
    assert {m.split(".")[0] for m in MODULES} == set(PACKAGES)
    landing = {i.target for i in IMPORTS if i.module == "ingest.loader"}
    assert {"ingest.merge", "ingest.contract", "dealer360.suppression"} <= landing
    assert ("dealer360.forget", "dealer360.suppression") in {(i.module, i.target) for i in IMPORTS}


def test_no_two_modules_import_each_other_even_through_a_package():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_no_module_hides_a_first_party_import_inside_a_function():
    hidden = [
        f"{MODULES[i.module].relative_to(ROOT)}:{i.line} imports {i.target}"
        for i in IMPORTS
        if i.in_function
        and (i.module, "*") not in DEFERRED
        and (i.module, i.target) not in DEFERRED
    ]
    assert not hidden, "imports inside a function (move them to the top): " + "; ".join(hidden)


def test_every_deferred_import_listed_is_still_there():
    deferred = {(i.module, i.target) for i in IMPORTS if i.in_function}
    modules = {module for module, _ in deferred}
    stale = [
        key
        for key in DEFERRED
        if (key[1] == "*" and key[0] not in modules) or (key[1] != "*" and key not in deferred)
    ]
    assert not stale, f"DEFERRED lists imports that are gone: {stale}"


def test_imports_point_down_the_layers_base_stages_commands():
    upward = [
        f"{i.module} (layer {_layer(i.module)}) imports {i.target} (layer {_layer(i.target)})"
        for i in IMPORTS
        if _layer(i.target) > _layer(i.module)
    ]
    assert not upward, "imports pointing up: " + "; ".join(upward)


def test_the_cycle_finder_finds_a_circle_through_a_package():
    graph = {"a": {"a.loader"}, "a.loader": {"base"}, "base": {"b.std"}, "b.std": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "a.loader", "b.std", "base"]]


def test_advisory_lock_keys_keep_the_numbers_running_databases_may_hold():
    assert {key.name: int(key) for key in LockKey} == {
        "LANDING": 360_360,
        "PIPELINE_RUN": 360_361,
        "MIGRATION": 360_360_001,
        "RESOLVE": 360_360_004,
        "GRANTS": 360_360_006,
        "PIPELINE": 360_360_007,
    }
