"""Turn a filled page into what the field readers receive: a scan, aligned with a small error.

:func:`simulate_scan` degrades a clean page raster with a preset of
:mod:`forms_lab.degrade` (office scanner, photocopier, phone, ...)
and warps the result back into layout coordinates through the true
transform spoiled by a small random alignment error (a shift of up to
``max_shift_pt`` and a rotation about the page centre of up to
``max_rotation_deg``), the way :meth:`Alignment.warp` would after a slightly
imperfect registration-mark fit.

Synthetic material only; writes no files, logs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from forms_service.scan.fiducials import Alignment

from ..degrade import degrade

__all__ = ["SimulatedScan", "simulate_scan"]


@dataclass(frozen=True, eq=False)
class SimulatedScan:
    """A degraded page warped into layout coordinates, and how it was made."""

    warped: NDArray[np.uint8]  # layout coordinates at ``scale`` pixels per point
    scale: float
    preset: str
    dpi: float  # resolution of the degraded scan
    bilevel: bool  # the scan is black and white only
    shift_pt: tuple[float, float]  # the alignment error added
    rotation_deg: float


def simulate_scan(
    image: NDArray[np.uint8],
    page_size: tuple[float, float],
    rng: np.random.Generator,
    preset: str = "office",
    *,
    source_scale: float = 300 / 72,
    scale: float | None = None,
    max_shift_pt: float = 1.5,
    max_rotation_deg: float = 0.3,
) -> SimulatedScan:
    """Scan ``image`` (a clean page raster at ``source_scale`` px/pt) and warp it back at ``scale``."""
    scale = source_scale if scale is None else scale
    d = degrade(image, rng, preset, source_dpi=source_scale * 72)
    dx, dy = (float(v) for v in rng.uniform(-max_shift_pt, max_shift_pt, 2))
    theta = float(rng.uniform(-max_rotation_deg, max_rotation_deg))
    w, h = page_size
    t = math.radians(theta)
    c, s = math.cos(t), math.sin(t)
    cx, cy = w / 2, h / 2
    # layout point -> the layout point whose content the warp will show there
    error = np.array(
        [[c, -s, cx - c * cx + s * cy + dx], [s, c, cy - s * cx - c * cy + dy], [0, 0, 1]],
        dtype=np.float64,
    )
    to_raster = np.diag([source_scale, source_scale, 1.0])
    matrix = d.matrix @ to_raster @ error
    alignment = Alignment(
        matrix=matrix / matrix[2, 2],
        method="homography",
        marks=(),
        residuals_pt={},
        perspective_pt=0.0,
        page_size=(w, h),
        note="synthetic",
    )
    warped = alignment.warp(d.image, dpi=scale * 72)
    return SimulatedScan(
        warped=warped,
        scale=scale,
        preset=preset,
        dpi=d.params.dpi,
        bilevel=d.params.bilevel_threshold is not None,
        shift_pt=(dx, dy),
        rotation_deg=theta,
    )
