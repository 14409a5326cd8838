"""Drawing the display list with ReportLab: each item becomes PDF operators, nothing is re-measured.

Rectangles are outer edges: a border of width w is stroked along a path inset
by w/2, so the printed ink ends exactly at the rectangle the layout records.

Must never: compute a position of its own (every number comes from the items),
or convert coordinates other than through :class:`.geometry.Flip`.
"""

from __future__ import annotations

from collections.abc import Iterable

from reportlab.pdfgen.canvas import Canvas

from ..layout import Rect
from .geometry import Flip
from .items import Disc, Frame, Item, Line, MarkBox, Picture, Text, Tick, WritingArea
from .pictograms import draw_pictogram

WRITING_RULE_WIDTH = 0.6
WRITING_RULE_GRAY = 0.6


def draw_items(canvas: Canvas, flip: Flip, items: Iterable[Item]) -> None:
    for item in items:
        if isinstance(item, Text):
            canvas.setFont(item.font, item.size)
            canvas.drawString(item.x, flip.y(item.y), item.text)
        elif isinstance(item, MarkBox):
            _outline(canvas, flip, item.rect, item.width)
        elif isinstance(item, Frame):
            if item.filled:
                x, y, w, h = flip.rect(item.rect)
                canvas.rect(x, y, w, h, stroke=0, fill=1)
            else:
                _outline(canvas, flip, item.rect, item.width)
        elif isinstance(item, WritingArea):
            _writing_area(canvas, flip, item)
        elif isinstance(item, Line):
            canvas.setLineWidth(item.width)
            canvas.setStrokeGray(item.gray)
            if item.dash:
                canvas.setDash(*item.dash)
            canvas.line(item.x0, flip.y(item.y0), item.x1, flip.y(item.y1))
            if item.dash:
                canvas.setDash()
            canvas.setStrokeGray(0)
        elif isinstance(item, Disc):
            canvas.circle(item.cx, flip.y(item.cy), item.r, stroke=0, fill=1)
        elif isinstance(item, Picture):
            x, y, w, _h = flip.rect(item.rect)
            draw_pictogram(canvas, item.name, x, y, w)
        elif isinstance(item, Tick):
            _tick(canvas, flip, item)


def _outline(canvas: Canvas, flip: Flip, rect: Rect, width: float) -> None:
    x, y, w, h = flip.rect(rect)
    half = width / 2
    canvas.setLineWidth(width)
    canvas.rect(x + half, y + half, w - width, h - width, stroke=1, fill=0)


def _writing_area(canvas: Canvas, flip: Flip, area: WritingArea) -> None:
    x0, y0, x1, y1 = area.rect
    lines = round((y1 - y0) / area.spacing)
    inset = area.width + 2.0
    canvas.setLineWidth(WRITING_RULE_WIDTH)
    canvas.setStrokeGray(WRITING_RULE_GRAY)
    for k in range(1, lines):
        y = flip.y(y0 + k * area.spacing)
        canvas.line(x0 + inset, y, x1 - inset, y)
    canvas.setStrokeGray(0)
    _outline(canvas, flip, area.rect, area.width)


def _tick(canvas: Canvas, flip: Flip, tick: Tick) -> None:
    x0, y0, x1, y1 = tick.rect
    w, h = x1 - x0, y1 - y0
    points = [(0.22, 0.52), (0.42, 0.74), (0.80, 0.26)]
    path = canvas.beginPath()
    for i, (fx, fy) in enumerate(points):
        px, py = x0 + fx * w, flip.y(y0 + fy * h)
        if i:
            path.lineTo(px, py)
        else:
            path.moveTo(px, py)
    canvas.saveState()
    canvas.setLineWidth(tick.width)
    canvas.setLineCap(1)
    canvas.setLineJoin(1)
    canvas.drawPath(path, stroke=1, fill=0)
    canvas.restoreState()
