"""Pagination: stacks composed chunks down the content area of as many pages as they need.

A :class:`Chunk` is a piece of the form that is never cut (a question, a
heading, a paragraph), laid out with its top at y = 0. The paginator moves each
chunk down to its place on a page. A chunk may ask to stay with the next one
(a heading with its first question), and a chunk taller than a page may know
how to split itself (a long writing area continuing as part 2); a chunk that
can do neither and does not fit on an empty page is a :class:`RenderError`
naming what does not fit.

Must never: change a chunk's internal geometry (it only moves chunks down).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..errors import RenderError
from .geometry import MM
from .items import Item

EPSILON = 0.01


@dataclass
class Chunk:
    height: float
    items: list[Item]
    space_before: float = 0.0
    keep_with_next: bool = False
    new_page: bool = False
    what: str = "a block of text"
    """How an error message names this chunk ("question 'q_values'")."""
    min_height: float | None = None
    """The least of it that may start a page (a splittable chunk's first part); default: all of it."""
    split: Callable[[float], tuple[Chunk, Chunk] | None] | None = None
    """Given the height available, the part that fits and the rest; None if it cannot split there."""

    @property
    def least(self) -> float:
        return self.height if self.min_height is None else self.min_height


@dataclass
class PageContent:
    items: list[Item] = field(default_factory=list)
    bottom: float = 0.0
    """The lowest y reached by content on this page."""


def paginate(
    chunks: Sequence[Chunk], top: float, bottom: float, variant: str
) -> list[PageContent]:
    """Place chunks on pages between ``top`` and ``bottom`` (layout y coordinates)."""
    full = bottom - top
    pages = [PageContent(bottom=top)]
    y = top
    empty = True
    queue = deque(chunks)

    def place(chunk: Chunk, at: float) -> None:
        nonlocal y, empty
        page = pages[-1]
        page.items.extend(item.moved(at) for item in chunk.items)
        y = at + chunk.height
        page.bottom = y
        empty = False

    def new_page() -> None:
        nonlocal y, empty
        pages.append(PageContent(bottom=top))
        y = top
        empty = True

    while queue:
        chunk = queue.popleft()
        if chunk.new_page and not empty:
            new_page()
        gap = 0.0 if empty else chunk.space_before
        need = _with_followers(chunk, queue, full)
        if y + gap + need <= bottom + EPSILON:
            place(chunk, y + gap)
            continue
        if not empty and need <= full + EPSILON:
            new_page()
            queue.appendleft(chunk)
            continue
        if chunk.height <= full + EPSILON and (empty or chunk.split is None):
            if not empty:
                new_page()
            place(chunk, y)
            continue
        if chunk.split is not None:
            if not empty and bottom - y < full / 2:
                # Too tall for any page: start it on a fresh page rather than in a corner.
                new_page()
                queue.appendleft(chunk)
                continue
            parts = chunk.split(bottom - y - gap)
            if parts is not None:
                first, rest = parts
                place(first, y + gap)
                queue.appendleft(rest)
                continue
            if not empty:
                new_page()
                queue.appendleft(chunk)
                continue
        raise RenderError(
            f"The {chunk.what} does not fit on one {variant} page "
            f"({chunk.height / MM:.0f} mm tall, {full / MM:.0f} mm available): "
            f"shorten its wording, its options or its writing lines."
        )
    return pages


def _with_followers(chunk: Chunk, queue: deque[Chunk], full: float) -> float:
    """The height this chunk needs: its own, plus each chunk it must stay with (only the
    first part of a follower taller than a page, which will be split anyway)."""
    need = chunk.height
    current = chunk
    for follower in queue:
        if not current.keep_with_next:
            break
        whole = follower.keep_with_next or follower.height <= full + EPSILON
        need += follower.space_before + (follower.height if whole else follower.least)
        current = follower
    return need
