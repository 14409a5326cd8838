"""Page geometry shared by the drawing and the layout file: units, the page frame and the one flip.

Layout coordinates are PDF points with the origin at the TOP-LEFT corner of the
page and y growing downwards (the layout file's convention). ReportLab draws
with the origin at the bottom-left. :class:`Flip` is the only place in the
renderer that converts between the two; everything else works top-left.

The page frame is the furniture every page carries in the same place: four
registration marks (solid discs, their centres are the layout ``fiducials``),
the page code (QR, bottom right, its rectangle including the quiet zone is the
layout ``page_code``), the footer (page number and sheet id, bottom left) and
the content area in between.

Must never: draw anything, or hold anything about a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.lib.pagesizes import A4

from ..layout import Point, Rect

MM = 72.0 / 25.4
"""One millimetre in PDF points."""

PAGE_WIDTH, PAGE_HEIGHT = float(A4[0]), float(A4[1])

FIDUCIAL_INSET = 15 * MM
"""Distance from each page edge to the centre of a registration mark."""
FIDUCIAL_RADIUS = 3 * MM
"""Registration marks are 6 mm discs, so their edge is 12 mm inside the page."""

PAGE_CODE_SIZE = 24 * MM
"""Side of the page code square, quiet zone included (larger if the code needs more modules)."""
PAGE_CODE_MODULE = 0.5 * MM
"""The smallest QR module: three pixels at 150 dpi, six at 300 dpi."""
PAGE_CODE_BOTTOM = 10 * MM
"""Gap between the page code square and the bottom edge of the page."""

MARGIN_X = 24 * MM
"""Left and right edges of the content (and of the footer and page code)."""
CONTENT_TOP = 22 * MM
CONTENT_GAP_ABOVE_CODE = 4 * MM


@dataclass(frozen=True)
class Flip:
    """The one conversion from layout coordinates (top-left, y down) to ReportLab's (bottom-left, y up)."""

    height: float

    def y(self, y: float) -> float:
        return self.height - y

    def rect(self, rect: Rect) -> tuple[float, float, float, float]:
        """``(x, y, width, height)`` of a layout rectangle, y measured from the page bottom."""
        x0, y0, x1, y1 = rect
        return (x0, self.height - y1, x1 - x0, y1 - y0)


@dataclass(frozen=True)
class PageFrame:
    """Where the furniture of every page goes, for one variant (the footer size differs)."""

    width: float
    height: float
    fiducials: tuple[Point, Point, Point, Point]
    fiducial_radius: float
    page_code: Rect
    content: Rect
    page_number_at: Point
    """Start of the baseline of "Page 2 of 6"."""
    sheet_id_at: Point
    """Start of the baseline of the sheet id line."""

    @property
    def content_height(self) -> float:
        return self.content[3] - self.content[1]

    @property
    def content_width(self) -> float:
        return self.content[2] - self.content[0]

    @property
    def flip(self) -> Flip:
        return Flip(self.height)


def page_frame(footer_size: float, descent: float, leading: float, code_modules: int) -> PageFrame:
    """The frame of an A4 portrait page whose footer text is ``footer_size`` points.

    ``descent`` and ``leading`` are fractions of the font size (from the font);
    ``code_modules`` is the width of the page code in modules, quiet zone included.
    """
    w, h = PAGE_WIDTH, PAGE_HEIGHT
    i = FIDUCIAL_INSET
    fiducials = ((i, i), (w - i, i), (i, h - i), (w - i, h - i))
    code_x1 = w - MARGIN_X
    code_y1 = h - PAGE_CODE_BOTTOM
    size = max(PAGE_CODE_SIZE, code_modules * PAGE_CODE_MODULE)
    page_code = (code_x1 - size, code_y1 - size, code_x1, code_y1)
    content = (MARGIN_X, CONTENT_TOP, w - MARGIN_X, page_code[1] - CONTENT_GAP_ABOVE_CODE)
    # Two footer lines whose descenders end 2 mm above the page code's bottom edge.
    sheet_baseline = code_y1 - 2 * MM - descent * footer_size
    page_baseline = sheet_baseline - leading * footer_size
    return PageFrame(
        width=w,
        height=h,
        fiducials=fiducials,
        fiducial_radius=FIDUCIAL_RADIUS,
        page_code=page_code,
        content=content,
        page_number_at=(MARGIN_X, page_baseline),
        sheet_id_at=(MARGIN_X, sheet_baseline),
    )
