"""The import graph keeps the shape docs/architecture.md draws.

Every `import` counts, at module top or inside a function (a function-level import hides a
circle, it does not remove it). A circle, a forbidden arrow, or a shared leaf that starts
importing a domain fails the test.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("webapp", "workers", "pc_node", "config")

# Modules every domain may use: they import no domain themselves.
LEAVES = (
    "webapp.audit",
    "webapp.bus",
    "webapp.db",
    "webapp.i18n",
    "webapp.pii",
    "webapp.siteconfig",
    "webapp.tasks",
    "webapp.version",
)
LEAF_MAY_USE = {"webapp.db", "webapp.bus", "webapp.pii", "webapp.extensions", "webapp.version"}
LEAF_MAY_USE |= {"webapp.i18n", "webapp.monitoring.logs", "webapp.monitoring.models"}
LEAF_MAY_USE |= {"webapp.siteconfig"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                # `from package import module` is an arrow to the module, not to the package.
                subs = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules]
                targets = subs + ([source] if len(subs) < len(node.names) else [])
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def _domain(module: str) -> str:
    parts = module.split(".")
    return parts[1] if parts[0] == "webapp" and len(parts) > 2 else parts[0]


def _forbidden(source: str, target: str) -> bool:
    here, there = _domain(source), _domain(target)
    return (
        (here == "monitoring" and there in {"admin", "analysis"})
        or (here == "characters" and there == "chat")
        or (source.startswith("webapp") and target.startswith("workers"))
        # admin holds pages only: nothing but the app factory imports it
        or (there == "admin" and here != "admin" and source != "webapp")
    )


def test_no_import_circle():
    assert circles(import_graph()) == []


def test_no_forbidden_arrow():
    graph = import_graph()
    drawn = {(s, t) for s, targets in graph.items() for t in targets if _forbidden(s, t)}
    assert drawn == set()


def test_shared_leaves_import_no_domain():
    graph = import_graph()
    for leaf in LEAVES:
        outside = {t for t in graph.get(leaf, ()) if t.startswith("webapp")} - LEAF_MAY_USE
        assert not outside, (leaf, outside)


def test_the_checker_sees_a_circle_hidden_in_a_function(tmp_path):
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [{"a", "b", "c"}]
