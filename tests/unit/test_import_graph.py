"""The parts of the service import each other one way only.

Every import counts, also one inside a function: a part that needs another
lazily still depends on it. Parts are the service's subpackages and top-level
modules (``web``, ``api``, ``cli``, ``services``, ``jobs``, ``registry``, ...).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "forms_service"
ADAPTERS = {"web", "api", "cli", "app", "wsgi", "http"}


def _module_name(path: Path, root: Path = PACKAGE) -> list[str]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path, root: Path = PACKAGE) -> set[str]:
    """The forms_service modules ``path`` imports, as dotted names."""
    here = _module_name(path, root)
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "forms_service"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            if target.split(".")[0] != "forms_service":
                continue
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}  # ``from . import x`` names a module x
    return found


def _part(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "forms_service" else None


def part_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Which part imports which (a part never counts as importing itself)."""
    known = {p.stem if p.is_file() else p.name for p in root.iterdir()
             if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.name != "__init__.py"}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # the migrations are run by the store, and import nothing of the service's parts
        source = _part(".".join(_module_name(path, root)))
        if source is None:
            continue
        for target in map(_part, _imports(path, root)):
            if target is not None and target != source and target in known:
                graph[source].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first walk, each as the parts along it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return found


def module_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Which module imports which (``from . import x`` counts as importing module x where it is one)."""
    modules = {".".join(_module_name(p, root)) for p in root.rglob("*.py") if "migrations" not in p.parts}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = ".".join(_module_name(path, root))
        for target in _imports(path, root):
            if target in modules and target != source and not source.startswith(target + "."):
                graph[source].add(target)  # a module's own package (its __init__) does not count as a cycle
    return graph


def test_no_part_of_the_service_imports_one_that_imports_it_back() -> None:
    assert cycles(part_graph()) == []


def test_no_module_imports_one_that_imports_it_back() -> None:
    assert cycles(module_graph()) == []


def test_web_api_and_cli_reach_background_jobs_through_the_services_only() -> None:
    graph = part_graph()
    assert {part for part in ADAPTERS if "jobs" in graph.get(part, set())} == set()
    assert "services" not in graph.get("jobs", set()) and "services" not in graph.get("registry", set())


def test_the_check_finds_modules_of_one_part_that_import_each_other(tmp_path: Path) -> None:
    root = tmp_path / "forms_service"
    (root / "jobs").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "jobs" / "__init__.py").write_text("")
    (root / "jobs" / "queue.py").write_text("def announce():\n    from .broker import send\n")
    (root / "jobs" / "broker.py").write_text("from .queue import announce\n")
    assert cycles(module_graph(root)) == [["forms_service.jobs.broker", "forms_service.jobs.queue",
                                           "forms_service.jobs.broker"]]


def test_the_check_finds_a_cycle_hidden_inside_a_function(tmp_path: Path) -> None:
    root = tmp_path / "forms_service"
    (root / "alpha").mkdir(parents=True)
    (root / "beta").mkdir()
    (root / "__init__.py").write_text("")
    (root / "alpha" / "__init__.py").write_text("from ..beta import thing\n")
    (root / "beta" / "__init__.py").write_text("def thing():\n    from ..alpha import other\n")
    assert cycles(part_graph(root)) == [["alpha", "beta", "alpha"]]


@pytest.mark.parametrize("source, expected", [
    ("from .services import ingest\n", {"forms_service.services", "forms_service.services.ingest"}),
    ("import forms_service.jobs.queue\n", {"forms_service.jobs.queue"}),
    ("import numpy\n", set()),
])
def test_imports_are_resolved_from_the_module_that_makes_them(tmp_path: Path, source: str,
                                                              expected: set[str]) -> None:
    root = tmp_path / "forms_service"
    root.mkdir()
    (root / "cli.py").write_text(source)
    assert _imports(root / "cli.py", root) == expected
