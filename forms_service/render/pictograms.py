"""Easy-read pictograms: Tabler Icons (MIT licence) drawn as vectors, parsed once per name.

The icons come from the ``tabler_icons`` package's ``archive.zip``. They are
line drawings with ``stroke="currentColor"``; that colour is replaced by black
and the invisible bounding path every Tabler icon starts with is dropped, then
svglib turns the SVG into a ReportLab drawing that is cached by name.

Must never: fetch anything from the network, or draw a raster image.
"""

from __future__ import annotations

import io
import re
import zipfile
from functools import cache, lru_cache
from pathlib import Path

import tabler_icons
from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing
from reportlab.pdfgen.canvas import Canvas
from svglib.svglib import svg2rlg

from ..errors import RenderError
from .text import REGULAR, ensure_fonts

ARCHIVE = Path(tabler_icons.__file__).parent / "archive.zip"
CREDIT = "Pictograms: Tabler Icons (MIT licence)"

_INVISIBLE = re.compile(r"<path[^>]*stroke=\"none\"[^>]*fill=\"none\"[^>]*/>")


@lru_cache(maxsize=1)
def _names() -> frozenset[str]:
    with zipfile.ZipFile(ARCHIVE) as archive:
        return frozenset(n[:-4] for n in archive.namelist() if n.endswith(".svg") and "/" not in n)


def pictogram_exists(name: str) -> bool:
    """Is there a pictogram of this name (a Tabler icon name such as ``mood-smile``)?"""
    return name in _names()


@cache
def pictogram(name: str) -> Drawing:
    """The pictogram as a ReportLab drawing in its own 24 x 24 unit box."""
    if not pictogram_exists(name):
        raise RenderError(f"There is no pictogram called {name!r}: use a Tabler icon name.")
    with zipfile.ZipFile(ARCHIVE) as archive:
        svg = archive.read(f"{name}.svg").decode("utf-8")
    svg = _INVISIBLE.sub("", svg).replace("currentColor", "#000000")
    drawing = svg2rlg(io.BytesIO(svg.encode("utf-8")))
    if drawing is None:
        raise RenderError(f"The pictogram {name!r} cannot be drawn.")
    # ReportLab's drawing renderer selects a font before drawing anything; make it one that
    # is embedded (its default, Helvetica, would be referenced without being embedded).
    ensure_fonts()
    drawing.initialFontName = REGULAR
    return drawing


def draw_pictogram(canvas: Canvas, name: str, x: float, y_bottom: float, size: float) -> None:
    """Draw a pictogram scaled to a ``size`` square whose bottom-left corner is (x, y_bottom)."""
    drawing = pictogram(name)
    scale = size / max(float(drawing.width), float(drawing.height))
    canvas.saveState()
    canvas.translate(x, y_bottom)
    canvas.scale(scale, scale)
    renderPDF.draw(drawing, canvas, 0, 0)
    canvas.restoreState()
