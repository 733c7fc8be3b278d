"""The shape of legacyrun's import graph, read from the source with `ast` (nothing is imported).

Three rules (issue 17, item 7):
- imports of legacyrun's own modules sit at module level (or under `if TYPE_CHECKING:`), except in `cli/`, where
  lazy imports keep `legacyrun --help` fast;
- no import cycles between modules;
- an import points to the same or a lower layer (LAYERS below, from the plan of issue 17).

Third-party lazy imports (yaml, packaging, rich, ...) are not checked: they exist for startup time.

An edge goes from the importing module to the module it names: `from legacyrun.a import b` points to
`legacyrun.a.b` when that is a module, else to `legacyrun.a`. Importing `legacyrun.a.b` from outside package
`legacyrun.a` also runs `legacyrun/a/__init__.py`: that is an edge too, for cycles only (it is how a package
that re-exports from its submodules cycles at run time). From inside the package it is not: the package is
already imported (and a package that re-exports its submodules would otherwise cycle with each of them).
Imports under `if TYPE_CHECKING:` never run, so they count for the layers but not for cycles.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "legacyrun"

# Lowest first; an import may only point to the same or a lower layer. Keys are the first name under legacyrun
# (a top-level module or a package). Three base modules are not in the plan's table: `workspace` (imports only
# errors and fsutil; used by fetch, patching and resolve), `resolution` (the resolver's value types, no
# legacyrun import; the lock holds a Resolution, so they sit at the lock's layer) and `gpus` (the GPU selection
# value the backends and the runner take; imports only resolution).
LAYERS: dict[str, int] = {
    **dict.fromkeys(["errors", "proc", "fsutil", "userdirs", "resources", "gitcli", "lock", "memo", "invocation"], 1),
    **dict.fromkeys(["workspace", "resolution", "gpus"], 1),
    **dict.fromkeys(["knowledge", "recipe", "diagnose", "smoke"], 2),
    **dict.fromkeys(["host", "resolve", "fetch", "patching", "backends"], 3),
    **dict.fromkeys(["infer", "share", "run"], 4),
    "usecases": 5,
    "cli": 6,
}
# The package itself (a version string) and `python -m legacyrun` (which calls the CLI) stand outside the layers.
EXEMPT = {"legacyrun", "legacyrun.__main__"}
LAZY_ALLOWED_PREFIX = "legacyrun.cli"

# Known violations (none left); an entry that no longer occurs fails the test, so the lists cannot go stale.
# (importer, imported) pairs of imports not at module level, outside cli/.
LAZY_ALLOWLIST: set[tuple[str, str]] = set()
# (importer, imported) edges left out of the graph before looking for cycles.
CYCLE_ALLOWLIST: set[tuple[str, str]] = set()
# (importer, imported) pairs that point from a lower layer to a higher one.
LAYER_ALLOWLIST: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: str
    line: int
    module_level: bool  # at module level, or under a module-level `if TYPE_CHECKING:`
    type_only: bool  # under `if TYPE_CHECKING:`; never runs
    via: str = ""  # for the implicit edge to a package: the submodule the statement names

    def where(self) -> str:
        also = f", which runs the package's __init__ for {self.via}" if self.via else ""
        return f"{self.importer} -> {self.imported}  ({self.path}:{self.line}{also})"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: list[ast.stmt], module_level: bool, type_only: bool) -> Iterator[tuple[ast.stmt, bool, bool]]:
    """Every import statement with (module_level, type_only)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, module_level, type_only
        elif isinstance(node, ast.If) and module_level and _is_type_checking(node.test):
            yield from _walk(node.body, True, True)
            yield from _walk(node.orelse, False, type_only)
        else:
            # Anything nested (def, class, if, try, with, loops) is not module level.
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _walk([child], False, type_only)
                else:
                    for stmt in ast.walk(child):
                        if isinstance(stmt, ast.stmt):
                            yield from _walk([stmt], False, type_only)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name == "legacyrun" or alias.name.startswith("legacyrun."):
                yield alias.name
        return
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    if base != "legacyrun" and not base.startswith("legacyrun."):
        return
    for alias in node.names:
        sub = f"{base}.{alias.name}"
        yield sub if sub in known else base


def _imports() -> list[Import]:
    modules = _modules()
    known = set(modules)
    found = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = str(path.relative_to(PACKAGE_DIR.parent))
        for node, module_level, type_only in _walk(tree.body, True, False):
            assert isinstance(node, ast.Import | ast.ImportFrom)
            for target in _targets(node, module, path.name == "__init__.py", known):
                assert target in known, f"{rel}:{node.lineno}: imports {target}, which is not a module"
                if target != module:
                    found.append(Import(module, target, rel, node.lineno, module_level, type_only))
    return sorted(set(found), key=lambda i: (i.path, i.line, i.imported, i.via))


def _package_edges(imports: list[Import]) -> list[Import]:
    """The implicit edges: importing `legacyrun.a.b` from outside `legacyrun.a` runs `legacyrun/a/__init__.py`."""
    out = set()
    for i in imports:
        parts = i.imported.split(".")
        for n in range(2, len(parts)):
            package = ".".join(parts[:n])
            if i.importer != package and not i.importer.startswith(package + "."):
                out.add(Import(i.importer, package, i.path, i.line, i.module_level, i.type_only, via=i.imported))
    return sorted(out, key=lambda i: (i.path, i.line, i.imported, i.via))


def _layer(module: str) -> int | None:
    if module in EXEMPT:
        return None
    top = module.split(".")[1]
    assert top in LAYERS, f"{module} is in no layer: add {top!r} to LAYERS in tests/test_layers.py"
    return LAYERS[top]


def _stale(allowlist: set[tuple[str, str]], seen: set[tuple[str, str]]) -> list[str]:
    return [f"{a} -> {b}" for a, b in sorted(allowlist - seen)]


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return _imports()


def test_the_graph_is_read(imports: list[Import]) -> None:
    # A guard for the three tests below: a parser that finds nothing would pass them all.
    assert len(_modules()) > 100
    assert len(imports) > 300
    assert any(i.importer == "legacyrun.recipe.loader" and i.imported == "legacyrun.errors" for i in imports)


def test_legacyrun_imports_are_module_level_outside_cli(imports: list[Import]) -> None:
    lazy = [
        i
        for i in imports
        if not i.module_level
        and not (i.importer == LAZY_ALLOWED_PREFIX or i.importer.startswith(LAZY_ALLOWED_PREFIX + "."))
    ]
    bad = [i.where() for i in lazy if (i.importer, i.imported) not in LAZY_ALLOWLIST]
    assert not bad, "imports of legacyrun modules not at module level (only cli/ may import lazily):\n" + "\n".join(bad)
    stale = _stale(LAZY_ALLOWLIST, {(i.importer, i.imported) for i in lazy})
    assert not stale, "LAZY_ALLOWLIST entries that no longer occur (remove them):\n" + "\n".join(stale)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(components)


def test_no_import_cycles(imports: list[Import]) -> None:
    runtime = [i for i in imports + _package_edges(imports) if not i.type_only]
    graph: dict[str, set[str]] = {m: set() for m in _modules()}
    for i in runtime:
        if (i.importer, i.imported) not in CYCLE_ALLOWLIST:
            graph[i.importer].add(i.imported)
    report = []
    for component in _strongly_connected(graph):
        members = set(component)
        report.append("cycle: " + ", ".join(component))
        report.extend(
            "  " + i.where()
            for i in runtime
            if i.importer in members and i.imported in members and (i.importer, i.imported) not in CYCLE_ALLOWLIST
        )
    assert not report, "import cycles between legacyrun modules:\n" + "\n".join(report)
    stale = _stale(CYCLE_ALLOWLIST, {(i.importer, i.imported) for i in runtime})
    assert not stale, "CYCLE_ALLOWLIST entries that no longer occur (remove them):\n" + "\n".join(stale)


def test_imports_point_to_the_same_or_a_lower_layer(imports: list[Import]) -> None:
    upward = []
    for i in imports:
        low, high = _layer(i.importer), _layer(i.imported)
        if low is not None and high is not None and high > low:
            upward.append(i)
    bad = [
        f"{i.where()}  layer {_layer(i.importer)} -> {_layer(i.imported)}"
        for i in upward
        if (i.importer, i.imported) not in LAYER_ALLOWLIST
    ]
    assert not bad, "imports from a lower layer to a higher one:\n" + "\n".join(bad)
    stale = _stale(LAYER_ALLOWLIST, {(i.importer, i.imported) for i in upward})
    assert not stale, "LAYER_ALLOWLIST entries that no longer occur (remove them):\n" + "\n".join(stale)
