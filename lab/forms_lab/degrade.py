"""Scanner, photocopier and phone degradations for the synthetic test corpus and benchmarks.

Given a clean page raster (a rendered PDF, usually at 300 dpi) and a seeded
:class:`numpy.random.Generator`, produce what an office scanner, a photocopier
or a phone camera would have made of it: another resolution, skew, offset,
quarter turns, perspective, blur, noise, speckle and streaks, uneven light and
shadow, JPEG recompression, 1-bit thresholding. Named presets sample realistic
parameters; :func:`apply_degradation` applies explicit ones.

The caller keeps the truth: every result carries the parameters used and the
3 x 3 matrix that maps a point of the clean raster to the degraded image, so
a test or benchmark can check where a box or a mark really went.

Coordinates are continuous pixels with the origin at the image's top-left
*edge* (the centre of pixel (row i, column j) is at (j + 0.5, i + 0.5)).

Pure functions: no files, no logging. Must never be used on real scans of
respondents' forms (it only makes synthetic test material).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "PRESETS",
    "DegradeParams",
    "Degraded",
    "apply_degradation",
    "degrade",
    "sample_params",
]

PRESETS = ("office", "office-150", "bilevel-200", "photocopy", "phone")


@dataclass(frozen=True)
class DegradeParams:
    """Everything one degradation does; the defaults change nothing but the grey levels."""

    dpi: float = 300.0  # output resolution (for a phone: at the page's centre, roughly)
    skew_deg: float = 0.0  # small rotation, degrees, clockwise
    quarter_turns: int = 0  # the page lies turned 90 degrees clockwise this many times
    offset_mm: tuple[float, float] = (0.0, 0.0)  # where the page lies on the scanner glass
    perspective: float = 0.0  # phone: corner displacement, as a share of the page width
    margin: float = 0.0  # phone: background around the page, as a share of its size
    background: int = 250  # grey outside the page (scanner lid, copier lid, table)
    paper: int = 245  # grey of blank paper
    ink: int = 25  # grey of solid black print
    gamma: float = 1.0  # contrast curve; > 1 darkens greys (photocopier)
    blur_sigma: float = 0.0  # gaussian blur in output pixels
    noise_sigma: float = 0.0  # gaussian noise in grey levels
    speckle_per_cm2: float = 0.0  # dark specks (photocopier)
    streaks: int = 0  # dark lines along the feed direction (photocopier)
    shading: float = 0.0  # light lost across the page by a gradient (0 .. 0.5)
    shadow: float = 0.0  # depth of a soft shadow over part of the page (0 .. 0.6)
    jpeg_quality: int | None = None  # recompress as JPEG at this quality
    bilevel_threshold: int | None = None  # 1-bit scan: black below this grey

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Degraded:
    """A degraded page and the truth about how it was made."""

    image: NDArray[np.uint8]
    params: DegradeParams
    matrix: NDArray[np.float64]  # clean raster pixel -> degraded pixel (3 x 3, projective)
    preset: str

    def map_points(self, points: Any) -> NDArray[np.float64]:
        """Where points of the clean raster (N x 2, pixels) lie in the degraded image."""
        return _project(self.matrix, np.asarray(points, dtype=np.float64).reshape(-1, 2))


def sample_params(preset: str, rng: np.random.Generator) -> DegradeParams:
    """Draw the parameters of one page for a named preset (see :data:`PRESETS`)."""

    def u(lo: float, hi: float) -> float:
        return float(rng.uniform(lo, hi))

    if preset in ("office", "office-150"):
        paper = round(u(232, 250))
        return DegradeParams(
            dpi=300.0 if preset == "office" else 150.0,
            skew_deg=u(-1.2, 1.2),
            quarter_turns=int(rng.choice([0, 2], p=[0.9, 0.1])),
            offset_mm=(u(-3, 3), u(-3, 3)),
            background=min(255, paper + round(u(0, 6))),
            paper=paper,
            ink=round(u(15, 45)),
            blur_sigma=u(0.4, 0.9) if preset == "office" else u(0.3, 0.6),
            noise_sigma=u(1.5, 4.0),
        )
    if preset == "bilevel-200":
        return DegradeParams(
            dpi=200.0,
            skew_deg=u(-1.2, 1.2),
            quarter_turns=int(rng.choice([0, 2], p=[0.9, 0.1])),
            offset_mm=(u(-3, 3), u(-3, 3)),
            background=250,
            paper=round(u(232, 250)),
            ink=round(u(15, 45)),
            blur_sigma=u(0.4, 0.8),
            noise_sigma=u(2.0, 5.0),
            bilevel_threshold=round(u(115, 165)),
        )
    if preset == "photocopy":
        paper = round(u(215, 240))
        return DegradeParams(
            dpi=float(rng.choice([200.0, 300.0])),
            skew_deg=u(-2.0, 2.0),
            quarter_turns=int(rng.choice([0, 2], p=[0.85, 0.15])),
            offset_mm=(u(-5, 5), u(-5, 5)),
            background=int(rng.choice([paper, round(u(20, 60))])),
            paper=paper,
            ink=round(u(5, 30)),
            gamma=u(1.2, 1.7),
            blur_sigma=u(0.6, 1.1),
            noise_sigma=u(4.0, 8.0),
            speckle_per_cm2=u(0.3, 2.5),
            streaks=int(rng.integers(1, 4)),
        )
    if preset == "phone":
        return DegradeParams(
            dpi=u(180, 280),
            skew_deg=u(-5.0, 5.0),
            quarter_turns=int(rng.choice([0, 1, 2, 3], p=[0.7, 0.1, 0.1, 0.1])),
            perspective=u(0.02, 0.06),
            margin=u(0.04, 0.10),
            background=round(u(40, 120)),
            paper=round(u(200, 240)),
            ink=round(u(25, 60)),
            blur_sigma=u(0.8, 1.6),
            noise_sigma=u(2.0, 5.0),
            shading=u(0.1, 0.35),
            shadow=u(0.15, 0.45) if rng.random() < 0.7 else 0.0,
            jpeg_quality=round(u(55, 85)),
        )
    raise ValueError(f"no degradation preset {preset!r}; choose one of {', '.join(PRESETS)}")


def degrade(
    image: NDArray[np.uint8],
    rng: np.random.Generator,
    preset: str = "office",
    *,
    source_dpi: float = 300.0,
    **overrides: Any,
) -> Degraded:
    """Degrade a clean page raster as the named preset does; ``overrides`` fix chosen parameters."""
    params = sample_params(preset, rng)
    if overrides:
        params = replace(params, **overrides)
    return apply_degradation(image, params, rng, source_dpi=source_dpi, preset=preset)


def apply_degradation(
    image: NDArray[np.uint8],
    params: DegradeParams,
    rng: np.random.Generator,
    *,
    source_dpi: float = 300.0,
    preset: str = "custom",
) -> Degraded:
    """Apply explicit parameters to a clean greyscale page raster (0 = ink, 255 = paper)."""
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("expected an 8-bit greyscale image (H x W, uint8)")
    page = _levels(image, params)
    warped, matrix = _geometry(page, params, source_dpi, rng)
    out = _photometry(warped, params, rng)
    return Degraded(out, params, matrix, preset)


# --------------------------------------------------------------------------- steps


def _levels(image: NDArray[np.uint8], p: DegradeParams) -> NDArray[np.float32]:
    x = image.astype(np.float32) / 255.0
    if p.gamma != 1.0:
        x = np.power(x, p.gamma, dtype=np.float32)
    return np.float32(p.ink) + np.float32(p.paper - p.ink) * x


def _geometry(
    page: NDArray[np.float32], p: DegradeParams, source_dpi: float, rng: np.random.Generator
) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    h, w = page.shape
    f = p.dpi / source_dpi
    # What the warp below reads: the clean raster, or (when shrinking) an
    # area-averaged copy, so thin strokes thin the way a real scanner thins them.
    read_scale = (f, f)
    if f < 1.0:
        size = (max(1, round(w * f)), max(1, round(h * f)))
        page = np.asarray(cv2.resize(page, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
        read_scale = (f * w / size[0], f * h / size[1])
    pw, ph = w * f, h * f  # page size at the output resolution
    corners = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float64)

    if p.perspective > 0 or p.margin > 0:
        cw, ch = pw * (1 + 2 * p.margin), ph * (1 + 2 * p.margin)
        centre = np.array([cw / 2, ch / 2])
        placed = corners - [pw / 2, ph / 2]
        placed = placed @ _rotation(p.skew_deg).T + centre
        placed += rng.uniform(-1, 1, size=(4, 2)) * p.perspective * pw
        place = cv2.getPerspectiveTransform(corners.astype(np.float32), placed.astype(np.float32))
    else:
        cw, ch = pw, ph
        centre = np.array([cw / 2, ch / 2])
        dpmm = p.dpi / 25.4
        shift = np.array(p.offset_mm) * dpmm
        place = _translation(*(centre + shift)) @ _rot3(p.skew_deg) @ _translation(-pw / 2, -ph / 2)

    turns = p.quarter_turns % 4
    turn = np.eye(3)
    out_w, out_h = cw, ch
    for _ in range(turns):  # clockwise: (x, y) -> (height - y, x)
        turn = np.array([[0, -1, out_h], [1, 0, 0], [0, 0, 1]], dtype=np.float64) @ turn
        out_w, out_h = out_h, out_w

    to_output = turn @ place  # page at output scale -> output
    size = (max(1, round(out_w)), max(1, round(out_h)))
    warp = to_output @ np.diag([read_scale[0], read_scale[1], 1.0])
    # OpenCV works in pixel-index coordinates (pixel centres at integers).
    index_warp = _translation(-0.5, -0.5) @ warp @ _translation(0.5, 0.5)
    warped = cv2.warpPerspective(
        page,
        index_warp,
        size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=float(p.background),
    )
    matrix = to_output @ np.diag([f, f, 1.0])  # clean raster -> output
    return np.asarray(warped, dtype=np.float32), matrix / matrix[2, 2]


def _photometry(
    img: NDArray[np.float32], p: DegradeParams, rng: np.random.Generator
) -> NDArray[np.uint8]:
    h, w = img.shape
    if p.shading > 0 or p.shadow > 0:
        img = img * _lighting(h, w, p, rng)
    if p.blur_sigma > 0:
        img = np.asarray(cv2.GaussianBlur(img, (0, 0), p.blur_sigma), dtype=np.float32)
    if p.noise_sigma > 0:
        img = img + rng.standard_normal((h, w), dtype=np.float32) * np.float32(p.noise_sigma)
    if p.speckle_per_cm2 > 0:
        area_cm2 = (w / p.dpi * 2.54) * (h / p.dpi * 2.54)
        count = int(rng.poisson(p.speckle_per_cm2 * area_cm2))
        xs = rng.uniform(0, w, count)
        ys = rng.uniform(0, h, count)
        radii = rng.uniform(0.4, 1.6, count) * p.dpi / 300.0
        levels = rng.uniform(p.ink, p.ink + 80, count)
        for x, y, r, v in zip(xs, ys, radii, levels, strict=True):
            cv2.circle(img, (round(x), round(y)), max(0, round(r)), float(v), -1)
    for _ in range(p.streaks):
        x0 = int(rng.integers(0, w))
        width = int(rng.integers(1, 4))
        depth = float(rng.uniform(30, 120))
        top = int(rng.integers(0, h // 3)) if rng.random() < 0.4 else 0
        profile = depth * (0.7 + 0.3 * rng.random(h - top)).astype(np.float32)
        img[top:, x0 : x0 + width] -= profile[:, None]
    out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    if p.jpeg_quality is not None:
        ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(p.jpeg_quality)])
        if ok:
            out = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    if p.bilevel_threshold is not None:
        out = np.where(out < p.bilevel_threshold, 0, 255).astype(np.uint8)
    return out


def _lighting(h: int, w: int, p: DegradeParams, rng: np.random.Generator) -> NDArray[np.float32]:
    """A smooth light field: a gradient in a random direction and a soft-edged shadow."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx /= max(w, 1)
    yy /= max(h, 1)
    field = np.ones((h, w), np.float32)
    if p.shading > 0:
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle)
        ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
        field *= 1.0 - np.float32(p.shading) * ramp
    if p.shadow > 0:  # the soft edge of a hand or a phone across part of the page
        angle = rng.uniform(0, 2 * math.pi)
        offset = rng.uniform(0.15, 0.45)
        softness = rng.uniform(0.02, 0.08)
        side = (xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle) - offset
        inside = 1.0 / (1.0 + np.exp(-side / np.float32(softness)))
        field *= 1.0 - np.float32(p.shadow) * inside
    return field


# --------------------------------------------------------------------------- matrices


def _translation(tx: float, ty: float) -> NDArray[np.float64]:
    return np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=np.float64)


def _rotation(deg: float) -> NDArray[np.float64]:
    """2 x 2, clockwise on an image (y down)."""
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


def _rot3(deg: float) -> NDArray[np.float64]:
    out = np.eye(3)
    out[:2, :2] = _rotation(deg)
    return out


def _project(matrix: NDArray[np.float64], points: NDArray[np.float64]) -> NDArray[np.float64]:
    ones = np.ones((points.shape[0], 1))
    mapped = np.hstack([points, ones]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]
