"""Find and decode the page code: the QR code that says which questionnaire page a scan shows.

:func:`find_page_code` reads the QR with zxing-cpp at any rotation, on skewed,
blurred, noisy, 1-bit and phone-photographed pages from 150 to 600 dpi. It
tries the cheap things first: the region where the layout puts the code (and
where it would be if the page were upside down or on its side), then the
whole page, then a smaller or larger copy, a copy with speckle removed, a
binarised copy with the lighting flattened, and a sharpened copy (for blurred
low-resolution photos). It returns where the symbol's corners are and how the
page is turned, so the caller can turn the page upright with
:func:`turn_upright` before aligning it.

A QR code that is not a forms-service page code is still reported (with
``page_code=None`` and the reason), so the caller can say so.

Pure code: arrays in, dataclasses out. Must never: log or keep the decoded
text (it contains a sheet id), write files, or keep images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from ..errors import InvalidInput
from ..sheets import PAGE_CODE_PREFIX, PageCode

__all__ = [
    "PageCodeHit",
    "find_page_code",
    "hint_from_points",
    "rotate_points",
    "turn_image",
    "turn_upright",
]

Rect = tuple[float, float, float, float]

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True, eq=False)
class PageCodeHit:
    """A QR code found on a page image."""

    text: str  # what the QR says (contains a sheet id: never log it)
    page_code: PageCode | None  # None: a QR code that is not a forms-service page code
    problem: str | None  # why ``page_code`` is None, as a sentence
    # 4 x 2 pixels: the symbol's top-left, top-right, bottom-right and bottom-left corners
    corners: NDArray[np.float64]
    rotation: int  # 0, 90, 180 or 270: how far the page is turned clockwise in the image
    angle: float  # the symbol's exact clockwise angle in degrees (skew included)
    version: int | None  # QR version (the symbol is 17 + 4 x version modules wide)
    found_by: str  # the attempt that found it: hint, page, scaled, despeckled, binarised, sharpened

    @property
    def is_page_code(self) -> bool:
        return self.page_code is not None

    @property
    def centre(self) -> tuple[float, float]:
        x, y = self.corners.mean(axis=0)
        return float(x), float(y)

    @property
    def skew(self) -> float:
        """Degrees clockwise beyond the quarter turn (small on a scanner, a few on a phone)."""
        return (self.angle - self.rotation + 180.0) % 360.0 - 180.0

    @property
    def side_px(self) -> float:
        """Mean length of the symbol's sides in pixels."""
        c = self.corners
        return float(np.mean([np.hypot(*(c[(i + 1) % 4] - c[i])) for i in range(4)]))

    @property
    def module_px(self) -> float | None:
        if self.version is None:
            return None
        return self.side_px / (17 + 4 * self.version)


def hint_from_points(rect: Rect, dpi: float) -> Rect:
    """The layout's ``page_code`` rectangle (points) as pixels of an upright page at ``dpi``."""
    s = dpi / 72.0
    x0, y0, x1, y1 = rect
    return (x0 * s, y0 * s, x1 * s, y1 * s)


def find_page_code(image: NDArray[np.uint8], hint: Rect | None = None) -> PageCodeHit | None:
    """Find the page code on a greyscale page image, or None when there is no readable QR code.

    ``hint`` is where the code should be if the page were upright (pixels,
    ``x0, y0, x1, y1``, e.g. from :func:`hint_from_points`); the same region
    turned by 90, 180 and 270 degrees is tried too. A forms-service page code
    is preferred to any other QR code on the page.
    """
    if image.ndim != 2:
        raise ValueError("find_page_code needs a greyscale image (H x W)")
    image = np.ascontiguousarray(image, dtype=np.uint8)
    foreign: PageCodeHit | None = None
    for label, view, to_image, regions in _attempts(image, hint):
        for region in regions:
            for hit in _read(view, region, to_image, label):
                if hit.page_code is not None:
                    return hit
                foreign = foreign or hit
    return foreign


def turn_image(image: NDArray[Any], rotation: int) -> NDArray[Any]:
    """Undo a clockwise ``rotation`` (0, 90, 180, 270) of the page in ``image``."""
    k = (rotation // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def rotate_points(
    points: NDArray[np.float64], shape: tuple[int, ...], rotation: int
) -> NDArray[np.float64]:
    """Where points of ``image`` (shape ``shape``) land in ``turn_image(image, rotation)``."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2).copy()
    height, width = shape[0], shape[1]
    for _ in range((rotation // 90) % 4):  # one anticlockwise quarter turn each
        pts = np.stack([pts[:, 1], width - pts[:, 0]], axis=1)
        width, height = height, width
    return pts


def turn_upright(
    image: NDArray[np.uint8], hit: PageCodeHit
) -> tuple[NDArray[np.uint8], PageCodeHit]:
    """The page turned upright (by quarter turns) and the hit in the turned image's pixels."""
    if hit.rotation == 0:
        return image, hit
    turned = turn_image(image, hit.rotation)
    corners = rotate_points(hit.corners, image.shape, hit.rotation)
    return turned, replace(hit, corners=corners, rotation=0, angle=hit.angle - hit.rotation)


# --------------------------------------------------------------------------- attempts


def _attempts(
    image: NDArray[np.uint8], hint: Rect | None
) -> Iterator[tuple[str, NDArray[np.uint8], float, list[tuple[int, int, int, int] | None]]]:
    """(label, image to read, factor from its pixels to the original's, regions to try)."""
    h, w = image.shape
    hinted = _hint_regions(hint, w, h)
    if hinted:
        yield "hint", image, 1.0, list(hinted)
    yield "page", image, 1.0, [None]

    long_side = max(h, w)
    variants: list[tuple[str, Callable[[], tuple[NDArray[np.uint8], float]]]] = []
    if long_side > 2600:  # 300 dpi and more: a half-size copy is often cleaner
        variants.append(("scaled", lambda: (_resize(image, 0.5), 2.0)))
    if long_side < 2600:  # 200 dpi and less: small modules read better enlarged
        variants.append(("scaled", lambda: (_resize(image, 2.0), 0.5)))
    variants.append(("despeckled", lambda: (_u8(cv2.medianBlur(image, 3)), 1.0)))
    variants.append(("binarised", lambda: (_binarise(image), 1.0)))
    if long_side < 2600:  # blurred low-resolution photos: enlarge, sharpen, threshold locally
        variants.append(("sharpened", lambda: (_sharpen(_resize(image, 2.0)), 0.5)))
    else:
        variants.append(("sharpened", lambda: (_sharpen(image), 1.0)))
    for label, make in variants:
        view, factor = make()
        regions: list[tuple[int, int, int, int] | None] = []
        if hinted:
            regions += [_scale_region(r, 1 / factor, view.shape) for r in hinted]
        regions.append(None)
        yield label, view, factor, regions


def _hint_regions(hint: Rect | None, w: int, h: int) -> list[tuple[int, int, int, int]]:
    """The hinted region, grown generously, for the page upright, upside down and on its sides."""
    if hint is None:
        return []
    x0, y0, x1, y1 = hint
    # As fractions of the upright page. When the page lies on its side the
    # image's width is the page's height, so the upright size is (h, w) then.
    ux0, uy0, ux1, uy1 = x0 / w, y0 / h, x1 / w, y1 / h
    sx0, sy0, sx1, sy1 = x0 / h, y0 / w, x1 / h, y1 / w
    rects = [
        (ux0, uy0, ux1, uy1),  # upright
        (1 - ux1, 1 - uy1, 1 - ux0, 1 - uy0),  # upside down
        (1 - sy1, sx0, 1 - sy0, sx1),  # turned 90 degrees clockwise
        (sy0, 1 - sx1, sy1, 1 - sx0),  # turned 90 degrees anticlockwise
    ]
    out = []
    for rx0, ry0, rx1, ry1 in rects:
        side = max((rx1 - rx0) * w, (ry1 - ry0) * h)
        grow = 0.75 * side
        box = (
            int(max(0, rx0 * w - grow)),
            int(max(0, ry0 * h - grow)),
            int(min(w, rx1 * w + grow)),
            int(min(h, ry1 * h + grow)),
        )
        if box[2] - box[0] > 16 and box[3] - box[1] > 16 and box not in out:
            out.append(box)
    return out


def _scale_region(
    region: tuple[int, int, int, int], factor: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = region
    h, w = shape[0], shape[1]
    return (
        max(0, int(x0 * factor)),
        max(0, int(y0 * factor)),
        min(w, int(math.ceil(x1 * factor))),
        min(h, int(math.ceil(y1 * factor))),
    )


def _resize(image: NDArray[np.uint8], factor: float) -> NDArray[np.uint8]:
    h, w = image.shape
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return _u8(cv2.resize(image, size, interpolation=interpolation))


def _binarise(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Flatten uneven light (divide by a blurred background), then Otsu."""
    h, w = image.shape
    small = cv2.resize(image, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    background = cv2.dilate(small, np.ones((9, 9), np.uint8))
    background = cv2.GaussianBlur(background, (0, 0), 4)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    flat = cv2.divide(image, np.maximum(background, 1), scale=255)
    _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return _u8(binary)


def _sharpen(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Unsharp mask, then a local threshold: restores module edges that blur has softened."""
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    sharp = cv2.addWeighted(image, 2.0, blurred, -1.0, 0)
    return _u8(
        cv2.adaptiveThreshold(sharp, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, 51, 5)
    )


def _u8(array: Any) -> NDArray[np.uint8]:
    return np.asarray(array, dtype=np.uint8)


# --------------------------------------------------------------------------- decoding


def _read(
    view: NDArray[np.uint8],
    region: tuple[int, int, int, int] | None,
    factor: float,
    label: str,
) -> Iterator[PageCodeHit]:
    ox = oy = 0
    if region is not None:
        x0, y0, x1, y1 = region
        view = np.ascontiguousarray(view[y0:y1, x0:x1])
        ox, oy = x0, y0
    try:
        barcodes = zxingcpp.read_barcodes(
            view,
            formats=_QR,
            try_rotate=True,
            try_downscale=True,
            try_invert=False,
            text_mode=zxingcpp.TextMode.Plain,
        )
    except (ValueError, RuntimeError):
        return
    for barcode in barcodes:
        if not barcode.valid:
            continue
        p = barcode.position
        corners = (
            np.array(
                [
                    [q.x + ox, q.y + oy]
                    for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
                ],
                dtype=np.float64,
            )
            * factor
        )
        yield _hit(barcode.text, corners, _version(barcode), label)


def _hit(text: str, corners: NDArray[np.float64], version: int | None, label: str) -> PageCodeHit:
    top = corners[1] - corners[0]
    left = corners[3] - corners[0]
    # Clockwise angle of the symbol: of its top edge, and of its left edge less 90 degrees.
    a1 = math.degrees(math.atan2(top[1], top[0]))
    a2 = math.degrees(math.atan2(left[1], left[0])) - 90.0
    diff = (a2 - a1 + 180.0) % 360.0 - 180.0
    angle = (a1 + diff / 2.0) % 360.0
    rotation = int(round(angle / 90.0)) % 4 * 90
    page_code: PageCode | None
    try:
        page_code = PageCode.decode(text)
        problem = None
    except InvalidInput as exc:
        page_code = None
        problem = (
            "a QR code that is not a forms-service page code"
            if not text.startswith(f"{PAGE_CODE_PREFIX}|")
            else f"a damaged forms-service page code ({exc.message})"
        )
    return PageCodeHit(text, page_code, problem, corners, rotation, angle, version, label)


def _version(barcode: Any) -> int | None:
    try:
        value = barcode.extra.get("Version") if isinstance(barcode.extra, dict) else None
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None
