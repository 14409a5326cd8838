"""Each variant measured from its PDF: text sizes, fonts, boxes, writing lines, marks and page codes."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import zxingcpp
from render_helpers import MM, QR_DPI, Rendered

from forms_service.layout.frame import page_number_text, sheet_id_text
from forms_service.sheets import PageCode

MIN_TEXT = {"standard": 12.0, "large-print": 18.0, "easy-read": 16.0}
MIN_BOX = {"standard": 5 * MM, "large-print": 8 * MM, "easy-read": 8 * MM}
MIN_WRITING_SPACING = {"standard": 9 * MM, "large-print": 13 * MM, "easy-read": 9 * MM}
TOLERANCE = 0.5


def outer(shape: dict[str, Any]) -> tuple[float, float, float, float]:
    """The outer edge of a stroked rectangle: its path grown by half the line width."""
    half = (shape["linewidth"] or 0) / 2 if shape["stroke"] else 0.0
    return (shape["x0"] - half, shape["top"] - half, shape["x1"] + half, shape["bottom"] + half)


def close(a: tuple[float, ...], b: tuple[float, ...], tol: float = TOLERANCE) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_every_character_is_at_least_the_variant_minimum(rendered: Rendered) -> None:
    sizes = [c["size"] for p in rendered.pages for c in p.chars]
    assert sizes, "no text found"
    assert min(sizes) >= MIN_TEXT[rendered.variant] - 0.01


def test_text_is_black(rendered: Rendered) -> None:
    colours = {tuple(np.atleast_1d(c["non_stroking_color"])) for p in rendered.pages for c in p.chars}
    assert colours <= {(0,), (0.0,), (0, 0, 0), (0.0, 0.0, 0.0)}


def test_fonts_are_embedded_atkinson_and_never_italic(rendered: Rendered) -> None:
    names = {c["fontname"] for p in rendered.pages for c in p.chars}
    assert names
    for name in names:
        assert "AtkinsonHyperlegible" in name
        assert not re.search("italic|oblique", name, re.I), name
    assert rendered.fonts
    for font in rendered.fonts:
        candidates = [font.get("FontDescriptor")] + [
            d["FontDescriptor"] for d in font.get("DescendantFonts", [])
        ]
        descriptors: list[dict[str, Any]] = [d for d in candidates if d]
        assert descriptors, f"font {font.get('BaseFont')} has no descriptor (not embedded)"
        for d in descriptors:
            assert {"FontFile", "FontFile2", "FontFile3"} & set(d), f"{font.get('BaseFont')} not embedded"
            assert float(d.get("ItalicAngle", 0)) == 0
            assert not int(d.get("Flags", 0)) & 64  # the italic flag


def test_no_blocks_of_capitals(rendered: Rendered) -> None:
    for page in rendered.pages:
        for line in page.text.splitlines():
            if line.startswith("Sheet "):
                continue
            assert not re.search(r"\b[A-Z]{2,}\b\W+\b[A-Z]{2,}\b", line), line


def test_pages_per_copy_is_even(rendered: Rendered) -> None:
    assert len(rendered.pages) == rendered.result.pages_per_copy
    assert rendered.result.pages_per_copy % 2 == 0
    assert len(rendered.result.layout.pages) == rendered.result.pages_per_copy


def test_every_page_has_footer_and_sheet_id(rendered: Rendered) -> None:
    total = len(rendered.pages)
    for page in rendered.pages:
        assert f"Page {page.number} of {total}" in page.text
        assert f"Sheet {rendered.sheet_id}" in page.text


def test_footer_lines_are_printed_where_the_layout_says_in_its_typeface(rendered: Rendered) -> None:
    total = len(rendered.pages)
    for lp, page in zip(rendered.result.layout.pages, rendered.pages, strict=True):
        assert lp.footer is not None
        lines = (
            (lp.footer.page_number, page_number_text(lp.page, total)),
            (lp.footer.sheet_id, sheet_id_text(rendered.sheet_id)),
        )
        for line, words in lines:
            x, y = line.baseline
            x0, y0, x1, y1 = line.rect
            # pdfplumber puts a character's bottom at its baseline plus the font's descent
            chars = [c for c in page.chars if abs(c["top"] + c["size"] - y1) < 0.01]
            assert "".join(c["text"] for c in chars) == words
            assert chars[0]["x0"] == pytest.approx(x, abs=0.01) and x0 == x
            assert y0 < y < y1 and max(c["x0"] for c in chars) < x1
            for c in chars:
                assert c["fontname"].split("+")[-1] == line.font
                assert c["size"] == pytest.approx(line.size)


def test_boxes_are_big_enough_and_where_the_layout_says(rendered: Rendered) -> None:
    checked = 0
    for lp, page in zip(rendered.result.layout.pages, rendered.pages, strict=True):
        drawn = [outer(r) for r in page.rects if r["stroke"]]
        for f in lp.fields:
            for box in f.boxes:
                x0, y0, x1, y1 = box.rect
                assert x1 - x0 >= MIN_BOX[rendered.variant] and y1 - y0 >= MIN_BOX[rendered.variant]
                assert any(close(d, box.rect) for d in drawn), f"{f.id}={box.value} not drawn at {box.rect}"
                checked += 1
    assert checked > 50


def test_writing_areas_are_drawn_where_the_layout_says_with_ruled_lines(rendered: Rendered) -> None:
    areas = 0
    for lp, page in zip(rendered.result.layout.pages, rendered.pages, strict=True):
        drawn = [outer(r) for r in page.rects if r["stroke"]]
        for f in lp.fields:
            if f.type != "text":
                continue
            assert f.rect is not None
            assert any(close(d, f.rect) for d in drawn), f"{f.id} part {f.part} not drawn"
            x0, y0, x1, y1 = f.rect
            rules = sorted(
                (line["top"] + line["bottom"]) / 2
                for line in page.lines
                if x0 < line["x0"] < line["x1"] < x1 and y0 < line["top"] <= line["bottom"] < y1
            )
            edges = [y0, *rules, y1]
            gaps = [b - a for a, b in zip(edges, edges[1:], strict=False)]
            assert len(rules) >= 1
            assert min(gaps) >= MIN_WRITING_SPACING[rendered.variant] - 0.01
            areas += 1
    assert areas >= 4


def test_registration_marks_are_at_the_fiducials_and_inside_the_page(rendered: Rendered) -> None:
    for lp, page in zip(rendered.result.layout.pages, rendered.pages, strict=True):
        marks = [
            c for c in page.curves
            if c["fill"] and 4 * MM < c["x1"] - c["x0"] < 7 * MM and 4 * MM < c["bottom"] - c["top"] < 7 * MM
        ]
        assert len(marks) == 4
        for fx, fy in lp.fiducials:
            mark = next(
                m for m in marks
                if abs((m["x0"] + m["x1"]) / 2 - fx) <= TOLERANCE and abs((m["top"] + m["bottom"]) / 2 - fy) <= TOLERANCE
            )
            assert mark["x1"] - mark["x0"] == pytest.approx(lp.fiducial_diameter, abs=0.01)
            assert mark["bottom"] - mark["top"] == pytest.approx(lp.fiducial_diameter, abs=0.01)
            assert mark["x0"] >= 10 * MM and mark["top"] >= 10 * MM
            assert page.width - mark["x1"] >= 10 * MM and page.height - mark["bottom"] >= 10 * MM


def test_page_code_is_large_enough_and_drawn_inside_its_rectangle(rendered: Rendered) -> None:
    for lp, page in zip(rendered.result.layout.pages, rendered.pages, strict=True):
        x0, y0, x1, y1 = lp.page_code
        assert x1 - x0 >= 18 * MM and y1 - y0 >= 18 * MM
        modules = [r for r in page.rects if r["fill"] and r["x0"] >= x0 - 1 and r["x1"] <= x1 + 1 and r["top"] >= y0 - 1 and r["bottom"] <= y1 + 1]
        assert len(modules) > 50
        # The quiet zone: no module within 1.5 mm of the rectangle's edge.
        assert min(r["x0"] for r in modules) >= x0 + 1.5 * MM
        assert max(r["x1"] for r in modules) <= x1 - 1.5 * MM
        assert min(r["top"] for r in modules) >= y0 + 1.5 * MM
        assert max(r["bottom"] for r in modules) <= y1 - 1.5 * MM


def test_page_code_decodes_on_every_page(rendered: Rendered, questionnaire: Any) -> None:
    scale = QR_DPI / 72
    for lp, image in zip(rendered.result.layout.pages, rendered.images, strict=True):
        x0, y0, x1, y1 = (v * scale for v in lp.page_code)
        crop = image.crop((int(x0) - 10, int(y0) - 10, int(x1) + 10, int(y1) + 10)).convert("L")
        codes = zxingcpp.read_barcodes(crop)
        assert [c.text for c in codes] == [
            PageCode(questionnaire.id, questionnaire.version, rendered.variant, lp.page, rendered.sheet_id).encode()
        ]
        assert codes[0].format == zxingcpp.BarcodeFormat.QRCode


def test_page_code_decodes_from_the_whole_page_too(renders: Any) -> None:
    r = renders["standard"]
    codes = zxingcpp.read_barcodes(r.images[-1].convert("L"))
    assert len(codes) == 1
    code = PageCode.decode(codes[0].text)
    assert (code.page, code.sheet, code.variant) == (len(r.pages), r.sheet_id, "standard")


@pytest.mark.parametrize("variant", ["standard", "large-print", "easy-read"])
def test_first_page_has_the_marking_key_outside_the_layout(renders: Any, variant: str) -> None:
    r = renders[variant]
    page = r.pages[0]
    assert "This is how to mark a box" in page.text
    assert "To change an answer, fill the box completely" in page.text
    size = MIN_BOX[variant]
    boxes = [outer(x) for x in page.rects if x["x1"] - x["x0"] >= size and abs((x["x1"] - x["x0"]) - (x["bottom"] - x["top"])) < 0.5 and x["x1"] - x["x0"] < 15 * MM]
    in_layout = [b.rect for f in r.result.layout.pages[0].fields for b in f.boxes]
    examples = [b for b in boxes if not any(close(b, rect) for rect in in_layout)]
    assert len(examples) == 2  # the ticked example and the filled example
    assert sum(1 for x in page.rects if x["fill"] and x["x1"] - x["x0"] >= size) >= 1
