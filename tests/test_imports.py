"""No import circles among heldout's modules, and no way into the tools but the command
line (static: every import statement, read with ast).

Imports inside functions and ``if TYPE_CHECKING:`` blocks count too: a circle hidden in a
function is still a circle in the design, and the day someone hoists the import it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROOTS = {"platform": REPO / "platform", "graders": REPO / "graders", "sandbox": REPO / "sandbox",
         "tools": REPO / "tools"}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for root in ROOTS.values():
        for path in sorted((root / "heldout").rglob("*.py")):
            if "image_context" in path.parts or "migrations" in path.parts:
                continue  # run inside the sandbox image / by Alembic, not imported by heldout
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The heldout modules ``module`` imports; ``from pkg import sub`` counts as pkg.sub."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
    return {t for t in targets if t in known and t != module}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def test_the_finder_sees_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_covers_every_package() -> None:
    graph = _graph()
    assert "heldout.sandbox.options" in graph["heldout.sandbox.runner"]
    assert "heldout.graders.kinds" in graph["heldout.graders.bundle_loading"]
    for package in ROOTS:
        assert any(name.startswith(f"heldout.{package}.") for name in graph), package


@pytest.mark.parametrize("package", list(ROOTS))
def test_no_import_circles(package: str) -> None:
    mine = [cycle for cycle in _cycles(_graph())
            if any(name == f"heldout.{package}" or name.startswith(f"heldout.{package}.")
                   for name in cycle)]
    assert mine == [], f"import circles: {mine}"


def test_no_module_of_the_product_imports_the_tools() -> None:
    """heldout.tools sits above the product: the command line names its groups in a table
    (heldout.platform.cli.COMMANDS) and imports them when they are run, nothing else."""
    graph = _graph()
    assert "heldout.platform.app" in graph["heldout.tools.bench.sandbox"]  # the graph sees tools
    reaching = {name: sorted(t for t in targets if t.startswith("heldout.tools"))
                for name, targets in graph.items() if not name.startswith("heldout.tools")}
    assert {name: found for name, found in reaching.items() if found} == {}
