"""Rewrite (or check) the layout files of every questionnaire definition the service knows.

Usage::

    python -m forms_service.render.refresh_layouts [LAYOUTS_DIR]          # rewrite
    python -m forms_service.render.refresh_layouts --check [LAYOUTS_DIR]  # exit 1 if stale

For each definition shipped in the package and each
``<id>/<version>/questionnaire.yaml`` under LAYOUTS_DIR (default ``layouts``;
this repository's folder holds the committed layouts of the shipped
questionnaire) it builds the layout of every variant with :func:`build_layout`
(the drawing's own numbers) and writes ``<id>/<version>/<variant>.json`` under
LAYOUTS_DIR.

Must never: write anything but layout files, or touch a definition.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import FormsServiceError
from ..layout import dumps_layout, layout_path
from ..questionnaire import known_definitions
from . import VARIANTS, build_layout


def expected_layouts(root: Path) -> Iterator[tuple[Path, str]]:
    """Each layout file that should exist under ``root``, with its expected text."""
    for definition in known_definitions(root):
        q = definition.questionnaire
        for variant in VARIANTS:
            yield layout_path(root, q.id, q.version, variant), dumps_layout(build_layout(q, variant))


def refresh(root: Path, *, check: bool = False) -> list[Path]:
    """Write the layouts under ``root`` (or, with ``check``, list the stale ones without writing)."""
    changed: list[Path] = []
    for path, text in expected_layouts(root):
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        changed.append(path)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m forms_service.render.refresh_layouts",
        description="Rewrite the committed layout files from the questionnaire definitions.",
    )
    parser.add_argument("layouts", nargs="?", type=Path, default=Path("layouts"))
    parser.add_argument("--check", action="store_true", help="only report stale layouts (exit 1)")
    args = parser.parse_args(argv)
    if not args.layouts.is_dir():
        print(f"{args.layouts}: no such folder.", file=sys.stderr)
        return 2
    try:
        changed = refresh(args.layouts, check=args.check)
    except FormsServiceError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    for path in changed:
        print(f"{'stale' if args.check else 'wrote'} {path}")
    if not changed:
        print("layouts are up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
