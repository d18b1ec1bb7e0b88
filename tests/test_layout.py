"""The package's structure, as DESIGN.md states it, read from the code's own imports.

- No import cycle between the parts of the package: each role folder (``store/``,
  ``answer/``…) and each top-level module (``config.py``, ``_project.py``…) is one
  node, and an import (at module level or inside a function; ``TYPE_CHECKING`` blocks
  aside, they never run) is an arrow. The composition root (``_parts``, ``_project``)
  may import every role; a role never imports it back.
- Only the ``store`` folder itself and ``_parts.py`` import a storage backend
  (``store.memory``, ``store.sqlite``, ``store.postgres``); every other role folder
  uses the protocols.
- No part is picked by class name (``type(x).__name__ == ...``).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "ragline"
BACKENDS = (
    "ragline.store.memory",
    "ragline.store.sql",
    "ragline.store.sqlite",
    "ragline.store.postgres",
)
_MODULE_PATH = re.compile(r"ragline(\.[a-z_][a-z0-9_]*)+")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _node(module: str) -> str | None:
    """The part of the package a module belongs to: a role folder or a top-level module."""
    parts = module.split(".")
    if parts[0] != "ragline":
        return None
    if len(parts) == 1:
        return "ragline"
    real = (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file()
    return parts[1] if real else None  # ``from ragline import __version__``: a name


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for n in ast.walk(node))
    return skipped


def _imports(path: Path, module: str | None = None) -> list[str]:
    """Modules ``path`` (module ``module``) imports when it runs (relative ones resolved)."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    out: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            out.append(target)
            out.extend(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module"):
            out.extend(_module_strings(node.args[:1]))
    for node in tree.body:  # module-level tables of lazily imported modules (ragline._lazy)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
            for table in ast.walk(node):
                if isinstance(table, ast.Dict) and table.values:
                    found = _module_strings(table.values)
                    if len(found) == len(table.values):
                        out.extend(found)
    return out


def _module_strings(nodes: list[ast.expr] | list[ast.expr | None]) -> list[str]:
    """The string constants among ``nodes`` that name a module of the package."""
    return [
        n.value
        for n in nodes
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and _MODULE_PATH.fullmatch(n.value)
        and _exists(n.value)
    ]


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    why: dict[tuple[str, str], str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _node(_module_name(path))
        assert source is not None
        for target_module in _imports(path):
            target = _node(target_module)
            if target is None or target == source or target_module == "ragline":
                continue  # the root package only re-exports (lazily): not an arrow
            edges[source].add(target)
            why.setdefault((source, target), f"{path.relative_to(PACKAGE)} imports {target_module}")
    return edges, why


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
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

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_the_parts_of_the_package() -> None:
    edges, why = _graph()
    cycles = _cycles(edges)
    details = [
        f"{a} -> {b}: {why[(a, b)]}"
        for cycle in cycles
        for a in cycle
        for b in sorted(edges[a] & set(cycle))
    ]
    assert not cycles, "import cycles:\n" + "\n".join(details)


def test_the_composition_root_is_imported_by_no_role() -> None:
    edges, why = _graph()
    outer = {"cli", "server", "_project", "_parts", "ragline"}
    offenders = [
        why[(source, root)]
        for source, targets in edges.items()
        for root in ("_parts", "_project")
        if root in targets and source not in outer
    ]
    assert not offenders, "\n".join(offenders)


def test_only_the_store_and_the_parts_module_import_a_backend() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "store" or rel == Path("_parts.py"):
            continue
        for target in _imports(path):
            if target.startswith(BACKENDS):
                offenders.append(f"{rel} imports {target}")
    assert not offenders, "\n".join(offenders)


def test_no_part_is_chosen_by_class_name() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "__name__ ==" in line.replace("__name__  ==", "__name__ ==") and "__main__" not in line
    ]
    assert not offenders, offenders


def test_the_checks_see_a_cycle_and_a_backend_import(tmp_path: Path) -> None:
    """The helpers above find what they look for (so the tests above can fail)."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..store.sqlite import SQLiteStore\n")
    assert "ragline.store.sqlite" in _imports(probe, "ragline.trace.probe")
    probe.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import ragline.store.sqlite\n"
    )
    assert "ragline.store.sqlite" not in _imports(probe, "ragline.trace.probe")
    probe.write_text('__getattr__ = lazy_exports(__name__, {"X": "ragline.store.postgres"})\n')
    assert "ragline.store.postgres" in _imports(probe, "ragline.trace.probe")
