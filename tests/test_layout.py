"""The package's import graph: no circles, no imports hidden in functions to dodge one."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "feeds"
# Imports of our own modules inside a function, each with the reason it is not a dodge.
DEFERRED: dict[tuple[str, str], str] = {}


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(modules imported at the top, modules imported inside functions or if-blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nested = {id(node) for outer in ast.walk(tree)
              if isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef | ast.If)
              for node in ast.walk(outer) if node is not outer}
    top: set[str] = set()
    inner: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = {node.module} if node.module else {alias.name for alias in node.names}
            (inner if id(node) in nested else top).update(names)
    return top, inner


def graph() -> dict[str, set[str]]:
    """Every import of our own modules, deferred ones too: a deferred import is no way out."""
    return {path.stem: set.union(*imports(path)) for path in sorted(PACKAGE.glob("*.py"))}


def test_no_import_circles() -> None:
    edges = graph()
    done: set[str] = set()

    def visit(module: str, trail: list[str]) -> None:
        if module in trail:
            raise AssertionError("import circle: " + " -> ".join([*trail, module]))
        if module in done:
            return
        for imported in sorted(edges.get(module, ())):
            visit(imported, [*trail, module])
        done.add(module)

    for module in edges:
        visit(module, [])


def test_no_deferred_imports_of_our_modules() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        _, inner = imports(path)
        unexplained = {name for name in inner if (path.stem, name) not in DEFERRED}
        assert not unexplained, f"{path.name} imports {sorted(unexplained)} inside a block"


def test_model_imports_nothing_of_ours() -> None:
    assert graph()["model"] == set()
