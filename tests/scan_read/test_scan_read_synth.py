"""The synthetic filler: reproducible, and its truth has the export's value forms."""

from __future__ import annotations

import numpy as np
from scan_read_helpers import SCALE, Forms

from forms_lab.synth import fill_page, random_respondent, simulate_scan


def test_fill_page_is_reproducible_and_tells_the_truth(forms: Forms) -> None:
    layout = forms.layout("standard")
    for page in layout.pages:
        if not page.fields:
            continue
        blank = forms.blank("standard", page.page)
        a = fill_page(blank, page, SCALE, np.random.default_rng(4))
        b = fill_page(blank, page, SCALE, np.random.default_rng(4))
        assert np.array_equal(a.image, b.image)
        assert a.truth == b.truth
        assert not np.shares_memory(a.image, blank)
        for f in page.fields:
            value = a.truth[f.id]
            if f.type == "text":
                assert isinstance(value, str)
            else:
                assert value is None or value in {box.value for box in f.boxes}


def test_multiple_choice_truth_is_a_sorted_list(forms: Forms) -> None:
    page, f = forms.field("large-print", "faculty")
    blank = forms.blank("large-print", page.page)
    rng = np.random.default_rng(9)
    person = random_respondent(rng, pen="black-ballpoint", style="tick")
    filled = fill_page(blank, page, SCALE, rng, respondent=person, field_types={f.id: "multi_choice"}, cases={f.id: "tick"})
    value = filled.truth[f.id]
    assert isinstance(value, list) and value == sorted(value)
    assert set(value) == {v for v, m in filled.marks[f.id].items() if m != "filled"}


def test_simulated_scan_is_in_layout_coordinates(forms: Forms) -> None:
    page, _ = forms.field("standard", "group")
    blank = forms.blank("standard", page.page)
    s = simulate_scan(blank, (page.width, page.height), np.random.default_rng(1), "office", scale=150 / 72)
    assert s.warped.shape == (round(page.height * 150 / 72), round(page.width * 150 / 72))
    assert s.warped.dtype == np.uint8


def test_multiple_choice_corrections_are_decided_once_per_question(forms: Forms) -> None:
    # a respondent who corrects half their answers but never leaves a lone filled box: each
    # corrected question has one box filled solid beside what was chosen, and no question ends
    # up with a filled box and nothing chosen (the rate of that is ``filled_only``, per question)
    from dataclasses import replace

    page, f = forms.field("large-print", "faculty")
    blank = forms.blank("large-print", page.page)
    rng = np.random.default_rng(11)
    person = replace(random_respondent(rng, pen="black-ballpoint"), skip_rate=0.0, mistakes=0.5, filled_only=0.0)
    cases = []
    for _ in range(40):
        filled = fill_page(blank, page, SCALE, rng, respondent=person, field_types={f.id: "multi_choice"})
        marks = filled.marks.get(f.id, {})
        n_filled = sum(m == "filled" for m in marks.values())
        cases.append(filled.cases[f.id])
        assert n_filled <= 1
        if n_filled:
            assert filled.cases[f.id] == "correction" and filled.truth[f.id]
    assert 8 <= cases.count("correction") <= 32
