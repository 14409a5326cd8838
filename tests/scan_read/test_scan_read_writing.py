"""Writing areas: written text is never called blank; dust is; OCR suggests the words."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np
import pytest
from scan_read_helpers import SCALE, Forms

from forms_lab.synth import handwriting_fonts, random_pen, scatter_dust, write_text
from forms_service.layout import LayoutField
from forms_service.scan.writing import ocr_suggestion, read_text_area
from tests.conftest import IN_CI

U8 = np.ndarray
AREAS = [("standard", "q_values"), ("large-print", "q_barriers"), ("easy-read", "q_anything_else")]
SHORT = ["no", "ok", "Yes", "n/a", "No.", "Respect", "all good", "Fair pay for everyone"]

# under CI (make test installs both) a missing font or tesseract must fail, not skip
needs_fonts = pytest.mark.skipif(not handwriting_fonts() and not IN_CI,
                                 reason="no handwriting fonts (fontpkg-*) installed")


def writer(text: str, font_index: int, pen: str, **options: bool) -> Callable[[U8, U8, LayoutField, np.random.Generator], None]:
    def draw(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        assert f.rect is not None
        fonts = handwriting_fonts()
        write_text(image, blank, f.rect, text, fonts[font_index % len(fonts)], random_pen(rng, pen), SCALE, rng,
                   hand=float(rng.uniform(0.45, 0.7)), **options)  # fmt: skip

    return draw


def dust(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
    assert f.rect is not None
    scatter_dust(image, f.rect, SCALE, rng)


@needs_fonts
@pytest.mark.parametrize("preset", ["office", "photocopy", "phone", "office-150"])
def test_written_text_is_never_called_blank(forms: Forms, preset: str) -> None:
    pens = ["black-ballpoint", "blue-ballpoint", "felt-tip", "pencil"]
    missed = []
    n = 0
    for i, text in enumerate(SHORT):
        for j, pen in enumerate(pens):
            if (i + j) % 2:  # half the grid per preset keeps the suite fast; presets cover the rest
                continue
            variant, field_id = AREAS[(i + j) % len(AREAS)]
            s = forms.scan(variant, field_id, writer(text, i + j, pen), preset=preset, seed=100 * i + j)
            assert s.field.rect is not None
            reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale, ocr=False, bilevel=s.bilevel)
            n += 1
            if not reading.written:
                missed.append((text, pen, variant))
            assert not reading.auto
    assert n >= 16
    assert missed == []


@needs_fonts
def test_short_answers_are_found_at_the_service_reading_resolution(forms: Forms) -> None:
    for i, text in enumerate(["no", "ok", "n/a"]):
        variant, field_id = AREAS[i]
        s = forms.scan(variant, field_id, writer(text, i, "blue-ballpoint"), preset="office", seed=40 + i, scale=150 / 72)
        assert s.field.rect is not None
        assert read_text_area(s.warped, s.blank, s.field.rect, s.scale, ocr=False).written, text


@needs_fonts
def test_a_short_word_in_light_pencil_is_found_at_the_service_reading_resolution(forms: Forms) -> None:
    """The faintest writing the synthetic respondents make: a short word in light pencil, in the
    thinnest hand, read at 150 dpi. Its strokes are about a tenth of black once the scan has
    averaged them, and an "o" holds no more ink than a speck of dust: what tells it apart is
    that a letter is long (fresh pages of seed 2042 had such a "no" accepted as blank)."""
    thin = [i for i, p in enumerate(handwriting_fonts()) if "Kalam-Light" in p.name]
    font = thin[0] if thin else 0
    missed = []
    for i, text in enumerate(["no", "ok", "No.", "yes"]):
        for seed in range(5):
            variant, field_id = AREAS[(i + seed) % len(AREAS)]
            s = forms.scan(variant, field_id, writer(text, font, "light-pencil"), preset="office", seed=seed,
                           scale=150 / 72)  # fmt: skip
            assert s.field.rect is not None
            reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale, ocr=False)
            if not reading.written or reading.auto:
                missed.append((text, variant, seed, round(reading.p_written, 3)))
    assert missed == []


@needs_fonts
def test_writing_past_the_edge_and_between_lines_is_found(forms: Forms) -> None:
    for k, options in enumerate([{"past_edge": True}, {"between_lines": True}]):
        text = "Listen to the people who do the work every single day of the year and say thank you " * 2
        s = forms.scan("standard", "q_behaviours", writer(text, k, "black-ballpoint", **options), seed=k)
        assert s.field.rect is not None
        reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale, ocr=False)
        assert reading.written and reading.ink_bbox is not None
        if options.get("past_edge"):
            assert reading.ink_bbox[2] > s.field.rect[2] + 2  # the crop reaches the words past the edge
            assert reading.crop.shape[1] > (s.field.rect[2] - s.field.rect[0]) * s.scale


@pytest.mark.parametrize("preset", [None, "office", "photocopy", "phone"])
def test_blank_areas_with_dust_and_specks_are_blank(forms: Forms, preset: str | None) -> None:
    for seed, (variant, field_id) in enumerate(AREAS * 2):
        s = forms.scan(variant, field_id, dust, preset=preset, seed=seed)
        assert s.field.rect is not None
        reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale, bilevel=s.bilevel)
        assert not reading.written, (variant, field_id, seed, reading.features)
        assert reading.suggestion == ""
        assert 0.0 <= reading.confidence <= 1.0


def test_a_clean_blank_area_is_accepted_as_blank(forms: Forms) -> None:
    s = forms.scan("standard", "q_values", dust, preset="office", seed=3)
    assert s.field.rect is not None
    reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale)
    assert not reading.written
    assert reading.auto


@needs_fonts
@pytest.mark.skipif(shutil.which("tesseract") is None and not IN_CI, reason="tesseract is not installed")
def test_ocr_suggests_the_words_of_clear_handwriting(forms: Forms) -> None:
    kalam = [i for i, p in enumerate(handwriting_fonts()) if "Kalam" in p.name]
    font = kalam[0] if kalam else 0
    text = "Treat everyone with respect"
    s = forms.scan("standard", "q_values", writer(text, font, "black-ballpoint"), preset=None, seed=5)
    assert s.field.rect is not None
    reading = read_text_area(s.warped, s.blank, s.field.rect, s.scale)
    assert reading.written and not reading.auto
    words = reading.suggestion.lower().split()
    assert {"everyone", "respect"} <= set(words), "OCR should find the words"
    assert reading.word_confidences and all(0.0 <= c <= 1.0 for _, c in reading.word_confidences)
    assert reading.crop.ndim == 2 and reading.crop.size > 0


@needs_fonts
@pytest.mark.skipif(shutil.which("tesseract") is None and not IN_CI, reason="tesseract is not installed")
def test_a_photocopiers_specks_do_not_become_punctuation(forms: Forms) -> None:
    """Toner specks over the whole area: the suggestion is the words, not dots and colons after them."""
    kalam = [i for i, p in enumerate(handwriting_fonts()) if "Kalam" in p.name]
    font = kalam[0] if kalam else 0
    write = writer("Clear rules that apply to all", font, "black-ballpoint")

    def specked(image: U8, blank: U8, f: LayoutField, rng: np.random.Generator) -> None:
        write(image, blank, f, rng)
        assert f.rect is not None
        x0, y0, x1, y1 = f.rect
        for _ in range(120):  # dark specks about 1 pt across, anywhere on the area
            x, y = rng.uniform(x0, x1) * SCALE, rng.uniform(y0 + 14, y1) * SCALE
            image[int(y) : int(y) + 3, int(x) : int(x) + 3] = 30

    s = forms.scan("standard", "q_values", specked, preset=None, seed=3)
    assert s.field.rect is not None
    # the whole area, as when something far from the words is kept as writing
    text, _ = ocr_suggestion(s.warped, s.blank, s.field.rect, s.scale)
    assert " ".join(text.split()).lower() == "clear rules that apply to all", text
