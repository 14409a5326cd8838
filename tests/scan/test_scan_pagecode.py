"""Finding the page code of a printed page at any rotation, resolution and degradation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from forms_lab.degrade import PRESETS, Degraded, DegradeParams, apply_degradation, degrade
from forms_service.scan.pagecode import (
    find_page_code,
    hint_from_points,
    rotate_points,
    turn_image,
    turn_upright,
)
from forms_service.sheets import PageCode

CODE = PageCode("big-leeds-conversation", "2026-11", "standard", 2, "6ANQ-ZPAQ-7WG")


def scanned(form: Any, seed: int = 0, **params: object) -> Degraded:
    settings: dict[str, Any] = {"blur_sigma": 0.7, "noise_sigma": 3.0, **params}
    return apply_degradation(
        form.raster, DegradeParams(**settings), np.random.default_rng(seed), source_dpi=form.dpi
    )


def true_corners(form: Any, page: Degraded) -> np.ndarray:
    """Where the QR symbol's corners (its quiet zone left out) are on the degraded page."""
    x0, y0, x1, y1 = form.symbol_rect
    return page.map_points(form.points_to_raster([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]))


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
@pytest.mark.parametrize("skew", [0.0, 3.0, -3.0])
def test_found_at_any_rotation_and_skew_without_a_hint(form: Any, turns: int, skew: float) -> None:
    page = scanned(form, quarter_turns=turns, skew_deg=skew)
    hit = find_page_code(page.image)
    assert hit is not None and hit.page_code == CODE and hit.problem is None
    assert hit.rotation == 90 * turns
    assert hit.skew == pytest.approx(skew, abs=0.5)
    assert hit.version is not None and hit.module_px is not None
    # The corners are where the code really is, each named as printed.
    assert np.abs(hit.corners - true_corners(form, page)).max() < 4.0


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("seed", [0, 1])
def test_found_on_every_degradation_preset(
    form: Any, degraded: Callable[..., Degraded], preset: str, seed: int
) -> None:
    page = degraded(preset, seed)
    hit = find_page_code(page.image, hint_from_points(form.page_code_rect, page.params.dpi))
    assert hit is not None and hit.page_code == CODE
    assert hit.rotation == 90 * page.params.quarter_turns


@pytest.mark.parametrize("turns", [1, 2])
def test_hint_regions_cover_turned_pages(form: Any, turns: int) -> None:
    page = scanned(form, quarter_turns=turns)
    hit = find_page_code(page.image, hint_from_points(form.page_code_rect, 300))
    assert hit is not None and hit.found_by == "hint" and hit.rotation == 90 * turns


def test_found_at_150_dpi(form: Any) -> None:
    page = scanned(form, dpi=150.0, skew_deg=2.0, quarter_turns=3)
    hit = find_page_code(page.image, hint_from_points(form.page_code_rect, 150))
    assert hit is not None and hit.page_code == CODE and hit.rotation == 270


def test_found_at_600_dpi(form_600: Any) -> None:
    page = scanned(form_600, dpi=600.0, skew_deg=-1.5, quarter_turns=1, blur_sigma=1.2)
    hit = find_page_code(page.image)
    assert hit is not None and hit.page_code == CODE and hit.rotation == 90


@pytest.mark.parametrize("dpi", [150.0, 200.0])
def test_found_on_bilevel_scans(form: Any, dpi: float) -> None:
    page = scanned(form, dpi=dpi, skew_deg=1.0, bilevel_threshold=150)
    assert set(np.unique(page.image)) <= {0, 255}
    hit = find_page_code(page.image)
    assert hit is not None and hit.page_code == CODE


def test_turn_upright_puts_the_code_where_the_layout_says(form: Any) -> None:
    page = scanned(form, quarter_turns=3, skew_deg=2.0)
    hit = find_page_code(page.image)
    assert hit is not None
    upright, turned = turn_upright(page.image, hit)
    assert upright.shape == (page.image.shape[1], page.image.shape[0])
    assert turned.rotation == 0 and turned.skew == pytest.approx(2.0, abs=0.5)
    expected = rotate_points(true_corners(form, page), page.image.shape, 270)
    assert np.abs(turned.corners - expected).max() < 4.0
    x, y = turned.centre
    assert x < upright.shape[1] and y > upright.shape[0] / 2  # bottom right, as printed


def test_rotate_points_agrees_with_turn_image() -> None:
    image = np.zeros((30, 50), np.uint8)
    image[4, 7] = 255  # pixel centre at (7.5, 4.5)
    for rotation in (0, 90, 180, 270):
        turned = turn_image(image, rotation)
        ((x, y),) = rotate_points(np.array([[7.5, 4.5]]), image.shape, rotation)
        assert turned[int(y), int(x)] == 255


def test_a_qr_code_that_is_not_ours_is_reported_as_such(page_with_qr: Callable[..., Any]) -> None:
    hit = find_page_code(page_with_qr("https://example.org/survey"))
    assert hit is not None and hit.page_code is None and not hit.is_page_code
    assert hit.problem == "a QR code that is not a forms-service page code"


def test_a_damaged_page_code_says_why(page_with_qr: Callable[..., Any]) -> None:
    hit = find_page_code(
        page_with_qr("FS1|big-leeds-conversation|2026-11|standard|1|6ANQ-ZPAQ-7WA")
    )
    assert hit is not None and hit.page_code is None
    assert hit.problem is not None and hit.problem.startswith("a damaged forms-service page code")


def test_our_code_is_preferred_to_another_on_the_same_page(
    page_with_qr: Callable[..., Any],
) -> None:
    hit = find_page_code(page_with_qr("https://example.org/survey", also_ours=True))
    assert hit is not None and hit.page_code == CODE


def test_no_code_on_a_blank_page() -> None:
    assert find_page_code(np.full((1754, 1240), 245, np.uint8), (0, 0, 100, 100)) is None


def test_found_on_a_blurred_low_resolution_photo(form: Any) -> None:
    page = degrade(form.raster, np.random.default_rng(504), "phone", dpi=120.0)
    hit = find_page_code(page.image)
    assert hit is not None and hit.page_code == CODE and hit.found_by == "sharpened"
