"""A real form page for the scan reader's tests, printed once per session by the project's renderer.

Page 2 of the shipped questionnaire's standard variant (a choice question and
a rating grid) is printed with :func:`forms_service.render.render_pdf` under a
known sheet id and rasterised with :func:`forms_service.scan.marks.render_blank`,
the reader's own rasteriser. A respondent's marks are added (two boxes filled
solid, one ticked) and the page is degraded with :mod:`forms_lab.degrade`,
which keeps the truth (the matrix from the clean raster to the degraded one).
Everything the tests know about the page (its marks, its page code, its boxes)
comes from the layout the renderer wrote with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from numpy.typing import NDArray

from forms_lab.degrade import Degraded, degrade
from forms_service.layout import LayoutPage, Rect
from forms_service.layout.frame import MM
from forms_service.questionnaire import load_definition
from forms_service.render import render_pdf
from forms_service.render.compose import compose
from forms_service.render.qr import QUIET_ZONE
from forms_service.scan.fiducials import Alignment, align_page
from forms_service.scan.marks import render_blank
from forms_service.scan.pagecode import (
    PageCodeHit,
    find_page_code,
    hint_from_points,
    rotate_points,
    turn_upright,
)
from forms_service.sheets import PageCode
from tests.conftest import SHIPPED  # noqa: E402  (the shipped definition, inside the package)

SHEET = "6ANQ-ZPAQ-7WG"
PAGE = 2
CODE = PageCode("big-leeds-conversation", "2026-11", "standard", PAGE, SHEET)
FILLED = [("group", "staff"), ("values.community", "4")]  # boxes the respondent fills solid
TICKED = [("values.integrity", "2")]  # and one box ticked
FOREIGN_QR = (380.0, 620.0, 460.0, 700.0)
"""Where a QR code that is not ours is pasted: blank paper below the rating grid."""
# Points whose true position the tests check after alignment: corners of boxes, the centre, ...
PROBES = [
    (72.0, 72.0),
    (297.6, 420.9),
    (523.3, 711.9),
    (100.0, 741.9),
    (495.3, 100.0),
]
U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Printed:
    """The page as the renderer printed it: its PDF and its layout page."""

    pdf: Path
    layout_page: LayoutPage
    qr_version: int
    """The QR version the renderer chose for the page codes of this variant."""

    def box(self, field_id: str, value: str) -> Rect:
        for f in self.layout_page.fields:
            for b in f.boxes:
                if (f.id, b.value) == (field_id, value):
                    return b.rect
        raise KeyError((field_id, value))


@dataclass(frozen=True)
class Form:
    """A form page: its clean raster (marked by a respondent) and what the layout says about it."""

    printed: Printed
    raster: U8  # clean, at ``dpi``
    dpi: float
    code: PageCode
    fiducials: Sequence[tuple[float, float]]  # where the layout under test puts the marks

    @property
    def layout_page(self) -> LayoutPage:
        return self.printed.layout_page

    @property
    def page_code_rect(self) -> Rect:
        """The layout's page code square, quiet zone included."""
        return self.layout_page.page_code

    @property
    def symbol_rect(self) -> Rect:
        """The QR symbol itself: the page code square less its quiet zone."""
        x0, y0, x1, y1 = self.page_code_rect
        n = 17 + 4 * self.printed.qr_version
        q = QUIET_ZONE * (x1 - x0) / (n + 2 * QUIET_ZONE)
        return (x0 + q, y0 + q, x1 - q, y1 - q)

    @property
    def page_size(self) -> tuple[float, float]:
        return (self.layout_page.width, self.layout_page.height)

    def points_to_raster(self, points: Sequence[tuple[float, float]]) -> NDArray[np.float64]:
        """Layout points -> clean raster pixels (the raster has ``round(size * dpi / 72)`` pixels)."""
        h, w = self.raster.shape
        page_w, page_h = self.page_size
        return np.asarray(points, dtype=np.float64) * [w / page_w, h / page_h]


def mark_as_a_respondent(printed: Printed, raster: U8, dpi: float) -> U8:
    """Two boxes filled solid and one ticked, in black ink."""
    out = raster.copy()
    k = dpi / 72.0
    for field_id, value in FILLED:
        x0, y0, x1, y1 = printed.box(field_id, value)
        cv2.rectangle(out, (round(x0 * k), round(y0 * k)), (round(x1 * k), round(y1 * k)), 20, -1)
    for field_id, value in TICKED:
        x0, y0, x1, y1 = printed.box(field_id, value)
        w, h = x1 - x0, y1 - y0
        tick = [(x0 + 0.2 * w, y0 + 0.5 * h), (x0 + 0.45 * w, y0 + 0.8 * h), (x0 + 0.9 * w, y0 + 0.1 * h)]
        points = np.round(np.array(tick) * k).astype(np.int32)
        cv2.polylines(out, [points], False, 20, max(2, round(1.2 * k)), cv2.LINE_AA)
    return out


def paste_qr(raster: U8, text: str, rect: Rect, dpi: float) -> None:
    """Paste a QR code saying ``text`` (quiet zone included) over ``rect`` of the page, in place."""
    matrix = np.array(segno.make(text, error="m", micro=False).matrix, dtype=bool)
    matrix = np.pad(matrix, QUIET_ZONE)
    k = dpi / 72.0
    x0, y0, x1, y1 = (round(v * k) for v in rect)
    symbol = np.where(matrix, 0, 255).astype(np.uint8)
    raster[y0:y1, x0:x1] = cv2.resize(symbol, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


@pytest.fixture(scope="session")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    q = load_definition(SHIPPED).questionnaire
    pdf = tmp_path_factory.mktemp("scan-form") / "standard.pdf"
    result = render_pdf(q, CODE.variant, pdf, copies=1, sheet_ids=[SHEET])
    return Printed(pdf, result.layout.page(PAGE), compose(q, CODE.variant).qr_version)


def make_form(printed: Printed, dpi: float = 300.0, *, fiducials: Sequence[tuple[float, float]] | None = None) -> Form:
    """The marked page at ``dpi``; ``fiducials`` are where the layout under test puts the marks."""
    raster = mark_as_a_respondent(printed, render_blank(printed.pdf, PAGE, dpi / 72.0), dpi)
    marks = list(printed.layout_page.fiducials) if fiducials is None else list(fiducials)
    return Form(printed, raster, dpi, CODE, marks)


@pytest.fixture(scope="session")
def form(printed: Printed) -> Form:
    return make_form(printed)


@pytest.fixture(scope="session")
def form_600(printed: Printed) -> Form:
    return make_form(printed, 600.0)


@pytest.fixture(scope="session")
def misplaced_form(printed: Printed) -> Form:
    """A page whose marks sit 8 mm further in than its layout says (the layout puts them 7 mm in)."""
    w, h = printed.layout_page.width, printed.layout_page.height
    i = 7 * MM
    return make_form(printed, fiducials=[(i, i), (w - i, i), (i, h - i), (w - i, h - i)])


@pytest.fixture(scope="session")
def page_with_qr(printed: Printed) -> Callable[..., U8]:
    """``page_with_qr(text, also_ours=False)``: the page at 150 dpi carrying a QR code saying ``text``
    (and, with ``also_ours``, its own page code; else that is painted over)."""

    def make(text: str, *, also_ours: bool = False) -> U8:
        dpi = 150.0
        page = mark_as_a_respondent(printed, render_blank(printed.pdf, PAGE, dpi / 72.0), dpi)
        if not also_ours:
            x0, y0, x1, y1 = (round(v * dpi / 72.0) for v in printed.layout_page.page_code)
            page[y0:y1, x0:x1] = 255
        paste_qr(page, text, FOREIGN_QR, dpi)
        return page

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
    upright: U8
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
