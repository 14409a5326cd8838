"""Fitting the scan reader's calibration: isotonic curves, their doubt cap and the box model.

The service applies a calibration (:mod:`forms_service.scan.calibration`:
:class:`~forms_service.scan.calibration.Curve`, the box models, ``calibration.json``);
this module fits one, on a labelled synthetic corpus, for ``benchmarks/calibrate.py``:

* :func:`fit_isotonic` -- a monotone curve from raw score to probability of
  being right, by pool-adjacent-violators; :func:`doubt_ratio` -- the share of
  the model's own doubt its curve keeps (:attr:`Curve.doubt`);
* :func:`trees_from_sklearn` -- a :class:`TreeBoxModel` from a fitted
  scikit-learn ``HistGradientBoostingClassifier`` (the shipped box model);
* :func:`fit_box_model` -- the older multinomial logistic :class:`BoxModel`,
  by damped Newton steps in numpy.

Pure functions of arrays: no files, no logging. Must never: be imported by
the service, which only evaluates what is fitted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from forms_service.scan.calibration import (
    BoxModel,
    CalibrationError,
    Curve,
    TreeBoxModel,
    expand_features,
)

__all__ = [
    "ISOTONIC_KNOTS",
    "doubt_ratio",
    "fit_box_model",
    "fit_isotonic",
    "trees_from_sklearn",
]


def doubt_ratio(raw: ArrayLike, correct: ArrayLike, *, floor: float = 0.1) -> float:
    """How much of the model's own doubt its errors bear out: (errors + 1) / doubt claimed.

    ``raw`` are the model's probabilities of its decisions; the claimed doubt is
    the sum of ``1 - raw``. Clipped to [floor, 1]: never less than a tenth of the
    model's doubt is kept, however few errors the sample holds.
    """
    r = np.clip(np.asarray(raw, dtype=np.float64).ravel(), 0.0, 1.0)
    ok = np.asarray(correct, dtype=bool).ravel()
    claimed = float((1.0 - r).sum())
    if claimed <= 0.0:
        return 1.0
    return float(np.clip((np.count_nonzero(~ok) + 1.0) / claimed, floor, 1.0))



ISOTONIC_KNOTS = ("means", "edges")


def fit_isotonic(
    raw: ArrayLike, correct: ArrayLike, *, weight: ArrayLike | None = None, knots: str = "means"
) -> Curve:
    """Isotonic regression of ``correct`` (0/1) on ``raw`` by pool-adjacent-violators.

    Values are shrunk a little towards 1/2 by one pseudo-observation per block
    (so a block of ten right answers claims 10.5/11, not certainty). Readings
    with the same raw score are pooled first. Where the curve passes, by ``knots``:

    * ``"means"``: through the mean raw score of each pooled block, so that below
      it the value falls towards the next block down and the block's least sure
      readings are not credited with its whole record. Safe where the readings
      spread evenly over the block; too cautious where they crowd at its top
      end: tick-box decisions crowd at raw 0.99999+, and a decision at 0.9998,
      as sure by the sample, was drawn down to about 0.99.
    * ``"edges"``: flat across each block, from its lowest to its highest raw
      score, and linear only in the gaps between blocks (the standard isotonic
      fit). The tick-box curves use it, each under the doubt cap of
      :class:`Curve` (which keeps a share of the model's own doubt); held-out
      pages showed no more errors among accepted fields, and more accepted
      (docs/reading-accuracy.md).
    """
    if knots not in ISOTONIC_KNOTS:
        raise ValueError(f"knots must be one of {', '.join(ISOTONIC_KNOTS)}, not {knots!r}")
    x = np.asarray(raw, dtype=np.float64).ravel()
    y = np.asarray(correct, dtype=np.float64).ravel()
    w = np.ones_like(x) if weight is None else np.asarray(weight, dtype=np.float64).ravel()
    if x.size == 0:
        return Curve.identity()
    order = np.argsort(x, kind="stable")
    x, y, w = x[order], y[order], w[order]
    # blocks: sum of weights, of weighted outcomes, of weighted raw scores; lowest and highest raw
    sw: list[float] = []
    swy: list[float] = []
    swx: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for xi, yi, wi in zip(x, y, w, strict=True):
        if hi and xi == hi[-1]:  # the same raw score: one reading's worth of evidence, never two knots
            sw[-1] += float(wi)
            swy[-1] += float(wi * yi)
            swx[-1] += float(wi * xi)
        else:
            sw.append(float(wi))
            swy.append(float(wi * yi))
            swx.append(float(wi * xi))
            lo.append(float(xi))
            hi.append(float(xi))
        while len(sw) > 1 and swy[-2] / sw[-2] >= swy[-1] / sw[-1]:
            b_w, b_wy, b_wx, b_hi = sw.pop(), swy.pop(), swx.pop(), hi.pop()
            lo.pop()
            sw[-1] += b_w
            swy[-1] += b_wy
            swx[-1] += b_wx
            hi[-1] = b_hi
    ys = [(a + 0.5) / (b + 1.0) for a, b in zip(swy, sw, strict=True)]
    ys = list(np.maximum.accumulate(np.asarray(ys)))  # shrinkage can break ties; keep monotone
    if knots == "means":
        xs = [a / b for a, b in zip(swx, sw, strict=True)]
        vs = ys
    else:
        xs, vs = [], []
        for a, b, v in zip(lo, hi, ys, strict=True):
            xs += [a, b] if b > a else [a]
            vs += [v, v] if b > a else [v]
    return Curve(tuple(xs), tuple(float(min(1.0, max(0.0, v))) for v in vs))



def trees_from_sklearn(features: Sequence[str], model: Any) -> TreeBoxModel:
    """A :class:`TreeBoxModel` from a fitted scikit-learn ``HistGradientBoostingClassifier``.

    Only numerical splits without missing values are supported (the box
    features are always finite numbers).
    """
    if list(getattr(model, "classes_", [])) != [0, 1, 2]:
        raise CalibrationError("the box model must be fitted on the classes 0, 1, 2 (empty, marked, filled)")
    feature: list[int] = []
    threshold: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []
    roots: list[int] = []
    tree_class: list[int] = []
    depth = 0
    for per_class in model._predictors:
        for c, predictor in enumerate(per_class):
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise CalibrationError("categorical splits are not supported in a box model")
            base = len(feature)
            roots.append(base)
            tree_class.append(c)
            depth = max(depth, int(nodes["depth"].max()))
            for i, nd in enumerate(nodes):
                if nd["is_leaf"]:
                    feature.append(-1)
                    threshold.append(0.0)
                    left.append(base + i)
                    right.append(base + i)
                    value.append(float(nd["value"]))
                else:
                    feature.append(int(nd["feature_idx"]))
                    threshold.append(float(nd["num_threshold"]))
                    left.append(base + int(nd["left"]))
                    right.append(base + int(nd["right"]))
                    value.append(0.0)
    baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    return TreeBoxModel(
        features=tuple(features),
        baseline=baseline,
        roots=np.asarray(roots, dtype=np.int64),
        tree_class=np.asarray(tree_class, dtype=np.int64),
        feature=np.asarray(feature, dtype=np.int64),
        threshold=np.asarray(threshold, dtype=np.float64),
        left=np.asarray(left, dtype=np.int64),
        right=np.asarray(right, dtype=np.int64),
        value=np.asarray(value, dtype=np.float64),
        depth=depth,
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

