"""Easy read and the wording of each variant: pictures beside every option, faces on scales,
easy-read sentences on the opening page, bold key words and the pictogram credit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from render_helpers import MM

from forms_service.errors import RenderError
from forms_service.questionnaire.model import Questionnaire, QuestionType
from forms_service.render import build_layout, pictogram_exists


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def drawing_near(page: Any, x0: float, x1: float, y0: float, y1: float) -> bool:
    """Is there a stroked vector drawing (not a rectangle) whose centre is in this region?"""
    for shape in [*page.curves, *page.lines]:
        cx, cy = (shape["x0"] + shape["x1"]) / 2, (shape["top"] + shape["bottom"]) / 2
        if shape["stroke"] and x0 <= cx <= x1 and y0 <= cy <= y1:
            return True
    return False


def test_every_pictogram_of_the_definition_exists(questionnaire: Questionnaire) -> None:
    names = questionnaire.pictograms()
    assert "mood-smile" in names
    assert all(pictogram_exists(n) for n in names)
    assert not pictogram_exists("no-such-icon")


def test_every_choice_option_has_a_picture_beside_its_box(renders: Any, questionnaire: Questionnaire) -> None:
    r = renders["easy-read"]
    choice_ids = {q.id for q in questionnaire.questions() if q.type is not QuestionType.RATING}
    count = 0
    for lp, page in zip(r.result.layout.pages, r.pages, strict=True):
        for f in lp.fields:
            if f.id not in choice_ids:
                continue
            for box in f.boxes:
                x0, y0, x1, y1 = box.rect
                assert drawing_near(page, x1, x1 + 25 * MM, y0 - 3 * MM, y1 + 3 * MM), f"{f.id}={box.value}"
                count += 1
    assert count == sum(len(q.options) for q in questionnaire.questions() if q.id in choice_ids)


def test_every_rating_box_has_a_face_and_a_word_above_it(renders: Any, questionnaire: Questionnaire) -> None:
    r = renders["easy-read"]
    rating = next(q for q in questionnaire.questions() if q.type is QuestionType.RATING)
    assert rating.scale[-1].easy_read is not None and rating.scale[-1].easy_read.text == "Not sure"
    rows = 0
    for lp, page in zip(r.result.layout.pages, r.pages, strict=True):
        for f in lp.fields:
            if not f.id.startswith(rating.id + "."):
                continue
            rows += 1
            for box in f.boxes:
                x0, y0, x1, _ = box.rect
                assert drawing_near(page, x0 - 2 * MM, x1 + 2 * MM, y0 - 25 * MM, y0), f"{f.id}={box.value}"
            assert "Not sure" in page.text
    assert rows == len(rating.rows)


def test_opening_page_explains_the_form_in_easy_read(renders: Any, questionnaire: Questionnaire) -> None:
    page = flat(renders["easy-read"].pages[0].text)
    for er in questionnaire.opening.easy_read:
        assert flat(er.text) in page
    assert "The university is asking everyone" not in page


def test_question_words_are_bold_in_easy_read(renders: Any, questionnaire: Questionnaire) -> None:
    pages = renders["easy-read"].pages
    bold = "".join(c["text"] for p in pages for c in p.chars if c["fontname"].endswith("Bold"))
    for q in questionnaire.questions():
        assert q.easy_read is not None
        assert q.easy_read.text.replace(" ", "") in bold.replace(" ", "")


@pytest.mark.parametrize("variant", ["standard", "large-print"])
def test_standard_and_large_print_use_the_normal_wording(renders: Any, questionnaire: Questionnaire, variant: str) -> None:
    text = flat(" ".join(p.text for p in renders[variant].pages))
    for q in questionnaire.questions():
        assert flat(q.text) in text
        if q.easy_read is not None and q.easy_read.text != q.text:
            assert flat(q.easy_read.text) not in text
    for paragraph in questionnaire.opening.paragraphs + questionnaire.closing.paragraphs:
        assert flat(paragraph) in text


def test_pictogram_credit_is_on_the_back_page_of_easy_read(renders: Any) -> None:
    pages = renders["easy-read"].pages
    credit = "Pictograms: Tabler Icons (MIT licence)"
    assert credit in pages[-1].text
    assert all(credit not in p.text for p in pages[:-1])
    assert all(credit not in p.text for p in renders["standard"].pages)


def test_an_unknown_pictogram_is_refused_for_easy_read_only(questionnaire: Questionnaire) -> None:
    data = questionnaire.model_dump(mode="json")
    data["sections"][0]["questions"][0]["options"][0]["easy_read"]["pictogram"] = "no-such-icon"
    q = Questionnaire.model_validate(data)
    with pytest.raises(RenderError, match="no-such-icon"):
        build_layout(q, "easy-read")
    assert build_layout(q, "standard").field_ids()
