"""Fonts and line breaking: Atkinson Hyperlegible, embedded, and a word wrapper that mixes weights.

The two faces (regular and bold; no italic is ever registered) are registered
with ReportLab as TrueType fonts, so every PDF embeds the subset it uses; their
names and files come from :mod:`forms_service.layout.frame`, so the scan
reader matches the footer against the very files printed with. The
wrapper measures words with the same metrics ReportLab draws with, so a line
that the composer says fits, fits.

Must never: register or use an italic or oblique face, or a font it does not embed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from ..layout.frame import FONT_FILES, REGULAR, font_file
from .items import Text

Run = tuple[str, str]
"""A piece of text and the font it is set in."""
Align = Literal["left", "center"]


@dataclass(frozen=True)
class Metrics:
    ascent: float
    """Height above the baseline, as a fraction of the font size."""
    descent: float
    """Depth below the baseline (positive), as a fraction of the font size."""
    cap_height: float


@lru_cache(maxsize=1)
def ensure_fonts() -> Metrics:
    """Register the fonts once per process and return their vertical metrics."""
    registered = set(pdfmetrics.getRegisteredFontNames())
    for name in FONT_FILES:
        if name not in registered:
            pdfmetrics.registerFont(TTFont(name, str(font_file(name))))
    face = pdfmetrics.getFont(REGULAR).face
    return Metrics(
        ascent=face.ascent / 1000.0,
        descent=-face.descent / 1000.0,
        cap_height=getattr(face, "capHeight", 700) / 1000.0,
    )


def width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


@dataclass(frozen=True)
class Segment:
    dx: float
    text: str
    font: str


@dataclass(frozen=True)
class WrappedLine:
    segments: tuple[Segment, ...]
    width: float


def wrap(runs: Sequence[Run], size: float, max_width: float) -> list[WrappedLine]:
    """Break runs of text into lines no wider than ``max_width`` (a word longer than that is cut)."""
    words: list[tuple[str, str]] = []
    for text, font in runs:
        words.extend((w, font) for w in text.split())
    lines: list[WrappedLine] = []
    current: list[tuple[float, str, str]] = []
    x = 0.0
    for word, font in words:
        for piece in _pieces(word, font, size, max_width):
            w = width(piece, font, size)
            space = width(" ", font, size) if current else 0.0
            if current and x + space + w > max_width + 0.01:
                lines.append(_merge(current, x))
                current, x, space = [], 0.0, 0.0
            current.append((x + space, piece, font))
            x += space + w
    if current:
        lines.append(_merge(current, x))
    return lines


def _pieces(word: str, font: str, size: float, max_width: float) -> list[str]:
    if width(word, font, size) <= max_width:
        return [word]
    pieces: list[str] = []
    start = 0
    for end in range(1, len(word) + 1):
        if width(word[start:end], font, size) > max_width and end - 1 > start:
            pieces.append(word[start : end - 1])
            start = end - 1
    pieces.append(word[start:])
    return pieces


def _merge(words: list[tuple[float, str, str]], line_width: float) -> WrappedLine:
    segments: list[Segment] = []
    for dx, word, font in words:
        if segments and segments[-1].font == font:
            last = segments[-1]
            segments[-1] = Segment(last.dx, f"{last.text} {word}", font)
        else:
            segments.append(Segment(dx, word, font))
    return WrappedLine(tuple(segments), line_width)


@dataclass(frozen=True)
class TextBlock:
    """Wrapped text with its line height: knows its own height and draws itself as Text items."""

    lines: list[WrappedLine]
    size: float
    leading: float
    """Line height in points."""
    box_width: float
    align: Align = "left"

    @property
    def height(self) -> float:
        return len(self.lines) * self.leading

    def baseline(self, index: int) -> float:
        """Baseline of line ``index`` below the top of the block."""
        m = ensure_fonts()
        inner = (m.ascent + m.descent) * self.size
        return index * self.leading + (self.leading - inner) / 2 + m.ascent * self.size

    def cap_middle(self) -> float:
        """Height of the middle of the capital letters of the first line, below the block top."""
        return self.baseline(0) - ensure_fonts().cap_height * self.size / 2

    def items(self, x: float, top: float) -> list[Text]:
        out: list[Text] = []
        for i, line in enumerate(self.lines):
            shift = (self.box_width - line.width) / 2 if self.align == "center" else 0.0
            y = top + self.baseline(i)
            for seg in line.segments:
                out.append(Text(x + shift + seg.dx, y, seg.text, seg.font, self.size))
        return out


def block(
    runs: Sequence[Run] | str,
    size: float,
    leading: float,
    box_width: float,
    *,
    font: str = REGULAR,
    align: Align = "left",
) -> TextBlock:
    """Wrap text (a string in one font, or runs of mixed weight) into a TextBlock."""
    ensure_fonts()
    if isinstance(runs, str):
        runs = [(runs, font)]
    return TextBlock(wrap(runs, size, box_width), size, size * leading, box_width, align)
