"""Page geometry of the drawing: the one flip between coordinate systems, and the content area.

Layout coordinates are PDF points with the origin at the TOP-LEFT corner of the
page and y growing downwards (the layout file's convention). ReportLab draws
with the origin at the bottom-left. :class:`Flip` is the only place in the
renderer that converts between the two; everything else works top-left.

The furniture every page carries in the same place (registration marks, page
code, footer) is the page frame of :mod:`forms_service.layout.frame`: the
renderer draws it from those numbers and the layout file records them.
:class:`PageFrame` adds what only the drawing needs: the content area between
the top margin and the page code.

Must never: draw anything, or hold anything about a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..layout import Point, Rect
from ..layout.frame import MARGIN_X, MM, Frame, a4_frame

__all__ = ["MM", "Flip", "PageFrame", "page_frame"]

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
    """Where everything of every page goes, for one variant: the printed frame and the content area."""

    printed: Frame
    """The registration marks, page code and footer (what the layout file records)."""
    content: Rect

    @property
    def width(self) -> float:
        return self.printed.width

    @property
    def height(self) -> float:
        return self.printed.height

    @property
    def fiducials(self) -> tuple[Point, ...]:
        return self.printed.fiducials

    @property
    def page_code(self) -> Rect:
        return self.printed.page_code

    @property
    def content_height(self) -> float:
        return self.content[3] - self.content[1]

    @property
    def content_width(self) -> float:
        return self.content[2] - self.content[0]

    @property
    def flip(self) -> Flip:
        return Flip(self.height)


def page_frame(
    footer_size: float, ascent: float, descent: float, leading: float, code_modules: int
) -> PageFrame:
    """The frame of an A4 portrait page whose footer text is ``footer_size`` points.

    ``ascent``, ``descent`` and ``leading`` are fractions of the font size (from
    the font and the variant); ``code_modules`` is the width of the page code in
    modules, quiet zone included.
    """
    printed = a4_frame(
        code_modules=code_modules, footer_size=footer_size, ascent=ascent, descent=descent,
        leading=leading,
    )
    content = (MARGIN_X, CONTENT_TOP, printed.width - MARGIN_X, printed.page_code[1] - CONTENT_GAP_ABOVE_CODE)
    return PageFrame(printed, content)
