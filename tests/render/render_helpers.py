"""Helpers for the renderer tests: measuring a rendered PDF with pdfplumber and pypdfium2.

Imported by tests/render/conftest.py and the test modules (plain module, unique name,
because tests/ has no packages).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber
from PIL import Image

from forms_service.render import RenderResult, render_previews

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = ROOT / "layouts"
DEFINITION = ROOT / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"
MM = 72 / 25.4
QR_DPI = 150


@dataclass
class PageData:
    number: int
    width: float
    height: float
    chars: list[dict[str, Any]]
    rects: list[dict[str, Any]]
    curves: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    text: str


@dataclass
class Rendered:
    variant: str
    path: Path
    sheet_id: str
    result: RenderResult
    pages: list[PageData]
    fonts: list[dict[str, Any]]
    _images: list[Image.Image] | None = None

    @property
    def images(self) -> list[Image.Image]:
        """Every page at QR_DPI, rendered on first use."""
        if self._images is None:
            self._images = render_previews(self.path, dpi=QR_DPI)
        return self._images


def _measure(path: Path) -> tuple[list[PageData], list[dict[str, Any]]]:
    keep = ("x0", "x1", "top", "bottom", "linewidth", "fill", "stroke", "non_stroking_color")
    pages = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            pages.append(
                PageData(
                    number=page.page_number,
                    width=float(page.width),
                    height=float(page.height),
                    chars=[
                        {k: c[k] for k in ("text", "fontname", "size", "non_stroking_color", "x0", "top")}
                        for c in page.chars
                    ],
                    rects=[{k: r.get(k) for k in keep} for r in page.rects],
                    curves=[{k: r.get(k) for k in keep} for r in page.curves],
                    lines=[{k: r.get(k) for k in keep} for r in page.lines],
                    text=page.extract_text() or "",
                )
            )
        fonts = _font_dicts(pdf)
    return pages, fonts


def _font_dicts(pdf: pdfplumber.PDF) -> list[dict[str, Any]]:
    """Every font dictionary of the document, with its descriptor resolved."""
    from pdfminer.pdftypes import resolve1

    fonts = []
    doc = pdf.doc
    for xref in doc.xrefs:
        for objid in xref.get_objids():
            try:
                obj = resolve1(doc.getobj(objid))
            except Exception:  # pragma: no cover - free or broken entries
                continue
            if isinstance(obj, dict) and getattr(obj.get("Type"), "name", None) == "Font":
                font = dict(obj)
                for key in ("FontDescriptor",):
                    if key in font:
                        font[key] = dict(resolve1(font[key]))
                if "DescendantFonts" in font:
                    font["DescendantFonts"] = [
                        {**dict(resolve1(d)), "FontDescriptor": dict(resolve1(resolve1(d)["FontDescriptor"]))}
                        for d in resolve1(font["DescendantFonts"])
                    ]
                fonts.append(font)
    return fonts




def measure(path: Path) -> tuple[list[PageData], list[dict[str, Any]]]:
    return _measure(path)
