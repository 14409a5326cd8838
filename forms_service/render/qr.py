"""Page codes as QR symbols drawn as vector rectangles (segno encodes, ReportLab draws).

One QR version is chosen for a whole print run (the smallest that holds the
longest page code of the run at error correction level M), so every page code
of a variant has the same module size. The symbol fills the layout's
``page_code`` square, whose border holds a quiet zone of four modules.

Encoding a QR is the costly step of printing many copies; the data-mask choice
(most of segno's time) is made once per page number and reused for later copies.

Must never: draw anything but the symbol, or encode anything but a page code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import segno
from reportlab.pdfgen.canvas import Canvas

from ..layout import Rect
from .geometry import Flip

QUIET_ZONE = 4
"""Light modules around the symbol (ISO/IEC 18004 asks for four)."""
ERROR_LEVEL = "m"

Matrix = Sequence[Sequence[int]]

SAMPLE_SHEET_ID = "AAAA-AAAA-AAA"
"""Every sheet id has this length: used to size the symbol before the ids are known."""
SAMPLE_PAGE = 999
"""Page numbers are assumed to have at most three digits when sizing the symbol."""


def qr_version(texts: Iterable[str]) -> int:
    """The smallest QR version that holds every one of ``texts`` at level M."""
    return max(int(segno.make(t, error=ERROR_LEVEL, micro=False).version) for t in texts)


def modules_with_quiet_zone(version: int) -> int:
    """Width of a symbol of ``version`` in modules, quiet zone included."""
    return 17 + 4 * version + 2 * QUIET_ZONE


class QrEncoder:
    """Encodes page codes at one fixed version, remembering the data mask chosen for each page."""

    def __init__(self, version: int) -> None:
        self.version = version
        self._masks: dict[int, int] = {}

    def matrix(self, text: str, page: int) -> Matrix:
        mask = self._masks.get(page)
        qr = segno.make(
            text, error=ERROR_LEVEL, version=self.version, micro=False, boost_error=True, mask=mask
        )
        if mask is None:
            self._masks[page] = int(qr.mask)
        matrix: Matrix = qr.matrix
        return matrix


def draw_qr(canvas: Canvas, flip: Flip, rect: Rect, matrix: Matrix) -> None:
    """Fill ``rect`` (quiet zone included) with the symbol: one rectangle per run of dark modules.

    The rectangles are written as PDF operators in module units (small integers) under a
    scaling transform, which keeps each page's stream short and quick to write.
    """
    n = len(matrix)
    x, y, w, _h = flip.rect(rect)
    module = w / (n + 2 * QUIET_ZONE)
    ops: list[str] = []
    for r, row in enumerate(matrix):
        ry = n - 1 - r
        start = -1
        for c, dark in enumerate(row):
            if dark and start < 0:
                start = c
            elif not dark and start >= 0:
                ops.append(f"{start} {ry} {c - start} 1 re")
                start = -1
        if start >= 0:
            ops.append(f"{start} {ry} {n - start} 1 re")
    canvas.saveState()
    canvas.translate(x + QUIET_ZONE * module, y + QUIET_ZONE * module)
    canvas.scale(module, module)
    canvas.addLiteral("\n".join(ops) + "\nf")
    canvas.restoreState()
