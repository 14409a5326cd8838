"""The degradation library: reproducible, and truthful about where things went."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from forms_lab.degrade import (
    PRESETS,
    Degraded,
    DegradeParams,
    apply_degradation,
    degrade,
    sample_params,
)


def test_same_seed_same_page(form: Any) -> None:
    a = degrade(form.raster, np.random.default_rng(7), "photocopy")
    b = degrade(form.raster, np.random.default_rng(7), "photocopy")
    c = degrade(form.raster, np.random.default_rng(8), "photocopy")
    assert a.params == b.params and np.array_equal(a.image, b.image)
    assert a.params != c.params


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_keep_the_truth(form: Any, degraded: Callable[..., Degraded], preset: str) -> None:
    page = degraded(preset, 0)
    assert page.preset == preset and page.image.dtype == np.uint8 and page.image.ndim == 2
    # Every registration mark's centre lands on ink in the degraded page.
    for x, y in page.map_points(form.points_to_raster(form.fiducials)):
        assert page.image[int(y), int(x)] < 110
    # ... and the paper between them stays paper.
    ((x, y),) = page.map_points(form.points_to_raster([(300.0, 500.0)]))
    assert page.image[int(y), int(x)] > 130


def test_scanner_presets_give_the_page_at_their_resolution(
    form: Any, degraded: Callable[..., Degraded]
) -> None:
    for preset, dpi in [("office", 300), ("office-150", 150), ("bilevel-200", 200)]:
        page = degraded(preset, 0, quarter_turns=0)
        h, w = form.raster.shape
        assert page.params.dpi == dpi
        assert page.image.shape == (round(h * dpi / 300), round(w * dpi / 300))


def test_bilevel_is_black_and_white(degraded: Callable[..., Degraded]) -> None:
    assert set(np.unique(degraded("bilevel-200", 0).image)) <= {0, 255}


def test_phone_and_photocopier_parameters() -> None:
    rng = np.random.default_rng(0)
    phone = sample_params("phone", rng)
    assert (
        phone.perspective > 0 and phone.jpeg_quality is not None and phone.background < phone.paper
    )
    copy = sample_params("photocopy", rng)
    assert copy.streaks >= 1 and copy.speckle_per_cm2 > 0 and copy.gamma > 1
    assert set(DegradeParams().to_json()) >= {"dpi", "skew_deg", "quarter_turns", "jpeg_quality"}


def test_overrides_and_quarter_turns(form: Any) -> None:
    page = degrade(form.raster, np.random.default_rng(1), "office", quarter_turns=1, skew_deg=0.0)
    h, w = form.raster.shape
    assert page.params.quarter_turns == 1 and page.image.shape == (w, h)
    ((x, y),) = page.map_points([(0.0, 0.0)])  # the page's top-left corner is now top-right
    assert x == pytest.approx(h, abs=60) and y == pytest.approx(0, abs=60)


def test_bad_requests() -> None:
    with pytest.raises(ValueError, match="no degradation preset 'fax'"):
        sample_params("fax", np.random.default_rng(0))
    with pytest.raises(ValueError, match="greyscale"):
        apply_degradation(np.zeros((4, 4, 3), np.uint8), DegradeParams(), np.random.default_rng(0))
