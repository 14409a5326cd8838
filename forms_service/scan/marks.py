"""Tick-box reading: which boxes of a choice field are marked, with calibrated confidence.

Input: a page image already warped into layout coordinates (pixel (i, j)
shows layout point ((j + 0.5) / scale, (i + 0.5) / scale)), with a small
residual alignment error (a point or two, a fraction of a degree), and the
*blank* page: the same page rendered from the same PDF, unmarked, on the same
pixel grid (:func:`render_blank`).

Per box (:func:`measure_box`):

1. **Local alignment.** The blank's box (border plus a thin white margin) is
   matched against the scan within a few points of where the layout puts it,
   so the real border is found even when the page transform is slightly off
   (SDAPS's per-box correction). Everything below uses the shifted blank.
2. **Ink against the blank.** Grey levels are normalised locally: paper is
   the median of unprinted pixels, and full ink is what the scanner made of
   the printed border itself, so a pale scan, a dark photocopy and a bilevel
   scan read alike. Whatever was printed (border, labels, rules), dilated a
   little, is masked out: only what the respondent added counts. So are a
   photocopier's streaks (:func:`streak_mask`) and its isolated toner specks
   (:func:`speck_mask`), which no pen makes.
3. **Features**: coverage and dark coverage inside the box inset by 1.5 pt;
   the largest ink blob and the spread of ink (a dot is small, a tick spans
   the box); the count and size of white areas left inside (a filled box has
   none, a tick one or two, a cross four); ink just outside the border (marks
   that finish outside); ink in a ring around the box and how far round the
   box it goes (a circle drawn round the box); ink round the option's printed
   words (a circled label); and ink above four times the paper's own noise
   level (its share, largest area, extent and longest single piece: a light
   pencil stroke fainter than any fixed level shows there, and a stroke is
   long where a toner speck is not); and of the paper round the field, its
   noise level and its density of small dark specks (a photocopier's).
4. **Context** (:func:`field_context`): how far the box stands out from the
   median of the field's other boxes, for a few of those features.

A box model fitted by ``benchmarks/calibrate.py`` and shipped in
``calibration.json`` -- gradient-boosted trees, evaluated in numpy -- turns
the features into probabilities of three states: ``empty``, ``marked``,
``filled`` (filled solid: the printed key says this cancels an answer).

Per field (:func:`decide_boxes`, after :func:`box_readings`): a box counts as chosen when it is marked;
a filled box is never chosen. ``single_choice``: one chosen box gives its
value, none gives ``None``, two or more is *ambiguous* (never guessed: the
value is the clearly strongest box or ``None`` and the field is not
auto-accepted). A field whose only inked box is filled solid is read as a
cancelled answer (``None``) but never auto-accepted either: the person may
have meant it as a mark. ``multi_choice``: the sorted list of chosen values.
The raw confidence is the model's probability of the decided value (boxes
taken as independent); :class:`~forms_service.scan.calibration.Calibration`
maps it to a calibrated probability that the value is right.

Per page (:func:`read_choice_fields`): a field read blank is only as sure as
the respondent's pen is visible. The page's pen (:func:`page_pen`: the
median darkest ink of the boxes read marked on the same page) puts a blank
decision on the calibration curve of pages answered in dark ink or of pages
in faint pen (or with no mark at all), when the calibration has fitted the
two (:func:`pen_stratum`).

Public API (pure: arrays in, dataclasses out)::

    blank = render_blank(pdf, page_number, scale)          # once per page of a variant
    readings = read_choice_fields(warped, blank, page.choice_fields, scale, bilevel=page.bilevel)
    reading = read_choice_field(warped, blank, field, scale)  # one field alone, no page context
    reading.value, reading.confidence, reading.auto, reading.ambiguous

Must never: write files, keep images, or log anything about what a
respondent marked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from ..layout import LayoutField
from .calibration import Calibration, load_calibration

__all__ = [
    "CONTEXT",
    "FEATURES",
    "MODEL_FEATURES",
    "STATES",
    "BoxMeasure",
    "BoxReading",
    "ChoiceReading",
    "box_readings",
    "calibration_key",
    "decide_boxes",
    "field_context",
    "measure_box",
    "measure_field",
    "page_pen",
    "pen_stratum",
    "read_choice_field",
    "read_choice_fields",
    "render_blank",
]

Rect = tuple[float, float, float, float]
U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]
State = Literal["empty", "marked", "filled"]

STATES: tuple[State, State, State] = ("empty", "marked", "filled")

#: the features measured per box, in the order the box model uses them
FEATURES = (
    "cov",  # mean ink inside the box (inset 1.5 pt), 0..1
    "dark",  # share of the inside that is dark ink
    "faint",  # share of the inside with any stroke, however light
    "peak",  # the darkest (smoothed) ink inside
    "mass",  # ink in the largest stroke inside, share of the inside
    "blob",  # largest ink blob inside, share of the inside
    "spread",  # extent of the ink inside, share of the box side
    "white_n",  # white areas left inside (larger than 4 % of the inside)
    "white_max",  # the largest white area, share of the inside
    "near",  # mean ink just outside the border (0.5 .. 3 pt)
    "ring",  # mean ink in a ring round the box
    "ring_turn",  # share of the way round the box that the ring has ink
    "label_turn",  # share of the way round the option's words that has ink
    "label_ink",  # mean ink round the option's words
    "snr_share",  # share of the inside above 4x the paper's noise (a light pencil stroke shows here)
    "snr_blob",  # largest such area, share of the inside
    "snr_spread",  # extent of all such areas (but single pixels), share of the box side
    "snr_long",  # the longest single such area, share of the box side (a stroke is long, a speck not)
    "ring_snr",  # share of the way round the box that the ring has ink above 4x the paper's noise
    "near_snr",  # share of the band just outside the border above 4x the paper's noise
    "label_snr",  # share of the way round the option's words with ink above 4x the paper's noise
    "noise",  # the paper's noise level round the field, in ink at the box border's contrast
    "specks",  # small dark specks per square centimetre of bare paper round the field (a photocopier's)
)

#: features compared with the field's other boxes (the box's value minus the median of theirs):
#: a faint mark stands out from its neighbours even where the whole row is shaded or noisy
CONTEXT = ("cov", "faint", "peak_above", "snr_share", "snr_spread", "ring_turn", "ring_snr")
#: what the box model sees: the measured features but ``peak``, which it sees as ``peak_above``
#: (the darkest ink above noise level: below it, the exact value only tells how the paper level
#: was estimated, and a tree model learns nonsense from it), and the context features
#: and whether the page is a black-and-white (1-bit) scan: there a mark can vanish altogether, so an
#: untouched box means less than on a grey scan (without it the trees took a clean 300 dpi office
#: scan's low noise for a 1-bit page's, and doubted its blank boxes)
MODEL_FEATURES = (
    tuple(name for name in FEATURES if name != "peak")
    + ("peak_above",)
    + tuple(f"rel_{name}" for name in CONTEXT)
    + ("bilevel",)
)
PEAK_NOISE = 0.002  # ``peak_above`` = max(0, peak - PEAK_NOISE)
TINY = 0.002  # the box model sees features smaller than this (in size) as 0

SEARCH_PT = 3.5  # how far from the layout position the real box may be
INSET_PT = 1.5  # inside of the box: the outer edge inset by this much
PRINT_DILATE_PT = 0.6  # printed content, grown by this much, is masked
SECTORS = 16
SMOOTH_PT = 0.5  # ink is smoothed this much (gaussian sigma) before thresholds: noise averages out
OFFSET = 0.04  # mean-ink features count only smoothed ink above this (paper level errors, noise)
FAINT = 0.07  # smoothed ink above this share of full black is a stroke (a light pencil included)
TURN_LEVEL = 0.1  # smoothed ink that counts towards a circle's turn
STREAK_DEG = 3.0  # photocopier streaks lie within this angle of vertical
STREAK_MIN_PT = 40.0  # ... over at least this length, from the region's top or bottom edge
STREAK_SHARE = 0.9  # ... and darken at least this share of a region's unprinted height
STREAK_LEVEL = 0.12  # ink (of paper white) that is dark enough for a streak, whatever the noise
STREAK_RUN_PT = 2.5  # ink is averaged along this much of a column before it is compared with the noise
STREAK_SNR = 3.5  # ... and is dark where it stands this many times the averaged noise above the paper
STREAK_FLOOR = 0.025  # ... but never below this (a perfectly clean render has no noise)
STREAK_MAX_LINES = 3  # streaks looked for among columns a few points apart
STREAK_MARK = 0.15  # on a streak, ink this much (of paper white) above its own level is a pen crossing it
WORKING_SCALE = 2.0  # pixels per point the reader works at (pages are shrunk by a whole factor)
LABEL_MARGIN_PT = 8.0  # how far round the option's words a circle is looked for
SNR = 4.0  # ink this many times the paper's noise level is a stroke for the snr_* features
SPECK_LEVEL = 0.3  # ink above this (of the paper's white) can be a toner speck
SPECK_PT2 = 1.5  # a speck is at most this big (points²); a pen's dot is larger
SPECK_CLEAR_PT = 2.5  # specks are counted this far from anything printed
SPECK_EDGE = 0.1  # a speck's extent: its ink above this (of paper white), at most SPECK_MASK_PT2 in all ...
SPECK_MASK_PT2 = 2.0  # (a copier's largest specks, blurred by the scan; a ballpoint's smallest dot is 2.5 before it)
SPECK_CORE = 0.2  # ... and darker than this somewhere (a speck a scanner has blurred is still this dark) ...
SPECK_ALONE_PT2 = 8.0  # ... and alone: its footprint in the smoothed ink above SNR x noise at most this big ...
SPECK_REST_PT2 = 1.0  # ... or, with all such spots taken away, less than this of the footprint is ink
SPECK_HALO_PT = 1.0  # a printed line's halo (the scan's blur) reaches this far past its mask: not a footprint
#: on a 1-bit scan a box shows a mark (see :func:`decide_boxes`) where these see ink inside it ...
INSIDE_INK = ("cov", "faint", "peak", "mass", "snr_share")
#: ... or these see it at least this far round the box or its words (a circle; stray pixels of a
#: neighbour's mark or of the print reach a quarter to a third of the way round an untouched box at
#: the 99th percentile)
AROUND_INK, AROUND_TURN = ("ring_turn", "ring_snr", "label_turn", "label_snr"), 0.5
NOISE_FLOOR = 0.004  # the noise level never counts as lower than this (a perfectly clean render)


# --------------------------------------------------------------------------- blank pages


def render_blank(pdf: str | Path | bytes, page_number: int, scale: float) -> U8:
    """Render page ``page_number`` (1-based) of ``pdf`` unmarked on the reader's pixel grid.

    The result has ``round(width * scale)`` x ``round(height * scale)`` pixels,
    the grid of :meth:`forms_service.scan.fiducials.Alignment.warp` at
    ``dpi = scale * 72``. Render once per page of a variant and reuse it: the
    sheet id and page code differ between copies, nothing near a field does.
    """
    import pypdfium2 as pdfium

    from ..pdfium import PDFIUM_LOCK

    with PDFIUM_LOCK:
        doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
        try:
            page = doc[page_number - 1]
            try:
                w, h = page.get_size()
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                raw = page.render(scale=scale, grayscale=True).to_numpy().copy()
            finally:
                page.close()
        finally:
            doc.close()
    img = np.asarray(raw, dtype=np.uint8).reshape(raw.shape[0], raw.shape[1])
    if (img.shape[1], img.shape[0]) != size:
        img = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.ascontiguousarray(img)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class BoxReading:
    """One box: its state, the probabilities behind it and the measured features."""

    value: str
    state: State
    p_marked: float
    p_filled: float
    features: dict[str, float] = field(default_factory=dict)

    @property
    def p_empty(self) -> float:
        return max(0.0, 1.0 - self.p_marked - self.p_filled)


@dataclass(frozen=True)
class ChoiceReading:
    """One choice field: the decided value and how sure the reader is of it."""

    field_id: str
    field_type: str
    value: str | list[str] | None
    confidence: float  # calibrated probability that ``value`` is right
    raw_confidence: float  # the model's own probability, before calibration
    auto: bool  # may be accepted without a person (calibration threshold, never when ambiguous)
    ambiguous: bool  # single choice with two or more marked boxes
    cancelled: bool  # the only inked box is filled solid (read as no answer)
    boxes: list[BoxReading]
    shift_pt: tuple[float, float] = (0.0, 0.0)  # mean local correction found for the boxes


@dataclass(frozen=True)
class BoxMeasure:
    """What :func:`measure_box` found: features and the local correction."""

    features: dict[str, float]
    shift_pt: tuple[float, float]
    match: float  # how well the blank box matched the scan (normalised correlation)


# --------------------------------------------------------------------------- reading


def read_choice_field(
    warped: U8,
    blank: U8,
    field: LayoutField,
    scale: float,
    *,
    bilevel: bool = False,
    photo: bool = False,
    calibration: Calibration | None = None,
) -> ChoiceReading:
    """Read one ``single_choice`` or ``multi_choice`` field of an aligned page.

    ``bilevel``: the scan was black and white only (``PageImage.bilevel``);
    light marks may have been erased, and the calibration knows it.
    ``photo``: the page is a photo (a camera's perspective was corrected), whose
    own calibration curves and thresholds apply.
    """
    cal = calibration or load_calibration()
    measures = measure_field(warped, blank, field, scale, bilevel=bilevel)
    boxes = box_readings(field, [m.features for m in measures], cal, bilevel=bilevel)
    return decide_boxes(field, boxes, cal, bilevel=bilevel, photo=photo,
                        shifts=[m.shift_pt for m in measures])  # fmt: skip


def measure_field(
    warped: U8, blank: U8, field: LayoutField, scale: float, *, bilevel: bool = False
) -> list[BoxMeasure]:
    """Measure every box of a choice field (see :func:`measure_box`).

    ``bilevel``: the scan is black and white only. Its toner specks are not
    masked there: the threshold breaks a light stroke into specks of its own.
    """
    rects = [b.rect for b in field.boxes]
    if not rects:
        return []
    region = _FieldRegion(warped, blank, rects, scale, bilevel=bilevel)
    return [region.measure(i) for i in range(len(rects))]


def measure_box(
    warped: U8, blank: U8, rect: Rect, scale: float, *, others: Sequence[Rect] = ()
) -> BoxMeasure:
    """Measure one box ``rect`` (layout points); ``others`` are the field's other boxes."""
    region = _FieldRegion(warped, blank, [rect, *others], scale)
    return region.measure(0)


def box_readings(
    field: LayoutField, features: Sequence[dict[str, float]], calibration: Calibration, *, bilevel: bool = False
) -> list[BoxReading]:
    """Each box's state and probabilities by the box model."""
    model = calibration.box_model
    features = field_context(features, bilevel=bilevel)
    probs = model.predict([_vector(f, model.features) for f in features])
    boxes: list[BoxReading] = []
    for box, f, p in zip(field.boxes, features, probs, strict=True):
        state = STATES[int(np.argmax(p))]
        boxes.append(BoxReading(box.value, state, float(p[1]), float(p[2]), dict(f)))
    return boxes


def decide_boxes(
    field: LayoutField,
    boxes: Sequence[BoxReading],
    calibration: Calibration,
    *,
    bilevel: bool = False,
    photo: bool = False,
    shifts: Sequence[tuple[float, float]] = (),
    pen: str | None = None,
) -> ChoiceReading:
    """The field's value, raw and calibrated confidence from its boxes' readings.

    A single choice on a 1-bit scan (``bilevel``) is decided by the boxes that show ink. There the
    box model gives a box with no ink at all (:data:`INK_FEATURES`) a real chance of holding a mark
    the scanner's threshold erased, and nothing in the file says which box that was. Such a box is
    neither chosen nor counted against the one that is: a field with one clear tick reads that
    tick, and a field with no ink reads blank, a decision that on a 1-bit scan always goes to a
    person (an erased answer is the one thing the file cannot show). The curve of 1-bit single
    choices says how often a field read so is wrong (a second, erased mark of a double mark). A
    multiple choice keeps every box's doubt: a mark erased there is an option lost.
    """
    boxes = list(boxes)
    pm = np.array([b.p_marked for b in boxes], dtype=np.float64)
    if bilevel and field.type != "multi_choice":
        pm = np.where(np.array([shows_ink(b.features) for b in boxes], dtype=bool), pm, 0.0)
    pf = np.array([b.p_filled for b in boxes], dtype=np.float64)
    value: str | list[str] | None
    ambiguous = cancelled = False
    if field.type == "multi_choice":
        chosen = pm >= 0.5
        value = sorted(b.value for b, c in zip(boxes, chosen, strict=True) if c)
        raw = float(np.prod(np.where(chosen, pm, 1.0 - pm)))
        cancelled = not chosen.any() and bool((pf >= 0.5).any())
        field_type = "multi_choice"
    else:
        field_type = "single_choice"
        # P(exactly box i chosen) and P(none chosen), boxes independent
        rest = 1.0 - pm
        none = float(np.prod(rest))
        single = np.array(
            [pm[i] * float(np.prod(np.delete(rest, i))) for i in range(len(pm))], dtype=np.float64
        )
        best = int(np.argmax(single)) if len(single) else -1
        marked = int((pm >= 0.5).sum())
        if marked >= 2:
            ambiguous = True
            order = np.argsort(-pm)
            clear = pm[order[0]] - pm[order[1]] > 0.5
            value = boxes[int(order[0])].value if clear else None
            raw = float(single[best]) if clear else none
        elif best >= 0 and single[best] > none:
            value = boxes[best].value
            raw = float(single[best])
        else:
            value = None
            raw = none
            cancelled = bool((pf >= 0.5).any()) and marked == 0
    # a blank decision fails differently (a faint mark missed) from a value (a mark misread)
    key = calibration_key(field_type, value, pen, bilevel=bilevel)
    confidence = calibration.confidence(key, raw, bilevel=bilevel, photo=photo)
    if ambiguous or cancelled:
        confidence = min(confidence, 0.5)
    auto = not ambiguous and not cancelled and calibration.auto_accept(key, confidence, bilevel=bilevel,
                                                                        photo=photo)
    if shifts:
        sx = float(np.mean([s[0] for s in shifts]))
        sy = float(np.mean([s[1] for s in shifts]))
    else:
        sx = sy = 0.0
    return ChoiceReading(
        field_id=field.id,
        field_type=field_type,
        value=value,
        confidence=float(confidence),
        raw_confidence=raw,
        auto=auto,
        ambiguous=ambiguous,
        cancelled=cancelled,
        boxes=boxes,
        shift_pt=(sx, sy),
    )


def shows_ink(features: Mapping[str, float]) -> bool:
    """Does a box show any mark: ink inside it (:data:`INSIDE_INK`), or round it or its words far
    enough to be a circle (:data:`AROUND_INK`)? On a 1-bit scan, where paper has no noise, any ink
    inside is ink."""
    inside = any(abs(float(features.get(n, 0.0))) >= TINY for n in INSIDE_INK)
    return inside or any(float(features.get(n, 0.0)) >= AROUND_TURN for n in AROUND_INK)


def field_context(features: Sequence[dict[str, float]], *, bilevel: bool = False) -> list[dict[str, float]]:
    """Each box's features plus, for :data:`CONTEXT`, how far it stands out from the field's other boxes.

    Also ``bilevel`` (1.0 for a black-and-white scan) and ``peak_above``: every input of the box model.
    """
    # values within a hair of zero only say how the paper level was estimated: the model sees 0
    features = [
        {**{k: (float(v) if abs(float(v)) >= TINY else 0.0) for k, v in f.items()},
         "peak_above": max(0.0, float(f["peak"]) - PEAK_NOISE)}
        for f in features
    ]
    out = []
    for i, f in enumerate(features):
        extra = {}
        for name in CONTEXT:
            others = [float(g[name]) for j, g in enumerate(features) if j != i]
            extra[f"rel_{name}"] = float(f[name]) - (float(np.median(others)) if others else 0.0)
        out.append({**f, **extra, "bilevel": 1.0 if bilevel else 0.0})
    return out


def calibration_key(
    field_type: str, value: str | list[str] | None, pen: str | None = None, *, bilevel: bool = False
) -> str:
    """The calibration curve of a decision: ``<type>`` for a value, ``<type>:blank`` for none.

    ``pen`` (the page's pen stratum) qualifies a blank decision: ``<type>:blank~<pen>``: it is the one
    a faint pen makes fail, by a mark as faint as the page's others being missed. On a 1-bit scan
    (``bilevel``) it qualifies a value too (``<type>~<pen>``): there a faint pen's strokes are broken
    by the threshold, so a pencil box filled as a correction reads as a mark, and a second mark of
    the same pen may be gone altogether.
    """
    if value is None or value == []:
        return f"{field_type}:blank" + (f"~{pen}" if pen else "")
    return field_type + (f"~{pen}" if pen and bilevel else "")


def page_pen(boxes: Iterable[BoxReading]) -> float | None:
    """How dark the respondent's pen is on a page: the median darkest ink of its boxes read marked.

    In ink at the printed border's contrast (about 1 for a ballpoint, a few tenths for a light
    pencil). ``None`` when no box of the page is read marked.
    """
    peaks = [b.features["peak"] for b in boxes if b.state == "marked" and "peak" in b.features]
    return float(np.median(peaks)) if peaks else None


def pen_stratum(darkness: float | None, calibration: Calibration) -> str | None:
    """``dark`` or ``faint`` by the calibration's boundary; ``None`` if the calibration has no pen strata.

    A page with no box read marked counts as faint: nothing shows the pen is dark.
    """
    boundary = calibration.pen_dark
    if boundary is None:
        return None
    return "dark" if darkness is not None and darkness >= boundary else "faint"


def read_choice_fields(
    warped: U8,
    blank: U8,
    fields: Sequence[LayoutField],
    scale: float,
    *,
    bilevel: bool = False,
    photo: bool = False,
    calibration: Calibration | None = None,
) -> list[ChoiceReading]:
    """Read every choice field of one page, a blank decision's confidence informed by the page's pen.

    The boxes of every field are read first; the page's pen (:func:`page_pen`) then chooses which
    calibration curve a field read blank gets (:func:`pen_stratum`).
    """
    cal = calibration or load_calibration()
    measured = [measure_field(warped, blank, f, scale, bilevel=bilevel) for f in fields]
    boxes = [box_readings(f, [m.features for m in ms], cal, bilevel=bilevel) for f, ms in zip(fields, measured, strict=True)]
    pen = pen_stratum(page_pen(b for field_boxes in boxes for b in field_boxes), cal)
    return [
        decide_boxes(f, b, cal, bilevel=bilevel, photo=photo, shifts=[m.shift_pt for m in ms], pen=pen)
        for f, b, ms in zip(fields, boxes, measured, strict=True)
    ]


def _vector(features: dict[str, float], names: Sequence[str] = FEATURES) -> list[float]:
    return [float(features[name]) for name in names]


# --------------------------------------------------------------------------- measuring


class _FieldRegion:
    """A field's neighbourhood (boxes, rings, option words) at the working resolution.

    The page is cropped around the field and shrunk by a whole factor to about
    two pixels per point (enough for pen strokes; keeps reading to a few
    milliseconds a page). Paper white is estimated per place (block maxima),
    so shading and shadows across a field do not read as ink.
    """

    def __init__(
        self, warped: U8, blank: U8, rects: Sequence[Rect], scale: float, *, bilevel: bool = False
    ) -> None:
        if warped.shape != blank.shape:
            raise ValueError("the scan and the blank page must be on the same pixel grid")
        self.rects = list(rects)
        self.labels = [label_rect(blank, r, scale) for r in rects]
        side = min(min(r[2] - r[0], r[3] - r[1]) for r in rects)
        self.ring_pt = float(np.clip(0.6 * side, 5.0, 15.0))
        pad = self.ring_pt + SEARCH_PT + 1.5
        xs0 = [r[0] - pad for r in rects] + [lb[0] - LABEL_MARGIN_PT - SEARCH_PT for lb in self.labels if lb]
        ys0 = [r[1] - pad for r in rects] + [lb[1] - LABEL_MARGIN_PT - SEARCH_PT for lb in self.labels if lb]
        xs1 = [r[2] + pad for r in rects] + [lb[2] + LABEL_MARGIN_PT + SEARCH_PT for lb in self.labels if lb]
        ys1 = [r[3] + pad for r in rects] + [lb[3] + LABEL_MARGIN_PT + SEARCH_PT for lb in self.labels if lb]
        f = max(1, int(scale // WORKING_SCALE))
        h_img, w_img = warped.shape
        c0, r0 = max(0, int(min(xs0) * scale)), max(0, int(min(ys0) * scale))
        c1 = min(w_img, int(math.ceil(max(xs1) * scale)))
        r1 = min(h_img, int(math.ceil(max(ys1) * scale)))
        c1, r1 = c0 + (c1 - c0) // f * f, r0 + (r1 - r0) // f * f
        scan = warped[r0:r1, c0:c1]
        ref = blank[r0:r1, c0:c1]
        if f > 1:
            size = ((c1 - c0) // f, (r1 - r0) // f)
            # halving with bilinear sampling between pixels is a 2 x 2 mean, and much faster
            how = cv2.INTER_LINEAR if f == 2 else cv2.INTER_AREA
            scan = np.asarray(cv2.resize(scan, size, interpolation=how), dtype=np.uint8)
            ref = np.asarray(cv2.resize(ref, size, interpolation=how), dtype=np.uint8)
        self.k = scale / f  # working pixels per point
        self.origin = (c0 / scale, r0 / scale)  # layout point at the crop's top-left edge
        self.scan = scan.astype(np.float32)
        self.dark = (255.0 - ref.astype(np.float32)) / 255.0  # printed darkness of the blank
        self.printed = _grow(self.dark > 0.12, PRINT_DILATE_PT * self.k)
        paper = _paper_map(self.scan, self.k)
        # the map's level, corrected by what the region's unprinted paper really is
        sample = (self.scan[::3, ::3] / paper[::3, ::3])[self.printed[::3, ::3] == 0]
        if sample.size > 50:
            paper *= np.float32(min(1.05, float(np.median(sample))))
        self.paper = paper
        self.streaks = streak_mask(self.scan, self.paper, self.printed, self.k)
        rel = (self.paper - self.scan) / self.paper  # ink as a share of paper white, unsmoothed
        self.noise = _noise_level(rel, self.printed, self.k)
        # each box's local correction, found once: it lays the print where the scan really has it
        self.shifts = [self._shift(r) for r in self.rects]
        # on a 1-bit scan a light stroke breaks into black specks of its own: none is masked there
        self.speckles = None if bilevel else speck_mask(rel, self._printed_as_scanned(), self.k, self.noise, self.streaks)
        self.specks = _speck_density(rel, self.dark, self.k,
                                     [self._px_rect(r, 0.0, 0.0) for r in self.rects], self.ring_pt)

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Layout point -> working pixel coordinates (edges at integers)."""
        return (x - self.origin[0]) * self.k, (y - self.origin[1]) * self.k

    def measure(self, index: int) -> BoxMeasure:
        k = self.k
        rect = self.rects[index]
        others = self.rects[:index] + self.rects[index + 1 :]
        dx, dy, match = self.shifts[index]
        sx, sy = round(dx), round(dy)
        ax0, ay0 = self.px(rect[0], rect[1])
        ax1, ay1 = self.px(rect[2], rect[3])
        reach = self.ring_pt + 1.0
        win = self._window(ax0 - reach * k + dx, ay0 - reach * k + dy, ax1 + reach * k + dx, ay1 + reach * k + dy)
        ink, contrast = self._ink(win, sx, sy, (ax0 + dx, ay0 + dy, ax1 + dx, ay1 + dy))
        wx, wy = win[0], win[1]
        box = (ax0 + dx - wx, ay0 + dy - wy, ax1 + dx - wx, ay1 + dy - wy)
        other_px = [self._px_rect(r, dx - wx, dy - wy) for r in others]
        feats = _box_features(ink, box, k, self.ring_pt, other_px, noise=self.noise / contrast)
        feats.update(noise=self.noise / contrast, specks=self.specks)
        label = self.labels[index]
        if label is None:
            feats.update(label_turn=0.0, label_ink=0.0, label_snr=0.0)
        else:
            lx0, ly0 = self.px(label[0], label[1])
            lx1, ly1 = self.px(label[2], label[3])
            m = LABEL_MARGIN_PT * k
            lwin = self._window(lx0 - m + dx, ly0 - m + dy, lx1 + m + dx, ly1 + m + dy)
            lab_ink, _ = self._ink(lwin, sx, sy, None, contrast)
            lab = (lx0 + dx - lwin[0], ly0 + dy - lwin[1], lx1 + dx - lwin[0], ly1 + dy - lwin[1])
            boxes = [self._px_rect(r, dx - lwin[0], dy - lwin[1]) for r in self.rects]
            feats.update(_label_features(lab_ink, lab, k, boxes, noise=self.noise / contrast))
        return BoxMeasure(feats, (dx / k, dy / k), match)

    def _px_rect(self, r: Rect, ox: float, oy: float) -> Rect:
        x0, y0 = self.px(r[0], r[1])
        x1, y1 = self.px(r[2], r[3])
        return (x0 + ox, y0 + oy, x1 + ox, y1 + oy)

    def _window(self, x0: float, y0: float, x1: float, y1: float) -> tuple[int, int, int, int]:
        h, w = self.scan.shape
        return max(0, int(x0)), max(0, int(y0)), min(w, int(math.ceil(x1))), min(h, int(math.ceil(y1)))

    def _printed_as_scanned(self) -> NDArray[np.uint8]:
        """The printed mask moved to where the scan has the print: round each box, by its own shift.

        The page is aligned to within a point or two, so the blank's print can lie beside the
        scan's. The toner speck mask needs the print where it really is: a box's border seen
        beside its mask is a long stroke, and a speck next to it would not stand alone.
        """
        steps = [(round(dx), round(dy)) for dx, dy, _ in self.shifts]
        mx = int(np.median([s[0] for s in steps]))
        my = int(np.median([s[1] for s in steps]))
        out = _moved(self.printed, mx, my)
        reach = (self.ring_pt + 1.0) * self.k
        for rect, (sx, sy) in zip(self.rects, steps, strict=True):
            if (sx, sy) == (mx, my):
                continue
            x0, y0 = self.px(rect[0], rect[1])
            x1, y1 = self.px(rect[2], rect[3])
            c0, r0, c1, r1 = self._window(x0 - reach, y0 - reach, x1 + reach, y1 + reach)
            out[r0:r1, c0:c1] = _moved(self.printed, sx, sy)[r0:r1, c0:c1]
        return out

    def _shift(self, rect: Rect) -> tuple[float, float, float]:
        """The shift (working pixels) that best lays the blank box over the scan."""
        k = self.k
        s = max(1, round(SEARCH_PT * k))
        m = 1.5 * k
        x0, y0 = self.px(rect[0], rect[1])
        x1, y1 = self.px(rect[2], rect[3])
        tc0, tr0, tc1, tr1 = round(x0 - m), round(y0 - m), round(x1 + m), round(y1 + m)
        h, w = self.scan.shape
        if tc0 - s < 0 or tr0 - s < 0 or tc1 + s > w or tr1 + s > h:
            return 0.0, 0.0, 0.0
        template = self.dark[tr0:tr1, tc0:tc1]
        search = 255.0 - self.scan[tr0 - s : tr1 + s, tc0 - s : tc1 + s]
        res = cv2.matchTemplate(search, template, cv2.TM_CCOEFF_NORMED)
        _, best, _, (bx, by) = cv2.minMaxLoc(res)
        if not math.isfinite(best):
            return 0.0, 0.0, 0.0

        def refine(a: float, b: float, c: float) -> float:
            den = a - 2 * b + c
            return 0.0 if abs(den) < 1e-9 else float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))

        fx = refine(res[by, bx - 1], res[by, bx], res[by, bx + 1]) if 0 < bx < res.shape[1] - 1 else 0.0
        fy = refine(res[by - 1, bx], res[by, bx], res[by + 1, bx]) if 0 < by < res.shape[0] - 1 else 0.0
        return bx - s + fx, by - s + fy, float(best)

    def _ink(
        self,
        win: tuple[int, int, int, int],
        sx: int,
        sy: int,
        box: Rect | None,
        contrast: float | None = None,
    ) -> tuple[F32, float]:
        """Respondent's ink (0..1) in a window, printed content (shifted by sx, sy) masked out."""
        c0, r0, c1, r1 = win
        scan = self.scan[r0:r1, c0:c1]
        paper = self.paper[r0:r1, c0:c1]
        if contrast is None:
            contrast = self._contrast(box, sx, sy) if box is not None else 0.85
        ink = (paper - scan) / (paper * np.float32(contrast))
        np.clip(ink, -1.0, 1.0, out=ink)  # signed: noise averages out instead of adding up
        h, w = self.printed.shape
        mask = np.ones(ink.shape, dtype=bool)
        pr0, pc0 = r0 - sy, c0 - sx
        a0, b0 = max(0, pr0), max(0, pc0)
        a1, b1 = min(h, pr0 + ink.shape[0]), min(w, pc0 + ink.shape[1])
        if a1 > a0 and b1 > b0:
            mask[a0 - pr0 : a1 - pr0, b0 - pc0 : b1 - pc0] = self.printed[a0:a1, b0:b1] == 0
        if self.streaks is not None:
            mask &= ~self.streaks[r0:r1, c0:c1]
        if self.speckles is not None:
            mask &= ~self.speckles[r0:r1, c0:c1]
        ink *= mask
        return ink, contrast

    def _contrast(self, box: Rect, sx: int, sy: int) -> float:
        """How dark the scanner made the printed border, as a share of paper white."""
        x0, y0, x1, y1 = box
        h, w = self.scan.shape
        half = 0.5 * self.k  # half a point in: the border's middle
        top, bottom = int(y0 + half), int(y1 - half)
        left, right = int(x0 + half), int(x1 - half)
        a, b = max(0, int(y0 + 3 * half)), min(h, int(y1 - 3 * half))
        c, d = max(0, int(x0 + 3 * half)), min(w, int(x1 - 3 * half))
        if not (0 <= top < h and 0 <= bottom < h and 0 <= left < w and 0 <= right < w) or b <= a or d <= c:
            return 0.85
        rel = np.concatenate([
            self.scan[top, c:d] / self.paper[top, c:d],
            self.scan[bottom, c:d] / self.paper[bottom, c:d],
            self.scan[a:b, left] / self.paper[a:b, left],
            self.scan[a:b, right] / self.paper[a:b, right],
        ])  # fmt: skip
        return float(np.clip(1.0 - float(np.median(rel)), 0.35, 1.0))


def streak_mask(scan: F32, paper: F32, printed: NDArray[np.uint8], k: float) -> NDArray[np.bool_] | None:
    """Pixels of photocopier streaks: long straight near-vertical lines (no pen mark is one).

    A streak runs along the copier's feed to the page's edge, so on the page
    it is a straight line within a few degrees of vertical, reaching the top
    or the bottom of the region (it may start part way down the page). The
    region is sheared through those angles; a column dark along most of its
    unprinted rows, from an edge of the region over at least 40 points, is a
    streak. "Dark" is measured against the region's own noise
    (:func:`_streak_ink`), so a faint streak that the ``snr_*`` features
    would see as a long stroke is found too. Streaks a few points apart are
    each found (:data:`STREAK_MAX_LINES`), and where a pen mark crosses a
    streak its ink stays visible (:func:`_crossing`). Only the top and bottom
    ends are checked first, so a region whose pre-check finds no such column
    costs two blurs and a dilation.
    """
    h, w = scan.shape
    min_len = max(STREAK_MIN_PT * k, 0.3 * h)
    if h < min_len:
        return None
    visible = (printed == 0).astype(np.uint8)
    raw = (paper - scan) / paper
    dark_px, ink = _streak_ink(raw, visible, k)
    dark = (dark_px & (printed == 0)).astype(np.uint8)
    slack = int(math.ceil(math.tan(math.radians(STREAK_DEG)) * h)) + 2
    n = int(math.ceil(min_len))
    candidates = np.flatnonzero(_ends_dark(dark, visible, slack, n))
    if not candidates.size:
        return None
    out = np.zeros((h, w), dtype=np.uint8)
    half = max(1, round(0.6 * k))
    dark = cv2.dilate(dark, np.ones((1, 3), np.uint8)) & visible  # a streak may straddle two columns
    # only the strips round the candidates are sheared and searched
    starts = np.flatnonzero(np.diff(np.concatenate([[-10**9], candidates])) > 2 * slack)
    groups = np.split(candidates, starts[1:])
    for group in groups:
        a, b = max(0, int(group[0]) - 2 * slack), min(w, int(group[-1]) + 2 * slack + 1)
        strip_d, strip_v = np.array(dark[:, a:b]), np.ascontiguousarray(visible[:, a:b])
        strip_i = np.ascontiguousarray(ink[:, a:b])
        # the one straight line that holds the most ink along its length; drawing every angle that
        # passes would paint a fan over the boxes and wipe the marks in them. Two streaks may lie a
        # few points apart: once a line is found, its pixels are cleared and the strip searched again
        for found in range(STREAK_MAX_LINES):
            if found and not _ends_dark(strip_d, strip_v, slack, n).any():
                break  # nothing left that could be another streak
            line = _darkest_line(strip_d, strip_v, strip_i, h, min_len)
            if line is None:
                break
            t, c = line  # back on the page: x = c + t (y - h / 2)
            top, bottom = (round(c + t * (0 - h / 2)), 0), (round(c + t * (h - h / 2)), h - 1)
            on = np.zeros(strip_d.shape, dtype=np.uint8)
            cv2.line(on, top, bottom, 1, thickness=2 * half + 1)
            out[:, a:b] |= on & (1 - _crossing(raw[:, a:b], strip_v, on, t, c, half))
            cv2.line(strip_d, top, bottom, 0, thickness=2 * half + 3)
    return out > 0 if out.any() else None


def _crossing(
    raw: F32, visible: NDArray[np.uint8], on: NDArray[np.uint8], t: float, c: int, half: int
) -> NDArray[np.uint8]:
    """Pixels of a streak's line (``on``) that a pen mark crosses: far darker than the streak itself.

    A streak is about as dark all along its length: row by row, its darkest
    pixel (the line is sheared upright, slope ``t``, column ``c``) varies a
    little round one level. Where a tick or a dot lies on it, the ink stands
    well above that level; those pixels stay visible, so a mark drawn across a
    streak is not wiped with it.
    """
    h, width = raw.shape
    shear = np.array([[1, -t, t * h / 2], [0, 1, 0]], dtype=np.float32)
    upright = np.asarray(cv2.warpAffine(raw, shear, (width, h), flags=cv2.INTER_NEAREST), dtype=np.float32)
    seen = np.asarray(cv2.warpAffine(visible, shear, (width, h), flags=cv2.INTER_NEAREST), dtype=np.uint8)
    a, b = max(0, c - half), min(width, c + half + 1)
    core = upright[:, a:b].max(axis=1)[seen[:, a:b].min(axis=1) > 0] if b > a else np.zeros(0, np.float32)
    if core.size < 10:
        return np.zeros(on.shape, dtype=np.uint8)
    level = float(np.median(core))
    spread = 1.4826 * float(np.median(np.abs(core - level)))
    return ((raw > level + max(STREAK_MARK, 4.0 * spread)) & (on > 0)).astype(np.uint8)


def _darkest_line(
    dark: NDArray[np.uint8], visible: NDArray[np.uint8], ink: F32, h: int, min_len: float
) -> tuple[float, int] | None:
    """The near-vertical line (slope, sheared column) of a strip that qualifies as a streak and holds
    the most ink along its length, if any (the ink, not the count of dark pixels, pins its angle).

    Angles are tried every half degree, then the best is refined by a quarter degree either way.
    """
    best: tuple[float, float, int] | None = None
    width = dark.shape[1]

    def sheared(image: NDArray[Any], t: float, how: int) -> NDArray[Any]:
        shear = np.array([[1, -t, t * h / 2], [0, 1, 0]], dtype=np.float32)
        return np.asarray(cv2.warpAffine(image, shear, (width, h), flags=how))

    for deg in np.linspace(-STREAK_DEG, STREAK_DEG, 13):
        t = math.tan(math.radians(float(deg)))
        d = sheared(dark, t, cv2.INTER_NEAREST)
        # a column dark over min_len rows, on at least half of them visible, holds this much dark at least
        columns = np.flatnonzero(d.sum(axis=0) >= STREAK_SHARE * 0.5 * min_len)
        if columns.size:
            v = sheared(visible, t, cv2.INTER_NEAREST)
            columns = columns[_edge_runs(d[:, columns], v[:, columns], min_len)]
        if columns.size:
            along = sheared(ink, t, cv2.INTER_LINEAR)[:, columns].sum(axis=0)
            i = int(np.argmax(along))
            if best is None or float(along[i]) > best[0]:
                best = (float(along[i]), t, int(columns[i]))
    if best is None:
        return None
    score, t, c = best
    deg = math.degrees(math.atan(t))
    for step in (deg - 0.25, deg + 0.25):
        u = math.tan(math.radians(step))
        near = sheared(ink, u, cv2.INTER_LINEAR)[:, max(0, c - 1) : c + 2].sum(axis=0)
        j = int(np.argmax(near))
        if float(near[j]) > score:
            score, t, c = float(near[j]), u, max(0, c - 1) + j
    return t, c


def _streak_ink(ink: F32, visible: NDArray[np.uint8], k: float) -> tuple[NDArray[np.bool_], F32]:
    """Pixels of ``ink`` (of paper white) dark enough for a streak: above :data:`STREAK_LEVEL`, or the noise.

    A faint streak (a copier drum's light scratch, thinned further when the
    page is read at a lower resolution than it was scanned) can be darker than
    the paper's noise by a few times only, yet it shows in the features that
    measure ink against that noise. The ink is averaged along the streak's own
    direction (a short vertical run of unprinted pixels), which keeps a thin
    line's contrast and averages the noise down; what stands above
    :data:`STREAK_SNR` times that averaged noise, or above the fixed level,
    counts as dark. Also returns that averaged ink (0 where printed).
    """
    run = max(3, round(STREAK_RUN_PT * k)) | 1
    vis = visible.astype(np.float32)
    weight = cv2.blur(vis, (1, run), borderType=cv2.BORDER_REPLICATE)
    mean = cv2.blur(ink * vis, (1, run), borderType=cv2.BORDER_REPLICATE) / np.maximum(weight, np.float32(1e-3))
    values = mean[::2, ::2][(visible[::2, ::2] > 0) & (weight[::2, ::2] > 0.5)]
    level = STREAK_LEVEL
    if values.size >= 50:
        centre = float(np.median(values))
        mad = float(np.median(np.abs(values - centre)))
        level = min(STREAK_LEVEL, max(STREAK_FLOOR, centre + STREAK_SNR * 1.4826 * mad))
    mean *= vis
    return np.asarray((mean > level) & (weight > 0.5)), np.asarray(mean, dtype=np.float32)


def _ends_dark(dark: NDArray[np.uint8], visible: NDArray[np.uint8], slack: int, n: int) -> NDArray[np.bool_]:
    """Columns near which (``slack`` either way) the top or the bottom ``n`` rows are dark throughout."""
    wide = np.asarray(cv2.dilate(dark, np.ones((1, 2 * slack + 1), np.uint8)), dtype=np.uint8) & visible
    return _end_dark(wide[:n], visible[:n]) | _end_dark(wide[-n:], visible[-n:])


def _end_dark(dark: NDArray[np.uint8], visible: NDArray[np.uint8]) -> NDArray[np.bool_]:
    seen = visible.sum(axis=0)
    return np.asarray((dark.sum(axis=0) >= STREAK_SHARE * seen) & (seen >= 0.5 * dark.shape[0]))


def _edge_runs(dark: NDArray[np.uint8], visible: NDArray[np.uint8], min_len: float) -> NDArray[np.bool_]:
    """Columns dark along most of their visible rows from the top or the bottom edge, over min_len rows."""
    h = dark.shape[0]
    found = np.zeros(dark.shape[1], dtype=bool)
    for rows in (slice(0, None), slice(None, None, -1)):
        d = np.cumsum(dark[rows], axis=0, dtype=np.int32)
        v = np.cumsum(visible[rows], axis=0, dtype=np.int32)
        lengths = np.arange(1, h + 1)[:, None]
        ok = (d >= STREAK_SHARE * v) & (v >= 0.5 * lengths) & (lengths >= min_len)
        found |= ok.any(axis=0)
    return found


def _moved(mask: NDArray[np.uint8], dx: int, dy: int) -> NDArray[np.uint8]:
    """``mask`` moved by whole pixels (``out[r, c] = mask[r - dy, c - dx]``), zero where it left."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    if abs(dx) >= w or abs(dy) >= h:
        return out
    out[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)] = mask[
        max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)
    ]
    return out


def _grow(mask: NDArray[np.bool_], radius: float) -> NDArray[np.uint8]:
    r = max(1, round(radius))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return np.asarray(cv2.dilate(mask.astype(np.uint8), kernel), dtype=np.uint8)


def _paper_map(scan: F32, k: float) -> F32:
    """Paper white at every pixel: the 70th percentile of 6 pt block means over 30 pt, smoothed.

    Wide enough that a box filled solid (or a dense mark) never passes for
    paper, robust to a bright outlier (the white fill outside a scanned page),
    smooth enough to follow a phone's shading.
    """
    h, w = scan.shape
    block = max(1, round(6.0 * k))
    bh, bw = max(1, h // block), max(1, w // block)
    small = cv2.resize(scan, (bw, bh), interpolation=cv2.INTER_AREA)
    padded = cv2.copyMakeBorder(small, 2, 2, 2, 2, cv2.BORDER_REFLECT)
    stack = np.stack([padded[i : i + bh, j : j + bw] for i in range(5) for j in range(5)])
    level = np.percentile(stack, 70, axis=0).astype(np.float32)
    level = cv2.blur(level, (3, 3))
    paper = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(np.asarray(paper, dtype=np.float32), np.float32(1.0))


def _noise_level(ink: F32, printed: NDArray[np.uint8], k: float) -> float:
    """The paper's grain and the scanner's noise: robust spread of smoothed unprinted ink.

    ``ink`` is the region's ink as a share of paper white (0 paper, 1 black);
    the spread is of it smoothed as the features are. Marks cover a small share
    of a field's region, so the median absolute deviation sees the paper, not them.
    """
    smooth = np.asarray(cv2.GaussianBlur(ink, (0, 0), SMOOTH_PT * k), dtype=np.float32)
    values = smooth[::2, ::2][printed[::2, ::2] == 0]
    if values.size < 50:
        return NOISE_FLOOR
    mad = float(np.median(np.abs(values - np.median(values))))
    return max(1.4826 * mad, NOISE_FLOOR)


def speck_mask(
    rel: F32, printed: NDArray[np.uint8], k: float, noise: float, streaks: NDArray[np.bool_] | None = None
) -> NDArray[np.bool_] | None:
    """Pixels of isolated toner specks: spots too small to be a pen's, dark at their heart.

    A photocopier scatters specks of toner, a fraction of a point across, over
    the page. Inside a box one looks like the start of a mark, and the box
    model doubted every box that held one. A speck is a spot whose whole extent
    (its ink down to :data:`SPECK_EDGE` of paper white) is no larger than
    :data:`SPECK_MASK_PT2`, which is darker than :data:`SPECK_CORE` somewhere, and
    which stands alone: the piece of ink it lies in, as the ``snr_*`` features
    see ink (smoothed, above :data:`SNR` times the paper's noise), is no larger
    than :data:`SPECK_ALONE_PT2`, or holds nothing but such spots (specks fall
    in clusters too: with them taken away, less than :data:`SPECK_REST_PT2` of
    it is still ink). A pen's dot is larger (a ballpoint's smallest, some
    2.5 pt²), a pencil's too, and the dark grains of a light pencil stroke lie
    in the stroke's long trace, which stays when they are taken away, so none
    is one. Each speck is masked with a pixel's margin (its blur). ``rel``: the
    region's ink as a share of paper white; ``streaks``: a copier's streaks,
    not ink here (a speck on one still stands alone); ``None``: no speck.
    """
    ink = rel * (printed == 0)
    if streaks is not None:
        ink = ink * ~streaks
    spots = (ink > SPECK_EDGE).astype(np.uint8)
    n, found, stats, _ = cv2.connectedComponentsWithStats(spots, connectivity=8)
    labels = np.asarray(found, dtype=np.int32)
    small = stats[:, cv2.CC_STAT_AREA] <= SPECK_MASK_PT2 * k * k
    small[0] = False
    if not small.any():
        return None
    dark = np.zeros(n, dtype=np.bool_)  # spots with a pixel darker than SPECK_CORE
    dark[labels[ink > SPECK_CORE]] = True
    core = small & dark
    if not core.any():
        return None
    level = SNR * noise
    # the halo of the print (blurred by the scan, or a pixel off) is no stroke for a speck to lie in
    far = ink * (_grow(printed > 0, SPECK_HALO_PT * k) == 0)
    smooth = np.asarray(cv2.GaussianBlur(far, (0, 0), SMOOTH_PT * k), dtype=np.float32)
    seen = (smooth > level).astype(np.uint8)
    pieces, found, seen_stats, _ = cv2.connectedComponentsWithStats(seen, connectivity=8)
    seen_labels = np.asarray(found, dtype=np.int32)
    footprint = np.zeros(n, dtype=np.int32)  # the smoothed piece of ink each spot lies in (0: too faint)
    lies = (spots > 0) & (seen > 0)
    footprint[labels[lies]] = seen_labels[lies]
    alone = np.where(footprint > 0, seen_stats[footprint, cv2.CC_STAT_AREA], 0) <= SPECK_ALONE_PT2 * k * k
    # the pieces that are only specks: with every candidate (and its blur) taken away, almost nothing is left
    taken = cv2.dilate(core[labels].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    rest = np.asarray(cv2.GaussianBlur(far * ~taken, (0, 0), SMOOTH_PT * k), dtype=np.float32) > level
    left = np.bincount(seen_labels[rest], minlength=pieces)
    only_specks = left[footprint] < SPECK_REST_PT2 * k * k
    speck = core & (alone | (only_specks & (footprint > 0)))
    if not speck.any():
        return None
    grown = cv2.dilate(speck[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    return np.asarray(grown > 0, dtype=np.bool_)


def _speck_density(ink: F32, dark: F32, k: float, boxes: Sequence[Rect], ring_pt: float) -> float:
    """Small, dark, isolated specks per cm² of the region's bare paper away from the boxes.

    A photocopier's toner specks fall anywhere; inside a box one can pass for a
    dot. How many lie on the paper round the field tells the box model how
    likely that is. Only specks of at most :data:`SPECK_PT2` are counted, so
    pen strokes (a circle round an option's words, say) are not. ``ink``: as a
    share of paper white.
    """
    bare = _grow(dark > 0.03, SPECK_CLEAR_PT * k) == 0  # well clear of print: no edge of a letter counts
    h, w = ink.shape
    for x0, y0, x1, y1 in boxes:  # the boxes and their rings hold the marks
        m = ring_pt * k
        bare[max(0, int(y0 - m)) : min(h, int(math.ceil(y1 + m))), max(0, int(x0 - m)) : min(w, int(math.ceil(x1 + m)))] = False
    area_cm2 = float(np.count_nonzero(bare)) / (k * 72.0 / 2.54) ** 2
    if area_cm2 < 0.5:
        return 0.0
    candidates = ((ink > SPECK_LEVEL) & bare).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    if n <= 1:
        return 0.0
    small = np.count_nonzero(stats[1:, cv2.CC_STAT_AREA] <= SPECK_PT2 * k * k)
    return float(small) / area_cm2


def _box_features(
    ink: F32,
    box: Rect,
    k: float,
    ring_pt: float,
    others: Sequence[Rect],
    *,
    noise: float = 0.01,
) -> dict[str, float]:
    ax0, ay0, ax1, ay1 = box
    h, w = ink.shape
    inset = INSET_PT * k
    i0, i1 = max(0, round(ay0 + inset)), min(h, round(ay1 - inset))
    j0, j1 = max(0, round(ax0 + inset)), min(w, round(ax1 - inset))
    smooth = np.asarray(cv2.GaussianBlur(ink, (0, 0), SMOOTH_PT * k), dtype=np.float32)
    inner = smooth[i0:i1, j0:j1]
    n_in = max(1, inner.size)
    side_px = max(1.0, min(i1 - i0, j1 - j0))
    cov = float(np.maximum(inner - OFFSET, 0.0).mean()) if inner.size else 0.0
    dark = float(np.count_nonzero(inner > 0.5)) / n_in
    faint = float(np.count_nonzero(inner > FAINT)) / n_in

    peak = float(inner.max()) if inner.size else 0.0
    inked = (inner > FAINT).astype(np.uint8)
    blob = spread = mass = 0.0
    if inked.any():
        n, labels, stats, _ = cv2.connectedComponentsWithStats(inked, connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        blob = float(areas.max()) / n_in
        masses = np.bincount(labels.ravel(), weights=inner.ravel(), minlength=n)[1:]
        mass = float(masses.max()) / n_in
        keep = stats[1:][areas >= max(2.0, 0.5 * k * k)]
        if len(keep):
            left = keep[:, cv2.CC_STAT_LEFT].min()
            top = keep[:, cv2.CC_STAT_TOP].min()
            right = (keep[:, cv2.CC_STAT_LEFT] + keep[:, cv2.CC_STAT_WIDTH]).max()
            bottom = (keep[:, cv2.CC_STAT_TOP] + keep[:, cv2.CC_STAT_HEIGHT]).max()
            spread = float(max(right - left, bottom - top)) / side_px
    # strokes above the paper's own noise: a light pencil line can be fainter than FAINT
    snr_share = snr_blob = snr_spread = snr_long = 0.0
    strong = (inner > SNR * noise).astype(np.uint8)
    if strong.any():
        _, _, stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
        snr_share = float(np.count_nonzero(strong)) / n_in
        snr_blob = float(stats[1:, cv2.CC_STAT_AREA].max()) / n_in
        snr_long = float(np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]).max()) / side_px
        # a grainy pencil stroke breaks into pieces: the extent of all pieces but single pixels
        keep = stats[1:][stats[1:, cv2.CC_STAT_AREA] >= 2]
        if len(keep):
            width = (keep[:, cv2.CC_STAT_LEFT] + keep[:, cv2.CC_STAT_WIDTH]).max() - keep[:, cv2.CC_STAT_LEFT].min()
            height = (keep[:, cv2.CC_STAT_TOP] + keep[:, cv2.CC_STAT_HEIGHT]).max() - keep[:, cv2.CC_STAT_TOP].min()
            snr_spread = float(max(width, height)) / side_px
    white = (inner < 0.25).astype(np.uint8)
    white_n = white_max = 0.0
    if white.any():
        _, _, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=4)
        areas = stats[1:, cv2.CC_STAT_AREA] / n_in
        white_n = float(np.count_nonzero(areas >= 0.04))
        white_max = float(areas.max())

    # outside the box: a band just outside it, and a ring for circles
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    dist = np.maximum(np.maximum(ax0 - xs, xs - ax1)[None, :], np.maximum(ay0 - ys, ys - ay1)[:, None]) / k
    own = np.ones((h, w), dtype=bool)
    for bx0, by0, bx1, by1 in others:
        a0, a1 = max(0, int(by0 - k)), min(h, int(math.ceil(by1 + k)))
        b0, b1 = max(0, int(bx0 - k)), min(w, int(math.ceil(bx1 + k)))
        if a1 > a0 and b1 > b0:
            own[a0:a1, b0:b1] = False
    ring_m = (dist > 0.5) & (dist <= ring_pt) & own
    near_m = ring_m & (dist <= 3.0)
    n_ring, n_near = np.count_nonzero(ring_m), np.count_nonzero(near_m)
    above = np.maximum(smooth - OFFSET, 0.0)
    ring = float((above * ring_m).sum()) / n_ring if n_ring else 0.0
    near = float((above * near_m).sum()) / n_near if n_near else 0.0
    ring_turn = _turn(smooth, ring_m, (ax0 + ax1) / 2, (ay0 + ay1) / 2, k)
    # the same measured against the paper's noise: a light pencil circle fainter than TURN_LEVEL
    level = SNR * noise
    ring_snr = _turn(smooth, ring_m, (ax0 + ax1) / 2, (ay0 + ay1) / 2, k, level=level)
    near_snr = float(np.count_nonzero(near_m & (smooth > level))) / n_near if n_near else 0.0
    return {
        "cov": cov,
        "dark": dark,
        "faint": faint,
        "peak": peak,
        "mass": mass,
        "blob": blob,
        "spread": spread,
        "white_n": white_n,
        "white_max": white_max,
        "near": near,
        "ring": ring,
        "ring_turn": ring_turn,
        "ring_snr": ring_snr,
        "near_snr": near_snr,
        "snr_share": snr_share,
        "snr_blob": snr_blob,
        "snr_spread": snr_spread,
        "snr_long": snr_long,
    }


def _turn(ink: F32, mask: NDArray[np.bool_], cx: float, cy: float, k: float, *, level: float = TURN_LEVEL) -> float:
    """Share of the sectors round (cx, cy) that hold a little ink (above ``level``) within ``mask``."""
    rows, cols = np.nonzero(mask & (ink > level))
    if rows.size == 0:
        return 0.0
    ang = np.arctan2(rows + 0.5 - cy, cols + 0.5 - cx)
    sector = ((ang + math.pi) / (2 * math.pi) * SECTORS).astype(np.int64) % SECTORS
    counts = np.bincount(sector, minlength=SECTORS)
    return float(np.count_nonzero(counts >= max(2.0, 0.25 * k * k))) / SECTORS


def label_rect(blank: U8, rect: Rect, scale: float) -> Rect | None:
    """Where a box's printed words are (layout points): right of the box, else just above it.

    Read off the blank page: the first printed run within 14 pt right of the
    box (words separated by less than 9 pt), else the printed lines within
    10 pt above it (easy read puts the words over the box). ``None`` when the
    box has no words of its own (a rating grid's columns share headings).
    """
    x0, y0, x1, y1 = rect
    h_img, w_img = blank.shape
    k = scale

    def crop(ax0: float, ay0: float, ax1: float, ay1: float) -> tuple[NDArray[np.bool_], int, int]:
        c0, r0 = max(0, int(ax0 * k)), max(0, int(ay0 * k))
        c1, r1 = min(w_img, int(ax1 * k)), min(h_img, int(ay1 * k))
        return blank[r0:r1, c0:c1] < 128, c0, r0

    dark, c0, r0 = crop(x1 + 1.0, y0 - 3.0, x1 + 220.0, y1 + 3.0)
    cols = np.flatnonzero(dark.any(axis=0))
    if cols.size and cols[0] / k < 14.0:
        gaps = np.flatnonzero(np.diff(cols) / k > 9.0)
        end = int(cols[gaps[0]]) if gaps.size else int(cols[-1])
        rows = np.flatnonzero(dark[:, cols[0] : end + 1].any(axis=1))
        return ((c0 + cols[0]) / k, (r0 + rows[0]) / k, (c0 + end + 1) / k, (r0 + rows[-1] + 1) / k)
    dark, c0, r0 = crop(x0 - 12.0, y0 - 30.0, x1 + 12.0, y0 - 1.0)
    rows = np.flatnonzero(dark.any(axis=1))
    if rows.size and (dark.shape[0] - rows[-1]) / k < 10.0:
        gaps = np.flatnonzero(np.diff(rows) / k > 4.0)
        start = int(rows[gaps[-1] + 1]) if gaps.size else int(rows[0])
        cols = np.flatnonzero(dark[start : rows[-1] + 1].any(axis=0))
        return ((c0 + cols[0]) / k, (r0 + start) / k, (c0 + cols[-1] + 1) / k, (r0 + rows[-1] + 1) / k)
    return None


def _label_features(ink: F32, label: Rect, k: float, boxes: Sequence[Rect], noise: float) -> dict[str, float]:
    """Ink round the option's printed words (a circled label), the boxes' own ink left out."""
    ink = np.asarray(cv2.GaussianBlur(ink, (0, 0), SMOOTH_PT * k), dtype=np.float32)
    h, w = ink.shape
    lx0, ly0, lx1, ly1 = label
    xs = np.arange(w, dtype=np.float32) + 0.5
    ys = np.arange(h, dtype=np.float32) + 0.5
    dist = np.maximum(np.maximum(lx0 - xs, xs - lx1)[None, :], np.maximum(ly0 - ys, ys - ly1)[:, None]) / k
    mask = (dist > 0.3) & (dist <= LABEL_MARGIN_PT)
    for bx0, by0, bx1, by1 in boxes:
        a0, a1 = max(0, int(by0 - k)), min(h, int(math.ceil(by1 + k)))
        b0, b1 = max(0, int(bx0 - k)), min(w, int(math.ceil(bx1 + k)))
        if a1 > a0 and b1 > b0:
            mask[a0:a1, b0:b1] = False
    n = np.count_nonzero(mask)
    if not n:
        return {"label_turn": 0.0, "label_ink": 0.0, "label_snr": 0.0}
    cx, cy = (lx0 + lx1) / 2, (ly0 + ly1) / 2
    return {"label_turn": _turn(ink, mask, cx, cy, k),
            "label_ink": float((np.maximum(ink - OFFSET, 0.0) * mask).sum()) / n,
            "label_snr": _turn(ink, mask, cx, cy, k, level=SNR * noise)}
