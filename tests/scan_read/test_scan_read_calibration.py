"""Calibration: monotone curves in [0, 1], the box model, and the shipped calibration file."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import numpy as np
import pytest

from forms_lab.fitting import fit_box_model, fit_isotonic, trees_from_sklearn
from forms_service.config import load_config
from forms_service.errors import ConfigurationError
from forms_service.scan.calibration import (
    DEFAULT_PATH,
    Calibration,
    CalibrationError,
    Curve,
    TreeBoxModel,
    load_calibration,
)
from forms_service.scan.marks import FEATURES, MODEL_FEATURES
from forms_service.scan.writing import TEXT_FEATURES, written_probability

KEYS = ["single_choice", "multi_choice", "single_choice:blank", "multi_choice:blank", "text_blank", "text"]


def test_isotonic_fit_is_monotone_and_a_probability() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(3000)
    truth = rng.random(3000) < raw**2  # a badly calibrated score
    curve = fit_isotonic(raw, truth)
    grid = np.linspace(-0.5, 1.5, 401)
    values = curve(grid)
    assert np.all(np.diff(values) >= 0)
    assert values.min() >= 0.0 and values.max() <= 1.0
    # it recovers the true probability, raw ** 2, roughly
    assert abs(float(curve(0.5)) - 0.25) < 0.08
    assert abs(float(curve(0.9)) - 0.81) < 0.08


def test_isotonic_fit_does_not_claim_certainty_from_a_few_samples() -> None:
    curve = fit_isotonic([0.9] * 10, [True] * 10)
    assert float(curve(0.9)) < 1.0
    assert float(fit_isotonic([], [])(0.3)) == pytest.approx(0.3)


def test_isotonic_knots_at_block_edges_keep_a_block_flat() -> None:
    # a block of sure readings crowded at the top, a few doubtful ones below it
    raw = [0.5, 0.6, 0.7, 0.8] + [0.9998] + [0.99999] * 40
    right = [False, True, False, False] + [True] * 41
    means = fit_isotonic(raw, right)  # passes through the top block's mean raw score
    edges = fit_isotonic(raw, right, knots="edges")
    top = 41.5 / 42.0
    assert float(edges(0.9998)) == pytest.approx(top)
    assert float(edges(0.99999)) == pytest.approx(top)
    assert float(means(0.9998)) < float(edges(0.9998))
    # below the lowest block and in the gap between blocks: monotone, never above the top block
    grid = np.linspace(0.0, 1.0, 1001)
    assert np.all(np.diff(edges(grid)) >= 0) and float(edges(1.0)) == pytest.approx(top)
    assert float(edges(0.85)) < top
    # readings with the same raw score are pooled, whatever their order: one knot, not a jump
    tied = fit_isotonic([0.3, 0.3, 0.3, 0.9], [False, True, False, True], knots="edges")
    assert tied.x.count(0.3) == 1 and float(tied(0.3)) == pytest.approx(1.5 / 4.0)
    with pytest.raises(ValueError, match="knots must be one of"):
        fit_isotonic(raw, right, knots="middle")


def test_curves_refuse_nonsense() -> None:
    with pytest.raises(CalibrationError):
        Curve((0.0, 1.0), (0.6, 0.4))
    with pytest.raises(CalibrationError):
        Curve((0.0, 1.0), (0.0, 1.2))
    with pytest.raises(CalibrationError):
        Curve((1.0, 0.0), (0.0, 1.0))


def test_box_model_learns_three_states() -> None:
    rng = np.random.default_rng(2)
    n = 600
    labels = rng.integers(0, 3, n)
    rows = np.zeros((n, len(FEATURES)))
    cov = FEATURES.index("cov")
    dark = FEATURES.index("dark")
    rows[:, cov] = np.where(labels == 0, 0.0, np.where(labels == 1, 0.08, 0.8)) + rng.normal(0, 0.01, n)
    rows[:, dark] = np.where(labels == 2, 0.9, 0.02) + rng.normal(0, 0.01, n)
    model = fit_box_model(FEATURES, rows, labels)
    p = model.predict(rows)
    assert p.shape == (n, 3)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (p.argmax(axis=1) == labels).mean() > 0.97


def _three_state_rows(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    rows = rng.random((n, len(FEATURES))) * 0.02
    cov, dark = FEATURES.index("cov"), FEATURES.index("dark")
    rows[:, cov] += np.where(labels == 0, 0.0, np.where(labels == 1, 0.08, 0.8)) + rng.normal(0, 0.02, n)
    rows[:, dark] += np.where(labels == 2, 0.9, 0.02) + rng.normal(0, 0.02, n)
    return rows, labels


def test_exported_trees_predict_exactly_what_scikit_learn_predicts() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows, labels = _three_state_rows(3, 900)
    gbm = HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=7, random_state=0).fit(rows, labels)
    model = trees_from_sklearn(FEATURES, gbm)
    test, truth = _three_state_rows(4, 400)
    assert np.allclose(model.predict(test), gbm.predict_proba(test), atol=1e-9)
    assert (model.predict(test).argmax(axis=1) == truth).mean() > 0.97
    # through JSON, as the service loads it
    again = TreeBoxModel.from_json(json.loads(json.dumps(model.to_json())))
    assert np.allclose(again.predict(test), gbm.predict_proba(test), atol=1e-9)
    assert model.predict(np.zeros((0, len(FEATURES)))).shape == (0, 3)


def test_a_broken_tree_model_is_refused_with_a_reason() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    rows, labels = _three_state_rows(5, 300)
    doc = trees_from_sklearn(FEATURES, HistGradientBoostingClassifier(max_iter=3).fit(rows, labels)).to_json()
    doc["nodes"]["left"][0] = 10**6
    with pytest.raises(CalibrationError, match="point outside"):
        TreeBoxModel.from_json(doc)
    doc["nodes"]["value"] = doc["nodes"]["value"][:-1]
    with pytest.raises(CalibrationError, match="differ in length"):
        TreeBoxModel.from_json(doc)
    with pytest.raises(CalibrationError, match="classes 0, 1, 2"):
        trees_from_sklearn(FEATURES, HistGradientBoostingClassifier(max_iter=3).fit(rows, labels % 2))


def test_the_shipped_calibration_loads_and_is_sane() -> None:
    cal = load_calibration()
    assert isinstance(cal, Calibration)
    assert cal.box_model.features == MODEL_FEATURES
    for key in KEYS:
        for bilevel in (False, True):
            values = [cal.confidence(key, r, bilevel=bilevel) for r in np.linspace(0, 1, 101)]
            assert all(0.0 <= v <= 1.0 for v in values), key
            assert all(b >= a for a, b in zip(values, values[1:], strict=False)), key
    # handwriting is never accepted unless the benchmark showed it safe; bilevel blanks are not safe
    assert cal.threshold("text") is None or cal.threshold("text") >= 0.99
    t = cal.threshold("single_choice")
    assert t is not None and 0.5 < t <= 1.0
    # multi-choice fields are auto-accepted only once a corpus with them has calibrated them
    m = cal.threshold("multi_choice")
    assert m is None or 0.5 < m <= 1.0
    assert not cal.auto_accept("single_choice", 0.0)
    # on a 1-bit scan a mark can vanish altogether: a field read blank there always goes to a person
    assert cal.threshold("single_choice:blank", bilevel=True) is None
    assert cal.threshold("multi_choice:blank", bilevel=True) is None
    doc = json.loads(DEFAULT_PATH.read_text())
    assert doc["format"] == "forms-service.calibration/1"
    assert Calibration.from_json(doc).thresholds == cal.thresholds
    # the file says how to fit it again: the box model's command, and each scan kind's choice curves'
    assert "benchmarks/calibrate.py" in cal.info["box_model"]["command"]
    assert set(cal.info["choice_curves"]) == {"grey", "bilevel", "photo"}
    assert all("benchmarks/calibrate.py" in c for c in cal.info["choice_curves"].values())


def test_calibration_round_trips_through_json() -> None:
    cal = load_calibration()
    again = Calibration.from_json(json.loads(cal.dumps()))
    assert again.thresholds == cal.thresholds
    assert again.confidence("single_choice", 0.97) == pytest.approx(cal.confidence("single_choice", 0.97), abs=1e-5)


def test_unknown_field_types_are_refused() -> None:
    with pytest.raises(CalibrationError):
        load_calibration().confidence("date", 0.5)


def test_written_probability_grows_with_ink() -> None:
    base = dict.fromkeys(TEXT_FEATURES, 0.0)
    assert written_probability(base) == 0.0
    small = {**base, "mass": 3.0, "largest": 3.0, "extent": 4.0, "components": 1.0, "width": 4.0, "height": 4.0}
    big = {**small, "mass": 300.0, "largest": 30.0, "extent": 15.0, "components": 12.0, "width": 120.0}
    assert 0.0 < written_probability(small) < written_probability(big) <= 1.0


def test_doubt_keeps_part_of_the_models_own_doubt() -> None:
    from forms_lab.fitting import doubt_ratio

    # a sample with no error at all: isotonic regression alone would be flat
    curve = Curve((0.99,), (0.9995,), doubt=0.1)
    assert float(curve(0.999)) == pytest.approx(0.9995)
    assert float(curve(0.7)) == pytest.approx(0.97)  # the model doubted it: so do we, a tenth as much
    assert float(curve(0.95)) == pytest.approx(0.995)
    # the ratio: (errors + 1) / doubt claimed, never below a tenth, never above one
    assert doubt_ratio([0.9] * 100, [True] * 100) == pytest.approx(0.1)
    assert doubt_ratio([0.9] * 100, [True] * 95 + [False] * 5) == pytest.approx(0.6)
    assert doubt_ratio([0.5] * 10, [False] * 10) == 1.0
    with pytest.raises(CalibrationError):
        Curve((0.0,), (0.5,), doubt=1.5)


def test_photos_fall_back_to_the_grey_curves_when_they_have_none() -> None:
    cal = load_calibration()
    doc = json.loads(cal.dumps())
    doc["curves"] = {k: v for k, v in doc["curves"].items() if "@photo" not in k}
    doc["thresholds"] = {k: v for k, v in doc["thresholds"].items() if "@photo" not in k}
    plain = Calibration.from_json(doc)
    assert plain.confidence("single_choice", 0.99, photo=True) == plain.confidence("single_choice", 0.99)
    assert plain.threshold("single_choice", photo=True) == plain.threshold("single_choice")
    # bilevel wins over photo (a 1-bit photo is read with the bilevel curves)
    assert plain.threshold("single_choice", bilevel=True, photo=True) == plain.threshold("single_choice", bilevel=True)


def test_an_operator_can_only_raise_the_auto_accept_thresholds() -> None:
    cal = load_calibration()
    fitted = cal.thresholds
    same = cal.with_floor(0.0)
    assert same.thresholds == fitted
    raised = cal.with_floor(0.9999)
    for key, t in fitted.items():
        # a key the benchmark never lets through stays with a person whatever the setting
        assert raised.thresholds[key] == (None if t is None else max(t, 0.9999)), key
    assert not raised.auto_accept("single_choice", 0.9995) and raised.auto_accept("single_choice", 0.99995)
    off = cal.with_floor(math.inf)
    assert all(t is None for t in off.thresholds.values())
    assert not off.auto_accept("single_choice", 1.0)


@pytest.mark.parametrize(("value", "floor"), [("on", 0.0), ("OFF", math.inf), ("0.999", 0.999), (" 1 ", 1.0)])
def test_the_auto_accept_setting_is_read(tmp_path, value: str, floor: float) -> None:  # type: ignore[no-untyped-def]
    cfg = load_config({"FORMS_SERVICE_HOME": str(tmp_path), "FORMS_SERVICE_AUTO_ACCEPT": value})
    assert cfg.auto_accept_min == floor


@pytest.mark.parametrize("value", ["yes", "0.3", "1.5", "nan", "99%"])
def test_a_bad_auto_accept_setting_is_refused_in_one_sentence(tmp_path, value: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError) as err:
        load_config({"FORMS_SERVICE_HOME": str(tmp_path), "FORMS_SERVICE_AUTO_ACCEPT": value})
    assert "FORMS_SERVICE_AUTO_ACCEPT must be 'on', 'off' or the lowest confidence" in str(err.value)
    assert repr(value) in str(err.value)


def test_a_blank_decision_falls_back_from_its_page_pen_but_keeps_its_scan_kind() -> None:
    def flat(v: float) -> dict[str, list[float]]:
        return {"x": [0.0, 1.0], "y": [v, v]}

    doc = json.loads(load_calibration().dumps())
    doc["curves"] = {"single_choice": flat(0.9), "single_choice:blank": flat(0.8),
                     "single_choice:blank~dark": flat(0.99), "single_choice:blank@bilevel": flat(0.3),
                     "single_choice:blank~dark@photo": flat(0.97), "single_choice@photo": flat(0.6)}  # fmt: skip
    doc["thresholds"] = {"single_choice": 0.95, "single_choice:blank~dark": 0.95, "single_choice:blank@bilevel": None}
    doc["info"] = {"pen_dark": 0.35}
    cal = Calibration.from_json(doc)
    assert cal.pen_dark == 0.35
    assert cal.confidence("single_choice:blank~dark", 0.5) == pytest.approx(0.99)
    assert cal.confidence("single_choice:blank~faint", 0.5) == pytest.approx(0.8)  # no curve of its own: pooled
    assert cal.confidence("single_choice:blank", 0.5) == pytest.approx(0.8)
    assert cal.confidence("single_choice:blank~dark", 0.5, photo=True) == pytest.approx(0.97)
    # a photo's blank decision without a curve for its pen takes the photo's curves, never the grey pen one
    assert cal.confidence("single_choice:blank~faint", 0.5, photo=True) == pytest.approx(0.6)
    # a 1-bit scan's own entry wins over the grey page-pen one: a blank there is never accepted
    assert cal.confidence("single_choice:blank~dark", 0.5, bilevel=True) == pytest.approx(0.3)
    assert cal.threshold("single_choice:blank~dark", bilevel=True) is None
    assert not cal.auto_accept("single_choice:blank~dark", 1.0, bilevel=True)
    assert cal.auto_accept("single_choice:blank~dark", 0.99)
    del doc["info"]
    assert Calibration.from_json(doc).pen_dark is None



@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    """benchmarks/calibrate.py, imported as when it runs as a script."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "calibrate.py"
    spec = importlib.util.spec_from_file_location("calibrate_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its worker processes find make_sample by name
    spec.loader.exec_module(module)
    return module


def test_a_curves_only_refit_keeps_the_other_kinds_and_their_pen_split(bench: Any) -> None:
    """benchmarks/calibrate.py --keep-model --kinds grey: the photo curves by page pen still work."""
    kept = load_calibration()
    assert kept.info.get("pen_dark") and any("~" in k for k in kept.curves)
    refit = Calibration(kept.box_model, {k: Curve.identity() for k in kept.curves},
                        dict.fromkeys(kept.thresholds, 0.9), {"choice_knots": "edges"})  # fmt: skip
    merged = bench.keep_kinds(refit, kept, ["grey"])
    assert merged.curves["single_choice"] == Curve.identity()
    assert merged.thresholds["single_choice"] == 0.9
    for key in ("single_choice@photo", "single_choice:blank~faint@photo", "single_choice@bilevel", "text_blank", "text"):
        assert merged.curves[key] == kept.curves[key] and merged.thresholds[key] == kept.thresholds[key]
    assert merged.info["pen_dark"] == kept.info["pen_dark"]  # without it the kept pen curves would go unused


def test_knots_are_given_for_every_scan_kind_or_by_kind(bench: Any) -> None:
    assert bench.parse_knots(["edges"]) == "edges"
    assert bench.parse_knots(["photo=means", "grey=edges"]) == {"photo": "means", "grey": "edges"}
    for bad in (["middle"], ["phone=means"], ["photo=middle"], ["photo"]):
        with pytest.raises(ValueError, match="--knots"):
            bench.parse_knots(bad)


def test_the_report_has_tables_at_the_resolution_the_service_reads_marks(bench: Any) -> None:
    """The corpus reads some pages at 200 and 300 dpi too; the service reads marks at READ_DPI only."""
    from forms_service.scan.pipeline import READ_DPI

    def record(dpi: float, preset: str, auto: bool, ftype: str = "single_choice") -> dict[str, Any]:
        return {"type": ftype, "scale": dpi / 72, "population": "typical", "preset": preset,
                "variant": "easy-read", "auto": auto, "correct": True}  # fmt: skip

    test = [record(READ_DPI, "photocopy", True), record(READ_DPI, "photocopy", False),
            record(READ_DPI, "office", True, "multi_choice"),
            *[record(300, "photocopy", True) for _ in range(5)],
            {"type": "text", "scale": READ_DPI / 72, "population": "typical", "preset": "office"}]  # fmt: skip
    tables = bench.at_read_dpi(test)
    # typical respondents: every choice field, single choice alone, and that by variant; no stress
    assert len(tables) == 3
    every, single, by_variant = tables
    assert "| easy-read photocopy | 2 | 1 | 50.0% | 0 |" in by_variant
    assert every.startswith(f"Read at {READ_DPI:.0f} dpi as the service reads: typical respondents, choice")
    assert "| photocopy | 2 | 1 | 50.0% | 0 |" in every  # the 300 dpi readings are not counted
    assert "| office | 1 | 1 | 100.0% |" in every
    assert "single_choice fields" in single and "| office |" not in single


def test_a_check_can_build_its_pages_with_chosen_scans_at_the_reading_resolution(
    bench: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """calibrate.py --check --presets photocopy --read-dpi-only: only photocopies, marks read at 150 dpi."""
    from forms_service.scan.pipeline import READ_DPI

    records = bench.build_corpus(6, 7, 1, 0.0, ["photocopy"], True)
    choice = [r for r in records if r["type"] != "text"]
    assert choice and {r["preset"] for r in records} == {"photocopy"}
    assert {round(r["scale"] * 72) for r in choice} == {round(READ_DPI)}
    with pytest.raises(SystemExit):  # a new box model needs every scan: refused in one sentence
        bench.main(["--presets", "photocopy", "--corpus", str(tmp_path / "c.pkl")])
    assert "a new box model needs every scan" in capsys.readouterr().err
    # a refit of the kept model's curves may use chosen scans, if they are the kinds it refits
    with pytest.raises(SystemExit):
        bench.main(["--keep-model", "--kinds", "grey", "--presets", "bilevel-200", "--corpus", str(tmp_path / "c.pkl")])
    assert "--presets build no grey pages" in capsys.readouterr().err


def test_a_check_refuses_every_seed_the_shipped_calibration_was_fitted_on(bench: Any) -> None:
    from forms_service.scan.calibration import load_calibration

    info = load_calibration().info
    # the box model's, the grey and phone curves' (seed 2033) and the 1-bit curves' (the last refit)
    assert bench.fitted_seeds(info) == {2032, 2033, 2038}
    for seed in (2032, 2033, 2038):
        with pytest.raises(SystemExit, match="check it on another seed"):
            bench.main(["--check", "--seed", str(seed), "--pages", "1"])

