"""The service ships only what it runs: no module of forms_service imports the lab or its fitting tools.

``forms_lab`` (synthetic respondents, the degrader, the calibration fitting) and the
libraries only fitting needs (scikit-learn, matplotlib) are test and benchmark
material; the service's wheel holds neither. Every module of ``forms_service`` is
read with :mod:`ast` (imports at any depth, and ``importlib.import_module`` with a
literal name), so an import hidden in a function is found too.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import forms_service

FORBIDDEN = ("forms_lab", "sklearn", "matplotlib")
SERVICE = Path(forms_service.__file__).resolve().parent
REPO = Path(__file__).resolve().parents[2]


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module name) of every absolute import in ``tree``, and of import_module("...")."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def forbidden_imports(package: Path) -> list[str]:
    """``path:line: module`` for every import of a forbidden package in the modules under ``package``."""
    hits: list[str] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in _imported_names(tree):
            if name.split(".")[0] in FORBIDDEN:
                hits.append(f"{path.relative_to(package.parent)}:{line}: {name}")
    return hits


def test_no_module_of_the_service_imports_the_lab_or_its_fitting_libraries() -> None:
    assert len(list(SERVICE.rglob("*.py"))) > 50  # the walk really reads the package
    assert forbidden_imports(SERVICE) == []


def test_the_check_finds_a_forbidden_import_wherever_it_hides(tmp_path: Path) -> None:
    package = tmp_path / "forms_service"
    (package / "scan").mkdir(parents=True)
    (package / "__init__.py").write_text('"""A package."""\n', encoding="utf-8")
    (package / "scan" / "clean.py").write_text(
        "from __future__ import annotations\nimport numpy as np\nfrom .calibration import Curve\n"
        "from forms_service.scan import marks\n",
        encoding="utf-8",
    )
    (package / "scan" / "leaky.py").write_text(
        "import importlib\n"
        "from forms_lab.synth import fill_page\n"
        "def fit():\n"
        "    import sklearn.ensemble\n"
        "    from matplotlib import pyplot\n"
        "    return importlib.import_module('forms_lab.fitting')\n",
        encoding="utf-8",
    )
    assert forbidden_imports(package) == [
        "forms_service/scan/leaky.py:2: forms_lab.synth",
        "forms_service/scan/leaky.py:4: sklearn.ensemble",
        "forms_service/scan/leaky.py:5: matplotlib",
        "forms_service/scan/leaky.py:6: forms_lab.fitting",
    ]


def test_the_service_wheel_holds_the_service_alone() -> None:
    service = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert service["tool"]["hatch"]["build"]["targets"]["wheel"] == {
        "packages": ["forms_service"],
        "force-include": {"templates": "forms_service/templates"},
    }
    deps = " ".join(service["project"]["dependencies"] + service["project"]["optional-dependencies"]["test"])
    assert not any(name in deps for name in ("scikit-learn", "matplotlib", "forms-lab"))
    lab = tomllib.loads((REPO / "lab" / "pyproject.toml").read_text(encoding="utf-8"))
    assert lab["project"]["name"] == "forms-lab"
    assert "forms-service" in lab["project"]["dependencies"]
