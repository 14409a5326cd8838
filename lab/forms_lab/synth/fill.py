"""Fill a rendered page the way people do, and say what the export should read.

Given a page image (a blank page rendered at ``scale`` pixels per point, in
layout coordinates: pixel (i, j) shows point ((j + 0.5) / scale, (i + 0.5) /
scale)) and the page's layout, :func:`fill_page` draws what a respondent
would: ticks, crosses, slashes, dots, scribbles, a box filled solid to cancel
it and a new mark elsewhere, a circle round a box or round its label, marks
that start in the box and finish well outside it, two marks in a single
choice; with a black or blue ballpoint, a felt tip that bleeds, a pencil or a
light pencil; and handwriting in writing areas (several handwriting fonts,
words past the right edge, text between the ruled lines, short answers such
as "no"), blank areas with dust and specks.

It returns the truth: field id -> the value the export should carry
(``single_choice``: the value or ``None``; ``multi_choice``: the sorted list
of values; ``text``: the written string or ``""``), and a ``case`` per field
naming what was drawn, for benchmark breakdowns. Two marks in a single
choice and a lone filled box have the truth ``None`` (no valid answer), and
their case says so: a reader must queue them, not guess.

Handwriting fonts come from the ``fontpkg-caveat``, ``fontpkg-indie-flower``,
``fontpkg-kalam`` and ``fontpkg-permanent-marker`` packages
(dependencies of forms-lab); :func:`handwriting_fonts` lists those installed.

Synthetic material only: must never be applied to real respondents' forms.
Writes no files, logs nothing.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from forms_service.layout import Box, LayoutField, LayoutPage
from forms_service.scan.marks import label_rect

__all__ = [
    "CHOICE_CASES",
    "MARK_STYLES",
    "PEN_KINDS",
    "POPULATIONS",
    "Population",
    "TEXT_CASES",
    "FilledPage",
    "Pen",
    "Respondent",
    "draw_mark",
    "fill_page",
    "handwriting_fonts",
    "random_pen",
    "random_respondent",
    "scatter_dust",
    "write_text",
]

Rect = tuple[float, float, float, float]
U8 = NDArray[np.uint8]
F32 = NDArray[np.float32]

#: what a mark in a box can look like (``circle-label`` circles the option's words)
MARK_STYLES = (
    "tick",
    "cross",
    "slash",
    "dot",
    "scribble",
    "tick-out",
    "cross-out",
    "circle-box",
    "circle-label",
)
#: what a respondent can do with one choice field
CHOICE_CASES = (*MARK_STYLES, "blank", "correction", "filled-only", "double")
#: what a respondent can do with one writing area
TEXT_CASES = ("blank", "blank-dust", "short", "sentence", "long", "past-edge", "between-lines")
#: the pens people use
PEN_KINDS = ("black-ballpoint", "blue-ballpoint", "felt-tip", "pencil", "light-pencil")

_FONT_PACKAGES = (
    "fontpkg_caveat",
    "fontpkg_indie_flower",
    "fontpkg_kalam",
    "fontpkg_permanent_marker",
)

_SHORT_ANSWERS = (
    "no", "ok", "yes", "No.", "OK", "n/a", "None", "Not sure", "no comment", "Yes!",
    "nothing", "all good", "Respect", "kindness", "fairness",
)  # fmt: skip
_WORDS = ["respect", "honesty", "kindness", "fairness", "openness", "trust", "listening", "support", "courage", "inclusion", "community", "integrity", "patience", "care", "teamwork", "learning", "curiosity", "people", "staff", "students", "everyone", "managers", "time", "money", "workload", "meetings", "more", "less", "better", "clear", "simple", "fair", "open", "honest", "kind", "equal", "safe", "real", "should", "would", "could", "must", "need", "want", "feel", "think", "see", "hear", "know", "the", "a", "and", "to", "of", "for", "with", "in", "on", "at", "by", "from", "about", "every", "each", "all", "our", "their", "being", "treating", "asking", "helping", "saying", "doing", "giving", "taking", "making", "sharing", "budget", "cuts", "pressure", "deadlines", "email", "rules", "paperwork", "parking", "buses", "rooms", "lunch", "breaks", "cleaners", "porters", "security", "library", "canteen", "pay", "hours", "contracts"]
_SENTENCES = (
    "Treat everyone with respect",
    "Be honest about money and jobs",
    "Listen to the people who do the work",
    "More kindness and less email",
    "Say thank you to cleaners and porters",
    "Fair pay for everyone",
    "Managers should listen more",
    "Too many meetings and not enough time",
    "Open and honest communication",
    "Treat staff as people not numbers",
    "Keep the library open later",
    "Workload is too high for everyone",
    "Be kind and patient with each other",
    "Help new students feel welcome",
    "Stop cutting budgets for support staff",
    "Clear rules that apply to all",
)


# --------------------------------------------------------------------------- pens


@dataclass(frozen=True)
class Pen:
    """A writing instrument as the scanner sees it in grey."""

    kind: str
    grey: float  # grey level of a full-strength stroke on white paper (0 black, 255 white)
    width_pt: float  # stroke width in points
    grain: float = 0.0  # pencil: share of the stroke the paper's tooth leaves uncovered
    bleed_pt: float = 0.0  # felt tip: how far ink spreads into the paper


def random_pen(rng: np.random.Generator, kind: str | None = None, population: str = "stress") -> Pen:
    """A pen of ``kind`` (or of a kind drawn with the frequencies of ``population``)."""
    if kind is None:
        kind = str(rng.choice(PEN_KINDS, p=POPULATIONS[population].pens))
    u = rng.uniform
    if kind == "black-ballpoint":
        return Pen(kind, u(20, 60), u(0.6, 1.1))
    if kind == "blue-ballpoint":
        return Pen(kind, u(70, 125), u(0.6, 1.1))
    if kind == "felt-tip":
        return Pen(kind, u(10, 40), u(1.3, 2.6), bleed_pt=u(0.15, 0.4))
    if kind == "pencil":
        return Pen(kind, u(95, 140), u(0.6, 1.1), grain=u(0.25, 0.45))
    if kind == "light-pencil":
        return Pen(kind, u(150, 190), u(0.5, 0.9), grain=u(0.3, 0.5))
    raise ValueError(f"no pen kind {kind!r}; choose one of {', '.join(PEN_KINDS)}")


# --------------------------------------------------------------------------- respondents


@dataclass(frozen=True)
class Respondent:
    """How one person fills a form: pen, habits, handwriting."""

    pen: Pen
    style: str  # the mark they usually make
    skip_rate: float  # share of choice questions left blank
    write_rate: float  # share of writing areas written in
    font: Path | None  # handwriting font (None: no font installed; areas stay blank)
    hand: float  # handwriting size as a share of the writing-line spacing
    mistakes: float  # share of choice questions corrected (filled box + new mark)
    double: float = 0.012  # share of single-choice questions given two marks
    filled_only: float = 0.008  # share of questions with one box filled solid and nothing else
    other_style: float = 0.2  # share of marks not in the person's usual style


@dataclass(frozen=True)
class Population:
    """How often respondents use each pen and mark, skip, correct and double-mark."""

    pens: tuple[float, ...]  # per PEN_KINDS
    styles: tuple[float, ...]  # per MARK_STYLES
    skip: tuple[float, float]  # a respondent's skip rate is uniform in this range
    mistakes: tuple[float, float]  # ... and their correction rate
    double: float
    filled_only: float
    other_style: float


#: ``stress``: every hard case over-represented (light pencil, circles, marks
#: ending outside the box, corrections up to 12 % of a person's answers, 2 %
#: invalid single choices); what the calibration is fitted on.
#: ``typical``: our assumption of an ordinary returned batch (no real batch has
#: been measured yet): mostly ballpoint ticks and crosses, few corrections,
#: 0.5 % invalid single choices. The benchmark reports both.
POPULATIONS: dict[str, Population] = {
    "stress": Population(
        pens=(0.42, 0.3, 0.1, 0.12, 0.06),
        styles=(0.34, 0.2, 0.07, 0.05, 0.06, 0.09, 0.06, 0.09, 0.04),
        skip=(0.0, 0.3), mistakes=(0.0, 0.12), double=0.012, filled_only=0.008, other_style=0.2,
    ),
    "typical": Population(
        pens=(0.5, 0.34, 0.07, 0.07, 0.02),
        styles=(0.46, 0.28, 0.06, 0.02, 0.02, 0.07, 0.04, 0.03, 0.02),
        skip=(0.0, 0.15), mistakes=(0.0, 0.03), double=0.003, filled_only=0.002, other_style=0.1,
    ),
}


def random_respondent(
    rng: np.random.Generator,
    *,
    pen: str | None = None,
    style: str | None = None,
    population: str = "stress",
) -> Respondent:
    """A respondent drawn from ``population`` (see :data:`POPULATIONS`)."""
    if population not in POPULATIONS:
        raise ValueError(f"no population {population!r}; choose one of {', '.join(POPULATIONS)}")
    pop = POPULATIONS[population]
    fonts = handwriting_fonts()
    weights = np.asarray(pop.styles, dtype=np.float64)
    return Respondent(
        pen=random_pen(rng, pen, population),
        style=style or str(rng.choice(MARK_STYLES, p=weights / weights.sum())),
        skip_rate=float(rng.uniform(*pop.skip)),
        write_rate=float(rng.uniform(0.3, 0.9)),
        font=fonts[int(rng.integers(len(fonts)))] if fonts else None,
        hand=float(rng.uniform(0.45, 0.7)),
        mistakes=float(rng.uniform(*pop.mistakes)),
        double=pop.double,
        filled_only=pop.filled_only,
        other_style=pop.other_style,
    )


@cache
def handwriting_fonts() -> tuple[Path, ...]:
    """The handwriting-like TrueType fonts installed (``fontpkg-*`` packages)."""
    found: list[Path] = []
    for name in _FONT_PACKAGES:
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        found.extend(sorted(Path(module.ROOT, "files").glob("*.ttf")))
    return tuple(p for p in found if "Bold" not in p.name)


# --------------------------------------------------------------------------- the page


@dataclass
class FilledPage:
    """A filled page, the truth the export should carry, and what was drawn."""

    image: U8
    truth: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    #: per choice field, per box value: the mark drawn there ("filled" for a cancelled box)
    marks: dict[str, dict[str, str]] = field(default_factory=dict)
    pen: Pen | None = None


def fill_page(
    image: U8,
    page: LayoutPage,
    scale: float,
    rng: np.random.Generator,
    *,
    respondent: Respondent | None = None,
    field_types: Mapping[str, str] | None = None,
    cases: Mapping[str, str] | None = None,
) -> FilledPage:
    """Fill every field of ``page`` on a copy of ``image`` and return the truth.

    ``field_types`` overrides a field's type (e.g. read a single choice as a
    multiple choice, to make multiple-choice material from any layout);
    ``cases`` forces what is done to chosen fields (see :data:`CHOICE_CASES`
    and :data:`TEXT_CASES`).
    """
    person = respondent or random_respondent(rng)
    blank = image
    out = image.copy()
    filled = FilledPage(out, pen=person.pen)
    for f in page.fields:
        kind = (field_types or {}).get(f.id, f.type)
        forced = (cases or {}).get(f.id)
        if kind == "text":
            assert f.rect is not None
            case = forced or _text_case(rng, person)
            text = _fill_text(out, blank, f.rect, scale, rng, person, case)
            previous = filled.truth.get(f.id)
            filled.truth[f.id] = " ".join(t for t in (previous, text) if t) if previous else text
            filled.cases[f.id] = case
        elif kind == "multi_choice":
            drawn = filled.marks.setdefault(f.id, {})
            filled.truth[f.id], filled.cases[f.id] = _fill_multi(out, blank, f, scale, rng, person, forced, drawn)
        else:
            drawn = filled.marks.setdefault(f.id, {})
            filled.truth[f.id], filled.cases[f.id] = _fill_single(out, blank, f, scale, rng, person, forced, drawn)
    return filled


def _pick_style(rng: np.random.Generator, person: Respondent) -> str:
    if rng.random() >= person.other_style:
        return person.style
    return str(rng.choice(MARK_STYLES))


def _question_case(rng: np.random.Generator, person: Respondent, *, double: bool) -> str | None:
    """What the respondent does to a whole choice question, at their rates, with one draw.

    ``"blank"``, ``"correction"``, ``"double"`` (only where ``double``: two marks in a single
    choice) or ``"filled-only"``; ``None``: they simply answer it.
    """
    r = rng.random()
    edge = 0.0
    for rate, what in ((person.skip_rate, "blank"), (person.mistakes, "correction"),
                       (person.double if double else 0.0, "double"), (person.filled_only, "filled-only")):  # fmt: skip
        edge += rate
        if r < edge:
            return what
    return None


def _fill_single(
    out: U8,
    blank: U8,
    f: LayoutField,
    scale: float,
    rng: np.random.Generator,
    person: Respondent,
    forced: str | None,
    drawn: dict[str, str],
) -> tuple[Any, str]:
    n = len(f.boxes)
    if forced is None:
        forced = _question_case(rng, person, double=True) or _pick_style(rng, person)
    case = forced
    others = [b.rect for b in f.boxes]
    if case == "blank":
        return None, case
    order = [int(i) for i in rng.permutation(n)]
    if case == "filled-only":
        _mark(drawn, out, blank, f.boxes[order[0]], "filled", person.pen, scale, rng, others)
        return None, case
    if case == "double" and n >= 2:
        for i in order[:2]:
            _mark(drawn, out, blank, f.boxes[i], _pick_style(rng, person), person.pen, scale, rng, others)
        return None, case
    if case == "correction" and n >= 2:
        _mark(drawn, out, blank, f.boxes[order[1]], "filled", person.pen, scale, rng, others)
        style = _pick_style(rng, person)
        _mark(drawn, out, blank, f.boxes[order[0]], style, person.pen, scale, rng, others)
        return f.boxes[order[0]].value, case
    style = case if case in MARK_STYLES else _pick_style(rng, person)
    _mark(drawn, out, blank, f.boxes[order[0]], style, person.pen, scale, rng, others)
    return f.boxes[order[0]].value, style


def _fill_multi(
    out: U8,
    blank: U8,
    f: LayoutField,
    scale: float,
    rng: np.random.Generator,
    person: Respondent,
    forced: str | None,
    drawn: dict[str, str],
) -> tuple[Any, str]:
    """Tick each box with chance 0.3; a correction or a lone filled box is one decision per question.

    As in a single choice, ``person.mistakes`` is the share of questions corrected (one box filled
    solid beside the boxes chosen) and ``person.filled_only`` the share with a lone filled box.
    """
    others = [b.rect for b in f.boxes]
    if forced is None:
        forced = _question_case(rng, person, double=False)
    if forced == "blank":
        return [], "blank"
    order = [int(i) for i in rng.permutation(len(f.boxes))]
    if forced == "filled-only":
        _mark(drawn, out, blank, f.boxes[order[0]], "filled", person.pen, scale, rng, others)
        return [], "filled-only"
    correction = forced == "correction" and len(f.boxes) >= 2
    cancelled = order[-1] if correction else None  # the box filled solid: never one of the chosen
    share = 0.45 if forced in MARK_STYLES else 0.3
    picked = [i for i in range(len(f.boxes)) if i != cancelled and rng.random() < share]
    if correction and not picked:
        picked = [order[0]]  # a correction changes an answer: something is chosen
    chosen: list[str] = []
    styles: list[str] = []
    for i, box in enumerate(f.boxes):
        if i == cancelled:
            _mark(drawn, out, blank, box, "filled", person.pen, scale, rng, others)
        elif i in picked:
            style = forced if forced in MARK_STYLES else _pick_style(rng, person)
            _mark(drawn, out, blank, box, style, person.pen, scale, rng, others)
            chosen.append(box.value)
            styles.append(style)
    case = "correction" if correction else (styles[0] if styles else "blank")
    return sorted(chosen), case


# --------------------------------------------------------------------------- marks


def _mark(
    drawn: dict[str, str],
    out: U8,
    blank: U8,
    box: Box,
    style: str,
    pen: Pen,
    scale: float,
    rng: np.random.Generator,
    others: Sequence[Rect],
) -> None:
    draw_mark(out, blank, box.rect, style, pen, scale, rng, others)
    drawn[box.value] = style


def draw_mark(
    image: U8,
    blank: U8,
    rect: Rect,
    style: str,
    pen: Pen,
    scale: float,
    rng: np.random.Generator,
    others: Sequence[Rect] = (),
) -> None:
    """Draw one mark of ``style`` (or ``"filled"``) on ``image`` in place at a box ``rect`` (points).

    ``blank`` is the unfilled page (to find the option's words for ``circle-label``).
    """
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    strokes: list[NDArray[np.float64]] = []
    polygons: list[NDArray[np.float64]] = []
    dots: list[tuple[float, float, float]] = []
    u = rng.uniform

    def box(points: Sequence[tuple[float, float]]) -> NDArray[np.float64]:
        p = np.asarray(points, dtype=np.float64)
        return np.column_stack([x0 + p[:, 0] * w, y0 + p[:, 1] * h])

    size = u(0.75, 1.05)  # some people mark small, some fill the box

    def shrink(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        cx, cy = 0.5 + u(-0.06, 0.06), 0.5 + u(-0.06, 0.06)
        return [(cx + (a - 0.5) * size, cy + (b - 0.5) * size) for a, b in points]

    if style in ("tick", "tick-out"):
        end = (u(1.15, 1.7), u(-0.7, -0.15)) if style == "tick-out" else (u(0.78, 0.95), u(0.06, 0.25))
        pts = shrink([(u(0.12, 0.3), u(0.45, 0.62)), (u(0.36, 0.5), u(0.74, 0.9))])
        strokes.append(_smooth(box([*pts, end]), rng, w * 0.02))
    elif style in ("cross", "cross-out"):
        lo, hi = (u(-0.35, -0.05), u(1.05, 1.35)) if style == "cross-out" else (u(0.12, 0.3), u(0.7, 0.9))
        a = shrink([(lo + u(-0.05, 0.05), lo + u(-0.05, 0.05)), (hi + u(-0.05, 0.05), hi + u(-0.05, 0.05))])
        b = shrink([(hi + u(-0.05, 0.05), lo + u(-0.05, 0.05)), (lo + u(-0.05, 0.05), hi + u(-0.05, 0.05))])
        strokes.append(_smooth(box(a), rng, w * 0.015))
        strokes.append(_smooth(box(b), rng, w * 0.015))
    elif style == "slash":
        pts = shrink([(u(0.15, 0.3), u(0.7, 0.88)), (u(0.7, 0.88), u(0.12, 0.3))])
        strokes.append(_smooth(box(pts), rng, w * 0.015))
    elif style == "dot":
        r_pt = max(0.9, u(0.05, 0.12) * w, pen.width_pt * 1.2)
        dots.append((x0 + u(0.35, 0.65) * w, y0 + u(0.35, 0.65) * h, r_pt))
    elif style == "scribble":
        n = int(rng.integers(4, 9))
        lo, hi = u(0.1, 0.3), u(0.7, 0.9)
        xs = np.linspace(lo, hi, n) + rng.uniform(-0.04, 0.04, n)
        ys = np.where(np.arange(n) % 2 == 0, u(0.12, 0.3), u(0.7, 0.88)) + rng.uniform(-0.06, 0.06, n)
        if rng.random() < 0.5:
            xs, ys = ys, xs
        strokes.append(_smooth(box(list(zip(xs, ys, strict=True))), rng, w * 0.01))
    elif style == "filled":
        inset = [u(-0.05, 0.07) for _ in range(4)]
        polygons.append(
            box([(inset[0], inset[1]), (1 - inset[2], inset[1] + u(-0.03, 0.03)),
                 (1 - inset[2], 1 - inset[3]), (inset[0] + u(-0.03, 0.03), 1 - inset[3])])
        )  # fmt: skip
        if rng.random() < 0.5:  # the scribble that filled it overshoots a little
            n = int(rng.integers(5, 12))
            xs = np.linspace(-0.05, 1.05, n)
            ys = np.where(np.arange(n) % 2 == 0, u(-0.1, 0.05), u(0.95, 1.1))
            strokes.append(_smooth(box(list(zip(xs, ys, strict=True))), rng, w * 0.01))
    elif style in ("circle-box", "circle-label"):
        target = rect
        if style == "circle-label":
            label = label_rect(blank, rect, scale)
            if label is not None:
                lx0, ly0, lx1, ly1 = label
                target = (min(lx0, x0 - 2) if rng.random() < 0.4 else lx0, ly0, lx1, ly1)
        tx0, ty0, tx1, ty1 = target
        cx, cy = (tx0 + tx1) / 2 + u(-0.06, 0.06) * w, (ty0 + ty1) / 2 + u(-0.06, 0.06) * h
        rx = (tx1 - tx0) / 2 * u(1.0, 1.25) + u(2.0, 6.0)
        ry = (ty1 - ty0) / 2 * u(1.0, 1.25) + u(2.0, 6.0)
        start = u(0, 2 * math.pi)
        sweep = 2 * math.pi + u(0.15, 0.8)
        t = np.linspace(start, start + sweep, 64)
        wobble = 1 + np.cumsum(rng.normal(0, 0.012, t.size))
        tilt = u(-0.2, 0.2)
        ex = rx * wobble * np.cos(t)
        ey = ry * wobble * np.sin(t)
        ring = np.column_stack(
            [cx + ex * math.cos(tilt) - ey * math.sin(tilt), cy + ex * math.sin(tilt) + ey * math.cos(tilt)]
        )
        strokes.append(ring)
    else:
        raise ValueError(f"no mark style {style!r}")
    _ink(image, scale, pen, rng, strokes=strokes, polygons=polygons, dots=dots)


def _smooth(points: NDArray[np.float64], rng: np.random.Generator, jitter: float) -> NDArray[np.float64]:
    """A hand-drawn path through control points: Chaikin-smoothed, with a little tremor."""
    p = points
    dense = [p[0]]
    for a, b in zip(p[:-1], p[1:], strict=True):
        n = max(2, int(np.hypot(*(b - a)) / 0.8))
        seg = a + (b - a) * np.linspace(0, 1, n)[1:, None]
        dense.extend(seg)
    q = np.asarray(dense)
    q = q + np.cumsum(rng.normal(0, jitter * 0.25, q.shape), axis=0) * 0.3
    for _ in range(2):
        if len(q) < 3:
            break
        a, b = q[:-1], q[1:]
        mid = np.empty((2 * len(a), 2))
        mid[0::2] = 0.75 * a + 0.25 * b
        mid[1::2] = 0.25 * a + 0.75 * b
        q = np.vstack([q[:1], mid, q[-1:]])
    return q


def _ink(
    image: U8,
    scale: float,
    pen: Pen,
    rng: np.random.Generator,
    *,
    strokes: Sequence[NDArray[np.float64]] = (),
    polygons: Sequence[NDArray[np.float64]] = (),
    dots: Sequence[tuple[float, float, float]] = (),
    alpha: F32 | None = None,
    origin: tuple[int, int] | None = None,
) -> None:
    """Lay pen strokes (points) or a ready coverage patch onto ``image`` in place."""
    k = scale
    if alpha is None:
        pts = [s for s in strokes] + [p for p in polygons] + [np.array([[x - r, y - r], [x + r, y + r]]) for x, y, r in dots]
        allp = np.vstack(pts)
        pad = pen.width_pt + 3 * pen.bleed_pt + 2
        c0 = max(0, int((allp[:, 0].min() - pad) * k))
        r0 = max(0, int((allp[:, 1].min() - pad) * k))
        c1 = min(image.shape[1], int((allp[:, 0].max() + pad) * k) + 1)
        r1 = min(image.shape[0], int((allp[:, 1].max() + pad) * k) + 1)
        if c1 <= c0 or r1 <= r0:
            return
        ss = 4
        canvas = np.zeros(((r1 - r0) * ss, (c1 - c0) * ss), np.uint8)

        def to_px(p: NDArray[np.float64]) -> NDArray[np.int32]:
            return np.round((p * k - [c0, r0]) * ss).astype(np.int32)

        thick = max(1, round(pen.width_pt * k * ss))
        for s in strokes:
            cv2.polylines(canvas, [to_px(s)], False, 255, thickness=thick, lineType=cv2.LINE_8)
        for p in polygons:
            cv2.fillPoly(canvas, [to_px(p)], 255)
        for x, y, r in dots:
            centre = to_px(np.array([[x, y]]))[0]
            cv2.circle(canvas, (int(centre[0]), int(centre[1])), max(1, round(r * k * ss)), 255, -1)
        small = cv2.resize(canvas, (c1 - c0, r1 - r0), interpolation=cv2.INTER_AREA)
        alpha, origin = np.asarray(small, dtype=np.float32) / np.float32(255), (r0, c0)
    assert origin is not None
    r0, c0 = origin
    h, w = alpha.shape
    h, w = min(h, image.shape[0] - r0), min(w, image.shape[1] - c0)
    if h <= 0 or w <= 0:
        return
    a: F32 = np.asarray(alpha[:h, :w], dtype=np.float32)
    if pen.bleed_pt > 0:
        a = np.asarray(cv2.GaussianBlur(a, (0, 0), pen.bleed_pt * k), dtype=np.float32)
        a = np.clip(a * 1.4, 0, 1)
    if pen.grain > 0:
        tooth = rng.random(a.shape, dtype=np.float32)
        tooth = np.asarray(cv2.GaussianBlur(tooth, (0, 0), max(0.6, 0.15 * k)), dtype=np.float32)
        tooth = (tooth - tooth.mean()) / max(float(tooth.std()), 1e-6)
        a = a * np.clip(1.0 - pen.grain + pen.grain * 0.8 * tooth, 0.15, 1.0)
    strength = np.float32(1.0 - pen.grey / 255.0)
    region = image[r0 : r0 + h, c0 : c0 + w].astype(np.float32)
    region *= 1.0 - a * strength
    image[r0 : r0 + h, c0 : c0 + w] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- writing


def _text_case(rng: np.random.Generator, person: Respondent) -> str:
    if person.font is None or rng.random() > person.write_rate:
        return "blank" if rng.random() < 0.5 else "blank-dust"
    return str(rng.choice(TEXT_CASES[2:], p=[0.25, 0.3, 0.2, 0.15, 0.1]))


def _answer_text(rng: np.random.Generator, case: str) -> str:
    if case == "short":
        return str(rng.choice(_SHORT_ANSWERS))
    if case == "sentence":
        return str(rng.choice(_SENTENCES))
    n = int(rng.integers(10, 30))
    first = str(rng.choice(_SENTENCES))
    return first + " " + " ".join(str(w) for w in rng.choice(_WORDS, n))


def _ruled_lines(blank: U8, rect: Rect, scale: float) -> list[float]:
    """The y (points) of the grey ruled lines inside a writing area, read off the blank page."""
    x0, y0, x1, y1 = rect
    k = scale
    r0, r1 = int(y0 * k) + 2, int(y1 * k) - 2
    c0, c1 = int((x0 + 8) * k), int((x1 - 8) * k)
    strip = blank[r0:r1, c0:c1].astype(np.float32)
    dark = (strip < 200).mean(axis=1) > 0.6
    ys: list[float] = []
    run: list[int] = []
    for i, d in enumerate(dark):
        if d:
            run.append(i)
        elif run:
            ys.append((r0 + (run[0] + run[-1]) / 2 + 0.5) / k)
            run = []
    if run:
        ys.append((r0 + (run[0] + run[-1]) / 2 + 0.5) / k)
    if not ys or y1 - ys[-1] > 3.0:
        ys.append(y1)
    return ys


def _fill_text(
    out: U8,
    blank: U8,
    rect: Rect,
    scale: float,
    rng: np.random.Generator,
    person: Respondent,
    case: str,
) -> str:
    if case in ("blank", "blank-dust") or person.font is None:
        if case == "blank-dust":
            scatter_dust(out, rect, scale, rng)
        return ""
    text = _answer_text(rng, case)
    return write_text(out, blank, rect, text, person.font, person.pen, scale, rng,
                      hand=person.hand, past_edge=case == "past-edge",
                      between_lines=case == "between-lines")  # fmt: skip


def scatter_dust(image: U8, rect: Rect, scale: float, rng: np.random.Generator) -> None:
    """Specks, a hair-thin fleck or two: what lies on a blank area after handling."""
    x0, y0, x1, y1 = rect
    k = scale
    for _ in range(int(rng.integers(3, 25))):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(0.15, 0.55)
        grey = rng.uniform(40, 200)
        cv2.circle(image, (int(x * k), int(y * k)), max(0, round(r * k)), float(grey), -1)
    for _ in range(int(rng.integers(0, 3))):  # a short fibre
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        ang = rng.uniform(0, math.pi)
        ln = rng.uniform(1.0, 2.5)
        p0 = (int(x * k), int(y * k))
        p1 = (int((x + ln * math.cos(ang)) * k), int((y + ln * math.sin(ang)) * k))
        cv2.line(image, p0, p1, float(rng.uniform(120, 200)), 1, cv2.LINE_AA)


@cache
def _font(path: Path, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size_px)


def write_text(
    image: U8,
    blank: U8,
    rect: Rect,
    text: str,
    font: Path,
    pen: Pen,
    scale: float,
    rng: np.random.Generator,
    *,
    hand: float = 0.6,
    past_edge: bool = False,
    between_lines: bool = False,
) -> str:
    """Handwrite ``text`` into the writing area ``rect`` on ``image`` in place.

    Words sit on the ruled lines (or, with ``between_lines``, half way between
    them, smaller); with ``past_edge`` the writer runs over the right edge.
    Returns what was actually written (words that found no room are dropped).
    """
    x0, y0, x1, y1 = rect
    k = scale
    lines = _ruled_lines(blank, rect, scale)
    spacing = float(np.median(np.diff(lines))) if len(lines) > 1 else (y1 - y0) / 4
    size_pt = spacing * hand * (0.8 if between_lines else 1.0)
    size_px = max(8, round(size_pt * k * 1.35))
    ft = _font(font, size_px)
    space = ft.getlength(" ") / k
    baselines = [y - spacing * rng.uniform(0.12, 0.22) for y in lines]
    if between_lines:
        baselines = [y - spacing * rng.uniform(0.45, 0.55) for y in lines]
    right = x1 + rng.uniform(15, 45) if past_edge else x1 - rng.uniform(3, 12)
    words = text.split()
    written: list[str] = []
    wi = 0
    for bl in baselines:
        if wi >= len(words):
            break
        if bl - size_pt * 0.8 < y0:
            continue
        start = x = x0 + rng.uniform(4, 14)
        line: list[str] = []
        while wi < len(words):
            width = ft.getlength(words[wi]) / k
            if line and x + width > right:
                break
            if not line and x + width > right and not past_edge:
                break
            line.append(words[wi])
            x += width + space * rng.uniform(0.9, 1.6)
            wi += 1
        if not line:
            break
        _draw_line(image, " ".join(line), ft, start, bl, pen, scale, rng)
        written.extend(line)
    return " ".join(written)


def _draw_line(
    image: U8,
    line: str,
    ft: ImageFont.FreeTypeFont,
    x_pt: float,
    baseline_pt: float,
    pen: Pen,
    scale: float,
    rng: np.random.Generator,
) -> None:
    k = scale
    left, top, right, bottom = ft.getbbox(line, anchor="ls")
    pad = 6
    w, h = int(right - left) + 2 * pad, int(bottom - top) + 2 * pad
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    stroke = max(0, round((pen.width_pt - 0.6) * k / 2)) if pen.kind == "felt-tip" else 0
    draw.text((pad - left, pad - top), line, fill=255, font=ft, anchor="ls", stroke_width=stroke, stroke_fill=255)
    angle = float(rng.uniform(-1.5, 1.5))
    rotated = canvas.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False)
    alpha = np.asarray(rotated, dtype=np.float32) / 255.0
    c0 = round(x_pt * k + left - pad)
    r0 = round(baseline_pt * k + top - pad)
    if r0 < 0 or c0 < 0:
        cut_r, cut_c = max(0, -r0), max(0, -c0)
        alpha = alpha[cut_r:, cut_c:]
        r0, c0 = max(0, r0), max(0, c0)
    _ink(image, scale, pen, rng, alpha=np.ascontiguousarray(alpha), origin=(r0, c0))
