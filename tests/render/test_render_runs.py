"""Print runs: many copies in one PDF, sheet ids, batches, atomic writing, bad input, previews."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp
from render_helpers import DEFINITION, QR_DPI

from forms_service.errors import RenderError
from forms_service.questionnaire.model import Questionnaire
from forms_service.render import build_layout, render_pdf, render_previews
from forms_service.render import pdf as pdf_module
from forms_service.sheets import PageCode, is_sheet_id, new_sheet_id


def decode_page(path: Path, page: int) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        image = doc[page - 1].render(scale=QR_DPI / 72).to_pil().convert("L")
    finally:
        doc.close()
    codes = zxingcpp.read_barcodes(image)
    assert len(codes) == 1
    return str(codes[0].text)


def only_file(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def three_copies(questionnaire: Questionnaire, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("copies") / "run.pdf"
    calls: list[tuple[int, int]] = []
    result = render_pdf(questionnaire, "standard", out, copies=3, progress=lambda d, t: calls.append((d, t)))
    return out, result, calls


def test_each_copy_has_its_own_sheet_id_and_pages(three_copies: Any) -> None:
    path, result, calls = three_copies
    n = result.pages_per_copy
    ids = [sid for sid, _ in result.sheets]
    assert len(set(ids)) == 3 and all(is_sheet_id(s) for s in ids)
    assert [pages for _, pages in result.sheets] == [list(range(i * n + 1, i * n + n + 1)) for i in range(3)]
    assert len(pdfium.PdfDocument(str(path))) == 3 * n
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_page_codes_name_the_copy_and_its_page(three_copies: Any, questionnaire: Questionnaire) -> None:
    path, result, _ = three_copies
    second_id, second_pages = result.sheets[1]
    assert decode_page(path, second_pages[0]) == PageCode(
        questionnaire.id, questionnaire.version, "standard", 1, second_id
    ).encode()
    last_id, last_pages = result.sheets[2]
    code = PageCode.decode(decode_page(path, last_pages[-1]))
    assert (code.sheet, code.page) == (last_id, result.pages_per_copy)


def test_large_runs_are_drawn_in_batches_and_joined(
    questionnaire: Questionnaire, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_module, "BATCH_PAGES", 12)  # two copies of standard per batch
    ids = [new_sheet_id() for _ in range(5)]
    out = tmp_path / "run.pdf"
    result = render_pdf(questionnaire, "standard", out, copies=5, sheet_ids=ids)
    assert only_file(tmp_path) == ["run.pdf"]
    n = result.pages_per_copy
    doc = pdfium.PdfDocument(str(out))
    assert len(doc) == 5 * n
    doc.close()
    for copy in (0, 2, 4):
        code = PageCode.decode(decode_page(out, copy * n + 2))
        assert (code.sheet, code.page) == (ids[copy], 2)
    import pdfplumber

    with pdfplumber.open(out) as pdf:
        assert len(pdf.pages) == 5 * n
        assert f"Sheet {ids[4]}" in (pdf.pages[-1].extract_text() or "")
    import pikepdf  # an independent reader (qpdf) finds no structural fault

    with pikepdf.open(out) as joined:
        assert joined.check_pdf_syntax() == []
        assert len(joined.pages) == 5 * n
        assert str(joined.docinfo["/Title"]) == questionnaire.title
        assert str(joined.Root.Lang) == "en"


def test_given_sheet_ids_are_used_in_order(questionnaire: Questionnaire, tmp_path: Path) -> None:
    ids = [new_sheet_id(), new_sheet_id()]
    result = render_pdf(questionnaire, "large-print", tmp_path / "x.pdf", copies=2, sheet_ids=ids)
    assert [s for s, _ in result.sheets] == ids


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"copies": 0}, "at least 1"),
        ({"copies": -3}, "at least 1"),
        ({"copies": 2, "sheet_ids": ["K7MQ-9XHT-P4R"]}, "need 2 sheet ids"),
        ({"copies": 1, "sheet_ids": ["not-an-id"]}, "not a valid sheet id"),
    ],
)
def test_bad_requests_fail_with_one_sentence_and_no_file(
    questionnaire: Questionnaire, tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        render_pdf(questionnaire, "standard", tmp_path / "out.pdf", **kwargs)
    assert only_file(tmp_path) == []


def test_repeated_sheet_ids_are_refused(questionnaire: Questionnaire, tmp_path: Path) -> None:
    sid = new_sheet_id()
    with pytest.raises(RenderError, match="repeat"):
        render_pdf(questionnaire, "standard", tmp_path / "out.pdf", copies=2, sheet_ids=[sid, sid])


def test_unknown_variant_is_refused(questionnaire: Questionnaire, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="no variant called 'braille'") as err:
        render_pdf(questionnaire, "braille", tmp_path / "out.pdf")
    assert "standard, large-print, easy-read" in str(err.value)
    assert str(err.value).count(". ") == 0  # one sentence
    assert only_file(tmp_path) == []
    with pytest.raises(RenderError):
        build_layout(questionnaire, "braille")


def test_missing_output_folder_is_refused(questionnaire: Questionnaire, tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="does not exist"):
        render_pdf(questionnaire, "standard", tmp_path / "nowhere" / "out.pdf")


def too_long(questionnaire: Questionnaire, question_id: str) -> Questionnaire:
    data = questionnaire.model_dump(mode="json")
    words = ("Please tell us in your own words what you think about this particular subject " * 30)[:1990]
    for section in data["sections"]:
        for q in section["questions"]:
            if q["id"] == question_id:
                q["text"] = words.strip()
    return Questionnaire.model_validate(data)


def test_a_question_too_long_for_a_large_print_page_is_refused(
    questionnaire: Questionnaire, tmp_path: Path
) -> None:
    q = too_long(questionnaire, "q_values")
    out = tmp_path / "out.pdf"
    with pytest.raises(RenderError, match="q_values") as err:
        render_pdf(q, "large-print", out)
    assert "large-print page" in str(err.value)
    assert only_file(tmp_path) == []
    with pytest.raises(RenderError, match="q_values"):
        build_layout(q, "large-print")
    # Standard print has room for it.
    assert build_layout(q, "standard").field_ids() == [f.id for f in q.fields()]


def test_long_writing_areas_continue_on_the_next_page_in_standard(questionnaire: Questionnaire) -> None:
    data = questionnaire.model_dump(mode="json")
    data["sections"][2]["questions"][0]["lines"] = 30
    q = Questionnaire.model_validate(data)
    layout = build_layout(q, "standard")
    parts = [(p.page, f.part) for p in layout.pages for f in p.fields if f.id == "q_values"]
    assert [part for _, part in parts] == [1, 2]
    assert parts[1][0] == parts[0][0] + 1
    with pytest.raises(RenderError, match="q_values"):
        build_layout(q, "large-print")


def test_a_failure_while_drawing_leaves_no_file_and_keeps_the_old_one(
    questionnaire: Questionnaire, tmp_path: Path
) -> None:
    out = tmp_path / "out.pdf"
    out.write_bytes(b"old print run")

    def stop(done: int, total: int) -> None:
        if done == 2:
            raise RuntimeError("stopped")

    with pytest.raises(RuntimeError):
        render_pdf(questionnaire, "standard", out, copies=3, progress=stop)
    assert only_file(tmp_path) == ["out.pdf"]
    assert out.read_bytes() == b"old print run"


def test_previews_from_a_path_or_bytes(three_copies: Any) -> None:
    path, result, _ = three_copies
    images = render_previews(path, dpi=30, pages=[1, 2])
    assert len(images) == 2
    width, height = images[0].size
    assert abs(width - 595.276 * 30 / 72) <= 1 and abs(height - 841.89 * 30 / 72) <= 1
    assert images[0].mode == "RGB"
    all_pages = render_previews(path.read_bytes(), dpi=10)
    assert len(all_pages) == 3 * result.pages_per_copy
    with pytest.raises(RenderError, match="no page 99"):
        render_previews(path, pages=[99])
    with pytest.raises(RenderError):
        render_previews(b"this is not a pdf")


def test_the_shipped_definition_is_the_one_under_test() -> None:
    assert DEFINITION.exists()


def test_rendering_leaves_reportlab_settings_as_it_found_them(three_copies: Any) -> None:
    from reportlab import rl_config

    assert rl_config.useA85 == 1
