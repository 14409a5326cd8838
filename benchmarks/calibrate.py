"""Fit and check the scan reader's calibration on a labelled synthetic corpus.

Usage::

    python benchmarks/calibrate.py [--pages N] [--seed S] [--workers W]
                                   [--corpus FILE] [--reuse] [--write]
    python benchmarks/calibrate.py --check --pages N --seed S   # the shipped calibration on fresh pages
    python benchmarks/calibrate.py --keep-model --pages N --seed S  # new curves for the shipped box model
    python benchmarks/calibrate.py --keep-model --kinds bilevel --presets bilevel-200 --read-dpi-only ...
                                   # ... for one scan kind, on pages of its scans alone, read at 150 dpi

1. **Corpus** (seeded, reproducible): pages of the shipped questionnaire
   (`big-leeds-conversation` 2026-11, all three variants) are rendered,
   filled by synthetic respondents (:mod:`forms_lab.synth.fill`: ticks,
   crosses, circles, corrections, pencil, felt tip, handwriting, ...),
   scanned with a preset of :mod:`forms_lab.degrade` (office,
   office-150, bilevel-200, photocopy, phone), warped back with a small
   alignment error, and measured by the field readers. Some single-choice
   fields with five or more boxes are filled and read as multiple choice, so
   both choice types are calibrated. Every record keeps the truth.
2. **Split** by page: 40 % fits the box model, 30 % fits the calibration
   curves and chooses the thresholds, 30 % is held out. With
   ``--keep-model`` the shipped box model is kept (fitted on another seed's
   corpus) and no page trains it: half fits the curves, half is held out;
   only the choice curves of the scan kinds named by ``--kinds`` (default:
   all) are refitted, and the writing areas' curves are kept.
3. **Fit**: the box model (empty / marked / filled: gradient-boosted trees),
   isotonic curves per field type, decision (a value or blank) and scan kind
   (grey, bilevel, photo), flat across each isotonic block (``--knots``), with ``--pen-strata`` a blank decision's also per
   page pen (``~dark``: the page's boxes read marked have a median darkest
   ink of at least :data:`PEN_DARK`; ``~faint``: less, or no mark on the
   page; shipped for phone photos; on 1-bit scans, where a blank is never
   accepted, a value's curve instead, shipped too), and one confidence threshold per field type and scan kind for the target error
   among all its accepted fields, values and blanks together (choice fields
   0.05 %, on phone photos 0.2 %; handwriting 1 %; blank writing areas: no
   written answer called blank).
4. **Report** on the held-out quarter: reliability tables, automation and
   error per field type, preset and variant (and for the fields read at the
   service's own resolution, READ_DPI, alone), written answers called blank,
   the OCR character error rate. ``--write`` saves
   ``forms_service/scan/calibration.json``.

The corpus goes to ``--corpus`` (default: a file in the system's temporary
folder) so that ``--reuse`` can refit without re-scanning. Synthetic forms
only; nothing here touches a respondent's data.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pickle
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from forms_lab.fitting import ISOTONIC_KNOTS, doubt_ratio, fit_isotonic, trees_from_sklearn
from forms_lab.measures import edit_distance, upper_bound
from forms_lab.synth import MARK_STYLES, fill_page, random_respondent, simulate_scan
from forms_service.layout import LayoutField, load_layout
from forms_service.scan.calibration import Calibration, Curve, TreeBoxModel, load_calibration
from forms_service.scan.marks import (
    MODEL_FEATURES,
    box_readings,
    calibration_key,
    decide_boxes,
    field_context,
    measure_field,
    page_pen,
    pen_stratum,
    render_blank,
)
from forms_service.scan.pipeline import READ_DPI
from forms_service.scan.writing import (
    measure_area,
    ocr_suggestion,
    written_probability,
)

ROOT = Path(__file__).resolve().parents[1]
QUESTIONNAIRE = ROOT / "layouts" / "big-leeds-conversation" / "2026-11"  # its committed layout files
DEFINITION = ROOT / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"
VARIANTS = ("standard", "large-print", "easy-read")
PRESETS = {"office": 0.3, "office-150": 0.15, "bilevel-200": 0.15, "photocopy": 0.2, "phone": 0.2}
# the resolutions the readers are handed: the service reads marks at READ_DPI (150 dpi) and OCRs at
# 300; the finer reading resolutions date from before READ_DPI and are kept, so that a seed builds the
# corpus it built before and the box model sees them (the report has tables at READ_DPI alone)
SCALES = {150 / 72: 0.5, 200 / 72: 0.2, 300 / 72: 0.3}
OCR_SCALE = 300 / 72
TARGET_CHOICE_ERROR = 0.0005
TARGET_PHOTO_ERROR = 0.002  # the target for phone photos
TARGET_TEXT_ERROR = 0.01
#: the box model's size (boosting rounds, leaves per tree): the shipped calibration's
BOX_ROUNDS, BOX_LEAVES = 400, 31
TEXT_WRITTEN_THRESHOLD = 0.05
#: a page whose boxes read marked have a median darkest ink of at least this (at the printed
#: border's contrast) is answered in a dark pen; below it, or with no mark, in a faint one
PEN_DARK = 0.35
PEN_STRATA = ("dark", "faint")
#: where the choice curves pass (see fit_isotonic): flat across each block of the isotonic fit
CHOICE_KNOTS = "edges"
KEYS = ("single_choice", "multi_choice", "text_blank", "text")
DEFAULT_CORPUS = Path(tempfile.gettempdir()) / "forms-service-calibration-corpus.pkl"

# --------------------------------------------------------------------------- corpus

_STATE: dict[str, Any] = {}


def _init_worker(pdf_dir: str, presets: Mapping[str, float] = PRESETS, scales: Mapping[float, float] = SCALES) -> None:
    # OpenCV runs on one thread here: build_corpus set it before forking (see there)
    _STATE["pdf_dir"] = Path(pdf_dir)
    _STATE["presets"], _STATE["scales"] = dict(presets), dict(scales)
    _STATE["layouts"] = {v: load_layout(QUESTIONNAIRE / f"{v}.json") for v in VARIANTS}
    _STATE["blanks"] = {}


def _blank(variant: str, page: int, scale: float) -> np.ndarray:
    key = (variant, page, round(scale, 4))
    blanks: dict[Any, np.ndarray] = _STATE["blanks"]
    if key not in blanks:
        blanks[key] = render_blank(_STATE["pdf_dir"] / f"{variant}.pdf", page, scale)
    return blanks[key]


def make_sample(args: tuple[int, int, float]) -> list[dict[str, Any]]:
    """One synthetic page: fill, scan, read; records of every field with the truth."""
    import cv2

    seed, index, ocr_share = args
    rng = np.random.default_rng([seed, index])
    variant = VARIANTS[index % len(VARIANTS)]
    layout = _STATE["layouts"][variant]
    pages = [p for p in layout.pages if p.fields]
    choice_pages = [p for p in pages if any(f.type != "text" for f in p.fields)]
    text_pages = [p for p in pages if any(f.type == "text" for f in p.fields)]
    page = choice_pages[int(rng.integers(len(choice_pages)))] if rng.random() < 0.75 else text_pages[int(rng.integers(len(text_pages)))]
    presets: dict[str, float] = _STATE["presets"]
    scales: dict[float, float] = _STATE["scales"]
    preset = str(rng.choice(list(presets), p=list(presets.values())))
    scale = float(rng.choice(list(scales), p=list(scales.values())))
    source = 300 / 72
    types = {f.id: "multi_choice" for f in page.fields if f.type == "single_choice" and len(f.boxes) >= 5 and rng.random() < 0.3}
    population = "typical" if rng.random() < 0.5 else "stress"
    person = random_respondent(rng, population=population)
    blank_src = _blank(variant, page.page, source)
    filled = fill_page(blank_src, page, source, rng, respondent=person, field_types=types)
    scan = simulate_scan(filled.image, (page.width, page.height), rng, preset, source_scale=source, scale=OCR_SCALE)
    fine = scan.warped  # what OCR reads, as the service does
    warped = fine
    if abs(scale - OCR_SCALE) > 1e-6:  # the page at reading resolution, averaged down as Alignment.warp does
        size = (round(page.width * scale), round(page.height * scale))
        warped = np.asarray(cv2.resize(fine, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    blank = _blank(variant, page.page, scale)
    common = {"sample": index, "variant": variant, "preset": preset, "bilevel": scan.bilevel,
              "scale": scale, "page": page.page, "pen": person.pen.kind,
              "population": population}  # fmt: skip
    records = []
    for f in page.fields:
        kind = types.get(f.id, f.type)
        if kind == "text":
            assert f.rect is not None
            start = time.perf_counter()
            m = measure_area(warped, blank, f.rect, scale)
            seconds = time.perf_counter() - start
            rec = {**common, "field": f.id, "type": "text", "case": filled.cases[f.id],
                   "font": person.font.name if person.font else None,
                   "truth": filled.truth[f.id], "features": m.features, "seconds": seconds,
                   "ocr": None, "words": None}  # fmt: skip
            if m.ink_bbox is not None and filled.truth[f.id] and rng.random() < ocr_share:
                start = time.perf_counter()
                text, words = ocr_suggestion(fine, _blank(variant, page.page, OCR_SCALE), m.ink_bbox, OCR_SCALE)
                rec.update(ocr=text, words=words, ocr_seconds=time.perf_counter() - start)
            records.append(rec)
            continue
        start = time.perf_counter()
        measures = measure_field(warped, blank, f, scale, bilevel=scan.bilevel)
        seconds = time.perf_counter() - start
        drawn = filled.marks.get(f.id, {})
        records.append({**common, "field": f.id, "type": kind, "case": filled.cases[f.id],
                        "truth": filled.truth[f.id], "values": [b.value for b in f.boxes],
                        "marks": [drawn.get(b.value, "") for b in f.boxes],
                        "features": [m.features for m in measures], "seconds": seconds})  # fmt: skip
    return records


def build_corpus(
    pages: int, seed: int, workers: int, ocr_share: float, presets: Sequence[str] = (), read_dpi_only: bool = False
) -> list[dict[str, Any]]:
    """``pages`` synthetic pages, read; ``presets``: only these scans (their shares among them as in
    :data:`PRESETS`; none named: all); ``read_dpi_only``: marks read at READ_DPI alone."""
    import cv2

    from forms_service.questionnaire import load_definition
    from forms_service.render import render_pdf

    q = load_definition(DEFINITION).questionnaire
    with tempfile.TemporaryDirectory() as folder:
        for v in VARIANTS:
            render_pdf(q, v, Path(folder) / f"{v}.pdf", copies=1)
        jobs = [(seed, i, ocr_share) for i in range(pages)]
        records: list[dict[str, Any]] = []
        start = time.time()
        ctx = multiprocessing.get_context("fork")
        weights = PRESETS  # all of them: a seed builds the pages it always built
        if presets:
            chosen = {p: w for p, w in PRESETS.items() if p in presets}
            weights = {p: w / sum(chosen.values()) for p, w in chosen.items()}
        scales = {READ_DPI / 72: 1.0} if read_dpi_only else SCALES
        # The workers use OpenCV on one thread each. It is set here, before the fork, and not in the
        # workers: a child that inherits the parent's running OpenCV thread pool (a test process that
        # has used OpenCV) and changes it waits for threads it does not have, forever.
        threads = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            with ctx.Pool(workers, initializer=_init_worker, initargs=(folder, weights, scales)) as pool:
                for n, recs in enumerate(pool.imap_unordered(make_sample, jobs, chunksize=4), 1):
                    records.extend(recs)
                    if n % 200 == 0:
                        print(f"  {n}/{pages} pages, {time.time() - start:.0f} s", file=sys.stderr)
        finally:
            cv2.setNumThreads(threads)
    return records


# --------------------------------------------------------------------------- fitting


SCAN_KINDS = ("grey", "bilevel", "photo")
#: the scan kind of each preset's pages (see :func:`scan_kind`)
PRESET_KINDS = {"office": "grey", "office-150": "grey", "bilevel-200": "bilevel", "photocopy": "grey", "phone": "photo"}


def scan_kind(record: dict[str, Any]) -> str:
    """Which calibration curves apply: black-and-white scans, phone photos, or other grey scans."""
    if record["bilevel"]:
        return "bilevel"
    return "photo" if record["preset"] == "phone" else "grey"


def box_label(mark: str) -> int:
    if mark == "filled":
        return 2
    return 1 if mark in MARK_STYLES else 0


def split(record: dict[str, Any]) -> str:
    """By page: 40 % fits the box model, 30 % the curves and thresholds, 30 % is held out.

    With the shipped box model kept (``--keep-model``, a record marked ``keep_model``), no page
    trains it: half fits the curves and thresholds, half is held out.
    """
    r = record["sample"] % 10
    if record.get("keep_model"):
        return "calib" if r < 5 else "test"
    return "train" if r < 4 else ("calib" if r < 7 else "test")


def field_correct(value: Any, truth: Any) -> bool:
    if isinstance(truth, list):
        return sorted(value or []) == truth
    return value == truth


def score(records: list[dict[str, Any]], cal: Calibration) -> None:
    """Each record's decision and raw score with ``cal``'s box model, and whether it is right.

    As the service does, every choice field of a page is read first, and the page's pen
    (``page_pen``: how dark its marked boxes are) then decides a blank decision's stratum.
    """
    boxes: dict[int, list[Any]] = {}
    pages: dict[int, list[Any]] = defaultdict(list)
    for i, r in enumerate(records):
        if r["type"] == "text":
            p = written_probability(r["features"])
            r["p_written"] = p
            r["written"] = p >= TEXT_WRITTEN_THRESHOLD
            r["raw_blank"] = 1.0 - p
            continue
        boxes[i] = box_readings(_field(r), r["features"], cal, bilevel=r["bilevel"])
        pages[r["sample"]].extend(boxes[i])
    pens = {sample: page_pen(b) for sample, b in pages.items()}
    for i, field_boxes in boxes.items():
        r = records[i]
        r["page_pen"] = pens[r["sample"]]
        r["pen_stratum"] = pen_stratum(r["page_pen"], cal)
        reading = decide_boxes(_field(r), field_boxes, cal, bilevel=r["bilevel"], pen=r["pen_stratum"])
        r["raw"] = reading.raw_confidence
        r["value"] = reading.value
        r["ambiguous"] = reading.ambiguous
        r["cancelled"] = reading.cancelled
        r["correct"] = field_correct(reading.value, r["truth"])


def fit(
    records: list[dict[str, Any]],
    features: Sequence[str] = MODEL_FEATURES,
    *,
    rounds: int = BOX_ROUNDS,
    leaves: int = BOX_LEAVES,
    pen_dark: float | None = None,
    pen_kinds: Iterable[str] = SCAN_KINDS,
    model: TreeBoxModel | None = None,
    knots: str | Mapping[str, str] = CHOICE_KNOTS,
) -> Calibration:
    """The box model (unless ``model`` is given), the curves and the thresholds.

    ``pen_dark``: a blank decision's curves per page pen, split at this darkness (``None``: one
    curve), for the scan kinds ``pen_kinds`` (on 1-bit scans a value's curves instead). ``knots``: where the choice curves
    pass (:func:`fit_isotonic`), for every scan kind or by kind (``{"photo": "means"}``; a kind not
    named takes :data:`CHOICE_KNOTS`). With ``model`` (the shipped one, kept), every record is
    marked ``keep_model``: half the pages fit the curves, half are held out.
    """
    knots_of = {k: knots if isinstance(knots, str) else knots.get(k, CHOICE_KNOTS) for k in SCAN_KINDS}
    pen_kinds = set(pen_kinds)
    if model is None:
        choice = [r for r in records if r["type"] != "text"]
        train = [r for r in choice if split(r) == "train"]
        rows = [[f[n] for n in features] for r in train for f in field_context(r["features"], bilevel=r["bilevel"])]
        labels = [box_label(m) for r in train for m in r["marks"]]
        model = fit_trees(rows, labels, features, rounds=rounds, leaves=leaves)
    else:
        for r in records:
            r["keep_model"] = True
    info: dict[str, Any] = {"text_written_threshold": TEXT_WRITTEN_THRESHOLD}
    if pen_dark is not None:
        info["pen_dark"] = pen_dark
    provisional = Calibration(model, {k: Curve.identity() for k in KEYS}, {k: None for k in KEYS}, info)
    score(records, provisional)  # raw field scores with the fitted model, and each page's pen
    curves: dict[str, Curve] = {}
    thresholds: dict[str, float | None] = {}
    calib = [r for r in records if split(r) == "calib"]
    for ftype in ("single_choice", "multi_choice"):
        for kind in SCAN_KINDS:
            # a value and a blank decision fail differently (a mark misread, a faint mark missed), so
            # each has its own curve; the target is the error among all the accepted fields of the
            # type, so both are accepted above one confidence, chosen on the two together
            conf_all, right_all, keys = [], [], []
            suffix = "" if kind == "grey" else f"@{kind}"
            for blank in (False, True):
                base = ftype + (":blank" if blank else "")
                decided = [r for r in calib if r["type"] == ftype and scan_kind(r) == kind
                           and calibration_key(ftype, r["value"]) == base
                           and not r["ambiguous"] and not r["cancelled"]]  # fmt: skip
                # a blank decision has a curve per page pen (and the pooled one, for a field read
                # without its page); on a 1-bit scan, where a blank is never accepted, a value has them
                strata: list[tuple[str, list[dict[str, Any]]]] = [(base + suffix, decided)]
                if pen_dark is not None and kind in pen_kinds and blank == (kind != "bilevel"):
                    strata += [(f"{base}~{pen}{suffix}", [r for r in decided if r["pen_stratum"] == pen])
                               for pen in PEN_STRATA]  # fmt: skip
                for key, sel in strata:
                    iso = fit_isotonic([r["raw"] for r in sel], [r["correct"] for r in sel], knots=knots_of[kind])
                    doubt = doubt_ratio([r["raw"] for r in sel], [r["correct"] for r in sel])
                    curves[key] = Curve(iso.x, iso.y, doubt)
                    keys.append(key)
                if blank and kind == "bilevel":
                    # a 1-bit scan can erase a light mark altogether, and no feature sees what is not
                    # in the file: a field read blank there always goes to a person
                    thresholds[base + suffix] = None
                    keys.remove(base + suffix)
                    continue
                # the threshold is chosen on the confidences the service gives: by page pen, if any
                for r in decided:
                    key = calibration_key(ftype, r["value"], r["pen_stratum"], bilevel=kind == "bilevel") + suffix
                    key = key if key in curves else base + suffix  # as the service: no curve by pen, the pooled one
                    conf_all.append(float(curves[key](r["raw"])))
                    right_all.append(r["correct"])
            target = TARGET_PHOTO_ERROR if kind == "photo" else TARGET_CHOICE_ERROR
            t = choose_threshold(np.asarray(conf_all, dtype=np.float64), np.asarray(right_all), target)
            for key in keys:
                thresholds[key] = t
    for bilevel in (False, True):
        key = "text_blank" + ("@bilevel" if bilevel else "")
        sel = [r for r in calib if r["type"] == "text" and r["bilevel"] == bilevel]
        blank_read = [r for r in sel if not r["written"]]
        curves[key] = fit_isotonic([r["raw_blank"] for r in sel], [r["truth"] == "" for r in sel])
        thresholds[key] = blank_threshold(curves[key], [r for r in records if r["type"] == "text" and r["bilevel"] == bilevel and split(r) != "test"])
        del blank_read
        key = "text" + ("@bilevel" if bilevel else "")
        sel = [r for r in records if r["type"] == "text" and r["bilevel"] == bilevel and r["ocr"] is not None and split(r) != "test"]
        curves[key] = fit_isotonic([_mean_conf(r) for r in sel], [_norm(r["ocr"]) == _norm(r["truth"]) for r in sel])
        conf = curves[key]([_mean_conf(r) for r in sel])
        thresholds[key] = choose_threshold(conf, np.array([_norm(r["ocr"]) == _norm(r["truth"]) for r in sel]), TARGET_TEXT_ERROR, minimum=200, accepted=300)
    return Calibration(model, curves, thresholds, info)


def parse_knots(specs: Sequence[str]) -> str | dict[str, str]:
    """``--knots``: one placement for every scan kind (``edges``), or by kind (``photo=means``)."""
    if len(specs) == 1 and "=" not in specs[0]:
        if specs[0] not in ISOTONIC_KNOTS:
            raise ValueError(f"--knots: {specs[0]!r} is not one of {', '.join(ISOTONIC_KNOTS)}")
        return specs[0]
    by_kind: dict[str, str] = {}
    for spec in specs:
        kind, _, knots = spec.partition("=")
        if kind not in SCAN_KINDS or knots not in ISOTONIC_KNOTS:
            raise ValueError(f"--knots: {spec!r} is not KIND=edges|means with KIND one of {', '.join(SCAN_KINDS)}")
        by_kind[kind] = knots
    return by_kind


def key_kind(key: str) -> str:
    """The scan kind a calibration key is for: ``...@bilevel``, ``...@photo``, or grey."""
    return key.rsplit("@", 1)[1] if "@" in key else "grey"


def keep_kinds(cal: Calibration, kept: Calibration, kinds: Sequence[str]) -> Calibration:
    """``cal``'s choice curves and thresholds for ``kinds``; ``kept``'s for every other key."""

    def mine(key: str) -> bool:
        return "choice" in key and key_kind(key) in kinds

    curves = {**{k: v for k, v in kept.curves.items() if not mine(k)}, **{k: v for k, v in cal.curves.items() if mine(k)}}
    thresholds = {**{k: v for k, v in kept.thresholds.items() if not mine(k)},
                  **{k: v for k, v in cal.thresholds.items() if mine(k)}}  # fmt: skip
    info = dict(cal.info)
    if "pen_dark" not in info and "pen_dark" in kept.info and any("~" in k for k in curves):
        info["pen_dark"] = kept.info["pen_dark"]  # the kept curves by page pen still need their split
    return Calibration(cal.box_model, curves, thresholds, info)


def fit_trees(
    rows: Sequence[Sequence[float]],
    labels: Sequence[int],
    features: Sequence[str] = MODEL_FEATURES,
    *,
    rounds: int = BOX_ROUNDS,
    leaves: int = BOX_LEAVES,
) -> Any:
    """Gradient boosted trees (scikit-learn) on the box features, exported for numpy evaluation."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    x = np.asarray(rows, dtype=np.float64)
    y = np.asarray(labels, dtype=np.int64)
    gbm = HistGradientBoostingClassifier(max_iter=rounds, learning_rate=0.1, max_leaf_nodes=leaves,
                                         l2_regularization=1.0, early_stopping=False, random_state=0)
    gbm.fit(x, y)
    model = trees_from_sklearn(features, gbm)
    check = x[:: max(1, len(x) // 2000)]
    gap = float(np.abs(model.predict(check) - gbm.predict_proba(check)).max())
    if gap > 1e-6:
        raise SystemExit(f"the exported box model differs from scikit-learn's by {gap:g}")
    return model


def choose_threshold(
    conf: np.ndarray, correct: np.ndarray, target: float, minimum: int = 100, accepted: int = 0
) -> float | None:
    """The lowest confidence whose accepted set meets ``target`` by the curve and by the count.

    The accepted set's error claimed by the curve and its observed error are
    both at most ``target``, and every accepted reading claims at most ten
    times ``target`` itself.

    ``accepted``: the accepted set must also hold at least this many readings
    (handwriting: 300, so that no errors among them bounds the error rate at
    1 % with 95 % confidence).
    """
    if conf.size < minimum:
        return None
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order].astype(float)
    expected = np.cumsum(1.0 - c) / np.arange(1, c.size + 1)
    observed = np.cumsum(1.0 - ok) / np.arange(1, c.size + 1)
    # and no field is accepted whose own confidence claims more than ten times the target error:
    # a block of doubtful readings must not ride in on the average of many sure ones
    good = (expected <= target) & (observed <= target) & (np.arange(1, c.size + 1) >= accepted)
    good &= c >= 1.0 - 10.0 * target
    if not good.any():
        return None
    # the longest prefix that is good, cut at a confidence boundary
    last = int(np.flatnonzero(good).max())
    t = float(c[last])
    return t if t > 0.5 else None


def blank_threshold(curve: Curve, records: list[dict[str, Any]]) -> float | None:
    """Blank areas may be auto-accepted only above every written answer read as blank."""
    blank = [r for r in records if not r["written"]]
    if len(blank) < 50:
        return None
    written = [float(curve(r["raw_blank"])) for r in blank if r["truth"] != ""]
    empty = [float(curve(r["raw_blank"])) for r in blank if r["truth"] == ""]
    floor = max(written, default=0.0)
    candidates = sorted(c for c in empty if c > floor)
    if not candidates:
        return None
    return max(candidates[0], 0.5)


def _mean_conf(r: dict[str, Any]) -> float:
    words = r["words"] or []
    return float(np.mean([c for _, c in words])) if words else 0.0


def _norm(text: str | None) -> str:
    return " ".join((text or "").split())


def _field(r: dict[str, Any]) -> LayoutField:
    from forms_service.layout import Box

    return LayoutField(r["field"], r["type"], boxes=[Box(v, (0, 0, 1, 1)) for v in r["values"]])


# --------------------------------------------------------------------------- reporting


def cer(ocr: str, truth: str) -> tuple[int, int]:
    """Character errors of an OCR suggestion and the length of the truth (spacing folded)."""
    a, b = _norm(ocr), _norm(truth)
    return edit_distance(a, b), len(b)


def report(records: list[dict[str, Any]], cal: Calibration, *, held_out: bool = True) -> str:
    """The tables, on the held-out split (or, ``held_out=False``, on every record: a fresh corpus)."""
    out: list[str] = []
    test = [r for r in records if split(r) == "test"] if held_out else list(records)
    for r in test:
        if r["type"] == "text":
            if r["written"]:
                r["confidence"] = cal.confidence("text", _mean_conf(r), bilevel=r["bilevel"]) if r["ocr"] else 0.0
                r["auto"] = False
                r["correct"] = r["truth"] != "" and r["ocr"] is not None and _norm(r["ocr"]) == _norm(r["truth"])
            else:
                r["confidence"] = cal.confidence("text_blank", r["raw_blank"], bilevel=r["bilevel"])
                r["auto"] = cal.auto_accept("text_blank", r["confidence"], bilevel=r["bilevel"])
                r["correct"] = r["truth"] == ""
        else:
            r["pen_stratum"] = pen_stratum(r["page_pen"], cal)
            key = calibration_key(r["type"], r["value"], r["pen_stratum"], bilevel=r["bilevel"])
            photo = scan_kind(r) == "photo"
            c = cal.confidence(key, r["raw"], bilevel=r["bilevel"], photo=photo)
            if r["ambiguous"] or r["cancelled"]:
                c = min(c, 0.5)
            r["confidence"] = c
            r["auto"] = not r["ambiguous"] and not r["cancelled"] and cal.auto_accept(key, c, bilevel=r["bilevel"],
                                                                                      photo=photo)
    out.append(reliability(test, "held-out" if held_out else "all"))
    out.append(automation(test, "type"))
    for population in ("typical", "stress"):
        sel = [r for r in test if r["type"] != "text" and r.get("population", "stress") == population]
        if sel:
            out.append(f"Population: {population}\n\n" + automation(sel, "preset"))
    out.extend(at_read_dpi(test))
    out.append(automation([r for r in test if r["type"] != "text"], "preset"))
    out.append(automation([r for r in test if r["type"] != "text"], "variant"))
    out.append(automation([r for r in test if r["type"] != "text"], "case"))
    out.append(automation([r for r in test if r["type"] != "text"], "pen"))
    out.append(text_summary(test))
    return "\n\n".join(out)


def at_read_dpi(test: list[dict[str, Any]]) -> list[str]:
    """Automation by preset of the choice fields read at the service's own resolution (READ_DPI).

    The corpus also reads pages at finer resolutions (:data:`SCALES`), which the service never
    does; these tables are the service's case: per population, all choice fields and the single
    choice ones (the shipped questionnaire's only kind).
    """
    mine = [r for r in test if r["type"] != "text" and round(r["scale"] * 72) == round(READ_DPI)]
    out = []
    for population in ("typical", "stress"):
        for ftype in ("choice", "single_choice"):
            sel = [r for r in mine if r.get("population", "stress") == population and ftype in ("choice", r["type"])]
            if sel:
                out.append(f"Read at {READ_DPI:.0f} dpi as the service reads: {population} respondents, "
                           f"{ftype} fields\n\n" + automation(sel, "preset"))
    # the targets hold for each variant: typical respondents' single choices by variant and scan
    single = [{**r, "variant and scan": f"{r['variant']} {r['preset']}"} for r in mine
              if r.get("population", "stress") == "typical" and r["type"] == "single_choice" and "variant" in r]  # fmt: skip
    if single:
        out.append(f"Read at {READ_DPI:.0f} dpi: typical respondents, single_choice fields by variant\n\n"
                   + automation(single, "variant and scan"))
    return out


def plot_reliability(test: list[dict[str, Any]], path: Path) -> None:
    """Reliability diagram of the held-out choice fields (PNG): claimed against observed error.

    Left: the classic diagram, share right against mean confidence per bin.
    Right: the same in error space on log axes (1 - confidence), where the
    auto-accept thresholds live; a point below the diagonal means the reader
    claims more error than it makes (cautious). Bins with no error are
    drawn at their 95 % upper bound, as a triangle.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sel = [r for r in test if r["type"] != "text"]
    conf = np.array([r["confidence"] for r in sel])
    right = np.array([r["correct"] for r in sel], dtype=float)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.4), dpi=110)
    edges = np.linspace(0, 1, 11)
    xs, ys, ns = [], [], []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf >= lo) & ((conf < hi) if hi < 1 else (conf <= hi))
        if m.any():
            xs.append(conf[m].mean())
            ys.append(right[m].mean())
            ns.append(int(m.sum()))
    ax1.plot([0, 1], [0, 1], color="#888", lw=1, ls="--", label="perfect calibration")
    ax1.plot(xs, ys, "o-", color="#1f5fa8", label="choice fields none of the fit saw")
    for x, y, n in zip(xs, ys, ns, strict=True):
        ax1.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -12), fontsize=7, color="#444")
    ax1.set(xlabel="confidence given", ylabel="share read right", xlim=(0, 1.02), ylim=(0, 1.02),
            title="Reliability (numbers: fields per bin)")
    ax1.legend(loc="upper left", fontsize=8)
    err = np.clip(1.0 - conf, 1e-5, 1.0)
    log_edges = np.array([1e-5, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0001])
    for lo, hi in zip(log_edges[:-1], log_edges[1:], strict=True):
        m = (err >= lo) & (err < hi)
        n = int(m.sum())
        if not n:
            continue
        claimed = float(err[m].mean())
        wrong = int(n - right[m].sum())
        if wrong:
            ax2.plot(claimed, wrong / n, "o", color="#1f5fa8")
        else:
            ax2.plot(claimed, upper_bound(0, n), "v", color="#1f5fa8", mfc="none")
        ax2.annotate(f"{wrong}/{n}", (claimed, wrong / n if wrong else upper_bound(0, n)),
                     textcoords="offset points", xytext=(5, 3), fontsize=7, color="#444")
    ax2.plot([1e-5, 1], [1e-5, 1], color="#888", lw=1, ls="--")
    ax2.set(xscale="log", yscale="log", xlim=(1e-5, 1), ylim=(1e-5, 1.5), xlabel="error claimed (1 - confidence)",
            ylabel="error observed", title="The same in error space (wrong/fields)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def reliability(test: list[dict[str, Any]], which: str = "held-out") -> str:
    edges = [0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 1.0001]
    lines = [f"Reliability ({which} choice fields): among fields given confidence in the bin, the share right",
             "", "| confidence | fields | mean confidence | right | wrong |", "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    sel = [r for r in test if r["type"] != "text"]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        b = [r for r in sel if lo <= r["confidence"] < hi]
        if not b:
            continue
        right = sum(r["correct"] for r in b)
        lines.append(f"| [{lo:g}, {min(hi, 1):g}{')' if hi <= 1 else ']'} | {len(b)} | {np.mean([r['confidence'] for r in b]):.4f} | {right / len(b):.4f} | {len(b) - right} |")
    return "\n".join(lines)


def automation(test: list[dict[str, Any]], key: str) -> str:
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in test:
        groups[str(r[key])].append(r)
    lines = [f"By {key}", "", f"| {key} | fields | auto | automation | wrong among auto | error among auto (95 % bound) | right overall |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for name in sorted(groups):
        g = groups[name]
        auto = [r for r in g if r["auto"]]
        wrong = sum(not r["correct"] for r in auto)
        right = sum(r["correct"] for r in g)
        bound = f" (< {upper_bound(wrong, len(auto)):.2%})" if auto else ""
        lines.append(f"| {name} | {len(g)} | {len(auto)} | {len(auto) / len(g):.1%} | {wrong} | "
                     f"{(wrong / len(auto) if auto else 0):.3%}{bound} | {right / len(g):.1%} |")  # fmt: skip
    return "\n".join(lines)


def text_summary(test: list[dict[str, Any]]) -> str:
    texts = [r for r in test if r["type"] == "text"]
    written = [r for r in texts if r["truth"]]
    missed = [r for r in written if not r["written"]]
    blanks = [r for r in texts if not r["truth"]]
    false_written = [r for r in blanks if r["written"]]
    lines = ["Writing areas (held out)", "",
             f"- written answers: {len(written)}; called blank: {len(missed)}"
             + (" (" + ", ".join(sorted(f"{r['preset']}/{r['pen']}/{r['case']}" for r in missed)) + ")" if missed else "")
             + f"; auto-accepted as blank (the target is none): {sum(bool(r.get('auto')) for r in missed)}",
             f"- blank areas: {len(blanks)}; called written (queued for a person): {len(false_written)}; "
             f"auto-accepted as blank: {sum(r['auto'] for r in blanks)}"]  # fmt: skip
    by_preset: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in written:
        if r["ocr"] is None:
            continue
        e, n = cer(r["ocr"], r["truth"])
        acc = by_preset[r["preset"]]
        acc[0] += e
        acc[1] += n
        acc[2] += 1
        acc[3] += _norm(r["ocr"]) == _norm(r["truth"])
    lines += ["", "| preset | OCR'd answers | character error rate | exactly right |", "| --- | ---: | ---: | ---: |"]
    tot = [0, 0, 0, 0]
    for name in sorted(by_preset):
        e, n, c, x = by_preset[name]
        tot = [a + b for a, b in zip(tot, (e, n, c, x), strict=True)]
        lines.append(f"| {name} | {c} | {e / max(n, 1):.1%} | {x / max(c, 1):.1%} |")
    lines.append(f"| all | {tot[2]} | {tot[0] / max(tot[1], 1):.1%} | {tot[3] / max(tot[2], 1):.1%} |")
    return "\n".join(lines)


def timing(records: Iterable[dict[str, Any]]) -> str:
    choice = [r["seconds"] for r in records if r["type"] != "text"]
    text = [r["seconds"] for r in records if r["type"] == "text"]
    ocr = [r["ocr_seconds"] for r in records if r.get("ocr_seconds")]
    return (f"Time per choice field {1e3 * np.mean(choice):.2f} ms; per writing area "
            f"{1e3 * np.mean(text):.1f} ms; per OCR suggestion {1e3 * np.mean(ocr or [0]):.0f} ms")  # fmt: skip


def page_speed(seed: int, copies: int = 3) -> str:
    """Read whole filled copies (office scans), every field with OCR on, in this one process."""
    import cv2

    from forms_service.questionnaire import load_definition
    from forms_service.render import render_pdf
    from forms_service.scan.marks import read_choice_field
    from forms_service.scan.writing import read_text_area

    cv2.setNumThreads(1)
    q = load_definition(DEFINITION).questionnaire
    lines = ["| variant | scale (px/pt) | pages | marks ms/page | writing ms/page (incl. OCR) | pages/s on one core |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as folder:
        for variant in VARIANTS:
            pdf = Path(folder) / f"{variant}.pdf"
            layout = render_pdf(q, variant, pdf, copies=1).layout
            for scale in (150 / 72, 300 / 72):
                marks_s = text_s = 0.0
                pages = 0
                for _ in range(copies):
                    for page in layout.pages:
                        source = render_blank(pdf, page.page, 300 / 72)
                        blank = render_blank(pdf, page.page, scale)
                        filled = fill_page(source, page, 300 / 72, rng, respondent=random_respondent(rng, pen="black-ballpoint"))
                        scan = simulate_scan(filled.image, (page.width, page.height), rng, "office", scale=OCR_SCALE)
                        size = (round(page.width * scale), round(page.height * scale))
                        warped = np.asarray(cv2.resize(scan.warped, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
                        start = time.perf_counter()
                        for f in page.fields:
                            if f.type != "text":
                                read_choice_field(warped, blank, f, scale)
                        middle = time.perf_counter()
                        for f in page.fields:
                            if f.type == "text" and f.rect is not None:  # as the service: detect, then OCR at 300 dpi
                                seen = read_text_area(warped, blank, f.rect, scale, ocr=False)
                                if seen.written:
                                    read_text_area(scan.warped, source, f.rect, OCR_SCALE, ocr=True)
                        marks_s += middle - start
                        text_s += time.perf_counter() - middle
                        pages += 1
                lines.append(f"| {variant} | {scale:.2f} | {pages} | {1e3 * marks_s / pages:.1f} | "
                             f"{1e3 * text_s / pages:.0f} | {pages / (marks_s + text_s):.1f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ocr-share", type=float, default=1.0, help="share of written areas OCR'd")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--reuse", action="store_true", help="refit on the saved corpus")
    parser.add_argument("--write", action="store_true", help="write forms_service/scan/calibration.json")
    parser.add_argument("--speed", action="store_true", help="only time reading whole copies")
    parser.add_argument("--plot", type=Path, default=None, help="draw the reliability diagram into this PNG")
    parser.add_argument("--check", action="store_true",
                        help="fit nothing: report the shipped calibration on every page of the corpus "
                             "(build it with a seed the calibration was not fitted on)")
    parser.add_argument("--without", nargs="+", default=[], metavar="FEATURE",
                        help="fit the box model without these features (to measure what each one adds)")
    parser.add_argument("--rounds", type=int, default=BOX_ROUNDS, help="boosting rounds of the box model")
    parser.add_argument("--leaves", type=int, default=BOX_LEAVES, help="leaves per tree of the box model")
    parser.add_argument("--keep-model", action="store_true",
                        help="keep the shipped box model; refit only the curves and thresholds (half the "
                             "pages fit them, half are held out)")
    parser.add_argument("--kinds", nargs="+", choices=SCAN_KINDS, default=list(SCAN_KINDS),
                        help="with --keep-model: refit only these scan kinds' choice curves and thresholds, "
                             "keep the shipped ones of the others")
    parser.add_argument("--pen-strata", nargs="*", choices=SCAN_KINDS, default=None, metavar="KIND",
                        help="a blank decision's curve per page pen, dark or faint, on 1-bit scans a "
                             "value's: of these scan kinds (grey, bilevel, photo), or with no kind named, "
                             "of all (shipped for phone photos and 1-bit scans; see docs/reading-accuracy.md)")
    parser.add_argument("--presets", nargs="+", choices=list(PRESETS), default=[], metavar="PRESET",
                        help="with --check, or --keep-model and --kinds of these scans: build the pages with "
                             "these scans only (office, office-150, bilevel-200, photocopy, phone), in the "
                             "corpus' shares among them")
    parser.add_argument("--read-dpi-only", action="store_true",
                        help=f"with --check or --keep-model: read every page's marks at the service's "
                             f"{READ_DPI:.0f} dpi only")
    parser.add_argument("--knots", nargs="+", default=[CHOICE_KNOTS], metavar="[KIND=]edges|means",
                        help="where the choice curves pass: flat across each isotonic block (edges, shipped "
                             "for grey and 1-bit scans) or through each block's mean raw score (means, shipped "
                             "for phone photos); for every kind, or by kind (photo=means)")
    args = parser.parse_args(argv)
    try:
        knots = parse_knots(args.knots)
    except ValueError as exc:
        parser.error(str(exc))
    unknown = sorted(set(args.without) - set(MODEL_FEATURES))
    if unknown:
        parser.error(f"not a feature of the box model: {', '.join(unknown)} (they are: {', '.join(MODEL_FEATURES)})")
    if (args.presets or args.read_dpi_only) and not (args.check or args.keep_model):
        parser.error("--presets and --read-dpi-only build pages for --check or a --keep-model refit only: "
                     "a new box model needs every scan")
    if args.presets and args.keep_model and not args.check:
        missing = sorted(set(args.kinds) - {PRESET_KINDS[p] for p in args.presets})
        if missing:
            parser.error(f"--presets build no {' or '.join(missing)} pages to refit those curves on: "
                         f"name them with --kinds, or add their scans to --presets")
    if args.speed:
        print(page_speed(args.seed))
        return 0
    if args.check:
        return check(args)
    records = corpus(args)
    kept = load_calibration() if args.keep_model else None
    kept_model: TreeBoxModel | None = None
    if kept is not None:
        if not isinstance(kept.box_model, TreeBoxModel):
            parser.error("--keep-model needs a shipped box model of trees")
        kept_model = kept.box_model
        if (kept.info.get("box_model") or {}).get("seed", kept.info.get("seed")) == args.seed:
            parser.error(f"the shipped box model was fitted on seed {args.seed}: recalibrate it on another seed")
        if args.without:
            parser.error("--without and --keep-model: the kept box model has its own features")
    cal = fit(records, [n for n in MODEL_FEATURES if n not in args.without], rounds=args.rounds, leaves=args.leaves,
              pen_dark=PEN_DARK if args.pen_strata is not None else None, pen_kinds=args.pen_strata or SCAN_KINDS,
              model=kept_model, knots=knots)
    if kept is not None:  # the choice curves of these kinds are refitted; the writing curves are kept
        cal = keep_kinds(cal, kept, args.kinds)
    elif set(args.kinds) != set(SCAN_KINDS):
        parser.error("--kinds needs --keep-model: a new box model needs new curves for every scan kind")
    command = " ".join(["python benchmarks/calibrate.py", f"--pages {args.pages} --seed {args.seed}",
                        *([f"--rounds {args.rounds}"] if args.rounds != BOX_ROUNDS else []),
                        *([f"--leaves {args.leaves}"] if args.leaves != BOX_LEAVES else []),
                        *([f"--ocr-share {args.ocr_share:g}"] if args.ocr_share != 1.0 else []),
                        *(["--without", *args.without] if args.without else []),
                        *(["--keep-model"] if args.keep_model else []),
                        *(["--presets", *args.presets] if args.presets else []),
                        *(["--read-dpi-only"] if args.read_dpi_only else []),
                        *(["--kinds", *args.kinds] if set(args.kinds) != set(SCAN_KINDS) else []),
                        *(["--pen-strata", *args.pen_strata] if args.pen_strata is not None else []),
                        *(["--knots", *args.knots] if args.knots != [CHOICE_KNOTS] else []), "--write"])  # fmt: skip
    # where the box model came from: a kept one's own corpus, or this one
    origin = {"box_model": kept.info.get("box_model") or {k: kept.info.get(k) for k in ("pages", "seed", "command")}
              if kept else {"pages": args.pages, "seed": args.seed, "command": command}}  # fmt: skip
    # which command fitted each scan kind's choice curves (a kept kind keeps its own)
    fitted_by = {**(kept.info.get("choice_curves") or {} if kept else {}), **dict.fromkeys(args.kinds, command)}
    cal = Calibration(cal.box_model, cal.curves, cal.thresholds,
                      {**cal.info, **origin, "pages": args.pages, "seed": args.seed, "fields": len(records),
                       "command": command, "choice_curves": fitted_by})
    print(report(records, cal))
    if args.plot:
        plot_reliability([r for r in records if split(r) == "test"], args.plot)
        print(f"reliability diagram: {args.plot}")
    print()
    print(timing(records))
    print("thresholds:", json.dumps(cal.thresholds))
    if args.write:
        path = ROOT / "forms_service" / "scan" / "calibration.json"
        path.write_text(cal.dumps(), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


def corpus(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The saved corpus (``--reuse``), or a new one built and saved to ``--corpus``."""
    if args.reuse and args.corpus.exists():
        records: list[dict[str, Any]] = pickle.loads(args.corpus.read_bytes())
        return records
    start = time.time()
    records = build_corpus(args.pages, args.seed, args.workers, args.ocr_share,
                           args.presets, args.read_dpi_only)
    print(f"corpus: {args.pages} pages in {time.time() - start:.0f} s", file=sys.stderr)
    args.corpus.write_bytes(pickle.dumps(records))
    return records


def fitted_seeds(info: Mapping[str, Any]) -> set[int]:
    """Every seed whose pages fitted part of a calibration: its box model's, and each scan kind's curves'."""
    seeds = {info.get("seed"), (info.get("box_model") or {}).get("seed")}
    for command in (info.get("choice_curves") or {}).values():
        words = str(command).split()
        seeds |= {int(words[i + 1]) for i, w in enumerate(words[:-1]) if w == "--seed"}
    return {s for s in seeds if s is not None}


def check(args: argparse.Namespace) -> int:
    """Report the shipped calibration, unchanged, on a whole corpus of pages it has never seen."""
    from forms_service.scan.calibration import load_calibration

    cal = load_calibration()
    fitted = cal.info.get("seed")
    if args.seed in fitted_seeds(cal.info):
        raise SystemExit(f"the shipped calibration was fitted on seed {args.seed}: check it on another seed")
    records = corpus(args)
    score(records, cal)
    print(f"The shipped calibration (fitted on seed {fitted}) on {len({r['sample'] for r in records})} "
          f"fresh pages, seed {args.seed}, every page counted\n")
    print(report(records, cal, held_out=False))
    wrong = [r for r in records if r["type"] != "text" and r["auto"] and not r["correct"]]
    print(f"\nWrong among the auto-accepted choice fields: {len(wrong)}")
    for r in sorted(wrong, key=lambda r: -r["confidence"]):
        drawn = ", ".join(m for m in r["marks"] if m) or "nothing"
        print(f"  {r['type']} {r['variant']} {r['preset']} {r['pen']}: drew {drawn}; read {r['value']!r} "
              f"at {r['confidence']:.4f}, truth {r['truth']!r}")
    if args.plot:
        plot_reliability(records, args.plot)
        print(f"reliability diagram: {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

