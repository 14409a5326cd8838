"""One page image in, one page reading out: identify, turn upright, align, read every field.

This is the whole reading of a page, top-down, as named stages:

1. find the page code (:mod:`.pagecode`) and turn the page upright; where no
   page code can be read, recognise the page from its registration marks and
   printed layout among the known layouts and read its printed sheet id
   (:mod:`.identify`);
2. look up the layout of the page's questionnaire, version, variant and page;
3. align the page with its registration marks (:mod:`.fiducials`) and warp it
   into layout coordinates;
4. read each choice field (:mod:`.marks`) and each writing area
   (:mod:`.writing`) against the blank form rendered from the same PDF;
5. give each field a calibrated confidence and say whether it may be
   accepted without a person (:mod:`.calibration`).

A page that cannot be identified or aligned comes back as a
:class:`PageProblem` with one sentence for the person who will look at it;
nothing is dropped.

Pure code: arrays, layouts and callables in, dataclasses out. Must never:
write files, log answer text or page codes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..layout import Layout, LayoutField, LayoutPage
from ..sheets import PageCode
from .calibration import Calibration
from .errors import AlignmentError
from .fiducials import Alignment, align_layout_page
from .files import PageImage
from .identify import MIN_SCORE, Identified, identify_page
from .marks import read_choice_fields, shows_ink
from .pagecode import find_page_code, turn_image, turn_upright
from .writing import read_text_area

READ_DPI = 150.0
"""Resolution of the page warped into layout coordinates, for reading marks."""
OCR_DPI = 300.0
"""Resolution of a writing area's crop, for OCR and for the person who transcribes it."""

CROP_MARGIN_PT = 6.0
"""A choice field's crop for a person reaches this far around its boxes."""

PHOTO_PERSPECTIVE_PT = 2.0
"""A page whose registration marks depart this far from a flat page is a photo (its own calibration)."""


def is_photo(alignment: Alignment) -> bool:
    """Was the page photographed (perspective corrected) rather than scanned flat?"""
    return (not alignment.flat) or alignment.perspective_pt > PHOTO_PERSPECTIVE_PT


LayoutLookup = Callable[[str, str, str], Layout | None]
"""(questionnaire, version, variant) -> the layout, or None when unknown."""
BlankLookup = Callable[[Layout, int, float], NDArray[np.uint8]]
"""(layout, page number, dpi) -> the blank page in layout coordinates at that dpi."""
CandidateLookup = Callable[[], Sequence[Layout]]
"""() -> every layout the service knows, for recognising a page without a readable page code."""

IDENTIFIED_NOTE = "identified from their printed layout, as their page code could not be read"
"""The note on a page read without its page code (the sheet id was read from its footer)."""


@dataclass
class FieldResult:
    """The machine's reading of one field (or one part of a text field) on one page."""

    field_id: str
    type: str  # single_choice, multi_choice, text
    value: Any  # str | None, list[str], or str for text (the OCR suggestion; "" when blank)
    confidence: float
    auto: bool
    part: int | None = None
    written: bool | None = None  # text only
    crop: NDArray[np.uint8] | None = None  # the writing area, or a choice field's boxes, for a person
    word_confidences: list[tuple[str, float]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class PageRead:
    page_code: PageCode
    layout: Layout
    alignment: Alignment
    fields: list[FieldResult]
    notes: list[str]
    upright: NDArray[np.uint8] | None = field(default=None, repr=False)  # the image the alignment maps

    @property
    def fingerprint(self) -> str:
        """What was marked and written on the page, for telling a rescan from a photocopy."""
        summary = sorted(
            (f.field_id, f.part or 0, json.dumps(f.value if f.type != "text" else bool(f.written)))
            for f in self.fields
        )
        return hashlib.sha256(json.dumps(summary).encode()).hexdigest()


@dataclass
class PageProblem:
    """A page the machine could not read, with the reason for a person."""

    kind: str  # no_page_code, foreign_code, unknown_layout, misaligned
    reason: str
    page_code: PageCode | None = None
    upright: NDArray[np.uint8] | None = None  # the picture kept for a person
    turned: int = 0  # the clockwise turn (degrees) undone to make ``upright`` from the page as scanned


def read_page(
    page: PageImage,
    layouts: LayoutLookup,
    blanks: BlankLookup,
    calibration: Calibration,
    *,
    ocr: bool = True,
    known: tuple[PageCode, int] | None = None,
    candidates: CandidateLookup | None = None,
) -> PageRead | PageProblem:
    """Read one page; ``known`` = (page code, clockwise rotation) when a person identified it.

    ``candidates`` gives every known layout; it is called only for a page
    whose page code cannot be read, to recognise the page from its printed
    layout (:func:`.identify.identify_page`). Without it such a page is a
    :class:`PageProblem` straight away.
    """
    if known is not None:
        code, rotation = known
        return _read_known(page, turn_image(page.image, rotation), code, None, layouts, blanks,
                           calibration, ocr, turned=rotation)
    hit = find_page_code(page.image)
    if hit is None or hit.page_code is None:
        return _without_page_code(page, hit.problem if hit is not None else None, layouts, blanks,
                                  calibration, ocr, candidates)
    turned = hit.rotation
    image, hit = turn_upright(page.image, hit)
    assert hit.page_code is not None
    return _read_known(page, image, hit.page_code, hit.corners, layouts, blanks, calibration, ocr,
                       turned=turned)


def _without_page_code(
    page: PageImage,
    problem: str | None,
    layouts: LayoutLookup,
    blanks: BlankLookup,
    calibration: Calibration,
    ocr: bool,
    candidates: CandidateLookup | None,
) -> PageRead | PageProblem:
    """A page with no readable page code (``problem``: what its QR code is instead, if any)."""
    kind = "no_page_code" if problem is None else "foreign_code"
    if problem is None:
        lead = "No page code could be read on this page"
        advice = ("it may not be a page of our forms, or the code in its corner is covered, "
                  "torn or too faint.")
    else:
        lead = f"This page carries {problem}"
        advice = "it may not be a page of our forms."
    if candidates is None:
        return PageProblem(kind, f"{lead}: {advice}", upright=page.image)
    found = identify_page(page.image, candidates(), blanks,
                          dpi=page.dpi if page.dpi_known else None)
    if isinstance(found, Identified):
        return _read_known(page, found.upright, found.page_code, None, layouts, blanks, calibration,
                           ocr, alignment=found.alignment, notes=[IDENTIFIED_NOTE], turned=found.rotation)
    if found.match is not None:  # the page was recognised, its sheet id was not read
        return PageProblem(kind, f"{lead}; {found.reason}.", upright=page.image)
    if found.scores and found.scores[0].score >= MIN_SCORE:  # it does look like a known page
        return PageProblem(kind, f"{lead}, and {found.reason}.", upright=page.image)
    return PageProblem(kind, f"{lead}, and {found.reason}: {advice}", upright=page.image)


def _read_known(
    page: PageImage,
    image: NDArray[np.uint8],
    code: PageCode,
    corners: NDArray[np.float64] | None,
    layouts: LayoutLookup,
    blanks: BlankLookup,
    calibration: Calibration,
    ocr: bool,
    *,
    alignment: Alignment | None = None,
    notes: Sequence[str] = (),
    turned: int = 0,
) -> PageRead | PageProblem:
    """Read a page known to be ``code``; ``image`` is the page turned upright (by ``turned`` degrees)."""
    layout = layouts(code.questionnaire, code.version, code.variant)
    if layout is None:
        return PageProblem(
            "unknown_layout",
            f"This is a page of {code.questionnaire} version {code.version} ({code.variant}), "
            f"which this service has no layout for.",
            page_code=code, upright=image, turned=turned,
        )
    try:
        layout_page = layout.page(code.page)
    except KeyError:
        return PageProblem(
            "unknown_layout",
            f"The page code names page {code.page}, but the {code.variant} form has "
            f"{len(layout.pages)} pages.",
            page_code=code, upright=image, turned=turned,
        )
    notes = list(notes)
    if alignment is None:
        try:
            alignment = align_layout_page(image, layout_page, corners,
                                          dpi=page.dpi if page.dpi_known else None)
        except AlignmentError as exc:
            # A file can state the wrong resolution (a batch saved at one dpi, pages scanned at
            # another; a camera app stamping a dpi on a photo): then look for the marks by the page
            # code's size instead, as a flat scan, and failing that as a photo (with perspective).
            retry = None
            for flat in ((True, False) if page.dpi_known else ()):
                try:
                    retry = align_layout_page(image, layout_page, corners, dpi=None, flat=flat)
                    break
                except AlignmentError:
                    continue
            if retry is None:
                return PageProblem("misaligned", f"The page could not be lined up: {exc.message}",
                                   page_code=code, upright=image, turned=turned)
            alignment = retry
            notes.append("saved with a resolution (dpi) that does not match the page: "
                         "the scale was measured from each page instead")
    fields = _read_fields(image, alignment, layout, layout_page, blanks, calibration, ocr, page.bilevel)
    if page.bilevel:
        notes.append("scanned in black and white (1-bit): light marks may be lost; scan in grey")
    if page.dpi_known and page.dpi < 195:
        notes.append("scanned at under 200 dpi: scan at 200 to 300 dpi")
    return PageRead(code, layout, alignment, fields, notes, upright=image)


def _read_fields(
    image: NDArray[np.uint8],
    alignment: Alignment,
    layout: Layout,
    layout_page: LayoutPage,
    blanks: BlankLookup,
    calibration: Calibration,
    ocr: bool,
    bilevel: bool,
) -> list[FieldResult]:
    warped = alignment.warp(image, READ_DPI)
    blank = blanks(layout, layout_page.page, READ_DPI)
    results: list[FieldResult] = []
    choice_fields = [lf for lf in layout_page.fields if lf.type != "text"]
    choices = dict(zip((lf.id for lf in choice_fields), read_choice_fields(
        warped, blank, choice_fields, READ_DPI / 72.0, bilevel=bilevel, photo=is_photo(alignment),
        calibration=calibration), strict=True))  # fmt: skip
    for lf in layout_page.fields:
        if lf.type == "text":
            assert lf.rect is not None
            # blank or written, from the page at reading resolution
            seen = read_text_area(warped, blank, lf.rect, READ_DPI / 72.0, ocr=False,
                                  bilevel=bilevel, calibration=calibration)
            text = seen
            crop = alignment.warp(image, OCR_DPI, rect=lf.rect)
            if seen.written:
                # OCR and the transcriber's crop at a finer resolution, from the original scan
                fine = _full(crop, lf.rect, blanks(layout, layout_page.page, OCR_DPI))
                text = read_text_area(fine, blanks(layout, layout_page.page, OCR_DPI), lf.rect,
                                      OCR_DPI / 72.0, ocr=ocr, bilevel=bilevel, calibration=calibration)
                if not text.written:  # the finer look found nothing: keep the cautious answer
                    text = seen
            # Handwriting is never accepted without a person (the benchmark has not shown
            # <= 1 % wrong at any threshold yet); only a blank area may be auto-accepted.
            results.append(
                FieldResult(
                    lf.id, "text", text.suggestion if text.written else "", text.confidence,
                    text.auto and not text.written,
                    part=lf.part or 1, written=text.written, crop=crop,
                    word_confidences=list(text.word_confidences),
                    details={"p_written": round(text.p_written, 4)},
                )
            )
        else:
            reading = choices[lf.id]
            results.append(
                FieldResult(
                    lf.id, lf.type, reading.value, reading.confidence, reading.auto,
                    # only a field left for a person needs a picture of its boxes
                    crop=None if reading.auto else alignment.warp(image, READ_DPI, rect=boxes_rect(lf)),
                    details={"boxes": {b.value: b.state for b in reading.boxes},
                             "ambiguous": reading.ambiguous, "cancelled": reading.cancelled,
                             "box_rects": {b.value: [round(v, 2) for v in b.rect] for b in lf.boxes},
                             # a 1-bit scan with no ink in any box cannot show whether a light mark
                             # was there: only the paper can
                             **({"paper": True} if bilevel and not reading.auto and not any(
                                 shows_ink(b.features) for b in reading.boxes) else {})},
                )
            )
    return results


CRITICAL_MIN = 0.9999
"""A critical field (:meth:`~forms_service.questionnaire.Questionnaire.critical_fields`) is accepted
without a person only at this calibrated confidence or above (at most 1 reading in 10,000 wrong, by
its calibration) and never as a blank: the routing question's answer decides which group's area a
respondent's words go to."""


def hold_critical(read: PageRead, critical: frozenset[str], minimum: float = CRITICAL_MIN) -> int:
    """Leave for a person each critical tick-box field of ``read`` the machine accepted short of
    ``minimum`` or as blank (with the picture of its boxes a person needs); returns how many."""
    held = 0
    for result in read.fields:
        if result.field_id not in critical or result.type == "text" or not result.auto:
            continue
        if result.value not in (None, []) and result.confidence >= minimum:
            continue
        result.auto = False
        if result.crop is None and read.upright is not None:
            lf = next(f for f in read.layout.page(read.page_code.page).fields if f.id == result.field_id)
            result.crop = read.alignment.warp(read.upright, READ_DPI, rect=boxes_rect(lf))
        result.details = {**(result.details or {}), "critical": True}
        held += 1
    return held


def boxes_rect(lf: LayoutField) -> tuple[float, float, float, float]:
    """The rectangle round a choice field's boxes, with a margin (layout points)."""
    m = CROP_MARGIN_PT
    return (min(b.rect[0] for b in lf.boxes) - m, min(b.rect[1] for b in lf.boxes) - m,
            max(b.rect[2] for b in lf.boxes) + m, max(b.rect[3] for b in lf.boxes) + m)


def _full(crop: NDArray[np.uint8], rect: tuple[float, float, float, float],
          blank: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Paste a crop of a writing area into a copy of the blank page (layout coordinates)."""
    out = blank.copy()
    k = OCR_DPI / 72.0
    y0, x0 = int(round(rect[1] * k)), int(round(rect[0] * k))
    h = min(crop.shape[0], out.shape[0] - y0)
    w = min(crop.shape[1], out.shape[1] - x0)
    out[y0 : y0 + h, x0 : x0 + w] = crop[:h, :w]
    return out
