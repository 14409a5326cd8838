"""The layout files: valid, complete, identical in ids and values across variants, and not stale."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest
from render_helpers import LAYOUTS, MM, Rendered

from forms_service.layout import (
    Layout,
    LayoutError,
    dumps_layout,
    layout_from_json,
    layout_path,
    load_layout,
    same_printed_positions,
    validate_layout_json,
)
from forms_service.questionnaire.model import Questionnaire
from forms_service.render import VARIANTS, build_layout
from forms_service.render.refresh_layouts import refresh
from tests.conftest import add_version


def field_values(layout: Layout) -> dict[str, list[str]]:
    values: dict[str, list[str]] = defaultdict(list)
    for page in layout.pages:
        for f in page.fields:
            values[f.id].extend(b.value for b in f.boxes)
    return dict(values)


def overlaps(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_variants_are_the_three_documented_ones() -> None:
    assert VARIANTS == ("standard", "large-print", "easy-read")


def test_layout_validates_against_the_published_schema(rendered: Rendered) -> None:
    doc = rendered.result.layout.to_json()
    validate_layout_json(doc)
    assert doc["variant"] == rendered.variant
    assert [p["page"] for p in doc["pages"]] == list(range(1, rendered.result.pages_per_copy + 1))


def test_build_layout_is_the_layout_the_drawing_used(rendered: Rendered, questionnaire: Questionnaire) -> None:
    assert build_layout(questionnaire, rendered.variant).to_json() == rendered.result.layout.to_json()


def test_field_ids_are_the_questionnaire_fields(rendered: Rendered, questionnaire: Questionnaire) -> None:
    layout = rendered.result.layout
    assert set(layout.field_ids()) == {f.id for f in questionnaire.fields()}
    assert layout.field_ids() == [f.id for f in questionnaire.fields()]  # reading order too
    values = field_values(layout)
    for spec in questionnaire.fields():
        if spec.type.value == "text":
            continue
        assert values[spec.id] == list(spec.values), spec.id
    kinds = {f.id: f.type for p in layout.pages for f in p.fields}
    assert kinds == {spec.id: spec.type.value for spec in questionnaire.fields()}


def test_text_fields_have_parts_numbered_from_one(rendered: Rendered) -> None:
    parts: dict[str, list[int]] = defaultdict(list)
    for page in rendered.result.layout.pages:
        for f in page.fields:
            if f.type == "text":
                parts[f.id].append(f.part or 0)
    assert parts
    for field_id, numbers in parts.items():
        assert numbers == list(range(1, len(numbers) + 1)), field_id


def test_ids_and_values_are_identical_across_variants(renders: Any) -> None:
    layouts = [renders[v].result.layout for v in VARIANTS]
    first = field_values(layouts[0])
    for layout in layouts[1:]:
        assert layout.field_ids() == layouts[0].field_ids()
        assert field_values(layout) == first


def test_fields_keep_clear_of_each_other_the_page_code_and_the_marks(rendered: Rendered) -> None:
    for page in rendered.result.layout.pages:
        rects = [b.rect for f in page.fields for b in f.boxes] + [f.rect for f in page.fields if f.rect]
        for i, a in enumerate(rects):
            assert not overlaps(a, page.page_code)
            for fx, fy in page.fiducials:
                assert not overlaps(a, (fx - 5 * MM, fy - 5 * MM, fx + 5 * MM, fy + 5 * MM))
            for b in rects[i + 1 :]:
                assert not overlaps(a, b), (a, b)


def test_large_print_never_splits_a_question_across_pages(renders: Any, questionnaire: Questionnaire) -> None:
    layout = renders["large-print"].result.layout
    for q in questionnaire.questions():
        pages = {
            p.page for p in layout.pages for f in p.fields if f.id == q.id or f.id.startswith(q.id + ".")
        }
        assert len(pages) == 1, f"{q.id} is on pages {sorted(pages)}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_committed_layout_files_are_fresh(variant: str, questionnaire: Questionnaire) -> None:
    path = layout_path(LAYOUTS, questionnaire.id, questionnaire.version, variant)
    assert path.exists(), f"{path} is missing: run python -m forms_service.render.refresh_layouts"
    expected = dumps_layout(build_layout(questionnaire, variant))
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path} is stale: run python -m forms_service.render.refresh_layouts"
    )
    assert load_layout(path).to_json() == build_layout(questionnaire, variant).to_json()


def test_refresh_reports_nothing_stale_in_the_repository() -> None:
    assert refresh(LAYOUTS, check=True) == []


def test_refresh_writes_missing_layouts(tmp_path: Any, questionnaire: Questionnaire) -> None:
    """The shipped questionnaire's layouts go into an empty folder; a version added there gets its own."""
    written = refresh(tmp_path)
    shipped = [tmp_path / questionnaire.id / version for version in (questionnaire.version, "2026-12")]
    assert sorted(written) == sorted(folder / f"{v}.json" for folder in shipped for v in VARIANTS)
    add_version(tmp_path, "2027-01")
    written = refresh(tmp_path)
    assert sorted(written) == sorted(tmp_path / questionnaire.id / "2027-01" / f"{v}.json" for v in VARIANTS)
    assert refresh(tmp_path, check=True) == []


def test_section_headings_are_never_left_alone_at_the_foot_of_a_page(
    rendered: Rendered, questionnaire: Questionnaire
) -> None:
    layout = rendered.result.layout
    for section in questionnaire.sections:
        first = section.questions[0].id
        page = next(
            p.page for p in layout.pages for f in p.fields if f.id == first or f.id.startswith(first + ".")
        )
        assert section.title in rendered.pages[page - 1].text.replace("\n", " "), section.id


def _without_frame_keys(doc: dict[str, Any]) -> dict[str, Any]:
    """A layout document as the format's first release wrote it: no diameter, no footer."""
    old = json.loads(json.dumps(doc))
    for page in old["pages"]:
        del page["fiducial_diameter"], page["footer"]
    return old


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_layout_file_without_the_frame_keys_still_loads_with_the_default_frame(
    variant: str, questionnaire: Questionnaire, tmp_path: Any
) -> None:
    drawn = build_layout(questionnaire, variant)
    path = tmp_path / f"{variant}.json"
    path.write_text(json.dumps(_without_frame_keys(drawn.to_json())), encoding="utf-8")
    old = load_layout(path)
    for page, new in zip(old.pages, drawn.pages, strict=True):
        assert page.footer is None and new.footer is not None
        assert page.fiducial_diameter == pytest.approx(6 * MM) == new.fiducial_diameter
        assert page.sheet_id_font == new.footer.sheet_id.font == "AtkinsonHyperlegible-Regular"
        # where a reader looks for the footer: left of the page code, level with it
        bx0, by0, bx1, by1 = page.footer_band()
        fx0, fy0, fx1, fy1 = new.footer_band()
        assert bx0 <= fx0 and by0 <= fy0 and bx1 >= fx1 and by1 >= fy1
        assert not overlaps(page.footer_band(), page.page_code)
    assert same_printed_positions(old, drawn)
    moved = _without_frame_keys(drawn.to_json())
    field = next(p for p in moved["pages"] if p["fields"])["fields"][0]
    (field["boxes"][0]["rect"] if "boxes" in field else field["rect"])[0] += 0.5
    assert not same_printed_positions(layout_from_json(moved), drawn)


def test_the_schema_describes_the_frame_keys(questionnaire: Questionnaire) -> None:
    doc = build_layout(questionnaire, "standard").to_json()
    validate_layout_json(doc)
    footer = doc["pages"][0]["footer"]
    assert set(footer) == {"page_number", "sheet_id"}
    assert set(footer["sheet_id"]) == {"font", "size", "baseline", "rect"}
    broken = json.loads(json.dumps(doc))
    del broken["pages"][0]["footer"]["sheet_id"]["font"]
    with pytest.raises(LayoutError, match="pages/0/footer/sheet_id: 'font' is a required property"):
        validate_layout_json(broken)
    outside = json.loads(json.dumps(doc))
    outside["pages"][0]["footer"]["page_number"]["rect"][3] = 900.0
    with pytest.raises(LayoutError, match="is empty or outside the page"):
        validate_layout_json(outside)
    flat = json.loads(json.dumps(doc))
    flat["pages"][0]["fiducial_diameter"] = 0
    with pytest.raises(LayoutError, match="fiducial_diameter"):
        validate_layout_json(flat)
