"""The package's structure: no import circle inside sim/, and the model never reaches the edges."""

import ast
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"
EDGES = {"sim.cli", "sim.api", "sim.command", "sim.report", "sim.files", "sim.plots",
         "sim.plots_regions", "sim.html_report", "sim.app"}


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(SIM.parent).with_suffix("").parts)
    return name.removesuffix(".__init__")


MODULES = {module_name(p): p for p in SIM.rglob("*.py")}


def imports(path: Path, run_time_only: bool = True) -> set[str]:
    """The sim modules a file imports: at module level (not under ``if TYPE_CHECKING:``), or
    anywhere in the file if ``run_time_only`` is false."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    nodes = tree.body if run_time_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    out = set()
    for name in found:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module_name(path):
            out.add(name)
    return out


def test_no_import_circle_inside_sim():
    graph = {name: imports(path) for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                pytest.fail("import circle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_the_model_never_imports_the_edges():
    """Whatever a model run imports, at any depth and inside functions too, is no edge."""
    seen, todo = set(), ["sim.model"]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(imports(MODULES[name], run_time_only=False) - seen)
    assert not seen & EDGES, seen & EDGES
