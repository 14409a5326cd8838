"""Writing areas: is anything written, where, and what might it say.

Input, as for :mod:`forms_service.scan.marks`: the page warped into layout
coordinates at ``scale`` pixels per point with a small residual alignment
error, and the blank page rendered on the same grid.

Blank detection (:func:`measure_area`), designed never to call written text
blank:

1. **Local alignment**: the area is cut into vertical strips; in each, the
   blank's ruled lines and border are matched against the scan (row and
   column profiles, high-passed), so a small rotation of the page does not
   leave ruled lines behind as "ink".
2. **Ink against the blank**: grey levels normalised by the local paper white
   and the scanner's black (the printed border); printed content (border,
   ruled lines, the next question's words), grown a little, is masked out;
   photocopier streaks (near-vertical lines across the whole area) are
   removed.
3. **Components**: ink is closed a little (so a grainy pencil stroke stays
   whole) and split into connected components; dust, specks and fibres
   (small mass, small extent) are dropped. Components that touch the area,
   and those chained to them within a short gap (words written past the
   edge), make the answer; its inked bounding box must exceed a minimum size.
4. **Decision**: the raw probability of writing grows with the ink mass, the
   largest component and the inked box; it is calibrated, and the area is
   called written unless that probability is very small. A written area is
   never auto-accepted (a person transcribes it, helped by the OCR
   suggestion); a blank one is auto-accepted only under the calibrated
   threshold that the benchmark showed never called written text blank.

For written areas, :func:`read_text_area` returns an OCR suggestion (the OCR
engine of :mod:`forms_service.ocr.engine`: tesseract's LSTM engine, page
segmentation for one block of text, on the inked part of the area at about
240 dpi, ruled lines removed) with word confidences, and the crop (the area
and any writing past its edge, as scanned) for the person who transcribes it.

Public API (pure: arrays in, dataclasses out)::

    reading = read_text_area(warped, blank, rect, scale, ocr=True, bilevel=page.bilevel)
    reading.written, reading.p_written, reading.suggestion, reading.word_confidences,
    reading.crop, reading.ink_bbox, reading.confidence, reading.auto

Must never: write files, keep images beyond the returned crop, or log
anything about what was written (not the suggestion, not its length).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from ..ocr.engine import OcrEngine, default_engine
from .calibration import Calibration, load_calibration
from .marks import streak_mask

__all__ = [
    "AreaMeasure",
    "TEXT_FEATURES",
    "TextReading",
    "measure_area",
    "ocr_suggestion",
    "read_text_area",
    "written_probability",
]

Rect = tuple[float, float, float, float]
U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

WORKING_SCALE = 2.0  # pixels per point for blank detection
OCR_SCALE = 240 / 72  # pixels per point handed to the OCR engine
STRIP_PT = 110.0  # width of the strips aligned separately
SEARCH_PT = 3.5  # how far from the layout position the printed lines may be
PRINT_DILATE_PT = 1.0  # printed content, grown by this much, is masked
HALO_PT = 2.0  # a component lying this close to print all along is the print's halo
SMOOTH_PT = 0.5  # ink is smoothed (gaussian sigma) before it is thresholded
INK_LEVEL = 0.06  # smoothed ink above this share of the scanner's black is a stroke
PAPER_DISC_PT = 7.0  # paper white is the scan closed with a disc this wide
CLOSE_PT = 0.5  # ink is closed by this much before components are taken
MIN_MASS_PT2 = 1.2  # a component with less ink than this (points^2 of black) is dust
MIN_EXTENT_PT = 2.5  # ... or one smaller than this across
CHAIN_PT = 10.0  # components this close to the answer belong to it
OCR_SPECK_PT2 = 1.5  # for OCR, a dark spot no larger than this (points²) ...
OCR_SPECK_CLEAR_PT = 3.0  # ... at least this far from any larger stroke is a speck, not writing
MARGINS_PT = (6.0, 4.0, 48.0, 14.0)  # how far past the area (left, top, right, bottom) writing is sought
DUST_EXTENT_PT = 5.0  # strokes longer than this (points across) are evidence of writing ...
EXTENT_WEIGHT = 4.0  # ... this much per unit of log(extent / DUST_EXTENT_PT), in log-odds

#: the features of a writing area, as measured by :func:`measure_area`
TEXT_FEATURES = ("mass", "largest", "extent", "components", "width", "height")


@dataclass(frozen=True)
class AreaMeasure:
    """What :func:`measure_area` found in a writing area."""

    features: dict[str, float]
    ink_bbox: Rect | None  # layout points; None when nothing survived the dust filter
    shift_pt: tuple[float, float]  # mean local correction


@dataclass(frozen=True, eq=False)
class TextReading:
    """One writing area: written or blank, how sure, and help for the person who transcribes it."""

    written: bool
    p_written: float  # raw probability of writing (before calibration)
    confidence: float  # calibrated probability that the reading (blank, or the suggestion) is right
    auto: bool  # may be accepted without a person (only ever for blank areas)
    suggestion: str  # OCR text ("" when blank or OCR off)
    word_confidences: list[tuple[str, float]] = field(default_factory=list)
    crop: U8 = field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    ink_bbox: Rect | None = None
    features: dict[str, float] = field(default_factory=dict)


def read_text_area(
    warped: U8,
    blank: U8,
    rect: Rect,
    scale: float,
    ocr: bool = True,
    *,
    bilevel: bool = False,
    calibration: Calibration | None = None,
    engine: OcrEngine | None = None,
) -> TextReading:
    """Read one writing area ``rect`` (layout points) of an aligned page."""
    cal = calibration or load_calibration()
    m = measure_area(warped, blank, rect, scale)
    p = written_probability(m.features)
    threshold = cal.info.get("text_written_threshold", 0.05)
    written = p >= threshold
    crop = _crop(warped, rect, m.ink_bbox, scale)
    if not written:
        confidence = cal.confidence("text_blank", 1.0 - p, bilevel=bilevel)
        auto = cal.auto_accept("text_blank", confidence, bilevel=bilevel)
        return TextReading(False, p, confidence, auto, "", [], crop, m.ink_bbox, m.features)
    suggestion, words = "", list[tuple[str, float]]()
    if ocr and m.ink_bbox is not None:
        suggestion, words = ocr_suggestion(warped, blank, m.ink_bbox, scale, engine=engine)
    mean_conf = float(np.mean([c for _, c in words])) if words else 0.0
    confidence = cal.confidence("text", mean_conf, bilevel=bilevel) if suggestion else 0.0
    auto = bool(suggestion) and cal.auto_accept("text", confidence, bilevel=bilevel)
    return TextReading(True, p, confidence, auto, suggestion, words, crop, m.ink_bbox, m.features)


def written_probability(features: dict[str, float]) -> float:
    """Raw probability that an area holds writing, from its measured features.

    Monotone in the largest stroke and the total ink (points^2 of full black),
    and in the extent of the longest stroke past :data:`DUST_EXTENT_PT`. Dust
    and toner specks that survive the size filter have little ink (a largest
    stroke below 3 pt^2) and are short (at most about 6 pt across). A light
    pencil letter has as little ink, but is as long as a letter: a short
    "no" in light pencil, read at 150 dpi, has a largest stroke of 3 pt^2 and
    a letter 8.6 pt tall (fresh pages of seed 2042), and without the extent
    it scored 0.03 and was accepted as blank. The score passes the decision
    level (0.05) near a largest stroke of 4 pt^2 where the strokes are
    dust-short, at less ink where they are longer, erring towards "written"
    (a long fibre or a streak's remnant goes to a person, who sees it is
    blank).
    """
    if features["components"] <= 0:
        return 0.0
    largest = max(features["largest"], 1e-6)
    mass = max(features["mass"], 1e-6)
    extent = max(features["extent"], 1e-6)
    z = (-3.0 + 2.5 * math.log(largest / 4.0) + 1.0 * math.log(mass / 4.0)
         + EXTENT_WEIGHT * max(0.0, math.log(extent / DUST_EXTENT_PT)))
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


# --------------------------------------------------------------------------- measuring


def measure_area(warped: U8, blank: U8, rect: Rect, scale: float) -> AreaMeasure:
    """Find the respondent's ink in a writing area (and just past its edges)."""
    if warped.shape != blank.shape:
        raise ValueError("the scan and the blank page must be on the same pixel grid")
    region = _Region(warped, blank, rect, scale, WORKING_SCALE)
    signed = region.ink(signed=True)
    ink = np.clip(signed, 0.0, 1.0)
    k = region.k
    smooth = np.asarray(cv2.GaussianBlur(signed, (0, 0), SMOOTH_PT * k), dtype=np.float32)  # noise averages out
    binary = (smooth > _ink_level(smooth, k)).astype(np.uint8)
    r = max(1, round(CLOSE_PT * k))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    closed = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, kernel)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    if n <= 1:
        return AreaMeasure(_empty_features(), None, region.shift_pt)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=n)[1:] / (k * k)
    st = stats[1:]
    extent = np.maximum(st[:, cv2.CC_STAT_WIDTH], st[:, cv2.CC_STAT_HEIGHT]).astype(np.float64) / k
    # what lies along the printed lines (within a couple of points) is their halo, not writing
    halo = cv2.dilate(region.printed.astype(np.uint8), _disc(HALO_PT * k))
    halo_px = np.bincount(labels.ravel(), weights=halo.ravel().astype(np.float64), minlength=n)[1:]
    along = halo_px / np.maximum(stats[1:, cv2.CC_STAT_AREA], 1).astype(np.float64)
    keep = (mass >= MIN_MASS_PT2) & (extent >= MIN_EXTENT_PT) & (along < 0.9)
    # components that touch the area itself, then those chained to them
    ax0, ay0 = region.px(rect[0], rect[1])
    ax1, ay1 = region.px(rect[2], rect[3])
    left, top = st[:, cv2.CC_STAT_LEFT], st[:, cv2.CC_STAT_TOP]
    right, bottom = left + st[:, cv2.CC_STAT_WIDTH], top + st[:, cv2.CC_STAT_HEIGHT]
    inside = (right > ax0) & (left < ax1) & (bottom > ay0) & (top < ay1)
    member = keep & inside
    gap = CHAIN_PT * k
    for _ in range(3):
        if not member.any():
            break
        mx0, my0 = left[member].min() - gap, top[member].min() - gap
        mx1, my1 = right[member].max() + gap, bottom[member].max() + gap
        grown = member | (keep & (right > mx0) & (left < mx1) & (bottom > my0) & (top < my1))
        if (grown == member).all():
            break
        member = grown
    if not member.any():
        return AreaMeasure(_empty_features(), None, region.shift_pt)
    bx0, by0 = float(left[member].min()), float(top[member].min())
    bx1, by1 = float(right[member].max()), float(bottom[member].max())
    features = {
        "mass": float(mass[member].sum()),
        "largest": float(mass[member].max()),
        "extent": float(extent[member].max()),
        "components": float(member.sum()),
        "width": (bx1 - bx0) / k,
        "height": (by1 - by0) / k,
    }
    ox, oy = region.origin
    bbox = (ox + bx0 / k, oy + by0 / k, ox + bx1 / k, oy + by1 / k)
    return AreaMeasure(features, bbox, region.shift_pt)


def _ink_level(smooth: F32, k: float) -> F32 | float:
    """Where a stroke starts: INK_LEVEL, or four times the local noise where the scan is noisier.

    Ink only ever darkens, so the negative half of the (centred) smoothed ink
    is pure noise: its mean is 0.4 sigma. Estimated in 24 pt blocks, so a
    phone's shadow, noisier than the lit paper, gets its own level.
    """
    h, w = smooth.shape
    block = max(2, round(24.0 * k))
    bh, bw = max(1, h // block), max(1, w // block)
    neg = np.maximum(-smooth, 0.0)
    sigma = np.asarray(cv2.resize(neg, (bw, bh), interpolation=cv2.INTER_AREA), dtype=np.float32) * np.float32(2.5)
    sigma = np.asarray(cv2.dilate(sigma, np.ones((3, 3), np.uint8)), dtype=np.float32)
    level = np.asarray(cv2.resize(sigma, (w, h), interpolation=cv2.INTER_LINEAR), dtype=np.float32) * np.float32(4.0)
    return np.maximum(level, np.float32(INK_LEVEL))


def _disc(diameter: float) -> NDArray[np.uint8]:
    d = max(3, round(diameter) | 1)
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d)), dtype=np.uint8)


def _empty_features() -> dict[str, float]:
    return {name: 0.0 for name in TEXT_FEATURES}


class _Region:
    """A writing area and its margins, cropped and shrunk to ``target`` pixels per point."""

    def __init__(self, warped: U8, blank: U8, rect: Rect, scale: float, target: float,
                 bbox: Rect | None = None) -> None:  # fmt: skip
        x0, y0, x1, y1 = bbox if bbox is not None else rect
        ml, mt, mr, mb = MARGINS_PT if bbox is None else (4.0, 4.0, 4.0, 4.0)
        f = max(1, int(scale // target))
        h_img, w_img = warped.shape
        c0, r0 = max(0, int((x0 - ml) * scale)), max(0, int((y0 - mt) * scale))
        c1 = min(w_img, int(math.ceil((x1 + mr) * scale)))
        r1 = min(h_img, int(math.ceil((y1 + mb) * scale)))
        c1, r1 = c0 + max(f, (c1 - c0) // f * f), r0 + max(f, (r1 - r0) // f * f)
        scan, ref = warped[r0:r1, c0:c1], blank[r0:r1, c0:c1]
        if f > 1:
            size = (scan.shape[1] // f, scan.shape[0] // f)
            scan = np.asarray(cv2.resize(scan, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
            ref = np.asarray(cv2.resize(ref, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        self.rect = rect
        self.k = scale / f
        self.origin = (c0 / scale, r0 / scale)
        self.scan = scan.astype(np.float32)
        self.dark = (255.0 - ref.astype(np.float32)) / 255.0
        self.paper = _paper_map(self.scan, self.k)
        self.printed, self.shift_pt = self._aligned_print()

    def px(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.origin[0]) * self.k, (y - self.origin[1]) * self.k

    def _aligned_print(self) -> tuple[NDArray[np.bool_], tuple[float, float]]:
        """The printed mask, shifted strip by strip to where the scan shows the print."""
        k = self.k
        h, w = self.scan.shape
        s = max(1, round(SEARCH_PT * k))
        darkness = 1.0 - self.scan / self.paper
        printed = self.dark > 0.12
        out = np.zeros((h, w), dtype=bool)
        # y: ruled lines, per vertical strip; x: the area's side borders, per horizontal band
        # (a page turned a fraction of a degree moves the far ends of a long line differently)
        strips = np.linspace(0, w, max(1, round(w / (STRIP_PT * k))) + 1).astype(int)
        bands = np.linspace(0, h, max(1, round(h / (STRIP_PT * k))) + 1).astype(int)
        dys = [
            _best_shift(_highpass(darkness[:, a:b].mean(axis=1), k), _highpass(self.dark[:, a:b].mean(axis=1), k), s)
            for a, b in zip(strips[:-1], strips[1:], strict=True)
        ]
        dxs = [
            _best_shift(_highpass(darkness[a:b].mean(axis=0), k), _highpass(self.dark[a:b].mean(axis=0), k), s)
            for a, b in zip(bands[:-1], bands[1:], strict=True)
        ]
        for i, (ra, rb) in enumerate(zip(bands[:-1], bands[1:], strict=True)):
            for j, (ca, cb) in enumerate(zip(strips[:-1], strips[1:], strict=True)):
                dx, dy = dxs[i], dys[j]
                # the cell of the output takes the print from where it was, (dx, dy) away
                sa, sb = max(0, ra - dy), min(h, rb - dy)
                sc, sd = max(0, ca - dx), min(w, cb - dx)
                if sb > sa and sd > sc:
                    out[sa + dy : sb + dy, sc + dx : sd + dx] |= printed[sa:sb, sc:sd]
        radius = max(1, round(PRINT_DILATE_PT * k))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        grown = cv2.dilate(out.astype(np.uint8), kernel) > 0
        return grown, (float(np.mean(dxs)) / k, float(np.mean(dys)) / k)

    def ink(self, signed: bool = False) -> F32:
        """Respondent's ink as a share of full black: print masked, streaks removed.

        ``signed``: keep the noise's negative half, centred on the paper (for
        noise estimates); otherwise clipped to 0..1.
        """
        contrast = self._contrast()
        ink = (self.paper - self.scan) / (self.paper * np.float32(contrast))
        hidden = self.printed.copy()
        streaks = streak_mask(self.scan, self.paper, self.printed.astype(np.uint8), self.k)
        if streaks is not None:
            hidden |= streaks
        visible = ink[::3, ::3][~hidden[::3, ::3]]
        if visible.size > 50:  # the closing sits a little above the paper: centre the noise on 0
            ink -= np.float32(np.median(visible))
        ink[hidden] = 0.0
        return np.clip(ink, -1.0, 1.0) if signed else np.clip(ink, 0.0, 1.0)

    def _contrast(self) -> float:
        """How dark the scanner made the printed border, as a share of paper white."""
        sel = self.dark > 0.7
        if np.count_nonzero(sel) < 10:
            return 0.85
        vals = (self.scan / self.paper)[_shifted(sel, round(self.shift_pt[0] * self.k), round(self.shift_pt[1] * self.k))]
        if vals.size < 10:
            return 0.85
        return float(np.clip(1.0 - np.percentile(vals, 30), 0.35, 1.0))


def _highpass(profile: NDArray[np.floating], k: float) -> NDArray[np.float64]:
    p = np.asarray(profile, dtype=np.float64)
    width = max(3, int(round(3.0 * k)) | 1)
    smooth = np.convolve(p, np.ones(width) / width, mode="same")
    return p - smooth


def _best_shift(scan: NDArray[np.float64], ref: NDArray[np.float64], s: int) -> int:
    """The integer shift d (|d| <= s) maximising sum(scan[i + d] * ref[i])."""
    n = len(ref)
    best, best_d = -np.inf, 0
    for d in range(-s, s + 1):
        a0, a1 = max(0, d), min(n, n + d)
        score = float(np.dot(scan[a0:a1], ref[a0 - d : a1 - d]))
        if score > best:
            best, best_d = score, d
    return best_d


def _shifted(mask: NDArray[np.bool_], dx: int, dy: int) -> NDArray[np.bool_]:
    """``mask`` moved by (dx, dy) pixels, filled with False."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    ys0, ys1 = max(0, -dy), min(h, h - dy)
    xs0, xs1 = max(0, -dx), min(w, w - dx)
    if ys1 > ys0 and xs1 > xs0:
        out[ys0 + dy : ys1 + dy, xs0 + dx : xs1 + dx] = mask[ys0:ys1, xs0:xs1]
    return out


def _paper_map(scan: F32, k: float) -> F32:
    """Paper white at every pixel: the scan closed with a 7 pt disc (wider than any pen stroke).

    Follows a phone's shading and the soft edge of a shadow, which a wide
    block maximum would not; handwriting is thinner than the disc, so it
    never passes for paper.
    """
    d = max(3, round(PAPER_DISC_PT * k) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))
    closed = cv2.morphologyEx(scan, cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(closed, (0, 0), max(1.0, k))
    return np.maximum(np.asarray(paper, dtype=np.float32), np.float32(1.0))


# --------------------------------------------------------------------------- crops and OCR


def _crop(warped: U8, rect: Rect, bbox: Rect | None, scale: float) -> U8:
    """The area (and any writing past its edge) as scanned, for the person who transcribes it."""
    x0, y0, x1, y1 = rect
    if bbox is not None:
        x0, y0 = min(x0, bbox[0]), min(y0, bbox[1])
        x1, y1 = max(x1, bbox[2]), max(y1, bbox[3])
    pad = 3.0
    h, w = warped.shape
    c0, r0 = max(0, int((x0 - pad) * scale)), max(0, int((y0 - pad) * scale))
    c1, r1 = min(w, int(math.ceil((x1 + pad) * scale))), min(h, int(math.ceil((y1 + pad) * scale)))
    return np.ascontiguousarray(warped[r0:r1, c0:c1])


def _clean_for_ocr(ink: F32, k: float) -> F32:
    """The respondent's ink as the OCR engine should see it: without a photocopier's specks.

    Toner specks read as dots, commas and colons. A spot no larger than
    :data:`OCR_SPECK_PT2` is dropped unless it lies within
    :data:`OCR_SPECK_CLEAR_PT` of a larger stroke (the dot of an i, a full
    stop). (Turning faint ink into paper as well made phone photos read worse.)
    """
    out = ink.copy()
    strokes = (out > 0.25).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    if n <= 1:
        return out
    small = stats[:, cv2.CC_STAT_AREA] <= OCR_SPECK_PT2 * k * k
    small[0] = False
    large = ((labels > 0) & ~small[labels]).astype(np.uint8)
    near = cv2.dilate(large, _disc(2 * OCR_SPECK_CLEAR_PT * k)) > 0
    specks = small[labels] & ~near
    if specks.any():
        out[cv2.dilate(specks.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0] = 0.0
    return out


def ocr_suggestion(
    warped: U8,
    blank: U8,
    bbox: Rect,
    scale: float,
    *,
    engine: OcrEngine | None = None,
) -> tuple[str, list[tuple[str, float]]]:
    """OCR the inked box ``bbox`` (layout points): the text and each word's confidence (0..1)."""
    region = _Region(warped, blank, bbox, scale, OCR_SCALE, bbox=bbox)
    k = region.k
    ink = _clean_for_ocr(region.ink(), k)
    image = np.clip(255.0 - ink * 255.0 * 1.15, 0, 255).astype(np.uint8)
    if k < 0.8 * OCR_SCALE:  # a coarse page (150 dpi): enlarge, tesseract wants taller letters
        grow = OCR_SCALE / k
        image = np.asarray(cv2.resize(image, None, fx=grow, fy=grow, interpolation=cv2.INTER_CUBIC), dtype=np.uint8)
        k = OCR_SCALE
    image = np.asarray(cv2.copyMakeBorder(image, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)
    result = (engine or default_engine()).read(image, dpi=k * 72)
    words = [(w.text, w.confidence) for w in result.words]
    return result.text, words
