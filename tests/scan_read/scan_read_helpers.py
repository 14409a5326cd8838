"""Helpers for the field readers' tests: the shipped questionnaire rendered once, filled and scanned.

Every variant is rendered once per session (one copy) and its pages rasterised
once per scale. A test fills a page with :mod:`forms_lab.synth.fill` (or
draws a chosen mark), then "scans" only the neighbourhood of the field it
reads: the crop is degraded with a preset of :mod:`forms_lab.degrade`
and warped back with a small alignment error by
:func:`forms_lab.synth.simulate_scan`. Readers take any image in layout
coordinates, so a crop (with the field's rectangles moved into it) is read
exactly like a whole page, at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from forms_lab.synth import simulate_scan
from forms_service.layout import Box, Layout, LayoutField, LayoutPage
from forms_service.questionnaire import load_definition
from forms_service.render import render_pdf
from forms_service.scan.marks import label_rect, render_blank

REPO = Path(__file__).resolve().parents[2]
DEFINITION = REPO / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"
SCALE = 300 / 72
Rect = tuple[float, float, float, float]
U8 = NDArray[np.uint8]


@dataclass(frozen=True)
class Scanned:
    """A scanned crop in layout coordinates, its blank, and the field moved into it."""

    warped: U8
    blank: U8
    field: LayoutField
    scale: float
    bilevel: bool


class Forms:
    """The shipped questionnaire, rendered once per variant, rasterised once per page and scale."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.q = load_definition(DEFINITION).questionnaire
        self.layouts: dict[str, Layout] = {}
        self._blanks: dict[tuple[str, int, float], U8] = {}

    def layout(self, variant: str) -> Layout:
        if variant not in self.layouts:
            result = render_pdf(self.q, variant, self.folder / f"{variant}.pdf", copies=1)
            self.layouts[variant] = result.layout
        return self.layouts[variant]

    def field(self, variant: str, field_id: str) -> tuple[LayoutPage, LayoutField]:
        for page in self.layout(variant).pages:
            for f in page.fields:
                if f.id == field_id:
                    return page, f
        raise KeyError(field_id)

    def blank(self, variant: str, page: int, scale: float = SCALE) -> U8:
        key = (variant, page, round(scale, 4))
        if key not in self._blanks:
            self.layout(variant)
            self._blanks[key] = render_blank(self.folder / f"{variant}.pdf", page, scale)
        return self._blanks[key]

    def region(self, variant: str, page: LayoutPage, f: LayoutField, margin: float = 22.0) -> Rect:
        """The field, its option words and a margin: what a test scans."""
        blank = self.blank(variant, page.page)
        rects: list[Rect] = [b.rect for b in f.boxes] if f.boxes else [f.rect] if f.rect else []
        rects += [r for r in (label_rect(blank, b.rect, SCALE) for b in f.boxes) if r is not None]
        right = 60.0 if f.type == "text" else 0.0
        return (
            max(0.0, min(r[0] for r in rects) - margin),
            max(0.0, min(r[1] for r in rects) - margin),
            min(page.width, max(r[2] for r in rects) + margin + right),
            min(page.height, max(r[3] for r in rects) + margin),
        )

    def scan(
        self,
        variant: str,
        field_id: str,
        draw: Callable[[U8, U8, LayoutField, np.random.Generator], None],
        *,
        preset: str | None = "office",
        seed: int = 0,
        scale: float = SCALE,
    ) -> Scanned:
        """Draw on the field's page, then scan the field's neighbourhood with ``preset``.

        ``preset=None`` is a clean scan: no degradation, only a small alignment error.
        ``draw(image, blank, field, rng)`` draws in place at :data:`SCALE` pixels per point.
        """
        rng = np.random.default_rng(seed)
        page, f = self.field(variant, field_id)
        blank_page = self.blank(variant, page.page)
        image = blank_page.copy()
        draw(image, blank_page, f, rng)
        x0, y0, x1, y1 = self.region(variant, page, f)
        c0, r0 = math.floor(x0 * SCALE), math.floor(y0 * SCALE)
        c1 = min(math.ceil(x1 * SCALE), image.shape[1])
        r1 = min(math.ceil(y1 * SCALE), image.shape[0])
        crop = np.ascontiguousarray(image[r0:r1, c0:c1])
        ox, oy = c0 / SCALE, r0 / SCALE
        size = ((c1 - c0) / SCALE, (r1 - r0) / SCALE)
        if preset is None:
            warped, bilevel = _misalign(crop, rng, scale), False
        else:
            s = simulate_scan(crop, size, rng, preset, source_scale=SCALE, scale=scale)
            warped, bilevel = s.warped, s.bilevel
        full_blank = self.blank(variant, page.page, scale)
        bc0, br0 = round(ox * scale), round(oy * scale)
        blank = np.full(warped.shape, 255, dtype=np.uint8)
        part = full_blank[br0 : br0 + warped.shape[0], bc0 : bc0 + warped.shape[1]]
        blank[: part.shape[0], : part.shape[1]] = part
        return Scanned(warped, blank, _moved(f, ox, oy), scale, bilevel)


def _moved(f: LayoutField, dx: float, dy: float) -> LayoutField:
    def mv(r: Rect) -> Rect:
        return (r[0] - dx, r[1] - dy, r[2] - dx, r[3] - dy)

    return LayoutField(
        f.id, f.type, boxes=[Box(b.value, mv(b.rect)) for b in f.boxes],
        rect=mv(f.rect) if f.rect else None, part=f.part,
    )  # fmt: skip


def _misalign(image: U8, rng: np.random.Generator, scale: float) -> U8:
    """A perfect scan, placed with a small alignment error (up to 1.5 pt, 0.3 degrees)."""
    h, w = image.shape
    dx, dy = rng.uniform(-1.5, 1.5, 2) * SCALE
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(rng.uniform(-0.3, 0.3)), 1.0)
    m[:, 2] += (dx, dy)
    moved = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
    if abs(scale - SCALE) > 1e-6:
        size = (round(w * scale / SCALE), round(h * scale / SCALE))
        moved = cv2.resize(moved, size, interpolation=cv2.INTER_AREA)
    return np.asarray(moved, dtype=np.uint8)
