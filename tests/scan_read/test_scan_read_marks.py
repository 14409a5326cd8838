"""Tick boxes: every way people mark a box, on clean and office scans, read right and honestly.

Each case draws marks with :func:`forms_lab.synth.draw_mark` on the
shipped questionnaire's page, scans the field's neighbourhood, and reads it
with :func:`forms_service.scan.marks.read_choice_field` and the shipped
calibration.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np
import pytest
from scan_read_helpers import SCALE, Forms

from forms_lab.synth import (
    MARK_STYLES,
    draw_mark,
    fill_page,
    random_pen,
    random_respondent,
    simulate_scan,
)
from forms_service.layout import Box, LayoutField
from forms_service.scan.calibration import Calibration, Curve, load_calibration
from forms_service.scan.marks import (
    BoxReading,
    ChoiceReading,
    calibration_key,
    decide_boxes,
    measure_field,
    page_pen,
    pen_stratum,
    read_choice_field,
    read_choice_fields,
    speck_mask,
)
from forms_service.scan.pipeline import READ_DPI

U8 = np.ndarray
# (variant, field): a labelled list, a rating row without words of its own, easy read's words over the box
FIELDS = [("standard", "group"), ("standard", "values.integrity"), ("easy-read", "values.community"),
          ("large-print", "age")]  # fmt: skip


def marker(marks: dict[int, str], pen: str = "black-ballpoint") -> Callable[[U8, U8, LayoutField, np.random.Generator], None]:
    """A drawing function: ``marks`` maps a box index to a mark style (or "filled")."""

    def draw(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        p = random_pen(rng, pen)
        others = [b.rect for b in f.boxes]
        for index, style in marks.items():
            draw_mark(image, blank, f.boxes[index].rect, style, p, SCALE, rng, others)

    return draw


def read(forms: Forms, variant: str, field_id: str, marks: dict[int, str], *, pen: str = "black-ballpoint",
         preset: str | None = "office", seed: int = 0, field_type: str | None = None) -> tuple[ChoiceReading, LayoutField]:  # fmt: skip
    s = forms.scan(variant, field_id, marker(marks, pen), preset=preset, seed=seed)
    f = s.field if field_type is None else LayoutField(s.field.id, field_type, boxes=s.field.boxes)
    return read_choice_field(s.warped, s.blank, f, s.scale, bilevel=s.bilevel), f


@pytest.mark.parametrize("preset", [None, "office"], ids=["clean", "office"])
@pytest.mark.parametrize("style", MARK_STYLES)
def test_every_mark_style_is_read_right(forms: Forms, style: str, preset: str | None) -> None:
    for n, (variant, field_id) in enumerate(FIELDS):
        for pen in ("black-ballpoint", "blue-ballpoint"):
            seed = zlib.crc32(f"{style}/{variant}/{field_id}/{pen}".encode()) % 1000
            _, f = forms.field(variant, field_id)
            index = seed % len(f.boxes)
            reading, moved = read(forms, variant, field_id, {index: style}, pen=pen, preset=preset, seed=seed + n)
            where = f"{style} in {variant}/{field_id} box {index} with {pen}"
            assert reading.value == moved.boxes[index].value, where
            assert not reading.ambiguous, where
            assert reading.confidence > 0.5, where


def test_plain_marks_on_office_scans_are_accepted(forms: Forms) -> None:
    accepted = 0
    for seed, (variant, field_id) in enumerate(FIELDS * 2):
        _, f = forms.field(variant, field_id)
        reading, moved = read(forms, variant, field_id, {seed % len(f.boxes): ("tick", "cross")[seed % 2]}, seed=seed)
        assert reading.value == moved.boxes[seed % len(f.boxes)].value
        accepted += reading.auto
    assert accepted >= 6


def test_blank_field_reads_none(forms: Forms) -> None:
    for seed, (variant, field_id) in enumerate(FIELDS):
        reading, _ = read(forms, variant, field_id, {}, seed=seed)
        assert reading.value is None
        assert not reading.ambiguous and not reading.cancelled
        assert all(b.state == "empty" for b in reading.boxes)


def test_two_marks_in_a_single_choice_are_never_accepted(forms: Forms) -> None:
    for seed, (variant, field_id) in enumerate(FIELDS):
        reading, _ = read(forms, variant, field_id, {0: "tick", 2: "cross"}, seed=seed)
        assert reading.ambiguous
        assert not reading.auto
        assert reading.confidence <= 0.5


def test_a_filled_correction_and_a_new_mark_read_the_new_mark(forms: Forms) -> None:
    for seed, (variant, field_id) in enumerate(FIELDS):
        for pen in ("black-ballpoint", "blue-ballpoint"):
            reading, f = read(forms, variant, field_id, {0: "filled", 1: "tick"}, pen=pen, seed=seed)
            assert reading.value == f.boxes[1].value, (variant, field_id, pen)
            assert reading.boxes[0].state == "filled"
            assert not reading.ambiguous


def test_a_lone_filled_box_is_a_cancelled_answer_for_a_person(forms: Forms) -> None:
    reading, _ = read(forms, "standard", "group", {1: "filled"})
    assert reading.value is None
    assert reading.cancelled
    assert not reading.auto


def test_a_circled_box_is_chosen(forms: Forms) -> None:
    for seed, (variant, field_id) in enumerate(FIELDS):
        reading, f = read(forms, variant, field_id, {1: "circle-box"}, seed=seed)
        assert reading.value == f.boxes[1].value


def test_light_pencil_on_a_bilevel_scan_is_queued_not_guessed(forms: Forms) -> None:
    for seed in range(6):
        variant, field_id = FIELDS[seed % len(FIELDS)]
        reading, f = read(forms, variant, field_id, {1: "tick"}, pen="light-pencil", preset="bilevel-200", seed=seed)
        assert not reading.auto, (variant, field_id, seed)
        assert reading.value in (None, f.boxes[1].value)


def test_a_values_curve_is_by_the_pages_pen_on_1bit_scans_only() -> None:
    assert calibration_key("single_choice", "yes", "faint") == "single_choice"
    assert calibration_key("single_choice", "yes", "faint", bilevel=True) == "single_choice~faint"
    assert calibration_key("single_choice", None, "dark", bilevel=True) == "single_choice:blank~dark"
    assert calibration_key("multi_choice", ["a"], None, bilevel=True) == "multi_choice"
    shipped = load_calibration()
    # on grey scans the same reading is read by the one curve of values, whatever the pen
    for pen in ("dark", "faint"):
        assert shipped.confidence(f"single_choice~{pen}", 0.999) == shipped.confidence("single_choice", 0.999)
    # on 1-bit scans a faint pen's value is trusted less, and a blank is never accepted
    assert shipped.confidence("single_choice~faint", 0.9999, bilevel=True) < shipped.confidence(
        "single_choice~dark", 0.9999, bilevel=True)
    assert shipped.threshold("single_choice:blank~dark", bilevel=True) is None


@pytest.mark.parametrize(("pen", "accepted"), [("black-ballpoint", True), ("pencil", False)])
def test_on_a_1bit_page_in_a_dark_pen_the_ticks_are_accepted_and_the_blanks_are_not(
    forms: Forms, pen: str, accepted: bool
) -> None:
    """A 1-bit scan erases a light mark: a blank is always a person's there, and a value is trusted
    by the page's pen (a pencil's strokes come out broken, and its corrections read as marks)."""
    layout = forms.layout("standard")
    page = max(layout.pages, key=lambda p: sum(f.type == "single_choice" for f in p.fields))
    choice = [f for f in page.fields if f.type != "text"]
    rng = np.random.default_rng(5)
    person = random_respondent(rng, pen=pen, style="tick", population="typical")
    cases = {f.id: ("blank" if i == 0 else "tick") for i, f in enumerate(choice)}
    filled = fill_page(forms.blank("standard", page.page), page, SCALE, rng, respondent=person, cases=cases)
    scale = READ_DPI / 72
    scan = simulate_scan(filled.image, (page.width, page.height), rng, "bilevel-200", source_scale=SCALE, scale=scale)
    assert scan.bilevel
    cal = load_calibration()
    readings = read_choice_fields(scan.warped, forms.blank("standard", page.page, scale), choice, scale,
                                  bilevel=True, calibration=cal)  # fmt: skip
    assert readings[0].value is None and not readings[0].auto
    ticked = readings[1:]
    if accepted:
        assert [r.value for r in ticked] == [filled.truth[f.id] for f in choice[1:]]
        assert all(r.auto for r in ticked), [(r.value, r.raw_confidence, r.confidence) for r in ticked]
    else:  # what is left of a pencil's ticks is not enough to accept them by
        assert not any(r.auto for r in ticked)
    stratum = pen_stratum(page_pen(b for r in readings for b in r.boxes), cal)
    assert stratum == ("dark" if accepted else "faint")
    for r in ticked:
        if r.value is not None:
            assert r.confidence == pytest.approx(cal.confidence(f"single_choice~{stratum}", r.raw_confidence, bilevel=True))


def _box(value: str, p_marked: float, features: dict[str, float]) -> BoxReading:
    return BoxReading(value, "marked" if p_marked >= 0.5 else "empty", p_marked, 0.0, features)


def test_on_a_1bit_scan_a_box_without_ink_is_neither_chosen_nor_held_against_the_tick() -> None:
    """A 1-bit scan can erase a light mark, so the box model doubts every untouched box there; a
    single choice is decided by the boxes that show ink, and one with none reads blank."""
    cal = load_calibration()
    none: dict[str, float] = {"peak": 0.0, "cov": 0.0, "ring_turn": 0.0, "label_turn": 0.0}
    tick = {**none, "peak": 0.7, "cov": 0.04}
    f = LayoutField("q", "single_choice", boxes=[Box(v, (0, 0, 1, 1)) for v in "abcde"])
    boxes = [_box("a", 0.04, none), _box("b", 0.9995, tick), *(_box(v, 0.04, none) for v in "cde")]
    grey = decide_boxes(f, boxes, cal)
    onebit = decide_boxes(f, boxes, cal, bilevel=True)
    assert grey.value == onebit.value == "b"
    assert grey.raw_confidence == pytest.approx(0.9995 * 0.96**4)
    assert onebit.raw_confidence == pytest.approx(0.9995)
    # a box whose only ink is most of a circle round it, or round its words, shows a mark
    circled = {**none, "ring_turn": 1.0}
    assert decide_boxes(f, [_box("a", 0.99, circled), *boxes[2:]], cal, bilevel=True).value == "a"
    words = {**none, "label_snr": 0.75}
    assert decide_boxes(f, [_box("a", 0.99, words), *boxes[2:]], cal, bilevel=True).value == "a"
    stray = {**none, "ring_snr": 0.25}  # a neighbour's stray pixel a quarter of the way round
    # no ink anywhere: blank (a person's on a 1-bit scan), not the box the model most suspects
    for ink in (none, stray):
        empty = decide_boxes(f, [_box("a", 0.8, ink), *boxes[2:]], cal, bilevel=True)
        assert empty.value is None and not empty.auto
    assert decide_boxes(f, [_box("a", 0.8, none), *boxes[2:]], cal).value == "a"  # on grey, as before
    # a multiple choice keeps every box's doubt: an erased mark there is an option lost
    multi = LayoutField("q", "multi_choice", boxes=f.boxes)
    assert decide_boxes(multi, boxes, cal, bilevel=True).raw_confidence == pytest.approx(grey.raw_confidence)


def test_multiple_choice_reads_a_sorted_list(forms: Forms) -> None:
    reading, f = read(forms, "large-print", "age", {4: "tick", 1: "cross", 3: "filled"}, field_type="multi_choice")
    assert reading.value == sorted([f.boxes[1].value, f.boxes[4].value])
    empty, _ = read(forms, "large-print", "age", {}, field_type="multi_choice", seed=3)
    assert empty.value == []


def test_probabilities_are_probabilities(forms: Forms) -> None:
    reading, _ = read(forms, "standard", "values.integrity", {2: "scribble", 4: "filled"}, preset="photocopy")
    assert 0.0 <= reading.confidence <= 1.0 and 0.0 <= reading.raw_confidence <= 1.0
    for box in reading.boxes:
        assert 0.0 <= box.p_marked <= 1.0 and 0.0 <= box.p_filled <= 1.0 and 0.0 <= box.p_empty <= 1.0
        assert abs(box.p_marked + box.p_filled + box.p_empty - 1.0) < 1e-6


@pytest.mark.parametrize("dpi", [150, 200])
def test_a_page_image_at_another_resolution_reads_the_same(forms: Forms, dpi: int) -> None:
    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, marker({2: "tick"}), preset="office", seed=7 + seed, scale=dpi / 72)
        reading = read_choice_field(s.warped, s.blank, s.field, s.scale)
        assert reading.value == s.field.boxes[2].value, (variant, field_id, dpi)


def test_a_photocopy_is_told_by_the_specks_on_its_bare_paper(forms: Forms) -> None:
    """The ``specks`` feature: toner specks round the field on a copy, none on an office scan."""
    for seed, (variant, field_id) in enumerate(FIELDS):
        copy = forms.scan(variant, field_id, marker({}), preset="photocopy", seed=seed)
        office = forms.scan(variant, field_id, marker({1: "tick"}), preset="office", seed=seed)
        copied = measure_field(copy.warped, copy.blank, copy.field, copy.scale)
        scanned = measure_field(office.warped, office.blank, office.field, office.scale)
        # every box of a field sees the same paper
        assert len({m.features["specks"] for m in copied}) == 1
        assert scanned[0].features["specks"] < 0.25, (variant, field_id)
        assert copied[0].features["noise"] > 0.0 and scanned[0].features["noise"] > 0.0
    # over several copies the specks show (a field's surroundings can happen to be clean)
    found = [measure_field(s.warped, s.blank, s.field, s.scale)[0].features["specks"]
             for s in (forms.scan("standard", "values.integrity", marker({}), preset="photocopy", seed=k)
                       for k in range(6))]  # fmt: skip
    assert np.median(found) > 0.3, found


def test_a_stroke_is_long_and_a_speck_is_not(forms: Forms) -> None:
    """``snr_long``: a light pencil slash spans the box; a toner speck inside it does not."""

    def speck(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        cv2.circle(image, (round((x0 + x1) / 2 * SCALE), round((y0 + y1) / 2 * SCALE)), 2, 40, -1)

    for seed, (variant, field_id) in enumerate(FIELDS):
        slash = forms.scan(variant, field_id, marker({1: "slash"}, "light-pencil"), preset=None, seed=seed)
        dot = forms.scan(variant, field_id, speck, preset=None, seed=seed)
        long = measure_field(slash.warped, slash.blank, slash.field, slash.scale)[1].features["snr_long"]
        short = measure_field(dot.warped, dot.blank, dot.field, dot.scale)[1].features["snr_long"]
        assert long > 0.5 and short < 0.3, (variant, field_id, long, short)


def specked(radii: tuple[int, ...], marks: dict[int, str] | None = None,
            pen: str = "black-ballpoint") -> Callable[[U8, U8, LayoutField, np.random.Generator], None]:
    """A photocopier's toner specks (``radii`` in pixels at 300 dpi) scattered inside box 1, then ``marks``."""

    def draw(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        places = ((0.3, 0.35), (0.7, 0.6), (0.45, 0.75), (0.6, 0.3))
        for (fx, fy), r in zip(places, radii, strict=False):
            x, y = x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
            cv2.circle(image, (round(x * SCALE), round(y * SCALE)), r, 10, -1)  # black toner
        if marks:
            marker(marks, pen)(image, blank, f, rng)

    return draw


def test_toner_specks_in_an_empty_box_are_not_ink(forms: Forms) -> None:
    """Specks a fraction of a point across, with no stroke round them, are masked: the box reads as untouched."""
    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, specked((1, 1, 1)), preset="office", seed=seed, scale=READ_DPI / 72)
        reading = read_choice_field(s.warped, s.blank, s.field, s.scale)
        box = reading.boxes[1]
        where = (variant, field_id, box.p_marked, box.features["peak"])
        assert reading.value is None and box.state == "empty", where
        assert box.features["peak"] < 0.1 and box.features["snr_share"] == 0.0, where


def test_a_cluster_of_toner_specks_is_not_ink(forms: Forms) -> None:
    """Three specks a couple of points apart (a copier's spatter), whose blurs join, are masked like one alone."""

    def cluster(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        for dx, dy in ((0.0, 0.0), (1.8, 0.6), (0.4, 2.0)):
            cv2.circle(image, (round((cx + dx) * SCALE), round((cy + dy) * SCALE)), 1, 10, -1)

    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, cluster, preset="office", seed=seed, scale=READ_DPI / 72)
        box = read_choice_field(s.warped, s.blank, s.field, s.scale).boxes[1]
        assert box.features["peak"] < 0.1 and box.state == "empty", (variant, field_id, box.features["peak"])


def test_toner_specks_beside_a_box_border_the_alignment_missed_are_not_ink(forms: Forms) -> None:
    """A speck just inside each side of a box, on pages laid a point or so off: still masked.

    Aligned to within a point or two, a box's border lies beside where the blank has it, and
    beside its mask it looks like a long stroke. A speck next to it must still count as alone.
    """
    def near_the_border(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        inset = 2.2  # points inside the box's outer edge: just clear of its printed border
        for x, y in (((x0 + x1) / 2, y0 + inset), ((x0 + x1) / 2, y1 - inset),
                     (x0 + inset, (y0 + y1) / 2), (x1 - inset, (y0 + y1) / 2)):  # fmt: skip
            cv2.circle(image, (round(x * SCALE), round(y * SCALE)), 1, 10, -1)

    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, near_the_border, preset=None, seed=seed, scale=READ_DPI / 72)
        box = read_choice_field(s.warped, s.blank, s.field, s.scale).boxes[1]
        assert box.features["peak"] < 0.1 and box.state == "empty", (variant, field_id, box.features["peak"])


@pytest.mark.parametrize("pen", ["black-ballpoint", "pencil"])
def test_a_pen_dot_is_not_taken_for_a_speck(forms: Forms, pen: str) -> None:
    """A pen's dot (a ballpoint's smallest, 0.9 pt round) stays ink, and so does a pencil stroke's darkest grain."""

    def smallest_dot(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        cv2.circle(image, (round((x0 + x1) / 2 * SCALE), round((y0 + y1) / 2 * SCALE)), round(0.9 * SCALE), 60, -1)

    for seed, (variant, field_id) in enumerate(FIELDS):
        for draw in (smallest_dot if pen == "black-ballpoint" else marker({1: "dot"}, pen), specked((1,), {1: "slash"}, pen)):
            s = forms.scan(variant, field_id, draw, preset="office", seed=seed, scale=READ_DPI / 72)
            reading = read_choice_field(s.warped, s.blank, s.field, s.scale)
            assert reading.value == s.field.boxes[1].value, (variant, field_id, pen, reading.boxes[1].p_marked)


def test_a_1bit_scans_broken_strokes_are_not_taken_for_specks(forms: Forms) -> None:
    """A black-and-white threshold breaks a pencil stroke into specks of its own; on such a scan none is masked."""
    lost = []
    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, marker({1: "slash"}, "pencil"), preset="bilevel-200", seed=seed,
                       scale=READ_DPI / 72)  # fmt: skip
        assert s.bilevel
        kept = measure_field(s.warped, s.blank, s.field, s.scale, bilevel=True)[1].features["faint"]
        thinned = measure_field(s.warped, s.blank, s.field, s.scale)[1].features["faint"]
        assert kept >= thinned, (variant, field_id)
        lost.append(kept - thinned)
    assert max(lost) > 0.0, lost  # as a grey page, some piece of a stroke would have gone as a speck


def streaked(depth: int, marks: dict[int, str] | None = None) -> Callable[[U8, U8, LayoutField, np.random.Generator], None]:
    """A photocopier's streak, ``depth`` grey levels dark and a point wide, down through box 1's middle.

    Drawn on the page before it is scanned, as a copier prints it; then ``marks`` in a ballpoint.
    """

    def draw(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, _, x1, _ = f.boxes[1].rect
        column = round((x0 + x1) / 2 * SCALE)
        image[:, column - 2 : column + 2] = np.minimum(image[:, column - 2 : column + 2], 255 - depth)
        if marks:
            marker(marks)(image, blank, f, rng)

    return draw


@pytest.mark.parametrize("depth", [30, 90])
def test_a_copiers_streak_through_an_empty_box_is_not_a_mark(forms: Forms, depth: int) -> None:
    """A faint streak (darker than the paper's noise, lighter than a fixed level) is found as a dark one is."""
    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, streaked(depth), preset="office", seed=seed, scale=READ_DPI / 72)
        reading = read_choice_field(s.warped, s.blank, s.field, s.scale)
        box = reading.boxes[1]
        where = (variant, field_id, depth)
        assert reading.value is None and not reading.ambiguous, where
        assert box.state == "empty" and box.features["snr_long"] < 0.3, (*where, box.p_marked, box.features["snr_long"])


@pytest.mark.parametrize("style", ["dot", "tick"])
def test_a_mark_across_a_streak_is_not_wiped_with_it(forms: Forms, style: str) -> None:
    """Where a pen crosses a streak the ink stands far above the streak's own level, and stays."""
    for seed, (variant, field_id) in enumerate(FIELDS):
        s = forms.scan(variant, field_id, streaked(60, {1: style}), preset="office", seed=seed, scale=READ_DPI / 72)
        reading = read_choice_field(s.warped, s.blank, s.field, s.scale)
        assert reading.value == s.field.boxes[1].value, (variant, field_id, style, reading.boxes[1].p_marked)


def test_a_faint_circle_shows_against_the_paper_noise(forms: Forms) -> None:
    """``ring_snr``: a light pencil ring round a box, too faint for ``ring_turn``, still goes round it."""

    def faint_ring(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        x0, y0, x1, y1 = f.boxes[1].rect
        centre = (round((x0 + x1) / 2 * SCALE), round((y0 + y1) / 2 * SCALE))
        radius = round(((x1 - x0) / 2 + 4.0) * SCALE)
        cv2.circle(image, centre, radius, 215, 2)

    for seed, (variant, field_id) in enumerate(FIELDS):
        ringed = forms.scan(variant, field_id, faint_ring, preset=None, seed=seed)
        office = forms.scan(variant, field_id, marker({}), preset="office", seed=seed)
        boxes = measure_field(ringed.warped, ringed.blank, ringed.field, ringed.scale)
        untouched = measure_field(office.warped, office.blank, office.field, office.scale)
        ring = boxes[1].features
        assert ring["ring_turn"] < 0.3 < 0.7 < ring["ring_snr"], (variant, field_id, ring["ring_turn"], ring["ring_snr"])
        assert max(m.features["ring_snr"] for m in untouched) < 0.2, (variant, field_id)


def test_mismatched_blank_is_refused(forms: Forms) -> None:
    s = forms.scan("standard", "group", marker({}), preset=None)
    with pytest.raises(ValueError):
        read_choice_field(s.warped, s.blank[:-3], s.field, s.scale)


def _with_pen_strata(cal: Calibration) -> Calibration:
    """The shipped calibration with pen strata: a dark page's blank curve sure, a faint page's doubtful."""
    curves = {**cal.curves, "single_choice:blank~dark": Curve((0.0, 1.0), (0.9, 0.99999)),
              "single_choice:blank~faint": Curve((0.0, 1.0), (0.5, 0.9))}  # fmt: skip
    return replace(cal, curves=curves, info={**cal.info, "pen_dark": 0.35})


def test_the_pages_pen_is_the_median_darkness_of_its_marked_boxes() -> None:
    def box(state: str, peak: float) -> BoxReading:
        return BoxReading("v", state, 0.9 if state == "marked" else 0.0, 0.9 if state == "filled" else 0.0,  # type: ignore[arg-type]
                          {"peak": peak})  # fmt: skip

    assert page_pen([box("marked", 0.9), box("marked", 0.2), box("marked", 0.6), box("empty", 0.0)]) == pytest.approx(0.6)
    # a box filled solid (a correction) is as dark as any pen: it does not count
    assert page_pen([box("filled", 1.0), box("marked", 0.15)]) == pytest.approx(0.15)
    assert page_pen([box("empty", 0.01), box("filled", 1.0)]) is None
    cal = _with_pen_strata(load_calibration())
    assert pen_stratum(0.35, cal) == "dark"
    assert pen_stratum(0.34, cal) == "faint"
    assert pen_stratum(None, cal) == "faint"  # nothing shows the pen is dark
    # shipped: pen strata for phone photos only (on grey scans they cost automation and were not adopted)
    shipped = load_calibration()
    assert shipped.pen_dark is not None
    for pen in ("dark", "faint"):
        assert f"single_choice:blank~{pen}@photo" in shipped.curves
        assert f"single_choice:blank~{pen}" not in shipped.curves
        assert shipped.confidence(f"single_choice:blank~{pen}", 0.9999) == shipped.confidence("single_choice:blank", 0.9999)
    assert shipped.confidence("single_choice:blank~faint", 0.9995, photo=True) <= shipped.confidence(
        "single_choice:blank~dark", 0.9995, photo=True)


@pytest.mark.parametrize(("pen", "stratum"), [("black-ballpoint", "dark"), ("light-pencil", "faint")])
def test_a_field_read_blank_takes_the_curve_of_its_pages_pen(forms: Forms, pen: str, stratum: str) -> None:
    layout = forms.layout("standard")
    page = max(layout.pages, key=lambda p: sum(f.type == "single_choice" for f in p.fields))
    choice = [f for f in page.fields if f.type != "text"]
    rng = np.random.default_rng(11)
    person = random_respondent(rng, pen=pen, style="tick", population="typical")
    cases = {f.id: ("blank" if i == 0 else "tick") for i, f in enumerate(choice)}
    filled = fill_page(forms.blank("standard", page.page), page, SCALE, rng, respondent=person, cases=cases)
    scale = 150 / 72
    scan = simulate_scan(filled.image, (page.width, page.height), rng, "office", source_scale=SCALE, scale=scale)
    blank = forms.blank("standard", page.page, scale)
    shipped = load_calibration()
    cal = _with_pen_strata(shipped)
    readings = read_choice_fields(scan.warped, blank, choice, scale, calibration=cal)
    assert [r.value for r in readings] == [filled.truth[f.id] for f in choice]
    assert pen_stratum(page_pen(b for r in readings for b in r.boxes), cal) == stratum
    skipped = readings[0]
    assert skipped.value is None
    assert skipped.confidence == pytest.approx(cal.confidence(f"single_choice:blank~{stratum}", skipped.raw_confidence))
    # values are never qualified by the pen; on a grey scan the shipped calibration has no pen strata,
    # so the page reads as field by field
    for r in readings[1:]:
        assert r.confidence == pytest.approx(shipped.confidence("single_choice", r.raw_confidence))
    alone = [read_choice_field(scan.warped, blank, f, scale, calibration=shipped) for f in choice]
    assert read_choice_fields(scan.warped, blank, choice, scale, calibration=shipped) == alone


def test_a_speck_beside_a_printed_lines_halo_still_stands_alone() -> None:
    """The faint halo a scan leaves along a printed line is no stroke for a speck to lie in; a pen's is."""
    k, noise = 150 / 72, 0.005
    printed = np.zeros((80, 80), dtype=np.uint8)
    printed[:, 18:24] = 1  # a box's border, as masked
    rel = np.zeros((80, 80), dtype=np.float32)
    rel[5:75, 24:26] = 0.08  # its halo: the scan's blur reaching past the mask
    speck = (slice(39, 41), slice(27, 29))
    rel[38:42, 26:30] = 0.06  # its blur
    rel[speck] = 0.6  # a toner speck beside it, 2 pixels across
    mask = speck_mask(rel, printed, k, noise)
    assert mask is not None and mask[speck].all()
    stroke = rel.copy()
    stroke[20:60, 29:31] = 0.5  # a pen's stroke down the box from the speck: the speck is part of it
    mask = speck_mask(stroke, printed, k, noise)
    assert mask is None or not mask[speck].any()
