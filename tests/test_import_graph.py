"""faaslib's import graph and shape: no module imports itself back, however indirectly;
services plug in without the core knowing them; no class outgrows a reader.

Every import counts: at module level, under ``if TYPE_CHECKING:`` and inside functions (a
circle that only type checkers or a late import walk is still a circle in the design).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import faaslib

PACKAGE = Path(faaslib.__file__).parent

#: Modules that import nothing of faaslib: identifiers, constants and plain records that
#: every layer may use.
LEAVES = ("faaslib._errors", "faaslib._ids", "faaslib._result", "faaslib._usage", "faaslib._xray")

#: The services' shared parts, which the core may use; the services themselves it may not.
SERVICE_FRAMEWORK = ("faaslib._services", "faaslib._services.mappings")
#: Parts above the core that translate every service to AWS's terms and back (SAM templates
#: in both directions; the event factories, built by the services' own record builders), so
#: they name services; the core reaches the SAM bridge only through ``Registry.from_template``
#: and never the event factories.
BRIDGES = ("faaslib.sam", "faaslib.events")
#: A class longer than this is doing more than one thing.
MAX_CLASS_LINES = 500

#: Circles known to be broken by a change in progress elsewhere, each as its sorted modules.
#: Remove an entry when its circle is gone: the test fails on a stale one, as on a new one.
PENDING: set[tuple[str, ...]] = set()

Edge = tuple[str, int]  # (imported module, line)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ["faaslib", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _known(name: str, known: dict[str, Path]) -> str | None:
    """The module of ``known`` that importing ``name`` runs last (its nearest known parent)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[Edge]:
    """The modules of ``known`` that the module imports anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _known(alias.name, known)
                if target is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"  # from . import _logs
                target = submodule if submodule in known else _known(origin, known)
                if target is not None:
                    yield target, node.lineno


def graph() -> dict[str, list[Edge]]:
    known = modules()
    return {
        name: [edge for edge in imports(name, path, known) if edge[0] != name]
        for name, path in known.items()
    }


def circles(edges: dict[str, list[Edge]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root, root_edges in edges.items():
        if root in index:
            continue
        work = [(root, iter(root_edges))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child, _ in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
    return found


def describe(group: list[str], edges: dict[str, list[Edge]]) -> str:
    members = set(group)
    lines = [" <-> ".join(group)]
    for name in group:
        for target, line in sorted(set(edges[name])):
            if target in members:
                lines.append(f"    {name}:{line} imports {target}")
    return "\n".join(lines)


def test_no_import_circle() -> None:
    edges = graph()
    found = circles(edges)
    new = [group for group in found if tuple(group) not in PENDING]
    gone = PENDING - {tuple(group) for group in found}
    report = [describe(group, edges) for group in new]
    report += [f"no longer a circle, remove it from PENDING: {' <-> '.join(g)}" for g in gone]
    assert not report, "\n".join(report)


def test_leaves_import_nothing_of_faaslib() -> None:
    edges = graph()
    for leaf in LEAVES:
        assert edges[leaf] == [], f"{leaf} imports {edges[leaf]}"


def test_the_core_knows_no_service() -> None:
    # Adding a service is adding a module under _services/ and re-exporting its names: only
    # faaslib/__init__.py (and the SAM bridge, which maps each service to AWS's resources)
    # names services; the invoker and the rest of the core do not.
    edges = graph()
    for name, targets in edges.items():
        if name == "faaslib" or name.startswith(("faaslib._services", *BRIDGES)):
            continue
        services = sorted(
            {t for t, _ in targets if t.startswith("faaslib._services")} - set(SERVICE_FRAMEWORK)
        )
        assert not services, f"{name} imports {services}"


def test_no_class_is_over_500_lines() -> None:
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_CLASS_LINES:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, "\n".join(long)


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    known = dict.fromkeys(("faaslib", "faaslib._a", "faaslib._b", "faaslib._c"), tmp_path)
    module = tmp_path / "_a.py"
    module.write_text(
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from . import _b\n"
        "if TYPE_CHECKING:\n"
        "    from ._c import C\n"
        "def f() -> None:\n"
        "    import faaslib._b\n"
        "    from faaslib import Invoker\n"
    )
    assert sorted(imports("faaslib._a", module, known)) == [
        ("faaslib", 8),
        ("faaslib._b", 3),
        ("faaslib._b", 7),
        ("faaslib._c", 5),
    ]
    edges = {"a": [("b", 1)], "b": [("c", 1)], "c": [("a", 1)], "d": [("a", 1)]}
    assert circles(edges) == [["a", "b", "c"]]
