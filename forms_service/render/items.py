"""The display list: every mark the renderer puts on a page, positioned once, in layout coordinates.

The composer produces these items; the drawer (:mod:`.draw`) turns each into
PDF operators, and the layout file is read off the :class:`MarkBox` and
:class:`WritingArea` items. Because both come from the same objects, the layout
can never disagree with the drawing.

Coordinates are PDF points, origin top-left, y down. A rectangle is the OUTER
edge of what is printed (a border's full stroke lies inside it).

Must never: draw, do I/O, or hold anything about a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Union

from ..layout import Rect


def _down(rect: Rect, dy: float) -> Rect:
    x0, y0, x1, y1 = rect
    return (x0, y0 + dy, x1, y1 + dy)


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    """Baseline."""
    text: str
    font: str
    size: float

    def moved(self, dy: float) -> Text:
        return replace(self, y=self.y + dy)


@dataclass(frozen=True, slots=True)
class Line:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    gray: float = 0.0
    dash: tuple[float, float] | None = None  # (on, off) lengths: a cut line

    def moved(self, dy: float) -> Line:
        return replace(self, y0=self.y0 + dy, y1=self.y1 + dy)


@dataclass(frozen=True, slots=True)
class Frame:
    """A plain rectangle: an outline of ``width``, or (``filled``) a solid black area."""

    rect: Rect
    width: float
    filled: bool = False

    def moved(self, dy: float) -> Frame:
        return replace(self, rect=_down(self.rect, dy))


@dataclass(frozen=True, slots=True)
class Disc:
    """A solid black registration mark."""

    cx: float
    cy: float
    r: float

    def moved(self, dy: float) -> Disc:
        return replace(self, cy=self.cy + dy)


@dataclass(frozen=True, slots=True)
class Picture:
    """A pictogram drawn to fill the square ``rect``."""

    name: str
    rect: Rect

    def moved(self, dy: float) -> Picture:
        return replace(self, rect=_down(self.rect, dy))


@dataclass(frozen=True, slots=True)
class Tick:
    """A tick drawn inside ``rect`` (the key's example of a marked box)."""

    rect: Rect
    width: float

    def moved(self, dy: float) -> Tick:
        return replace(self, rect=_down(self.rect, dy))


@dataclass(frozen=True, slots=True)
class MarkBox:
    """A tick box that is a field of the layout (single or multiple choice)."""

    rect: Rect
    field: str
    kind: str
    value: str
    width: float

    def moved(self, dy: float) -> MarkBox:
        return replace(self, rect=_down(self.rect, dy))


@dataclass(frozen=True, slots=True)
class WritingArea:
    """A bordered writing area with ruled lines: one part of a text field."""

    rect: Rect
    field: str
    part: int
    spacing: float
    width: float

    def moved(self, dy: float) -> WritingArea:
        return replace(self, rect=_down(self.rect, dy))


Item = Union[Text, Line, Frame, Disc, Picture, Tick, MarkBox, WritingArea]  # noqa: UP007
