"""Calibrated confidence for field readings, and the auto-accept thresholds.

A reader's raw score (the tick-box model's probability of its decision, the
blank detector's probability, OCR word confidences) is not yet a
probability one can trust. This module maps raw scores to *calibrated*
probabilities -- among readings given confidence c, about (1 - c) are wrong --
with monotone curves fitted by isotonic regression (pool-adjacent-violators)
on a labelled synthetic corpus, one curve per field type and scan kind
(grey or bilevel). It also holds:

* the box model: a multinomial logistic model from the tick-box features of
  :mod:`forms_service.scan.marks` to the states empty / marked / filled;
* the auto-accept threshold per field type and scan kind, chosen from the
  held-out curve for the target error (choice fields: at most 0.05 % wrong
  among auto-accepted fields on ordinary scans; handwriting: only if the
  benchmark shows at most 1 % wrong; a blank writing area: only if the
  benchmark shows no written answer called blank). ``None`` means never.

The fitted numbers ship in ``calibration.json`` beside this module and are
written by ``benchmarks/calibrate.py`` (see docs/reading-accuracy.md).
Fitting functions (:func:`fit_isotonic`, :func:`fit_box_model`) are pure numpy.

Keys: ``single_choice`` and ``multi_choice`` (a value was read),
``single_choice:blank`` and ``multi_choice:blank`` (no box was read as chosen:
such a decision fails differently, by missing a faint mark), ``text_blank``
(an area read as blank is blank), ``text`` (an OCR suggestion is exactly
right); each may have an ``@bilevel`` twin for black-and-white scans, where
light marks can vanish. A key falls back to the less specific one.

Must never: log or store anything about a respondent; it only holds numbers
fitted on synthetic forms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import FormsServiceError

__all__ = [
    "CALIBRATION_FORMAT",
    "BoxModel",
    "Calibration",
    "CalibrationError",
    "Curve",
    "DEFAULT_PATH",
    "expand_features",
    "fit_box_model",
    "fit_isotonic",
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
    """A monotone (non-decreasing) map from raw score to probability, piecewise linear."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y) or not self.x:
            raise CalibrationError("a calibration curve needs as many x as y values, at least one")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise CalibrationError("a calibration curve's x values must be sorted")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise CalibrationError("a calibration curve must be non-decreasing")
        if any(not 0.0 <= v <= 1.0 for v in self.y):
            raise CalibrationError("a calibration curve's values must lie in [0, 1]")

    def __call__(self, raw: ArrayLike) -> F64:
        return np.asarray(np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y), dtype=np.float64)

    def to_json(self) -> dict[str, list[float]]:
        return {"x": [round(v, 6) for v in self.x], "y": [round(v, 6) for v in self.y]}

    @classmethod
    def identity(cls) -> Curve:
        return cls((0.0, 1.0), (0.0, 1.0))


def fit_isotonic(raw: ArrayLike, correct: ArrayLike, *, weight: ArrayLike | None = None) -> Curve:
    """Isotonic regression of ``correct`` (0/1) on ``raw`` by pool-adjacent-violators.

    The curve passes through the mean raw score of each pooled block; values
    are shrunk a little towards 1/2 by one pseudo-observation per block (so a
    block of ten right answers claims 10/11, not certainty).
    """
    x = np.asarray(raw, dtype=np.float64).ravel()
    y = np.asarray(correct, dtype=np.float64).ravel()
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if x.size == 0:
        return Curve.identity()
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    # blocks: [sum_w, sum_wy, sum_wx]
    sw: list[float] = []
    swy: list[float] = []
    swx: list[float] = []
    for xi, yi, wi in zip(x, y, w, strict=True):
        sw.append(float(wi))
        swy.append(float(wi * yi))
        swx.append(float(wi * xi))
        while len(sw) > 1 and swy[-2] / sw[-2] >= swy[-1] / sw[-1]:
            b_w, b_wy, b_wx = sw.pop(), swy.pop(), swx.pop()
            sw[-1] += b_w
            swy[-1] += b_wy
            swx[-1] += b_wx
    xs = [a / b for a, b in zip(swx, sw, strict=True)]
    ys = [(a + 0.5) / (b + 1.0) for a, b in zip(swy, sw, strict=True)]
    ys = list(np.maximum.accumulate(np.asarray(ys)))  # shrinkage can break ties; keep monotone
    return Curve(tuple(float(v) for v in xs), tuple(float(min(1.0, max(0.0, v))) for v in ys))


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


def fit_box_model(
    features: Sequence[str],
    rows: ArrayLike,
    labels: ArrayLike,
    *,
    l2: float = 1e-3,
    iterations: int = 60,
) -> BoxModel:
    """Fit the multinomial logistic box model by damped Newton steps (numpy only).

    ``labels``: 0 empty, 1 marked, 2 filled. ``l2``: ridge penalty per sample.
    """
    basis = expand_features(rows)
    y = np.asarray(labels, dtype=np.int64)
    n, d = basis.shape
    mean = basis.mean(axis=0)
    scale = basis.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(basis - mean) / scale, np.ones((n, 1))])
    c = 3
    onehot = np.eye(c)[y]
    theta = np.zeros((c - 1, d + 1))  # class 0 is the reference
    ridge = np.full(d + 1, l2 * n)
    ridge[-1] = 0.0
    for _ in range(iterations):
        logits = np.hstack([np.zeros((n, 1)), z @ theta.T])
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        grad = ((p[:, 1:] - onehot[:, 1:]).T @ z) + theta * ridge  # (c-1) x (d+1)
        hess = np.zeros(((c - 1) * (d + 1), (c - 1) * (d + 1)))
        for a in range(c - 1):
            for b in range(c - 1):
                wab = p[:, a + 1] * ((a == b) - p[:, b + 1])
                block = (z * wab[:, None]).T @ z
                if a == b:
                    block += np.diag(ridge) + 1e-8 * np.eye(d + 1)
                hess[a * (d + 1) : (a + 1) * (d + 1), b * (d + 1) : (b + 1) * (d + 1)] = block
        step = np.linalg.solve(hess, grad.ravel()).reshape(theta.shape)
        theta -= step
        if float(np.abs(step).max()) < 1e-7:
            break
    weights = np.vstack([np.zeros(d), theta[:, :d]])
    bias = np.concatenate([[0.0], theta[:, d]])
    return BoxModel(tuple(features), mean, scale, weights, bias)


# --------------------------------------------------------------------------- the calibration


@dataclass(frozen=True)
class Calibration:
    """Curves, thresholds and the box model, as fitted on the synthetic corpus."""

    box_model: BoxModel
    curves: dict[str, Curve]
    thresholds: dict[str, float | None]
    info: dict[str, Any] = field(default_factory=dict)

    def _key(self, field_type: str, bilevel: bool, table: Mapping[str, Any]) -> str:
        """The most specific entry: ``type[:blank][@bilevel]``, falling back to less specific ones."""
        base = field_type.split(":")[0]
        for key in ([f"{field_type}@bilevel", f"{base}@bilevel"] if bilevel else []) + [field_type, base]:
            if key in table:
                return key
        raise CalibrationError(f"no calibration for field type {field_type!r}")

    def confidence(self, field_type: str, raw: float, *, bilevel: bool = False) -> float:
        """The calibrated probability that a reading with raw score ``raw`` is right."""
        curve = self.curves[self._key(field_type, bilevel, self.curves)]
        value = float(curve(min(1.0, max(0.0, float(raw))))[()])
        return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0

    def threshold(self, field_type: str, *, bilevel: bool = False) -> float | None:
        """The auto-accept threshold (``None``: never auto-accepted)."""
        return self.thresholds.get(self._key(field_type, bilevel, self.thresholds))

    def auto_accept(self, field_type: str, confidence: float, *, bilevel: bool = False) -> bool:
        """May a reading of this confidence be accepted without a person?"""
        t = self.threshold(field_type, bilevel=bilevel)
        return t is not None and confidence >= t

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "box_model": self.box_model.to_json(),
            "curves": {k: v.to_json() for k, v in sorted(self.curves.items())},
            "thresholds": {k: (None if v is None else round(v, 6)) for k, v in sorted(self.thresholds.items())},
            "info": self.info,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1) + "\n"

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Calibration:
        if doc.get("format") != CALIBRATION_FORMAT:
            raise CalibrationError(f"not a {CALIBRATION_FORMAT} document")
        try:
            curves = {k: Curve(tuple(v["x"]), tuple(v["y"])) for k, v in doc["curves"].items()}
            thresholds = {k: (None if v is None else float(v)) for k, v in doc["thresholds"].items()}
            model = BoxModel.from_json(doc["box_model"])
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
