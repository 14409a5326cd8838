"""Synthetic forms for the scan reader's tests, built once per session.

A one-page A4 form is drawn with ReportLab the way the renderer will draw
one: four solid registration marks, a vector QR page code, text, tick boxes
(two filled solid, one ticked), a writing area and a thick rule. It is
rendered with PDFium and degraded with :mod:`forms_lab.degrade`,
which keeps the truth (the matrix from the clean raster to the degraded one).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pypdfium2 as pdfium
import pytest
import segno
from numpy.typing import NDArray
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from forms_lab.degrade import Degraded, degrade
from forms_service.scan.fiducials import Alignment, align_page
from forms_service.scan.pagecode import (
    PageCodeHit,
    find_page_code,
    hint_from_points,
    rotate_points,
    turn_upright,
)
from forms_service.sheets import PageCode

PAGE_W, PAGE_H = A4
MARK = 16.0  # points: 5.6 mm squares
INSET = 34.0  # mark centres 12 mm inside the page edge
FIDUCIALS = [
    (INSET, INSET),
    (PAGE_W - INSET, INSET),
    (INSET, PAGE_H - INSET),
    (PAGE_W - INSET, PAGE_H - INSET),
]
QR_RECT = (PAGE_W - 150.0, PAGE_H - 100.0, PAGE_W - 90.0, PAGE_H - 40.0)  # 21 mm
# Points whose true position the tests check after alignment: corners of boxes, the centre, ...
PROBES = [
    (72.0, 72.0),
    (PAGE_W / 2, PAGE_H / 2),
    (PAGE_W - 72.0, PAGE_H - 130.0),
    (100.0, PAGE_H - 100.0),
    (PAGE_W - 100.0, 100.0),
]
SHEET = "6ANQ-ZPAQ-7WG"
CODE = PageCode("big-leeds-conversation", "2026-11", "standard", 1, SHEET)


@dataclass(frozen=True)
class Form:
    """A synthetic form page: its PDF, its clean raster and what the layout says about it."""

    pdf: bytes
    raster: NDArray[np.uint8]  # clean, 300 dpi
    dpi: float
    code: PageCode
    fiducials: Sequence[tuple[float, float]]
    page_code_rect: tuple[float, float, float, float]

    @property
    def page_size(self) -> tuple[float, float]:
        return (PAGE_W, PAGE_H)

    def points_to_raster(self, points: Sequence[tuple[float, float]]) -> NDArray[np.float64]:
        """Layout points -> clean raster pixels (PDFium stretches the page to whole pixels)."""
        h, w = self.raster.shape
        return np.asarray(points, dtype=np.float64) * [w / PAGE_W, h / PAGE_H]


def draw_form(
    c: canvas.Canvas,
    text: str | None = CODE.encode(),
    *,
    marks: Sequence[tuple[float, float]] = FIDUCIALS,
    round_marks: bool = False,
    qr_rect: tuple[float, float, float, float] = QR_RECT,
) -> None:
    """Draw one form page (coordinates in the layout's top-left system)."""
    c.setFillGray(0)
    for x, y in marks:
        if round_marks:
            c.circle(x, PAGE_H - y, MARK / 2, stroke=0, fill=1)
        else:
            c.rect(x - MARK / 2, PAGE_H - y - MARK / 2, MARK, MARK, stroke=0, fill=1)
    if text is not None:
        draw_qr(c, text, qr_rect)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(60, PAGE_H - 80, "Big Leeds Conversation")
    c.setFont("Helvetica", 11)
    for i in range(6):
        c.drawString(
            60,
            PAGE_H - 110 - 16 * i,
            "Fill the box completely to change an answer. Tell us what you think."[: 50 + 3 * i],
        )
    c.rect(60, PAGE_H - 230, 14, 14, stroke=1, fill=1)  # the key: a box filled to cancel
    c.drawString(84, PAGE_H - 227, "a box filled to cancel")
    for row in range(8):
        for x in (60, 230, 400):
            y = 260 + row * 26
            filled = (row, x) in ((2, 230), (5, 400))
            c.rect(x, PAGE_H - y - 14, 14, 14, stroke=1, fill=1 if filled else 0)
            c.drawString(x + 20, PAGE_H - y - 11, f"Option {row + 1}")
            if (row, x) == (3, 60):  # a tick
                c.setLineWidth(2)
                c.line(x + 2, PAGE_H - y - 7, x + 6, PAGE_H - y - 12)
                c.line(x + 6, PAGE_H - y - 12, x + 13, PAGE_H - y)
                c.setLineWidth(1)
    c.rect(60, PAGE_H - 720, 475, 200, stroke=1, fill=0)  # a writing area
    c.setLineWidth(0.5)
    for k in range(1, 8):
        c.line(70, PAGE_H - 520 - 25 * k, 525, PAGE_H - 520 - 25 * k)
    c.setLineWidth(3)
    c.line(60, PAGE_H - 740, 400, PAGE_H - 740)
    c.setLineWidth(1)
    c.setFont("Helvetica", 9)
    c.drawString(60, PAGE_H - 790, f"Sheet {SHEET} page 1")


def draw_qr(c: canvas.Canvas, text: str, rect: tuple[float, float, float, float]) -> None:
    matrix = np.array(segno.make(text, error="m", micro=False).matrix, dtype=bool)
    n = matrix.shape[0]
    x0, y0, x1, _ = rect
    module = (x1 - x0) / n
    c.setFillGray(0)
    for r, col in zip(*np.nonzero(matrix), strict=True):
        c.rect(
            x0 + col * module, PAGE_H - (y0 + (r + 1) * module), module, module, stroke=0, fill=1
        )


def form_pdf(pages: int = 1, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    for _ in range(pages):
        draw_form(c, **kwargs)  # type: ignore[arg-type]
        c.showPage()
    c.save()
    return buf.getvalue()


def render(pdf: bytes, dpi: float = 300.0, index: int = 0) -> NDArray[np.uint8]:
    document = pdfium.PdfDocument(pdf)
    bitmap = document[index].render(scale=dpi / 72, grayscale=True)
    return np.array(bitmap.to_numpy(), dtype=np.uint8)


def make_form(dpi: float = 300.0, **kwargs: object) -> Form:
    """A form page; ``kwargs`` go to :func:`draw_form` (the layout stays the standard one)."""
    pdf = form_pdf(**kwargs)
    return Form(pdf, render(pdf, dpi), dpi, CODE, FIDUCIALS, QR_RECT)


@pytest.fixture(scope="session")
def form() -> Form:
    return make_form()


@pytest.fixture(scope="session")
def round_form() -> Form:
    return make_form(round_marks=True)


@pytest.fixture(scope="session")
def form_600() -> Form:
    return make_form(dpi=600.0)


@pytest.fixture(scope="session")
def misplaced_form() -> Form:
    """A form whose marks sit 20 mm inside the edge where its layout says 12 mm."""
    inset = 20 * 72 / 25.4
    marks = [
        (inset, inset),
        (PAGE_W - inset, inset),
        (inset, PAGE_H - inset),
        (PAGE_W - inset, PAGE_H - inset),
    ]
    return make_form(marks=marks)


@pytest.fixture(scope="session")
def page_with_qr() -> Callable[..., NDArray[np.uint8]]:
    """``page_with_qr(text, also_ours=False)``: a 150 dpi page carrying a QR code saying ``text``."""

    def make(text: str, *, also_ours: bool = False) -> NDArray[np.uint8]:
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4)
        draw_form(c, CODE.encode() if also_ours else None)
        draw_qr(c, text, (450.0, 95.0, 530.0, 175.0))  # top right, clear of the text
        c.showPage()
        c.save()
        return render(buf.getvalue(), 150)

    return make


@pytest.fixture(scope="session")
def degraded(form: Form) -> Callable[..., Degraded]:
    """``degraded(preset, seed, **overrides)``: the form degraded, cached for the session."""

    @cache
    def make(preset: str, seed: int, **overrides: object) -> Degraded:
        return degrade(
            form.raster, np.random.default_rng(seed), preset, source_dpi=form.dpi, **overrides
        )

    def get(preset: str, seed: int = 0, **overrides: object) -> Degraded:
        return make(preset, seed, **overrides)

    return get


@dataclass(frozen=True)
class Located:
    hit: PageCodeHit
    upright: NDArray[np.uint8]
    alignment: Alignment
    error_pt: float  # largest distance between a probe's true and aligned position


@pytest.fixture(scope="session")
def locate() -> Callable[..., Located]:
    """Read the page code, turn the page upright, align it and measure the error at the probes."""

    def run(form: Form, page: Degraded, *, camera: bool = False, **kwargs: object) -> Located:
        hit = find_page_code(page.image, hint_from_points(form.page_code_rect, page.params.dpi))
        assert hit is not None and hit.page_code == form.code
        upright, hit_up = turn_upright(page.image, hit)
        alignment = align_page(
            upright,
            form.page_size,
            form.fiducials,
            page_code_rect=form.page_code_rect,
            page_code_corners=hit_up.corners,
            dpi=None if camera else page.params.dpi,
            **kwargs,  # type: ignore[arg-type]
        )
        truth = page.map_points(form.points_to_raster(PROBES))
        truth = rotate_points(truth, page.image.shape, hit.rotation)
        found = alignment.points_to_pixels(PROBES)
        errors = [
            float(np.hypot(*(f - t))) / alignment.scale_at(p)
            for f, t, p in zip(found, truth, PROBES, strict=True)
        ]
        return Located(hit, upright, alignment, max(errors))

    return run
