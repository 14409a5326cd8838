"""The three printed variants and the typographic numbers that make each one what it is.

Every size, gap and box dimension the composer uses comes from a
:class:`VariantStyle` here, so the accessibility promises of a variant (its
smallest text, its smallest box, its writing-line spacing) are stated in one
place and the tests measure the PDF against them.

Must never: read files, draw anything, or hold anything about a respondent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import RenderError
from .geometry import MM

VARIANTS: tuple[str, ...] = ("standard", "large-print", "easy-read")

GridStyle = Literal["columns", "cells", "pictures"]


@dataclass(frozen=True)
class VariantStyle:
    variant: str
    label: str
    """Printed under the title so staff can tell the variants apart ("" for standard)."""
    min_size: float
    """The smallest text size anywhere on a page, footer included (points)."""
    body: float
    leading: float
    """Line height as a multiple of the font size."""
    question: float
    heading: float
    title: float
    footer: float
    box: float
    """Side of a tick box (points, outer edge of the printed border)."""
    box_line: float
    writing_spacing: float
    """Distance between writing lines (points)."""
    gap_option: float
    gap_paragraph: float
    gap_question: float
    gap_section: float
    number_gutter: float
    """Width of the column holding question numbers (0: questions are not numbered)."""
    grid: GridStyle
    """How a rating grid is drawn: a classic table, one block of cells per row, or faces."""
    easy_read: bool = False
    question_picture: float = 0.0
    option_picture: float = 0.0
    item_picture: float = 0.0
    face: float = 0.0
    split_writing: bool = True
    """May a writing area too tall for one page continue on the next (as part 2, 3, ...)?"""


STYLES: dict[str, VariantStyle] = {
    "standard": VariantStyle(
        variant="standard",
        label="",
        min_size=12,
        body=12,
        leading=1.35,
        question=13,
        heading=17,
        title=24,
        footer=12,
        box=6 * MM,
        box_line=1.0,
        writing_spacing=10 * MM,
        gap_option=2.5 * MM,
        gap_paragraph=3 * MM,
        gap_question=8 * MM,
        gap_section=10 * MM,
        number_gutter=9 * MM,
        grid="columns",
    ),
    "large-print": VariantStyle(
        variant="large-print",
        label="Large print",
        min_size=18,
        body=18,
        leading=1.3,
        question=20,
        heading=24,
        title=32,
        footer=18,
        box=9 * MM,
        box_line=1.5,
        writing_spacing=14 * MM,
        gap_option=3.5 * MM,
        gap_paragraph=4.5 * MM,
        gap_question=10 * MM,
        gap_section=12 * MM,
        number_gutter=13 * MM,
        grid="cells",
        split_writing=False,
    ),
    "easy-read": VariantStyle(
        variant="easy-read",
        label="Easy read",
        min_size=16,
        body=16,
        leading=1.3,
        question=18,
        heading=22,
        title=30,
        footer=16,
        box=9 * MM,
        box_line=1.5,
        writing_spacing=12 * MM,
        gap_option=3 * MM,
        gap_paragraph=3 * MM,
        gap_question=9 * MM,
        gap_section=10 * MM,
        number_gutter=0,
        grid="pictures",
        easy_read=True,
        question_picture=22 * MM,
        option_picture=12 * MM,
        item_picture=15 * MM,
        face=10 * MM,
    ),
}


def style_for(variant: str) -> VariantStyle:
    """The style of a variant, or a RenderError naming the variants there are."""
    try:
        return STYLES[variant]
    except (KeyError, TypeError):
        raise RenderError(
            f"There is no variant called {variant!r}; choose one of {', '.join(VARIANTS)}."
        ) from None
