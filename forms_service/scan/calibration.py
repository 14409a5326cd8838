"""Calibrated confidence for field readings, and the auto-accept thresholds.

A reader's raw score (the tick-box model's probability of its decision, the
blank detector's probability, OCR word confidences) is not yet a
probability one can trust. This module maps raw scores to *calibrated*
probabilities -- among readings given confidence c, about (1 - c) are wrong --
with monotone curves fitted by isotonic regression (pool-adjacent-violators)
on a labelled synthetic corpus, one curve per field type and scan kind
(grey or bilevel). It also holds:

* the box model: from the tick-box features of :mod:`forms_service.scan.marks`
  to the probabilities of the states empty / marked / filled -- gradient
  boosted decision trees (:class:`TreeBoxModel`, fitted with scikit-learn by
  the benchmark, evaluated here in numpy so the service needs no
  scikit-learn), or the older multinomial logistic model (:class:`BoxModel`);
* the auto-accept threshold per field type and scan kind, chosen from the
  held-out curve for the target error (choice fields: at most 0.05 % wrong
  among auto-accepted fields on ordinary scans; handwriting: only if the
  benchmark shows at most 1 % wrong; a blank writing area: only if the
  benchmark shows no written answer called blank). ``None`` means never.

The fitted numbers ship in ``calibration.json`` beside this module and are
written by ``benchmarks/calibrate.py`` (see docs/reading-accuracy.md). This
module applies them; fitting them (``fit_isotonic``, ``doubt_ratio``,
``fit_box_model``, ``trees_from_sklearn``) is the lab's, :mod:`forms_lab.fitting`,
never shipped with the service.

Keys: ``single_choice`` and ``multi_choice`` (a value was read),
``single_choice:blank`` and ``multi_choice:blank`` (no box was read as chosen:
such a decision fails differently, by missing a faint mark), ``text_blank``
(an area read as blank is blank), ``text`` (an OCR suggestion is exactly
right); each may have an ``@bilevel`` twin for black-and-white scans, where
light marks can vanish, and an ``@photo`` twin for phone photos (perspective,
shadows, JPEG), where faint marks fade into the noise. A decision may also be
qualified by the page's pen, ``~dark`` or ``~faint`` (``single_choice:blank~dark``):
how dark the respondent's confident marks on the same page are (see
:func:`forms_service.scan.marks.page_pen`). A field read blank on a page
answered in dark ink is more surely blank than one on a page in faint pencil,
where a mark as faint as the others may have been missed. A key falls back to
the less specific one.

Must never: log or store anything about a respondent; it only holds numbers
fitted on synthetic forms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import FormsServiceError

__all__ = [
    "CALIBRATION_FORMAT",
    "BoxModel",
    "TreeBoxModel",
    "Calibration",
    "CalibrationError",
    "Curve",
    "DEFAULT_PATH",
    "expand_features",
    "load_calibration",
]

CALIBRATION_FORMAT = "forms-service.calibration/1"
DEFAULT_PATH = Path(__file__).with_name("calibration.json")
F64 = NDArray[np.float64]


class CalibrationError(FormsServiceError):
    code = "invalid_calibration"


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class Curve:
    """A monotone (non-decreasing) map from raw score to probability, piecewise linear.

    ``doubt`` (0 .. 1) caps the curve by the raw score itself: the confidence
    never exceeds ``1 - doubt * (1 - raw)``. Isotonic regression alone is flat
    where its sample holds no error, and would credit a reading the model
    itself doubts (raw 0.7) with the record of the sure ones; the cap keeps a
    share of the model's own doubt. Used for tick-box decisions, whose raw
    score is the model's probability.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    doubt: float = 0.0

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or not self.x:
            raise CalibrationError("a calibration curve needs as many x as y values, at least one")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise CalibrationError("a calibration curve's x values must be sorted")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise CalibrationError("a calibration curve must be non-decreasing")
        if any(not 0.0 <= v <= 1.0 for v in self.y):
            raise CalibrationError("a calibration curve's values must lie in [0, 1]")
        if not 0.0 <= self.doubt <= 1.0:
            raise CalibrationError("a calibration curve's doubt must lie in [0, 1]")

    def __call__(self, raw: ArrayLike) -> F64:
        r = np.asarray(raw, dtype=np.float64)
        value = np.interp(r, self.x, self.y)
        if self.doubt > 0.0:
            value = np.minimum(value, 1.0 - self.doubt * (1.0 - np.clip(r, 0.0, 1.0)))
        return np.asarray(value, dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        # raw scores to nine places: tick-box decisions crowd above 0.99999, where six would merge knots
        doc: dict[str, Any] = {"x": [round(v, 9) for v in self.x], "y": [round(v, 6) for v in self.y]}
        if self.doubt:
            doc["doubt"] = round(self.doubt, 6)
        return doc

    @classmethod
    def identity(cls) -> Curve:
        return cls((0.0, 1.0), (0.0, 1.0))


# --------------------------------------------------------------------------- the box model


def expand_features(rows: ArrayLike) -> F64:
    """The box model's basis: each feature, its square root, and the products of the roots.

    Features are shares and counts (>= 0; a slightly negative mean ink is
    noise and counts as 0). The products let the model learn that, say, ink
    round a box means a circle only when the box itself is empty.
    """
    x = np.atleast_2d(np.asarray(rows, dtype=np.float64))
    x = np.maximum(x, 0.0)
    r = np.sqrt(x)
    i, j = np.triu_indices(x.shape[1], k=1)
    return np.hstack([x, r, r[:, i] * r[:, j]])


@dataclass(frozen=True)
class BoxModel:
    """Multinomial logistic model: box features -> P(empty), P(marked), P(filled)."""

    features: tuple[str, ...]
    mean: F64
    scale: F64
    weights: F64  # classes x basis
    bias: F64  # classes

    def predict(self, rows: Sequence[Sequence[float]] | F64) -> F64:
        if len(rows) == 0:
            return np.zeros((0, 3))
        z = (expand_features(rows) - self.mean) / self.scale
        logits = z @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "basis": "x, sqrt(x), sqrt(x_i * x_j) for i < j",
            "classes": ["empty", "marked", "filled"],
            "mean": [round(float(v), 8) for v in self.mean],
            "scale": [round(float(v), 8) for v in self.scale],
            "weights": [[round(float(v), 8) for v in row] for row in self.weights],
            "bias": [round(float(v), 8) for v in self.bias],
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> BoxModel:
        return cls(
            features=tuple(doc["features"]),
            mean=np.asarray(doc["mean"], dtype=np.float64),
            scale=np.asarray(doc["scale"], dtype=np.float64),
            weights=np.asarray(doc["weights"], dtype=np.float64),
            bias=np.asarray(doc["bias"], dtype=np.float64),
        )


@dataclass(frozen=True, eq=False)
class TreeBoxModel:
    """Gradient boosted trees: box features -> P(empty), P(marked), P(filled).

    All trees of all classes are held as flat node arrays (one row per node,
    trees one after another) and evaluated together, level by level, so a
    field's boxes cost a handful of numpy operations whatever the number of
    trees. A node sends a row left when ``feature <= threshold``.
    """

    features: tuple[str, ...]
    baseline: F64  # classes
    roots: NDArray[np.int64]  # trees: index of each tree's root node
    tree_class: NDArray[np.int64]  # trees: the class each tree adds to
    feature: NDArray[np.int64]  # nodes (-1 for a leaf)
    threshold: F64  # nodes
    left: NDArray[np.int64]  # nodes (absolute index; a leaf points at itself)
    right: NDArray[np.int64]  # nodes
    value: F64  # nodes: a leaf's contribution to its class's logit
    depth: int

    def predict(self, rows: Sequence[Sequence[float]] | F64) -> F64:
        if len(rows) == 0:
            return np.zeros((0, 3))
        x = np.atleast_2d(np.asarray(rows, dtype=np.float64))
        n = x.shape[0]
        node = np.broadcast_to(self.roots, (n, self.roots.size)).copy()
        row = np.arange(n)[:, None]
        for _ in range(self.depth):
            feat = self.feature[node]
            leaf = feat < 0
            go_left = x[row, np.maximum(feat, 0)] <= self.threshold[node]
            node = np.where(leaf, node, np.where(go_left, self.left[node], self.right[node]))
        contrib = self.value[node]  # n x trees
        logits = np.tile(self.baseline, (n, 1))
        for c in range(logits.shape[1]):
            logits[:, c] += contrib[:, self.tree_class == c].sum(axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return np.asarray(p / p.sum(axis=1, keepdims=True), dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "trees",
            "features": list(self.features),
            "classes": ["empty", "marked", "filled"],
            "baseline": [round(float(v), 8) for v in self.baseline],
            "roots": self.roots.tolist(),
            "tree_class": self.tree_class.tolist(),
            "depth": self.depth,
            "nodes": {
                "feature": self.feature.tolist(),
                "threshold": [float(f"{v:.9g}") if math.isfinite(v) else 0.0 for v in self.threshold],
                "left": self.left.tolist(),
                "right": self.right.tolist(),
                "value": [float(f"{v:.7g}") for v in self.value],
            },
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TreeBoxModel:
        nodes = doc["nodes"]
        feature = np.asarray(nodes["feature"], dtype=np.int64)
        left = np.asarray(nodes["left"], dtype=np.int64)
        right = np.asarray(nodes["right"], dtype=np.int64)
        n = feature.size
        if not (left.size == right.size == n == len(nodes["threshold"]) == len(nodes["value"])):
            raise CalibrationError("the box model's node arrays differ in length")
        inner = feature >= 0
        if (feature >= len(doc["features"])).any() or ((left[inner] >= n) | (right[inner] >= n)).any():
            raise CalibrationError("the box model's trees point outside themselves")
        return cls(
            features=tuple(doc["features"]),
            baseline=np.asarray(doc["baseline"], dtype=np.float64),
            roots=np.asarray(doc["roots"], dtype=np.int64),
            tree_class=np.asarray(doc["tree_class"], dtype=np.int64),
            feature=feature,
            threshold=np.asarray(nodes["threshold"], dtype=np.float64),
            left=left,
            right=right,
            value=np.asarray(nodes["value"], dtype=np.float64),
            depth=int(doc["depth"]),
        )


# --------------------------------------------------------------------------- the calibration


@dataclass(frozen=True)
class Calibration:
    """Curves, thresholds and the box model, as fitted on the synthetic corpus."""

    box_model: BoxModel | TreeBoxModel
    curves: dict[str, Curve]
    thresholds: dict[str, float | None]
    info: dict[str, Any] = field(default_factory=dict)

    def _key(self, field_type: str, bilevel: bool, table: Mapping[str, Any], photo: bool = False) -> str:
        """The most specific entry: ``type[:blank][~pen][@bilevel|@photo]``, falling back to less specific ones.

        The scan kind is kept longest: a 1-bit scan's own entry wins over any grey one.
        """
        decision = field_type.split("~")[0]  # without the page's pen
        base = decision.split(":")[0]
        names = list(dict.fromkeys([field_type, decision, base]))
        kind = "bilevel" if bilevel else ("photo" if photo else None)
        for key in ([f"{name}@{kind}" for name in names] if kind else []) + names:
            if key in table:
                return key
        raise CalibrationError(f"no calibration for field type {field_type!r}")

    @property
    def pen_dark(self) -> float | None:
        """The darkness from which a page's pen counts as dark (``None``: no pen strata fitted)."""
        value = self.info.get("pen_dark")
        return None if value is None else float(value)

    def confidence(self, field_type: str, raw: float, *, bilevel: bool = False, photo: bool = False) -> float:
        """The calibrated probability that a reading with raw score ``raw`` is right."""
        curve = self.curves[self._key(field_type, bilevel, self.curves, photo)]
        value = float(curve(min(1.0, max(0.0, float(raw))))[()])
        return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0

    def threshold(self, field_type: str, *, bilevel: bool = False, photo: bool = False) -> float | None:
        """The auto-accept threshold (``None``: never auto-accepted)."""
        return self.thresholds.get(self._key(field_type, bilevel, self.thresholds, photo))

    def auto_accept(
        self, field_type: str, confidence: float, *, bilevel: bool = False, photo: bool = False
    ) -> bool:
        """May a reading of this confidence be accepted without a person?"""
        t = self.threshold(field_type, bilevel=bilevel, photo=photo)
        return t is not None and confidence >= t

    def with_floor(self, floor: float) -> Calibration:
        """The same calibration, auto-accepting nothing below confidence ``floor``.

        An operator's setting can only raise the fitted thresholds: a field type the
        benchmark never lets through (handwriting, say) stays with a person.
        """
        if floor <= 0.0:
            return self
        raised = {k: (None if t is None or floor > 1.0 else max(t, floor)) for k, t in self.thresholds.items()}
        return replace(self, thresholds=raised)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "box_model": self.box_model.to_json(),
            "curves": {k: v.to_json() for k, v in sorted(self.curves.items())},
            "thresholds": {k: (None if v is None else round(v, 6)) for k, v in sorted(self.thresholds.items())},
            "info": self.info,
        }

    def dumps(self) -> str:
        """The calibration as JSON: one line per key, the box model's arrays on one line each."""
        doc = self.to_json()
        model = doc.pop("box_model")
        text = json.dumps(doc, indent=1)
        arrays = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in model.items())
        return text[:-2] + ',\n "box_model": {\n' + arrays + "\n }\n}\n"

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Calibration:
        if doc.get("format") != CALIBRATION_FORMAT:
            raise CalibrationError(f"not a {CALIBRATION_FORMAT} document")
        try:
            curves = {k: Curve(tuple(v["x"]), tuple(v["y"]), float(v.get("doubt", 0.0)))
                      for k, v in doc["curves"].items()}
            thresholds = {k: (None if v is None else float(v)) for k, v in doc["thresholds"].items()}
            box = doc["box_model"]
            model: BoxModel | TreeBoxModel = (
                TreeBoxModel.from_json(box) if box.get("kind") == "trees" else BoxModel.from_json(box)
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"calibration document is incomplete ({exc})") from None
        return cls(model, curves, thresholds, dict(doc.get("info", {})))


def load_calibration(path: str | Path | None = None) -> Calibration:
    """The calibration at ``path``, or the one shipped with the package (cached)."""
    return _load(str(path) if path is not None else str(DEFAULT_PATH))


@lru_cache(maxsize=4)
def _load(path: str) -> Calibration:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(
            f"{path}: no calibration file; run 'python benchmarks/calibrate.py' to fit one"
        ) from None
    except ValueError as exc:
        raise CalibrationError(f"{path}: not a JSON calibration file ({exc})") from None
    return Calibration.from_json(doc)
