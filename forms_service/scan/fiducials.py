"""Find the registration marks on an upright page and fit the transform from layout to image.

Every printed page carries four solid black registration marks (discs as the
renderer prints them, 6 mm across, the layout's ``fiducial_diameter``; squares
are found too) whose centres the layout lists as ``fiducials``. Given
the upright page image, :func:`align_page` finds each mark near where it
should be and fits a transform from layout points (top-left origin, y down)
to image pixels:

* all four marks: a homography (it absorbs a phone's perspective);
* exactly three (one cropped off, covered or smudged): an affine transform,
  and the :class:`Alignment` says so in its ``note``;
* fewer: :class:`~forms_service.scan.errors.AlignmentError`.

How a mark is told from everything else: the page's lighting is flattened
(divided by a large-scale background estimate), dark pixels are opened with a
disc about half a mark wide (which removes text, rules, streaks and QR
modules), and what remains must be a solid blob of the right size, squareness
and fill. Candidates near each expected position (predicted from the page
code's position and angle when given, else from the page's size) are combined,
and the combination whose geometry agrees best with the layout wins.

Checks (``residuals_pt``, in points): on a flat scan, how far each mark is
from the best flat (affine) fit of all four (a folded, curled or wrongly
found mark shows here); on every page with a page code, how far the code's
centre lies from where the fit puts it. A page photographed at an angle is
not flat: there the marks may depart from an affine fit by up to
``max_perspective_mm`` (reported as ``perspective_pt``).

Pure code: arrays in, dataclasses out. Must never: write files, keep images
or log anything about a page's content.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from ..layout import LayoutPage
from ..layout.frame import FIDUCIAL_DIAMETER, MM
from .errors import AlignmentError

__all__ = [
    "DEFAULT_MARK_SIZE_PT",
    "Alignment",
    "AlignmentLimits",
    "FoundMark",
    "align_layout_page",
    "align_page",
]

Point = tuple[float, float]
Rect = tuple[float, float, float, float]
FloatArray = NDArray[np.float64]

DEFAULT_MARK_SIZE_PT = FIDUCIAL_DIAMETER
"""A layout page's ``fiducial_diameter`` where the caller gives no layout page: 6 mm."""


@dataclass(frozen=True)
class AlignmentLimits:
    """What the aligner looks for and what it accepts."""

    #: side of a square mark or diameter of a round one, in points
    mark_size_pt: float = DEFAULT_MARK_SIZE_PT
    #: largest error allowed at a check point (flat-page marks, the page code's centre)
    max_residual_mm: float = 3.0
    #: largest error allowed at the page code's corners (they are found to a fraction of a module)
    max_page_code_error_mm: float = 1.5
    #: on a photographed page: how far the marks may depart from a flat page
    max_perspective_mm: float = 30.0
    #: a mark-like blob this close to where a missing mark belongs means the
    #: marks are misplaced (not this layout), not that one is missing
    conflict_radius_mm: float = 15.0


@dataclass(frozen=True)
class FoundMark:
    """One registration mark found on the image."""

    index: int  # position in the layout's ``fiducials``
    name: str  # "top-left", "top-right", "bottom-left", "bottom-right" (or "mark 3")
    expected: Point  # layout points
    centre: Point  # image pixels (origin at the image's top-left edge)
    size_px: float  # side (or diameter) as found, in pixels


@dataclass(frozen=True, eq=False)
class Alignment:
    """The fitted transform from layout points to image pixels, and how well it fits."""

    matrix: FloatArray  # 3 x 3: layout points -> image pixels
    method: Literal["homography", "affine"]
    marks: tuple[FoundMark | None, ...]  # one per layout fiducial; None = not found
    residuals_pt: dict[str, float]  # checked errors, in points
    perspective_pt: float  # how far the marks depart from a flat page (photos), points
    page_size: tuple[float, float]  # layout width and height in points
    note: str  # one sentence for the operator: how the page was aligned
    flat: bool = True  # treated as a flat scan (no perspective expected)
    _inverse: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_inverse", _inv(self.matrix))

    @property
    def found(self) -> int:
        return sum(mark is not None for mark in self.marks)

    @property
    def max_residual_pt(self) -> float:
        return max(self.residuals_pt.values(), default=0.0)

    @property
    def mean_residual_pt(self) -> float:
        values = list(self.residuals_pt.values())
        return float(np.mean(values)) if values else 0.0

    def points_to_pixels(self, points: Any) -> FloatArray:
        """Layout points (N x 2) to image pixels (N x 2)."""
        return _project(self.matrix, np.asarray(points, dtype=np.float64).reshape(-1, 2))

    def pixels_to_points(self, pixels: Any) -> FloatArray:
        """Image pixels (N x 2) to layout points (N x 2)."""
        return _project(self._inverse, np.asarray(pixels, dtype=np.float64).reshape(-1, 2))

    def to_pixels(self, rect: Rect) -> FloatArray:
        """A layout rectangle as the image quadrilateral: top-left, top-right, bottom-right, bottom-left."""
        x0, y0, x1, y1 = rect
        return self.points_to_pixels([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def scale_at(self, point: Point) -> float:
        """Image pixels per layout point around ``point`` (geometric mean of both axes)."""
        jac = _jacobian(self.matrix, point)
        return math.sqrt(abs(float(np.linalg.det(jac))))

    def warp(
        self, image: NDArray[np.uint8], dpi: float = 150.0, *, rect: Rect | None = None
    ) -> NDArray[np.uint8]:
        """The page (or one layout rectangle of it) resampled upright in layout coordinates at ``dpi``.

        Pixel (row i, column j) of the result shows layout point
        ``((x0 + (j + 0.5) * 72 / dpi), (y0 + (i + 0.5) * 72 / dpi))``.
        """
        x0, y0, x1, y1 = rect if rect is not None else (0.0, 0.0, *self.page_size)
        k = dpi / 72.0
        width, height = max(1, round((x1 - x0) * k)), max(1, round((y1 - y0) * k))
        source = image
        matrix = self.matrix
        shrink = self.scale_at(((x0 + x1) / 2, (y0 + y1) / 2)) / k
        if shrink > 1.5:  # average first: warping alone would alias thin strokes away
            f = 1.0 / shrink
            h, w = image.shape[:2]
            size = (max(1, round(w * f)), max(1, round(h * f)))
            source = _u8(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
            matrix = np.diag([size[0] / w, size[1] / h, 1.0]) @ matrix
        out_to_points = np.array([[1 / k, 0, x0], [0, 1 / k, y0], [0, 0, 1]], dtype=np.float64)
        out_to_source = _shift(-0.5) @ matrix @ out_to_points @ _shift(0.5)
        warped = cv2.warpPerspective(
            source,
            out_to_source,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=255,
        )
        return np.asarray(warped, dtype=np.uint8)


def align_layout_page(
    image: NDArray[np.uint8],
    page: LayoutPage,
    page_code_corners: FloatArray | None = None,
    *,
    dpi: float | None = None,
    flat: bool | None = None,
    limits: AlignmentLimits | None = None,
) -> Alignment:
    """:func:`align_page` for a :class:`~forms_service.layout.LayoutPage`, looking for marks of
    the page's ``fiducial_diameter`` unless ``limits`` say otherwise."""
    limits = limits or AlignmentLimits(mark_size_pt=page.fiducial_diameter)
    return align_page(
        image,
        (page.width, page.height),
        page.fiducials,
        page_code_rect=page.page_code,
        page_code_corners=page_code_corners,
        dpi=dpi,
        flat=flat,
        limits=limits,
    )


def align_page(
    image: NDArray[np.uint8],
    page_size: tuple[float, float],
    fiducials: Sequence[Point],
    *,
    page_code_rect: Rect | None = None,
    page_code_corners: FloatArray | None = None,
    dpi: float | None = None,
    flat: bool | None = None,
    limits: AlignmentLimits | None = None,
) -> Alignment:
    """Find the registration marks on an upright page image and fit layout points -> pixels.

    ``page_code_corners`` are the page code's corners in this image (from
    :func:`~forms_service.scan.pagecode.turn_upright`); with ``page_code_rect``
    they give the first estimate of where the marks are and a check point.
    ``dpi`` is the image's resolution if known (a scanner's); ``flat`` says
    whether to treat the page as lying flat (default: when ``dpi`` is known).
    Raises :class:`AlignmentError` with the reason when the page cannot be aligned.
    """
    limits = limits or AlignmentLimits()
    if image.ndim != 2:
        raise ValueError("align_page needs a greyscale image (H x W)")
    if len(fiducials) < 3:
        raise AlignmentError("the layout lists fewer than 3 registration marks for this page.")
    is_flat = (dpi is not None) if flat is None else flat
    layout = np.asarray(fiducials, dtype=np.float64).reshape(-1, 2)
    names = _mark_names(layout, page_size)
    qr = _PageCodeCheck.make(page_code_rect, page_code_corners)
    prior = _prior(image.shape, page_size, layout, qr, dpi)
    candidates = _candidates(image, prior, limits, qr)
    per_mark = _near_expected(candidates, prior)
    missing = [names[i] for i, options in enumerate(per_mark) if not options]
    present = len(layout) - len(missing)
    if present < 3:
        raise AlignmentError(_too_few_sentence(present, len(layout), missing))
    choice = _best_combination(layout, per_mark, prior, qr, limits, is_flat)
    if choice is None:
        raise AlignmentError(
            "the registration marks are not where this form's layout puts them: "
            "the page may not be this form, or it is badly photographed."
        )
    # Measure the chosen marks precisely on the full-resolution image, then fit again.
    refined: list[_Candidate | None] = []
    for cand in choice.marks:
        refined.append(None if cand is None else _refine(image, cand, choice.scale, limits))
    if sum(c is not None for c in refined) < 3:
        lost = [names[i] for i, c in enumerate(refined) if c is None]
        raise AlignmentError(
            _too_few_sentence(sum(c is not None for c in refined), len(layout), lost)
        )
    final = _evaluate(layout, refined, qr, limits, is_flat, names)
    if final.error is not None:
        raise AlignmentError(final.error)
    conflict = _misplaced_mark(final.matrix, layout, refined, candidates, limits)
    if conflict is not None:
        raise AlignmentError(_misaligned(conflict))
    marks = tuple(
        None if c is None else FoundMark(i, names[i], _pt(layout[i]), _pt(c.centre), c.size)
        for i, c in enumerate(refined)
    )
    return Alignment(
        matrix=final.matrix,
        method=final.method,
        marks=marks,
        residuals_pt=final.residuals,
        perspective_pt=final.perspective,
        page_size=(float(page_size[0]), float(page_size[1])),
        note=_note(final.method, names, refined),
        flat=is_flat,
    )


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class _PageCodeCheck:
    rect_centre: FloatArray  # layout points
    rect_side: float  # points
    corners: FloatArray  # 4 x 2 image pixels
    centre: FloatArray  # image pixels
    angle: float  # radians, clockwise, of the symbol's top edge
    side_px: float

    @classmethod
    def make(cls, rect: Rect | None, corners: FloatArray | None) -> _PageCodeCheck | None:
        if rect is None or corners is None:
            return None
        c = np.asarray(corners, dtype=np.float64).reshape(4, 2)
        x0, y0, x1, y1 = rect
        top = c[1] - c[0]
        left = c[3] - c[0]
        angle = (math.atan2(top[1], top[0]) + math.atan2(-left[0], left[1])) / 2
        side = float(np.mean([np.hypot(*(c[(i + 1) % 4] - c[i])) for i in range(4)]))
        return cls(
            np.array([(x0 + x1) / 2, (y0 + y1) / 2]),
            float(min(x1 - x0, y1 - y0)),
            c,
            c.mean(axis=0),
            angle,
            side,
        )


@dataclass(frozen=True)
class _Prior:
    """Where the marks should be before any is found."""

    predicted: FloatArray  # N x 2 pixels
    radius: FloatArray  # N, pixels
    scale_lo: float  # pixels per point
    scale_hi: float
    angle: float  # radians
    angle_tolerance: float  # radians
    anchored: bool  # predicted from the page code (else from the page's size)


def _prior(
    shape: tuple[int, ...],
    page_size: tuple[float, float],
    layout: FloatArray,
    qr: _PageCodeCheck | None,
    dpi: float | None,
) -> _Prior:
    h, w = shape[0], shape[1]
    page_w, page_h = page_size
    if dpi is not None:
        scale_lo, scale_hi = 0.93 * dpi / 72, 1.07 * dpi / 72
    elif qr is not None:
        # The rectangle may include the code's quiet zone: the symbol is then smaller.
        s = qr.side_px / qr.rect_side
        scale_lo, scale_hi = 0.85 * s, 1.5 * s
    else:
        s = min(w / page_w, h / page_h)
        scale_lo, scale_hi = 0.5 * s, 1.05 * s
    scale = math.sqrt(scale_lo * scale_hi)
    spread = (scale_hi - scale_lo) / (2 * scale)
    if qr is not None:
        angle, angle_tolerance = qr.angle, math.radians(4.0)
        anchor_pt, anchor_px = qr.rect_centre, qr.centre
        base = 12 * MM * scale
    else:
        angle, angle_tolerance = 0.0, math.radians(8.0)
        anchor_pt = np.array([page_w / 2, page_h / 2])
        anchor_px = np.array([w / 2, h / 2])
        base = (25 * MM * scale) if dpi is not None else 0.25 * math.hypot(w, h)
    rot = _rot(angle)
    offsets = layout - anchor_pt
    predicted = anchor_px + scale * offsets @ rot.T
    distance = np.hypot(offsets[:, 0], offsets[:, 1]) * scale
    radius = base + distance * (spread + math.sin(angle_tolerance))
    return _Prior(predicted, radius, scale_lo, scale_hi, angle, angle_tolerance, qr is not None)


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class _Candidate:
    centre: FloatArray  # image pixels
    size: float  # side or diameter, image pixels


def _candidates(
    image: NDArray[np.uint8], prior: _Prior, limits: AlignmentLimits, qr: _PageCodeCheck | None
) -> list[_Candidate]:
    """Solid dark blobs of about a mark's size anywhere on the page."""
    mark_lo = limits.mark_size_pt * prior.scale_lo
    mark_hi = limits.mark_size_pt * prior.scale_hi
    g = min(1.0, 22.0 / mark_lo)  # work with marks about 22 px wide, or the image as it is
    h, w = image.shape
    work = image
    if g < 1.0:
        size = (max(1, round(w * g)), max(1, round(h * g)))
        work = _u8(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    lo, hi = mark_lo * g, mark_hi * g
    dark = _dark_mask(work, hi)
    opened = cv2.morphologyEx(dark, cv2.MORPH_OPEN, _disc(max(3, int(0.45 * lo) | 1)))
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(opened, connectivity=8)
    qr_zone = _grown_quad(qr.corners * g, 1.3) if qr is not None else None
    found: list[_Candidate] = []
    wh, ww = work.shape
    for label in range(1, count):
        x, y, bw, bh, area = (int(v) for v in stats[label])
        if not (0.5 * lo <= bw <= 1.6 * hi and 0.5 * lo <= bh <= 1.6 * hi):
            continue
        if max(bw, bh) > 1.5 * min(bw, bh):
            continue
        if area < 0.3 * lo * lo or area > 1.6 * hi * hi or area < 0.6 * bw * bh:
            continue
        if x == 0 or y == 0 or x + bw >= ww or y + bh >= wh:
            continue  # cut off by the edge of the image
        centre = centroids[label]
        if (
            qr_zone is not None
            and cv2.pointPolygonTest(qr_zone, (float(centre[0]), float(centre[1])), False) >= 0
        ):
            continue
        blob = (labels[y : y + bh, x : x + bw] == label).astype(np.uint8)
        contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull_area = cv2.contourArea(cv2.convexHull(max(contours, key=cv2.contourArea)))
        if hull_area <= 0 or area / hull_area < 0.85:
            continue
        found.append(_Candidate((centre + 0.5) / g, math.sqrt(area) / g))
    return found


def _dark_mask(work: NDArray[np.uint8], mark_px: float) -> NDArray[np.uint8]:
    """Pixels much darker than the paper around them (lighting flattened first)."""
    k = max(15, int(2.2 * mark_px) | 1)
    h, w = work.shape
    small_f = min(1.0, 24.0 / k)  # estimate the background on a small copy: fast
    small = work
    if small_f < 1.0:
        size = (max(1, round(w * small_f)), max(1, round(h * small_f)))
        small = _u8(cv2.resize(work, size, interpolation=cv2.INTER_AREA))
    ks = max(3, int(k * small_f) | 1)
    background = cv2.morphologyEx(
        small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (ks, ks))
    )
    background = cv2.GaussianBlur(background, (0, 0), ks / 2)
    if small_f < 1.0:
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    ratio = work.astype(np.float32) / np.maximum(background.astype(np.float32), 1.0)
    return (ratio < 0.6).astype(np.uint8) * 255


def _near_expected(
    candidates: list[_Candidate], prior: _Prior, keep: int = 5
) -> list[list[_Candidate]]:
    """For each mark, the few candidates worth trying, best first.

    With a page code the prediction is good: nearest first. Without one, the
    page's scale is uncertain and the prediction may fall inside the page
    (among filled boxes and text): the outermost candidate in the mark's
    direction comes first, as registration marks sit outside everything else.
    """
    out: list[list[_Candidate]] = []
    centre = prior.predicted.mean(axis=0)
    for expected, radius in zip(prior.predicted, prior.radius, strict=True):
        outward = expected - centre
        outward = outward / max(float(np.hypot(*outward)), 1e-9)
        scored = []
        for c in candidates:
            distance = float(np.hypot(*(c.centre - expected)))
            if distance > radius:
                continue
            key = distance if prior.anchored else -float((c.centre - centre) @ outward)
            scored.append((key, c))
        scored.sort(key=lambda item: item[0])
        out.append([c for _, c in scored[:keep]])
    return out


# --------------------------------------------------------------------------- choosing


@dataclass
class _Fit:
    matrix: FloatArray
    method: Literal["homography", "affine"]
    residuals: dict[str, float]
    perspective: float
    error: str | None  # why the fit is not acceptable
    cost: float


@dataclass(frozen=True)
class _Choice:
    marks: tuple[_Candidate | None, ...]
    scale: float


def _best_combination(
    layout: FloatArray,
    per_mark: list[list[_Candidate]],
    prior: _Prior,
    qr: _PageCodeCheck | None,
    limits: AlignmentLimits,
    flat: bool,
) -> _Choice | None:
    """The consistent combination of candidates with the most marks, and then the lowest cost."""
    names = [str(i) for i in range(len(layout))]
    options: list[list[_Candidate | None]] = [[*opts, None] for opts in per_mark]
    combos = [
        combo
        for combo in itertools.product(*options)
        if sum(c is not None for c in combo) >= 3
        and len({id(c) for c in combo if c is not None}) == sum(c is not None for c in combo)
    ]
    combos.sort(key=lambda combo: -sum(c is not None for c in combo))
    best: tuple[int, float, _Choice] | None = None
    for combo in combos:
        chosen = [(i, c) for i, c in enumerate(combo) if c is not None]
        if best is not None and len(chosen) < -best[0]:
            break  # a combination with more marks already fits
        src = layout[[i for i, _ in chosen]]
        dst = np.array([c.centre for _, c in chosen])
        scale, angle, _ = _similarity(src, dst)
        if not (0.9 * prior.scale_lo <= scale <= 1.1 * prior.scale_hi):
            continue
        if abs(_wrap(angle - prior.angle)) > prior.angle_tolerance + math.radians(2):
            continue
        sizes = np.array([c.size for _, c in chosen]) / (scale * limits.mark_size_pt)
        if sizes.min() < 0.55 or sizes.max() > 1.7:
            continue
        fit = _evaluate(layout, list(combo), qr, limits, flat, names)
        if fit.error is not None:
            continue
        closeness = sum(
            float(np.hypot(*(c.centre - prior.predicted[i]))) / prior.radius[i] for i, c in chosen
        )
        key = (-len(chosen), fit.cost + 0.05 * closeness)
        if best is None or key < best[:2]:
            best = (key[0], key[1], _Choice(tuple(combo), scale))
    return None if best is None else best[2]


def _evaluate(
    layout: FloatArray,
    marks: Sequence[_Candidate | None],
    qr: _PageCodeCheck | None,
    limits: AlignmentLimits,
    flat: bool,
    names: Sequence[str],
) -> _Fit:
    """Fit the transform for the given marks and check it.

    Four marks: a homography. Three on a flat page (or without a page code):
    an affine transform. Three on a photograph with a page code: a
    homography through the three marks and the code's four corners, since an
    affine fit cannot follow perspective.
    """
    index = [i for i, c in enumerate(marks) if c is not None]
    src = layout[index]
    dst = np.array([c.centre for c in marks if c is not None])
    residuals: dict[str, float] = {}
    perspective = 0.0
    limit_pt = limits.max_residual_mm * MM
    method: Literal["homography", "affine"]

    def reject(matrix: FloatArray, error_pt: float) -> _Fit:
        return _Fit(matrix, method, residuals, perspective, _misaligned(error_pt), math.inf)

    if len(index) >= 4:
        method = "homography"
        affine = _affine_lsq(src, dst)
        departure = _departure_pt(affine, src, dst)
        perspective = float(departure.max())
        if flat:
            for i, d in zip(index, departure, strict=True):
                residuals[f"{names[i]} mark"] = float(d)
        matrix = _homography(src, dst)
        if matrix is None:
            return reject(np.eye(3), math.inf)
        if perspective > (limit_pt if flat else limits.max_perspective_mm * MM):
            return reject(matrix, perspective)
        if not _plausible_projection(matrix, layout):
            return reject(matrix, perspective)
    elif flat or qr is None:
        method = "affine"
        matrix = _affine_exact(src, dst)
        if not _near_similarity(matrix, flat):
            return reject(matrix, 2 * limit_pt)
    else:
        method = "homography"
        fitted = _fit_with_page_code(src, dst, qr)
        if fitted is None:
            return reject(np.eye(3), math.inf)
        matrix, mark_errors = fitted
        for i, d in zip(index, mark_errors, strict=True):
            residuals[f"{names[i]} mark"] = float(d)
        if not _plausible_projection(matrix, layout) or not _near_similarity(
            _affine_exact(src, dst), flat
        ):
            return reject(matrix, max(mark_errors))
    if qr is not None:
        residuals["page code"] = code_error = _page_code_error(matrix, qr)
        if code_error > limits.max_page_code_error_mm * MM:
            return reject(matrix, code_error)
    worst = max(residuals.values(), default=0.0)
    if worst > limit_pt:
        return reject(matrix, worst)
    cost = worst / limit_pt + (0.0 if flat else perspective / (limits.max_perspective_mm * MM))
    return _Fit(matrix, method, residuals, perspective, None, cost)


_CORNER_DIRECTIONS = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def _code_corners_pt(qr: _PageCodeCheck, k: float) -> FloatArray:
    """The symbol's corners in layout points if it fills share ``k`` of its rectangle."""
    return qr.rect_centre + _CORNER_DIRECTIONS * (k * qr.rect_side / 2)


def _page_code_error(matrix: FloatArray, qr: _PageCodeCheck) -> float:
    """Largest distance (points) between the code's corners as found and as the fit puts them.

    The rectangle may or may not include the code's quiet zone, so the
    symbol's share ``k`` of it is fitted (closed form) before measuring.
    """
    back = _project(_inv(matrix), qr.corners)
    offsets = back - qr.rect_centre
    unit = _CORNER_DIRECTIONS * (qr.rect_side / 2)
    k = float(np.sum(offsets * unit) / np.sum(unit * unit))
    if not 0.4 <= k <= 1.1:
        return math.inf
    return float(np.max(np.hypot(*(back - _code_corners_pt(qr, k)).T)))


def _fit_with_page_code(
    src: FloatArray, dst: FloatArray, qr: _PageCodeCheck
) -> tuple[FloatArray, FloatArray] | None:
    """Homography through three marks and the page code's corners; the marks' errors in points.

    The symbol's share ``k`` of its rectangle is unknown (quiet zone or not):
    try a coarse range, then refine around the best.
    """
    pixels = np.vstack([dst, qr.corners])

    def attempt(k: float) -> tuple[float, float, FloatArray, FloatArray] | None:
        points = np.vstack([src, _code_corners_pt(qr, k)])
        matrix = _homography(points, pixels)
        if matrix is None:
            return None
        errors = np.hypot(*(_project(_inv(matrix), pixels) - points).T)
        return float(np.sqrt(np.mean(errors**2))), k, matrix, errors

    results = [r for k in np.linspace(0.5, 1.05, 12) if (r := attempt(float(k))) is not None]
    if not results:
        return None
    k0 = min(results, key=lambda r: r[0])[1]
    results += [
        r for k in np.linspace(k0 - 0.05, k0 + 0.05, 11) if (r := attempt(float(k))) is not None
    ]
    _, _, matrix, errors = min(results, key=lambda r: r[0])
    return matrix, errors[: len(src)]


def _homography(src: FloatArray, dst: FloatArray) -> FloatArray | None:
    matrix, _ = cv2.findHomography(src.astype(np.float64), dst.astype(np.float64), 0)
    if matrix is None or not np.all(np.isfinite(matrix)) or abs(matrix[2, 2]) < 1e-12:
        return None
    return np.asarray(matrix / matrix[2, 2], dtype=np.float64)


def _affine_exact(src: FloatArray, dst: FloatArray) -> FloatArray:
    top = cv2.getAffineTransform(src[:3].astype(np.float32), dst[:3].astype(np.float32))
    return np.vstack([top.astype(np.float64), [0.0, 0.0, 1.0]])


def _misplaced_mark(
    matrix: FloatArray,
    layout: FloatArray,
    marks: Sequence[_Candidate | None],
    candidates: Sequence[_Candidate],
    limits: AlignmentLimits,
) -> float | None:
    """With a mark missing: the distance (points) of a mark-like blob near its place, if any.

    A blob of a mark's size a little away from where the missing mark belongs
    says the page's marks are not where this layout puts them (another layout,
    or not our form), rather than that a mark is covered or cut off.
    """
    for i, mark in enumerate(marks):
        if mark is not None:
            continue
        expected = layout[i]
        scale = math.sqrt(abs(float(np.linalg.det(_jacobian(matrix, _pt(expected))))))
        predicted = _project(matrix, expected[None, :])[0]
        for cand in candidates:
            distance_pt = float(np.hypot(*(cand.centre - predicted))) / scale
            size = cand.size / (scale * limits.mark_size_pt)
            if distance_pt <= limits.conflict_radius_mm * MM and 0.55 <= size <= 1.7:
                return distance_pt
    return None


def _misaligned(error_pt: float) -> str:
    size = f" (max error {error_pt / MM:.1f} mm)" if math.isfinite(error_pt) else ""
    return (
        f"the registration marks do not line up{size}: "
        "the page may be folded or badly photographed."
    )


def _too_few_sentence(present: int, total: int, missing: Sequence[str]) -> str:
    which = ", ".join(missing)
    found = "none" if present == 0 else f"only {present}"
    return (
        f"{found} of the {total} registration marks {'was' if present == 1 else 'were'} found "
        f"(missing: {which}): the page may be cut off, covered, or not a page of this form."
    )


def _note(method: str, names: Sequence[str], marks: Sequence[_Candidate | None]) -> str:
    missing = [names[i] for i, c in enumerate(marks) if c is None]
    if not missing:
        return f"aligned on all {len(marks)} registration marks ({method})."
    found = f"aligned on {len(marks) - len(missing)} of the {len(marks)} registration marks"
    if method == "affine":
        return f"{found} ({', '.join(missing)} not found): affine fit, no perspective correction."
    return f"{found} ({', '.join(missing)} not found) and the page code's corners (homography)."


# --------------------------------------------------------------------------- refinement


def _refine(
    image: NDArray[np.uint8], cand: _Candidate, scale: float, limits: AlignmentLimits
) -> _Candidate | None:
    """The mark's centre measured on the full-resolution image (darkness-weighted centroid)."""
    mark = limits.mark_size_pt * scale
    half = max(4, int(round(1.1 * max(mark, cand.size))))
    cx, cy = cand.centre
    h, w = image.shape
    x0, y0 = max(0, int(cx) - half), max(0, int(cy) - half)
    x1, y1 = min(w, int(cx) + half + 1), min(h, int(cy) + half + 1)
    window = image[y0:y1, x0:x1].astype(np.float32)
    paper = float(np.percentile(window, 95))
    ink = float(np.percentile(window, 3))
    if paper - ink < 30:
        return None
    threshold = (paper + ink) / 2
    dark = (window < threshold).astype(np.uint8)
    dark = _u8(cv2.morphologyEx(dark, cv2.MORPH_OPEN, _disc(max(3, int(0.35 * mark) | 1))))
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(dark, connectivity=8)
    if count < 2:
        return None
    local = np.array([cx - x0, cy - y0])
    label = min(range(1, count), key=lambda j: float(np.hypot(*(centroids[j] + 0.5 - local))))
    x, y, bw, bh, area = (int(v) for v in stats[label])
    touches_image_edge = (
        (x == 0 and x0 == 0)
        or (y == 0 and y0 == 0)
        or (x + bw >= dark.shape[1] and x1 == w)
        or (y + bh >= dark.shape[0] and y1 == h)
    )
    if touches_image_edge:
        return None  # cut off by the edge of the image: its centre cannot be measured
    grow = max(2, int(0.15 * mark))
    mask = cv2.dilate((labels == label).astype(np.uint8), _disc(2 * grow + 1))
    weight = np.clip((paper - window) / (paper - ink), 0.0, 1.0) * mask
    total = float(weight.sum())
    if total <= 0:
        return None
    ys, xs = np.mgrid[0 : window.shape[0], 0 : window.shape[1]]
    mx = float((weight * (xs + 0.5)).sum() / total) + x0
    my = float((weight * (ys + 0.5)).sum() / total) + y0
    return _Candidate(np.array([mx, my]), math.sqrt(area))


# --------------------------------------------------------------------------- geometry


def _mark_names(layout: FloatArray, page_size: tuple[float, float]) -> list[str]:
    cx, cy = page_size[0] / 2, page_size[1] / 2
    names = [f"{'top' if y < cy else 'bottom'}-{'left' if x < cx else 'right'}" for x, y in layout]
    if len(set(names)) != len(names):
        return [f"mark {i + 1}" for i in range(len(layout))]
    return names


def _similarity(src: FloatArray, dst: FloatArray) -> tuple[float, float, FloatArray]:
    """Least-squares scale, clockwise angle (radians) and translation mapping src onto dst."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    # Complex-number form: dst = z * src with z = scale * e^{i angle}
    za = a[:, 0] + 1j * a[:, 1]
    zb = b[:, 0] + 1j * b[:, 1]
    z = complex(np.vdot(za, zb) / max(float(np.vdot(za, za).real), 1e-12))
    scale, angle = abs(z), math.atan2(z.imag, z.real)
    return scale, angle, md - scale * (_rot(angle) @ ms)


def _affine_lsq(src: FloatArray, dst: FloatArray) -> FloatArray:
    design = np.hstack([src, np.ones((len(src), 1))])
    solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return np.vstack([solution.T, [0, 0, 1]])


def _departure_pt(affine: FloatArray, src: FloatArray, dst: FloatArray) -> FloatArray:
    """How far each found point lies from the affine fit, in layout points."""
    back = _project(_inv(affine), dst)
    return np.hypot(*(back - src).T)


def _near_similarity(affine: FloatArray, flat: bool) -> bool:
    """A flat page scans as rotation + uniform scale (+ a little stretch); a photo may skew more."""
    linear = affine[:2, :2]
    sv = np.linalg.svd(linear, compute_uv=False)
    if sv[1] <= 0 or np.linalg.det(linear) <= 0:
        return False
    ex, ey = linear[:, 0], linear[:, 1]
    shear = abs(
        math.degrees(math.acos(np.clip(ex @ ey / (np.hypot(*ex) * np.hypot(*ey)), -1, 1))) - 90
    )
    if flat:
        return bool(sv[0] / sv[1] <= 1.04 and shear <= 2.0)
    return bool(sv[0] / sv[1] <= 1.3 and shear <= 12.0)


def _plausible_projection(matrix: FloatArray, layout: FloatArray) -> bool:
    """The page keeps its orientation and no part of it is folded through the horizon."""
    lo, hi = layout.min(axis=0), layout.max(axis=0)
    corners = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]])
    pts = np.hstack([corners, np.ones((4, 1))]) @ matrix.T
    if np.any(pts[:, 2] <= 0):
        return False
    quad = pts[:, :2] / pts[:, 2:3]
    signs = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        u, v = b - a, c - b
        signs.append(float(u[0] * v[1] - u[1] * v[0]))
    if not (all(s > 0 for s in signs) or all(s < 0 for s in signs)):
        return False
    scales = [math.sqrt(abs(float(np.linalg.det(_jacobian(matrix, tuple(p)))))) for p in corners]
    return max(scales) / max(min(scales), 1e-9) < 2.0


def _jacobian(matrix: FloatArray, point: Sequence[float] | Point) -> FloatArray:
    x, y = float(point[0]), float(point[1])
    u, v, w = matrix @ np.array([x, y, 1.0])
    return np.array(
        [
            [
                (matrix[0, 0] * w - u * matrix[2, 0]) / w**2,
                (matrix[0, 1] * w - u * matrix[2, 1]) / w**2,
            ],
            [
                (matrix[1, 0] * w - v * matrix[2, 0]) / w**2,
                (matrix[1, 1] * w - v * matrix[2, 1]) / w**2,
            ],
        ]
    )


def _project(matrix: FloatArray, points: FloatArray) -> FloatArray:
    mapped = np.hstack([points, np.ones((len(points), 1))]) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def _rot(angle: float) -> FloatArray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2 * math.pi) - math.pi


def _shift(d: float) -> FloatArray:
    return np.array([[1, 0, d], [0, 1, d], [0, 0, 1]], dtype=np.float64)


def _disc(size: int) -> NDArray[np.uint8]:
    return _u8(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))


def _u8(array: Any) -> NDArray[np.uint8]:
    return np.asarray(array, dtype=np.uint8)


def _inv(matrix: FloatArray) -> FloatArray:
    return np.asarray(np.linalg.inv(matrix), dtype=np.float64)


def _grown_quad(corners: FloatArray, factor: float) -> NDArray[np.float32]:
    centre = corners.mean(axis=0)
    return ((corners - centre) * factor + centre).astype(np.float32).reshape(-1, 1, 2)


def _pt(values: Any) -> Point:
    return (float(values[0]), float(values[1]))
