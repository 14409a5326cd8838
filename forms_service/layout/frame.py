"""The page frame: what every printed page carries in the same place, as numbers written once.

Every page carries four registration marks (solid discs; their centres are the
layout's ``fiducials``), the page code (a QR symbol, bottom right; its square,
quiet zone included, is the layout's ``page_code``) and the footer (bottom
left: "Page 2 of 6" and, under it, "Sheet K7MQ-9XHT-P4R"). The renderer draws
them from :func:`a4_frame`; the layout file records them on every page
(``fiducials``, ``fiducial_diameter``, ``page_code``, ``footer``); the scan
reader takes them from the layout. A layout file written before the diameter
and the footer were recorded reads with the defaults here, which are what the
renderer has always printed.

The typefaces of the footer are named here too, by the names the layout file
gives them, with their font files: the renderer registers and the reader
matches the very same files.

Units are PDF points, origin top-left, y downwards (the layout's convention).

Pure: numbers and dataclasses. Must never: draw, measure a font (the renderer
passes the font's metrics in), or hold anything about a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

Rect = tuple[float, float, float, float]
Point = tuple[float, float]

MM = 72.0 / 25.4
"""One millimetre in PDF points."""

A4 = (210 * MM, 297 * MM)
"""Width and height of an A4 portrait page."""

FIDUCIAL_INSET = 15 * MM
"""Distance from each page edge to the centre of a registration mark."""
FIDUCIAL_DIAMETER = 6 * MM
"""Registration marks are solid 6 mm discs, so their edge is 12 mm inside the page."""

PAGE_CODE_SIZE = 24 * MM
"""Side of the page code square, quiet zone included (larger if the code needs more modules)."""
PAGE_CODE_MODULE = 0.5 * MM
"""The smallest QR module: three pixels at 150 dpi, six at 300 dpi."""
PAGE_CODE_BOTTOM = 10 * MM
"""Gap between the page code square and the bottom edge of the page."""
MARGIN_X = 24 * MM
"""Left and right edges of the content, the footer and the page code."""
FOOTER_ABOVE_CODE_BOTTOM = 2 * MM
"""The footer's last descender ends this far above the page code's bottom edge."""
DEFAULT_FOOTER_BELOW_CODE = 3 * MM
"""A layout without a recorded footer: the footer is looked for this far below the page code's bottom."""

REGULAR = "AtkinsonHyperlegible-Regular"
BOLD = "AtkinsonHyperlegible-Bold"
FONT_FILES = {REGULAR: "AtkinsonHyperlegible-Regular.ttf", BOLD: "AtkinsonHyperlegible-Bold.ttf"}
"""Every typeface a page is printed in, by the name the PDF and the layout file give it."""
PAGE_NUMBER_FONT = BOLD
SHEET_ID_FONT = REGULAR
SHEET_ID_LABEL = "Sheet"
"""The word printed before the sheet id."""


def page_number_text(page: int, pages: int) -> str:
    """The footer's first line: ``Page 2 of 6``."""
    return f"Page {page} of {pages}"


def sheet_id_text(sheet_id: str) -> str:
    """The footer's second line: ``Sheet K7MQ-9XHT-P4R``."""
    return f"{SHEET_ID_LABEL} {sheet_id}"


def font_file(name: str) -> Path | None:
    """The TrueType file of the typeface the layout calls ``name`` (None: not one of ours)."""
    file = FONT_FILES.get(name)
    if file is None:
        return None
    import fontpkg_atkinson_hyperlegible

    return Path(fontpkg_atkinson_hyperlegible.ROOT) / "files" / file


@dataclass(frozen=True)
class FooterLine:
    """One line of the footer: its typeface and size, where its baseline starts, the room it has."""

    font: str
    size: float
    baseline: Point
    """Start of the baseline (the pen's position before the first character)."""
    rect: Rect
    """The room the line is printed in: from the baseline's start to the page code's left edge,
    from the font's ascent above the baseline to its descent below."""

    def to_json(self) -> dict[str, Any]:
        return {
            "font": self.font,
            "size": round(self.size, 3),
            "baseline": [round(v, 3) for v in self.baseline],
            "rect": [round(v, 3) for v in self.rect],
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FooterLine:
        x, y = (float(v) for v in doc["baseline"])
        x0, y0, x1, y1 = (float(v) for v in doc["rect"])
        return cls(str(doc["font"]), float(doc["size"]), (x, y), (x0, y0, x1, y1))


@dataclass(frozen=True)
class Footer:
    """The two lines at the foot of every page: the page number, and under it the sheet id."""

    page_number: FooterLine
    sheet_id: FooterLine

    @property
    def band(self) -> Rect:
        """The room both lines are printed in."""
        a, b = self.page_number.rect, self.sheet_id.rect
        return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))

    def to_json(self) -> dict[str, Any]:
        return {"page_number": self.page_number.to_json(), "sheet_id": self.sheet_id.to_json()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Footer:
        return cls(FooterLine.from_json(doc["page_number"]), FooterLine.from_json(doc["sheet_id"]))


def default_footer_band(page_code: Rect) -> Rect:
    """Where the footer is, for a layout file that does not record it: left of the page code, level
    with it (reaching :data:`DEFAULT_FOOTER_BELOW_CODE` lower), as the renderer has always printed it."""
    x0, y0, _, y1 = page_code
    return (0.0, y0, x0, y1 + DEFAULT_FOOTER_BELOW_CODE)


@dataclass(frozen=True)
class Frame:
    """The furniture of every page of one printed variant, where the layout file records it."""

    width: float
    height: float
    fiducials: tuple[Point, Point, Point, Point]
    """Centres of the registration marks: top-left, top-right, bottom-left, bottom-right."""
    fiducial_diameter: float
    page_code: Rect
    footer: Footer


def a4_frame(
    *, code_modules: int, footer_size: float, ascent: float, descent: float, leading: float
) -> Frame:
    """The frame of an A4 portrait page whose footer is printed at ``footer_size`` points.

    ``code_modules`` is the width of the page code in modules, quiet zone
    included; ``ascent``, ``descent`` and ``leading`` are fractions of the
    font size (from the renderer's font and the variant's line height).
    """
    w, h = A4
    i = FIDUCIAL_INSET
    fiducials = ((i, i), (w - i, i), (i, h - i), (w - i, h - i))
    code_x1 = w - MARGIN_X
    code_y1 = h - PAGE_CODE_BOTTOM
    side = max(PAGE_CODE_SIZE, code_modules * PAGE_CODE_MODULE)
    page_code = (code_x1 - side, code_y1 - side, code_x1, code_y1)
    # Two footer lines whose descenders end FOOTER_ABOVE_CODE_BOTTOM above the page code's bottom edge.
    sheet_baseline = code_y1 - FOOTER_ABOVE_CODE_BOTTOM - descent * footer_size
    page_baseline = sheet_baseline - leading * footer_size

    def line(font: str, baseline: float) -> FooterLine:
        room = (MARGIN_X, baseline - ascent * footer_size, page_code[0], baseline + descent * footer_size)
        return FooterLine(font, footer_size, (MARGIN_X, baseline), room)

    footer = Footer(line(PAGE_NUMBER_FONT, page_baseline), line(SHEET_ID_FONT, sheet_baseline))
    return Frame(w, h, fiducials, FIDUCIAL_DIAMETER, page_code, footer)
