"""Identify a page whose page code cannot be read: from its registration marks and printed layout.

When the QR code in a page's corner is covered, torn, smudged or too faint,
the page still says a lot about itself. :func:`identify_page` finds out which
questionnaire, version, variant and page it is by comparing it with every
layout the service knows, and then reads the printed sheet id:

1. **Registration marks**, at each quarter turn: the page is turned by 0, 90,
   180 and 270 degrees (turns whose shape cannot hold the page are skipped)
   and :func:`~forms_service.scan.fiducials.align_page` looks for the four
   marks of each page size and mark layout among the candidates (one
   alignment serves every candidate page that shares them). Skew and a
   phone's perspective are absorbed by the alignment.
2. **Printed structure**: the aligned page is warped into layout coordinates
   at :data:`SCORE_DPI` and compared with each candidate's blank page
   rendered at the same resolution: the normalised correlation of their ink
   (lighting flattened, slightly blurred so a fraction of a millimetre of
   residual misalignment does not matter). The registration marks, the page
   code and the sheet-id line are left out of the comparison: every page has
   the first, and the other two differ from copy to copy. The best match is
   accepted only above :data:`MIN_SCORE` and with a clear margin
   (:data:`MIN_MARGIN`) over the next best explanation (another page, another
   variant or questionnaire, or the same page turned another way), so pages
   that look alike in parts are never confused: they go to a person.
3. **Footer**: the page's two footer lines, "Page 3 of 6" and "Sheet
   K7MQ-9XHT-P4R" (their places are measured on the blank page of the
   recognised layout, which carries a footer of its own, within the room
   the layout gives the footer), are cut from the upright page at 300 dpi
   and read as single lines of text by the OCR engine
   (:mod:`forms_service.ocr`). The page number must be the
   recognised one: a page of a form the service does not know that happens
   to look like a known page says another number (or is sent to a person).
   The sheet id is taken only when it has the shape of a sheet id, its check
   character validates (:func:`forms_service.sheets.normalise_sheet_id`)
   and the printed line confirms it character by character against the
   typeface the layout names for it (the OCR engine, without a dictionary of
   sheet ids, now and then reads Q as G or 5 as S; the check character
   misses some of those). Where the OCR engine reads no valid id, the font
   matcher's own reading is taken if every character is clearly told. A
   sheet id is never guessed.

The result is an :class:`Identified` (the page code, how the page is turned,
the upright image and its alignment) or an :class:`Unidentified` with one
sentence for the person who will identify the page by hand, saying what was
recognised (for example the page, when only its sheet id could not be read).

Pure code: arrays, layouts and callables in, dataclasses out. Must never:
write files, keep images, or log a sheet id or what the OCR read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from ..errors import FormsServiceError, InvalidInput
from ..layout import Layout, LayoutPage
from ..layout.frame import MM, SHEET_ID_LABEL, font_file
from ..ocr.engine import OcrEngine, TesseractEngine
from ..sheets import ALPHABET, PageCode, normalise_sheet_id
from .errors import AlignmentError
from .fiducials import Alignment, AlignmentLimits, align_page
from .pagecode import turn_image

__all__ = [
    "MIN_MARGIN",
    "MIN_SCORE",
    "SCORE_DPI",
    "Footer",
    "Identified",
    "Match",
    "Unidentified",
    "identify_page",
    "read_footer",
]

U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
Rect = tuple[float, float, float, float]
BlankLookup = Callable[[Layout, int, float], U8]
"""(layout, page number, dpi) -> the blank page in layout coordinates at that dpi."""

SCORE_DPI = 50.0
"""Resolution at which a page's printed structure is compared with the blanks."""
LINE_DPI = 150.0
"""Resolution of the blank page on which the footer's lines are located."""
SHEET_OCR_DPI = 300.0
"""Resolution of the footer's lines as read."""
MIN_SCORE = 0.6
"""Least correlation of printed structure for a page to be recognised."""
MIN_MARGIN = 0.15
"""Least lead of the best match over the next best explanation of the page."""
EDGE_MM = 6.0
"""A band this wide along the page's edges is left out (scanner borders, shadows)."""
MARK_MASK_MM = 7.0
"""Radius around each registration mark's centre left out of the comparison."""
WRITING_INSET_PT = 3.0
"""Writing areas are left out of the comparison, all but this much inside their border."""
MIN_SHEET_CONFIDENCE = 0.3
"""Least OCR confidence (0..1) of the words that make up a sheet id."""
FOOTER_MARGIN_PT = 2.0
"""The footer's lines are looked for this much beyond the room the layout gives them."""

_ROTATIONS = (0, 180, 90, 270)
_PAGE_PATTERN = re.compile(r"P\s*a\s*g\s*e\s*([0-9OoIl|]{1,3})\s*o\s*f\s*([0-9OoIl|]{1,3})(?![0-9])",
                           re.IGNORECASE)
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
_DASH = r"\s*[-\u2010-\u2015~=]\s*"
_SHEET_PATTERN = re.compile(rf"([0-9A-Z]{{4}}){_DASH}([0-9A-Z]{{4}}){_DASH}([0-9A-Z]{{3}})(?![0-9A-Z])")


@dataclass(frozen=True)
class Match:
    """How well the page matches one candidate page at one quarter turn."""

    layout: Layout
    page: int
    rotation: int  # clockwise turn of the page in the image
    score: float  # correlation of printed structure, -1 .. 1

    @property
    def name(self) -> str:
        """The page in words, for a person: page 3 of the standard abc form (version 2026-11)."""
        lay = self.layout
        return f"page {self.page} of the {lay.variant} {lay.questionnaire} form (version {lay.version})"


@dataclass(frozen=True, eq=False)
class Identified:
    """A page recognised from its printed layout, with the sheet id read from its footer."""

    page_code: PageCode
    layout: Layout
    rotation: int  # 0, 90, 180 or 270: how far the page is turned clockwise in the image
    upright: U8  # the image turned upright
    alignment: Alignment  # layout points -> pixels of ``upright``
    match: Match  # the page recognised
    runner_up: Match | None  # the next best explanation of the page


@dataclass(frozen=True, eq=False)
class Unidentified:
    """A page that could not be identified (or whose sheet id could not be read), and why.

    ``reason`` is a clause for the person who identifies the page by hand,
    meant to follow "No page code could be read on this page, and" (or, when
    ``match`` is set, "No page code could be read on this page;").
    """

    reason: str
    match: Match | None = None  # the page recognised, when only its sheet id could not be read
    scores: list[Match] = field(default_factory=list)  # every comparison, best first


def identify_page(
    image: U8,
    candidates: Sequence[Layout],
    blanks: BlankLookup,
    *,
    dpi: float | None = None,
    ocr: OcrEngine | None = None,
) -> Identified | Unidentified:
    """Which page of which known layout ``image`` shows, and its sheet id; or why not.

    ``image`` is the page as scanned (grey, any quarter turn, some skew or
    perspective); ``candidates`` are all layouts the service knows; ``dpi``
    is the scan's resolution when known (a scanner's), None for a photo.
    ``ocr`` reads the sheet-id line (default: tesseract, one line of text).
    """
    if image.ndim != 2:
        raise ValueError("identify_page needs a greyscale image (H x W)")
    pages = [(layout, page) for layout in candidates for page in layout.pages]
    if not pages:
        return Unidentified("this service knows no form layouts to recognise it by")
    aligned = _align_all(image, [p for _, p in pages], dpi)
    if not aligned:
        return Unidentified(
            "it could not be recognised from its printed layout either, as its registration "
            "marks (the black discs in its corners) were not found"
        )
    references: dict[tuple[int, int], _Reference | None] = {}
    matches: list[Match] = []
    for (rotation, frame), (upright, alignment) in aligned.items():
        scan = _structure(alignment.warp(upright, SCORE_DPI)).ravel()
        squares = scan * scan
        for layout, page in pages:
            if _frame(page) != frame:
                continue
            key = (id(layout), page.page)
            if key not in references:
                references[key] = _reference(blanks, layout, page)
            ref = references[key]
            if ref is not None and ref.vector.shape == scan.shape:
                matches.append(Match(layout, page.page, rotation, ref.correlation(scan, squares)))
    matches.sort(key=lambda m: -m.score)
    if not matches:
        return Unidentified("no blank form could be made to compare it with")
    best = matches[0]
    # the same page of another version of the same form, printed alike, is no rival: the sheet's
    # print run tells the version (services.reading)
    runner_up = next((m for m in matches[1:] if not twins(best, m)), None)
    if best.score < MIN_SCORE:
        return Unidentified("its printed layout matches none of the forms this service knows",
                            scores=matches)
    if runner_up is not None and best.score - runner_up.score < MIN_MARGIN:
        return Unidentified(
            f"it looks like {_named(best)}, but also much like {_named(runner_up)}, "
            "so it could not be recognised for sure",
            scores=matches,
        )
    # the footer says which of the twins it is ("page 2 of 6" is the version with six pages): the
    # best-scoring one first, then the others, whose scores differ by noise alone
    first = None
    for candidate in [best, *(m for m in matches[1:] if twins(best, m))]:
        layout_page = candidate.layout.page(candidate.page)
        upright, alignment = aligned[(candidate.rotation, _frame(layout_page))]
        blank = _blank(blanks, candidate.layout, candidate.page, LINE_DPI)
        expected = (candidate.page, len(candidate.layout.pages))
        footer = (read_footer(upright, alignment, layout_page, blank, expected, ocr=ocr)
                  if blank is not None else None)
        if first is None:
            first = (candidate, upright, alignment, footer)
        if footer is None or footer.confirmed:
            break
    else:  # no twin's page count agrees: what the best one's footer says
        assert first is not None
        candidate, upright, alignment, footer = first
    best, lay = candidate, candidate.layout
    if footer is None or footer.page_number is None:
        return Unidentified(
            f"the page looks like {_named(best)}, but its page number could not be read "
            "to confirm it",
            match=best, scores=matches,
        )
    if not footer.confirmed:
        said, of = footer.page_number
        return Unidentified(
            f"it looks much like {_named(best)}, but its footer says page {said} of {of}, "
            "so it may be a page of a form this service does not know",
            scores=matches,
        )
    if footer.sheet is None:
        return Unidentified(
            f"the page looks like {_named(best)}, but its sheet id could not be read",
            match=best, scores=matches,
        )
    code = PageCode(lay.questionnaire, lay.version, lay.variant, best.page, footer.sheet)
    return Identified(code, lay, best.rotation, upright, alignment, best, runner_up)


def twins(a: Match, b: Match) -> bool:
    """The same page, turned alike, of two versions of one form whose fields are printed alike."""
    return ((a.layout.questionnaire, a.layout.variant, a.page, a.rotation)
            == (b.layout.questionnaire, b.layout.variant, b.page, b.rotation)
            and a.layout.page(a.page).fields == b.layout.page(b.page).fields)


def _named(match: Match) -> str:
    turned = f" (turned {match.rotation} degrees clockwise)" if match.rotation else ""
    return match.name + turned


# --------------------------------------------------------------------------- alignment

_Frame = tuple[float, float, tuple[tuple[float, float], ...], float]


def _frame(page: LayoutPage) -> _Frame:
    """What alignment depends on: page size and registration marks (rounded to 0.1 pt)."""
    return (round(page.width, 1), round(page.height, 1),
            tuple((round(x, 1), round(y, 1)) for x, y in page.fiducials),
            round(page.fiducial_diameter, 1))


def _align_all(
    image: U8, pages: Sequence[LayoutPage], dpi: float | None
) -> dict[tuple[int, _Frame], tuple[U8, Alignment]]:
    """Every (quarter turn, frame) at which the page's registration marks line up."""
    frames: dict[_Frame, LayoutPage] = {}
    for page in pages:
        frames.setdefault(_frame(page), page)
    out: dict[tuple[int, _Frame], tuple[U8, Alignment]] = {}
    for rotation in _ROTATIONS:
        upright = turn_image(image, rotation)
        h, w = upright.shape
        for frame, page in frames.items():
            if not _plausible_shape(w, h, page.width, page.height, dpi):
                continue
            try:
                alignment = align_page(upright, (page.width, page.height), page.fiducials, dpi=dpi,
                                       limits=AlignmentLimits(mark_size_pt=page.fiducial_diameter))
            except AlignmentError:
                continue
            out[(rotation, frame)] = (upright, alignment)
    return out


def _plausible_shape(w: int, h: int, page_w: float, page_h: float, dpi: float | None) -> bool:
    """Could an image this shape (turned this way) show the page? Skips hopeless quarter turns."""
    image_ratio, page_ratio = h / max(w, 1), page_h / page_w
    if abs(math.log(image_ratio)) > 0.15 and abs(math.log(page_ratio)) > 0.15 and (
        (image_ratio > 1) != (page_ratio > 1)
    ):
        return False  # a portrait image of a landscape page, or the other way round
    if dpi is not None:
        k = dpi / 72.0
        if w < 0.75 * page_w * k or h < 0.75 * page_h * k:
            return False  # a scanner's image holds (nearly) the whole page
    return True


# --------------------------------------------------------------------------- structure


def _blank(blanks: BlankLookup, layout: Layout, page: int, dpi: float) -> U8 | None:
    try:
        return blanks(layout, page, dpi)
    except (FormsServiceError, OSError, KeyError, ValueError):
        return None  # this candidate cannot be compared: the others still can


@dataclass(frozen=True, eq=False)
class _Reference:
    """A candidate page's printed structure, ready to be correlated with scans."""

    mask: F32  # 1 where the comparison looks, 0 elsewhere (raveled)
    vector: F32  # the blank's structure less its mean over the mask, times the mask (raveled)
    norm: float  # its length
    count: float  # pixels under the mask

    def correlation(self, scan: F32, squares: F32) -> float:
        """Normalised correlation with a scan's structure over the mask (``squares`` = scan ** 2)."""
        total = float(np.dot(scan, self.mask))
        spread = float(np.dot(squares, self.mask)) - total * total / self.count
        if spread <= 1e-9 or self.norm <= 1e-9:
            return -1.0
        return float(np.dot(scan, self.vector)) / (math.sqrt(spread) * self.norm)


def _reference(blanks: BlankLookup, layout: Layout, page: LayoutPage) -> _Reference | None:
    blank = _blank(blanks, layout, page.page, SCORE_DPI)
    if blank is None:
        return None
    mask = _mask(page, blank).ravel().astype(np.float32)
    count = float(mask.sum())
    if count < 100:
        return None
    structure = _structure(blank).ravel()
    mean = float(np.dot(structure, mask)) / count
    vector = ((structure - mean) * mask).astype(np.float32)
    return _Reference(mask, vector, float(np.linalg.norm(vector)), count)


def _ink(grey: U8, scale: float) -> F32:
    """Darkness against the local paper white, 0 (paper) .. about 1 (solid black)."""
    g = grey.astype(np.float32)
    size = max(3, int(round(4 * MM * scale)) | 1)
    paper = cv2.dilate(g, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    paper = cv2.GaussianBlur(paper, (0, 0), size / 2)
    dark = np.clip(1.0 - g / np.maximum(paper, 1.0), 0.0, 1.0)
    return np.asarray(dark, dtype=np.float32)


def _structure(warped: U8) -> F32:
    """The printed structure of a page in layout coordinates at SCORE_DPI: its ink, slightly blurred."""
    ink = _ink(warped, SCORE_DPI / 72.0)
    return np.asarray(cv2.GaussianBlur(ink, (0, 0), 0.8), dtype=np.float32)


def _mask(page: LayoutPage, blank: U8) -> NDArray[np.uint8]:
    """Where the comparison looks: the page less its edges, marks, page code and sheet-id line."""
    h, w = blank.shape
    k = w / page.width
    mask = np.zeros((h, w), dtype=np.uint8)
    e = int(round(EDGE_MM * MM * k))
    mask[e : h - e, e : w - e] = 1
    r = int(round(MARK_MASK_MM * MM * k))
    for x, y in page.fiducials:
        cv2.circle(mask, (int(round(x * k)), int(round(y * k))), r, 0, -1)
    for f in page.fields:  # where people write: their writing is not the form's structure
        if f.rect is not None:
            x0, y0, x1, y1 = f.rect
            _clear(mask, (x0 + WRITING_INSET_PT, y0 + WRITING_INSET_PT,
                          x1 - WRITING_INSET_PT, y1 - WRITING_INSET_PT), k)
    g = 3 * MM
    cx0, cy0, cx1, cy1 = page.page_code
    _clear(mask, (cx0 - g, cy0 - g, cx1 + g, cy1 + g), k)
    lines = _footer_lines(blank, page)
    # the sheet id differs from copy to copy: leave it out (or, if not found, the whole footer)
    line = lines[0] if lines else page.footer_band()
    x0, y0, x1, y1 = line
    _clear(mask, (x0 - g, y0 - 1.5, x1 + 0.25 * (x1 - x0) + g, y1 + g), k)
    return mask


def _clear(mask: NDArray[np.uint8], rect: Rect, k: float) -> None:
    x0, y0, x1, y1 = rect
    mask[max(0, int(y0 * k)) : max(0, int(math.ceil(y1 * k))),
         max(0, int(x0 * k)) : max(0, int(math.ceil(x1 * k)))] = 0


# --------------------------------------------------------------------------- footer


@dataclass(frozen=True)
class Footer:
    """What the footer of a page says, as far as it was read: "Page 3 of 6", "Sheet K7MQ-9XHT-P4R"."""

    page_number: tuple[int, int] | None  # (page, pages) as read; None when unreadable
    confirmed: bool  # the page number read is the one expected
    sheet: str | None  # the sheet id, only when read for sure (valid, confirmed in print)


def read_footer(
    upright: U8,
    alignment: Alignment,
    layout_page: LayoutPage,
    blank: U8,
    expected: tuple[int, int],
    *,
    ocr: OcrEngine | None = None,
) -> Footer:
    """Read the page-number and sheet-id lines of an upright, aligned page.

    ``blank`` is the blank page of the same layout page (any resolution, in
    layout coordinates): the lines are where its own footer lines are.
    ``expected`` is the page number the footer should give: (page, pages).
    """
    lines = _footer_lines(blank, layout_page)
    engine = ocr or _line_engine()
    number: tuple[int, int] | None = None
    confirmed = False
    if len(lines) >= 2:
        clean, flat = _clean_line(_line_crop(upright, alignment, layout_page, lines[1]))
        for words in _ocr(engine, (clean, flat)):
            read = _parse_page_number(words, expected)
            if read is not None:
                number = read
                confirmed = read == expected
                if confirmed:
                    break
    sheet = None
    if lines and confirmed:
        clean, flat = _clean_line(_line_crop(upright, alignment, layout_page, lines[0]))
        sheet = _read_sheet_id(clean, flat, engine, font_file(layout_page.sheet_id_font))
    return Footer(number, confirmed, sheet)


def _read_sheet_id(clean: U8, flat: U8, engine: OcrEngine, font: Path | None) -> str | None:
    """The sheet id on a cleaned line, only when the print confirms it.

    Two readers: the OCR engine (the cleaned and then the grey view, until a
    sheet id with a valid check character comes out) and the font matcher
    (:func:`_read_by_font`). The OCR engine's reading is taken only when the
    font matcher confirms it (no character of it is clearly another one in
    print, and most are told well); without one, the font matcher's own reading is taken when every
    character is clearly told and the check character validates. ``font`` is
    the file of the typeface the layout names for the line (None: not one
    this service knows, so no reading is confirmed).
    """
    if font is None:
        return None
    for words in _ocr(engine, (clean, flat)):
        by_ocr = _parse_sheet_id(words)
        if by_ocr is not None:
            check = _read_by_font(clean, font, by_ocr.replace("-", ""))
            return by_ocr if check is not None and check.confirms(check.chars) else None
    reading = _read_by_font(clean, font)
    chars = reading.confident if reading is not None else None
    if chars is None:
        return None
    try:
        return normalise_sheet_id(chars)
    except InvalidInput:
        return None


def _line_crop(upright: U8, alignment: Alignment, page: LayoutPage, line: Rect) -> U8:
    """One footer line of the page at SHEET_OCR_DPI, with room for a longer or shifted line."""
    x0, y0, x1, y1 = line
    rect = (max(0.0, x0 - 4.0), max(0.0, y0 - 2.5),
            min(page.page_code[0] - 1.0, x1 + 0.2 * (x1 - x0) + 6.0), min(page.height, y1 + 2.5))
    return alignment.warp(upright, SHEET_OCR_DPI, rect=rect)


def _ocr(engine: OcrEngine, views: Sequence[U8]) -> Iterator[list[tuple[str, float]]]:
    """The words of a line, as read from each view of it in turn."""
    for view in views:
        try:
            result = engine.read(_with_border(view), dpi=SHEET_OCR_DPI)
        except FormsServiceError:
            return  # no OCR engine (tesseract missing or failing): a person reads the page
        yield [(w.text, w.confidence) for w in result.words]


_ENGINE: OcrEngine | None = None


def _line_engine() -> OcrEngine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = TesseractEngine(psm=7)  # one line of text
    return _ENGINE


def _footer_lines(blank: U8, page: LayoutPage) -> list[Rect]:
    """The footer's lines of text, lowest first (sheet id, then page number), in layout points.

    Measured on a blank page (it carries a footer too), within the room the
    layout gives the footer (:meth:`~forms_service.layout.LayoutPage.footer_band`)
    and no further right than the page code. The registration marks are left out.
    """
    h, w = blank.shape
    k = w / page.width
    m = FOOTER_MARGIN_PT
    bx0, by0, bx1, by1 = page.footer_band()
    x1 = min(bx1 + m, page.page_code[0])
    inked = (blank < 160).astype(np.uint8)
    r = int(round(MARK_MASK_MM * MM * k))
    for fx, fy in page.fiducials:
        cv2.circle(inked, (int(round(fx * k)), int(round(fy * k))), r, 0, -1)
    ry0, ry1 = max(0, int((by0 - m) * k)), min(h, int(math.ceil((by1 + m) * k)))
    rx0 = max(0, int((bx0 - m) * k))
    footer = inked[ry0:ry1, rx0 : max(rx0 + 1, int(x1 * k) - 1)] > 0
    rows = np.flatnonzero(footer.any(axis=1))
    lines: list[Rect] = []
    if rows.size == 0:
        return lines
    breaks = np.flatnonzero(np.diff(rows) > 1)  # runs of inked rows are lines of text
    starts = [int(rows[0])] + [int(rows[b + 1]) for b in breaks]
    ends = [int(rows[b]) for b in breaks] + [int(rows[-1])]
    for start, end in zip(reversed(starts), reversed(ends), strict=True):
        cols = np.flatnonzero(footer[start : end + 1].any(axis=0))
        if cols.size:
            lines.append(((rx0 + cols[0]) / k, (ry0 + start) / k, (rx0 + cols[-1] + 1) / k,
                          (ry0 + end + 1) / k))
    return lines


def _clean_line(crop: U8) -> tuple[U8, U8]:
    """A printed line cleaned for reading: (binary, 0 = ink; grey with the lighting flattened).

    Lighting is flattened (divided by the paper white); specks, streaks and
    anything cut by the crop's edge (a neighbouring line) are removed from
    the binary image.
    """
    g = crop.astype(np.float32)
    h = crop.shape[0]
    size = max(15, (h // 2) | 1)
    paper = cv2.dilate(g, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    paper = cv2.GaussianBlur(paper, (0, 0), size / 4)
    flat = np.clip(255.0 * g / np.maximum(paper, 1.0), 0, 255).astype(np.uint8)
    _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    tall = stats[1:, cv2.CC_STAT_HEIGHT]
    letter = float(np.percentile(tall, 75)) if count > 1 else 0.0  # a capital letter's height
    keep = np.zeros(count, dtype=bool)
    for i in range(1, count):
        x, y, w, hh, _area = (int(v) for v in stats[i])
        touches = x == 0 or y == 0 or x + w >= crop.shape[1] or y + hh >= h
        speck = max(w, hh) < 0.25 * letter
        streak = hh > 1.6 * letter and w < 0.2 * letter
        keep[i] = not (touches or speck or streak)
    return np.where(keep[labels], 0, 255).astype(np.uint8), flat


def _with_border(image: U8) -> U8:
    return np.asarray(cv2.copyMakeBorder(image, 20, 20, 20, 20, cv2.BORDER_CONSTANT, value=255),
                      dtype=np.uint8)


# --------------------------------------------------------------------------- the footer's font

GLYPH_SHIFT_PX = (3, 2)
"""How far (x, y pixels at 300 dpi) a character may lie from where the line's geometry puts it."""
MAX_GLYPH_COST = 0.45
"""Largest share of ink a character's template may fail to explain."""
MIN_GLYPH_MARGIN = 0.08
"""Least lead of the best character over the next best, at every position."""
VERIFY_TOLERANCE = 0.03
"""When checking the OCR engine's reading: how much worse than the best a character may match."""
MIN_TOLD = 8
"""Characters of 11 the font matcher must tell well to confirm the OCR engine's reading."""


@dataclass(frozen=True)
class _FontReading:
    """The line matched character by character: at each position, every character's cost."""

    chars: str  # the characters the pen followed (the best ones, or the hypothesis)
    costs: list[dict[str, float]]  # per position: character -> share of ink not explained

    def best(self, i: int) -> tuple[str, float, float]:
        """The best character at position ``i``, its cost and its lead over the next best."""
        ranked = sorted(self.costs[i].items(), key=lambda kv: kv[1])
        return ranked[0][0], ranked[0][1], ranked[1][1] - ranked[0][1]

    @property
    def confident(self) -> str | None:
        """The characters, if every position has a clear and good best character."""
        for i in range(len(self.costs)):
            _, cost, lead = self.best(i)
            if cost > MAX_GLYPH_COST or lead < MIN_GLYPH_MARGIN:
                return None
        return self.chars

    def confirms(self, chars: str) -> bool:
        """Does the print agree with ``chars``: no position clearly tells another character,
        and most positions are told well enough to have a say?"""
        if len(chars) != len(self.costs):
            return False
        told = 0
        for i, ch in enumerate(chars):
            _, best, _ = self.best(i)
            if best > MAX_GLYPH_COST:
                continue  # lost here (a speck, a streak): no say
            told += 1
            if self.costs[i][ch] > best + VERIFY_TOLERANCE:
                return False
        return told >= MIN_TOLD


def _read_by_font(clean: U8, font_path: Path, hypothesis: str | None = None) -> _FontReading | None:
    """Match ``Sheet XXXX-XXXX-XXX`` on a cleaned line (0 = ink) against the printed font.

    The line is printed in the typeface whose file is ``font_path`` (the one
    the layout names), so each character
    can be told by comparing the line with every character of the sheet-id
    alphabet drawn in that font: the word "Sheet" gives the size and the
    baseline, then the characters are compared one after the other where the
    font's advance widths put them (allowing a small drift). The pen follows
    the best character at each position, or the ``hypothesis`` (11
    characters, e.g. what the OCR engine read) when given.
    """
    ink = (clean < 128).astype(np.uint8)
    fit = _fit_sheet_word(ink, font_path)
    if fit is None:
        return None
    size, origin_x, baseline = fit
    font = _font(font_path, size)
    soft = np.asarray(cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.0), dtype=np.float32)
    pen = origin_x + _advance(font_path, SHEET_ID_LABEL + " ", size)
    drift_x, drift_y = 0, 0
    chars, costs = "", []
    for slot in "XXXX-XXXX-XXX":
        if slot == "-":
            pen += _advance(font_path, "-", size)
            continue
        # the first character is sought further: the size measured from "Sheet" is a little
        # off on a blurred scan, and the error has grown over the word and the space
        shift = GLYPH_SHIFT_PX if chars else (3 * GLYPH_SHIFT_PX[0], GLYPH_SHIFT_PX[1])
        placed = {}
        for ch in ALPHABET:
            glyph, gx, gy = _glyph(font, ch)
            placed[ch] = _place(soft, glyph, pen + drift_x + gx, baseline + drift_y + gy, shift)
        follow = hypothesis[len(chars)] if hypothesis else min(placed, key=lambda c: placed[c][0])
        costs.append({ch: p[0] for ch, p in placed.items()})
        _, dx, dy = placed[follow]
        drift_x += dx
        drift_y += dy
        chars += follow
        pen += _advance(font_path, follow, size)
    return _FontReading(chars, costs)


def _fit_sheet_word(ink: U8, font_path: Path) -> tuple[float, float, float] | None:
    """The font size (pixels), the pen's start and the baseline (pixels), from the word "Sheet"."""
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return None
    x0 = int(cols[0])
    rows = np.flatnonzero(ink[:, x0 : x0 + 1 + 3 * ink.shape[0]].any(axis=1))
    height = int(rows[-1] - rows[0] + 1)
    gap = max(3, int(0.25 * height / 0.7))  # a word space is wider than this; letter gaps are not
    end = x0
    for c in cols[1:]:
        if c - end > gap:
            break
        end = int(c)
    left, top, right, bottom = _font(font_path, 100.0).getbbox(SHEET_ID_LABEL, anchor="ls")
    by_width = 100.0 * (end + 1 - x0) / (right - left)
    by_height = 100.0 * height / (bottom - top)
    if not 0.85 <= by_width / by_height <= 1.15:
        return None  # the first word is not "Sheet" at one size
    # the size that fits the word best (thresholding thins or thickens strokes a little)
    soft = np.asarray(cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.0), dtype=np.float32)
    estimate = (by_width + by_height) / 2
    best: tuple[float, float, float, float] | None = None
    for factor in np.linspace(0.92, 1.08, 9):
        size = round(4.0 * estimate * float(factor)) / 4.0  # to a quarter pixel
        glyph, gx, gy = _glyph(_font(font_path, size), SHEET_ID_LABEL)
        cost, dx, dy = _place(soft, glyph, x0 - 1, int(rows[0]) - 1, (4, 4))
        if best is None or cost < best[0]:
            best = (cost, size, float(x0 - 1 + dx - gx), float(int(rows[0]) - 1 + dy - gy))
    if best is None or best[0] > MAX_GLYPH_COST:
        return None
    return best[1], best[2], best[3]


@lru_cache(maxsize=16)
def _font(path: Path, size: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def _advance(path: Path, text: str, size: float) -> float:
    """How far the pen moves over ``text`` (pixels at ``size``), as the PDF sets it: no kerning."""
    big = _font(path, 1000.0)
    return sum(big.getlength(ch) for ch in text) * size / 1000.0


@lru_cache(maxsize=1024)
def _glyph(font: ImageFont.FreeTypeFont, text: str) -> tuple[F32, int, int]:
    """``text`` drawn as soft ink, and its ink box's offset from the pen on the baseline."""
    left, top, right, bottom = (int(math.floor(v)) for v in font.getbbox(text, anchor="ls"))
    image = Image.new("L", (right - left + 3, bottom - top + 3), 0)
    ImageDraw.Draw(image).text((1 - left, 1 - top), text, font=font, fill=255, anchor="ls")
    ink = (np.asarray(image, dtype=np.float32) / 255.0 > 0.5).astype(np.float32)
    soft = np.asarray(cv2.GaussianBlur(ink, (0, 0), 1.0), dtype=np.float32)
    return soft, left - 1, top - 1


def _patch(image: F32, x: float, y: float, shape: tuple[int, ...]) -> F32 | None:
    ix, iy = int(round(x)), int(round(y))
    h, w = shape[0], shape[1]
    if ix < 0 or iy < 0 or ix + w > image.shape[1] or iy + h > image.shape[0]:
        return None
    return image[iy : iy + h, ix : ix + w]


def _cost(patch: F32, glyph: F32) -> float:
    """Share of the ink that the glyph and the patch do not have in common."""
    union = float(np.maximum(patch, glyph).sum())
    return float(np.abs(patch - glyph).sum()) / union if union > 0 else 1.0


def _place(
    soft: F32, glyph: F32, x: float, y: float, shift: tuple[int, int] = GLYPH_SHIFT_PX
) -> tuple[float, int, int]:
    """The best cost of ``glyph`` near (x, y) (its top-left corner), and the shift that gives it."""
    sx, sy = shift
    best = (1.0, 0, 0)
    for dy in range(-sy, sy + 1):
        for dx in range(-sx, sx + 1):
            patch = _patch(soft, x + dx, y + dy, glyph.shape)
            if patch is None:
                continue
            cost = _cost(patch, glyph)
            if cost < best[0]:
                best = (cost, dx, dy)
    return best


def _parse_page_number(
    words: Sequence[tuple[str, float]], expected: tuple[int, int]
) -> tuple[int, int] | None:
    """(N, M) from the OCR'd line ``Page N of M``; the expected numbers when the print agrees.

    The footer's font has a slashed zero, which the OCR engine now and then
    reads as 9 (or as 90): a 0 of the expected number read so counts as 0.
    """
    text = " ".join(w for w, _ in words)
    m = _PAGE_PATTERN.search(text)
    if m is None:
        return None
    read = []
    for group, want in zip(m.groups(), expected, strict=True):
        digits = group.translate(_DIGIT_LOOKALIKES)
        if not digits.isdigit():
            return None
        read.append(want if _slashed_zero_match(digits, str(want)) else int(digits))
    return read[0], read[1]


def _slashed_zero_match(digits: str, wanted: str) -> bool:
    """Is ``digits`` the number ``wanted``, each of its zeros read as 0, 9 or 90?"""
    if not wanted:
        return not digits
    if not digits:
        return False
    options = ["0", "9", "90"] if wanted[0] == "0" else [wanted[0]]
    return any(digits.startswith(o) and _slashed_zero_match(digits[len(o):], wanted[1:])
               for o in options)


def _parse_sheet_id(words: Sequence[tuple[str, float]]) -> str | None:
    """A sheet id from the OCR'd line ``Sheet K7MQ-9XHT-P4R``, only if it is one for sure.

    The line must hold exactly one group of 4-4-3 letters and digits joined by
    dashes, its characters must all be in the sheet-id alphabet and its check
    character must validate; the words it was read from must not have been
    read with very low confidence.
    """
    text, spans = "", []
    for word, confidence in words:
        if text:
            text += " "
        spans.append((len(text), len(text) + len(word), confidence))
        text += word
    found = list(_SHEET_PATTERN.finditer(text.upper()))
    if len(found) != 1:
        return None
    m = found[0]
    try:
        sheet = normalise_sheet_id(m.group(1) + m.group(2) + m.group(3))
    except InvalidInput:
        return None
    used = [c for a, b, c in spans if a < m.end() and b > m.start()]
    if not used or min(used) < MIN_SHEET_CONFIDENCE:
        return None
    return sheet
