"""The picture of the parts in docs/overview.md names the parts the tree has, and only those."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "forms_service"
DOT = REPO / "docs" / "img" / "parts.dot"
#: small shared modules every part may use, and the published JSON schemas (data), left out of the picture
NOT_DRAWN = {"errors", "logs", "pdfium", "__main__", "schemas"}


def drawn(source: str) -> tuple[set[str], set[str]]:
    """The parts (``forms_service.<part>`` labels) and the use cases (``s_<name>`` nodes) in a dot file."""
    parts = set(re.findall(r'label="forms_service\.([a-z_]+)', source))
    services = set(re.findall(r"^\s*s_([a-z_]+) \[", source, flags=re.MULTILINE))
    return parts, services


def tree() -> tuple[set[str], set[str]]:
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    parts |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    services = {p.stem for p in (PACKAGE / "services").glob("*.py") if p.stem != "__init__"}
    return parts - NOT_DRAWN, services


def test_the_picture_of_the_parts_matches_the_tree() -> None:
    parts, services = drawn(DOT.read_text(encoding="utf-8"))
    in_tree, services_in_tree = tree()
    assert parts - {"services"} == in_tree - {"services"}, "redraw docs/img/parts.dot (see its first lines)"
    assert services == services_in_tree
    for image in ("parts.svg", "parts.png"):  # drawn from it, for the page and for viewers without SVG
        assert (DOT.parent / image).exists()


def test_the_check_notices_a_part_missing_from_the_picture() -> None:
    parts, _ = drawn('a [label="forms_service.web\\npages"];\n  s_ingest [label="ingest"];\n')
    assert parts == {"web"} and parts != tree()[0]
