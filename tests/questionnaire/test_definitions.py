"""Questionnaire definitions: the shipped one is valid and always there; broken ones give file, line and reason."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from forms_service.errors import QuestionnaireError
from forms_service.questionnaire import (
    FieldType,
    known_definitions,
    load_definition,
    shipped_definitions,
)
from forms_service.questionnaire.model import split_sentences
from tests.conftest import SHIPPED, SHIPPED_RECEIPT, add_version

GROUPS = ["staff", "student", "postgraduate-researcher"]


def test_shipped_questionnaire_is_valid_and_shaped_as_the_product_says() -> None:
    q = load_definition(SHIPPED).questionnaire
    assert (q.id, q.version) == ("big-leeds-conversation", "2026-11")
    group = q.question("group")
    assert [o.value for o in group.options] == GROUPS
    assert q.routing.question == "group"
    assert sorted(q.routing.areas.values()) == sorted(GROUPS)
    fields = {f.id: f for f in q.fields()}
    rows = ["professionalism", "inclusiveness", "integrity", "community", "academic-excellence"]
    for row in rows:
        f = fields[f"values.{row}"]
        assert f.type is FieldType.SINGLE_CHOICE
        assert f.values == ("1", "2", "3", "4", "5", "dont-know")
    texts = [f for f in q.fields() if f.type is FieldType.TEXT]
    assert [f.id for f in texts] == ["q_values", "q_behaviours", "q_barriers", "q_anything_else"]
    assert all(f.feeds == "routed" for f in texts)
    about = [f for f in q.fields() if f.about_you]
    assert [f.id for f in about] == ["faculty", "age", "gender", "disability", "ethnicity"]
    assert all("prefer-not-to-say" in f.values for f in about)
    assert all(f.feeds is None for f in about)


def test_every_question_and_option_has_easy_read_wording_and_a_pictogram() -> None:
    q = load_definition(SHIPPED).questionnaire
    for question in q.questions():
        assert question.easy_read and question.easy_read.pictogram, question.id
        for option in [*question.options, *question.scale]:
            assert option.easy_read and option.easy_read.pictogram, (question.id, option.value)
        for row in question.rows:
            assert row.easy_read and row.easy_read.pictogram, (question.id, row.id)


def test_text_answers_are_routed_by_the_group_answer() -> None:
    q = load_definition(SHIPPED).questionnaire
    assert q.area_for({"group": "student"}, "q_values") == "student"
    assert q.area_for({"group": None}, "q_values") is None
    assert q.area_for({"group": "staff"}, "age") is None


def test_sentences_are_split_for_the_easy_read_limit() -> None:
    assert split_sentences("One idea. Another idea! A third?") == ["One idea.", "Another idea!", "A third?"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _shipped_with(old: str, new: str) -> str:
    text = SHIPPED.read_text(encoding="utf-8")
    assert old in text, old
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


BROKEN = [
    # (name, old text, new text, expected message part, the text whose line is named)
    ("duplicate question id", "      - id: q_behaviours\n", "      - id: q_values\n",
     "the question id 'q_values' is used twice", None),
    ("unknown question type", "        type: rating\n", "        type: ranking\n",
     "sections.1.questions.0.type", "type: ranking"),
    ("misspelt key", "        help: Mark one box in each row.\n", "        hlep: Mark one box in each row.\n",
     "'hlep' is not a known key here", "hlep:"),
    ("bad id characters", "      - id: q_barriers\n", "      - id: Q Barriers\n",
     "'Q Barriers' is not allowed", "id: Q Barriers"),
    ("routing to an unknown question", "  question: group\n", "  question: groups\n",
     "routing names question 'groups', which is not defined", None),
    ("routing misses an answer", "    postgraduate-researcher: postgraduate-researcher\n", "",
     "routing gives no area for the answer(s) postgraduate-researcher", None),
    ("feeds an unknown area", "        lines: 5\n        feeds: routed\n", "        lines: 5\n        feeds: everyone\n",
     "feeds 'everyone', which is not one of the areas", None),
    ("about-you question feeding the conversation",
     "      - id: age\n        type: single_choice\n",
     "      - id: age\n        type: single_choice\n        feeds: staff\n",
     "only a text question feeds the conversation", None),
    ("easy-read sentence too long", "      text: Are you staff or a student?\n",
     "      text: Are you a member of staff or a student or a researcher at this university or somewhere else entirely?\n",
     "easy-read sentences have at most 15 words", "Are you a member of staff or"),
    ("missing title", "title: The Big Leeds Conversation\n", "", "title is missing", None),
    ("writing lines on a choice question", "        type: single_choice\n        text: How old are you?\n",
     "        type: single_choice\n        lines: 4\n        text: How old are you?\n",
     "only a text question has writing lines", None),
]


@pytest.mark.parametrize(
    ("old", "new", "expected", "line_needle"),
    [pytest.param(o, n, e, ln, id=name) for name, o, n, e, ln in BROKEN],
)
def test_invalid_definitions_name_file_line_and_problem(
    tmp_path: Path, old: str, new: str, expected: str, line_needle: str | None
) -> None:
    text = _shipped_with(old, new)
    path = _write(tmp_path, text)
    with pytest.raises(QuestionnaireError) as err:
        load_definition(path)
    message = str(err.value)
    assert message.startswith(f"{path}, line "), message
    assert expected.lower() in message.lower(), message
    if line_needle is not None:
        assert f", line {_line_of(text, line_needle)}:" in message, message


def test_single_choice_with_one_option_is_refused(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index("      - id: disability")
    end = text.index("      - id: ethnicity")
    block = text[start:end]
    lines = block.splitlines(keepends=True)
    kept = [ln for ln in lines if "value: \"no\"" not in ln and "prefer-not-to-say" not in ln]
    path = _write(tmp_path, text[:start] + "".join(kept) + text[end:])
    with pytest.raises(QuestionnaireError, match="needs at least two options"):
        load_definition(path)


def test_duplicate_option_value_is_refused(tmp_path: Path) -> None:
    text = _shipped_with("          - value: student\n", "          - value: staff\n")
    with pytest.raises(QuestionnaireError, match="option value 'staff' is used twice"):
        load_definition(_write(tmp_path, text))


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    text = _shipped_with("title: The Big Leeds Conversation\n", "title: [The Big Leeds Conversation\n")
    with pytest.raises(QuestionnaireError) as err:
        load_definition(_write(tmp_path, text))
    assert ", line " in str(err.value)


def test_duplicate_key_is_refused(tmp_path: Path) -> None:
    text = _shipped_with("title: The Big Leeds Conversation\n",
                         "title: The Big Leeds Conversation\ntitle: Again\n")
    with pytest.raises(QuestionnaireError, match="line 8: .*twice"):
        load_definition(_write(tmp_path, text))


def test_wrong_format_and_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError, match="'format' must be 'forms-service.questionnaire/1'"):
        load_definition(_write(tmp_path, _shipped_with("forms-service.questionnaire/1", "forms/2")))
    with pytest.raises(QuestionnaireError, match="a questionnaire definition is a YAML mapping"):
        load_definition(_write(tmp_path, "- just\n- a list\n"))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(QuestionnaireError, match="no such file"):
        load_definition(tmp_path / "missing.yaml")
    with pytest.raises(QuestionnaireError, match="is a folder"):
        load_definition(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(QuestionnaireError, match="is not UTF-8 text"):
        load_definition(binary)


def test_unknown_pictogram_is_named_with_its_line(tmp_path: Path) -> None:
    text = _shipped_with("pictogram: microscope", "pictogram: no-such-picture")
    with pytest.raises(QuestionnaireError) as err:
        load_definition(_write(tmp_path, text), pictogram_exists=lambda name: name != "no-such-picture")
    assert f"line {_line_of(text, 'no-such-picture')}: there is no pictogram called 'no-such-picture'" in str(err.value)


def test_rating_needs_a_scale_of_two_points(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    start = text.index("          - value: \"2\"")
    end = text.index("  - id: your-views")
    path = _write(tmp_path, text[:start] + "\n" + text[end:])
    with pytest.raises(QuestionnaireError, match="a scale of at least two points"):
        load_definition(path)


# -- where definitions come from: the package, and the layouts folder that adds to it ----------


def test_the_shipped_definitions_are_read_from_the_package() -> None:
    [shipped, with_receipt] = shipped_definitions()
    assert shipped.shipped and shipped.source == "shipped with forms-service"
    assert shipped.path == SHIPPED
    assert shipped.sha256 == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert (shipped.questionnaire.id, shipped.questionnaire.version) == ("big-leeds-conversation", "2026-11")
    assert not shipped.questionnaire.receipt  # forms printed from it keep working without a slip
    assert with_receipt.path == SHIPPED_RECEIPT and with_receipt.questionnaire.version == "2026-12"
    assert with_receipt.questionnaire.receipt


def test_an_empty_or_missing_layouts_folder_still_has_the_shipped_definition(tmp_path: Path) -> None:
    assert [d.path for d in known_definitions(tmp_path)] == [SHIPPED, SHIPPED_RECEIPT]
    assert [d.path for d in known_definitions(tmp_path / "no-such-folder")] == [SHIPPED, SHIPPED_RECEIPT]


def test_definitions_in_the_layouts_folder_add_to_the_shipped_ones(tmp_path: Path) -> None:
    added = add_version(tmp_path, "2027-01")
    found = known_definitions(tmp_path)
    assert [(d.path, d.shipped, d.questionnaire.version) for d in found] == [
        (SHIPPED, True, "2026-11"), (SHIPPED_RECEIPT, True, "2026-12"), (added, False, "2027-01")]
    assert found[2].source == str(added)


def test_an_identical_copy_of_a_shipped_version_is_left_out(tmp_path: Path) -> None:
    copy = tmp_path / "big-leeds-conversation" / "2026-11" / "questionnaire.yaml"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(SHIPPED.read_bytes())
    assert [d.path for d in known_definitions(tmp_path)] == [SHIPPED, SHIPPED_RECEIPT]


def test_a_different_copy_of_a_shipped_version_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "big-leeds-conversation" / "2026-11" / "questionnaire.yaml"
    copy.parent.mkdir(parents=True)
    copy.write_text(_shipped_with("Which group are you in?", "Which group are you part of?"), encoding="utf-8")
    with pytest.raises(QuestionnaireError) as caught:
        known_definitions(tmp_path)
    assert str(caught.value) == (
        f"{copy} defines big-leeds-conversation version 2026-11, which ships with forms-service as "
        f"{SHIPPED} and differs from it: a shipped version cannot be changed, so copy it to a new "
        f"version folder (and set 'version' inside) and change that."
    )


def test_a_definition_in_the_wrong_folder_is_refused(tmp_path: Path) -> None:
    path = add_version(tmp_path, "2027-01")
    moved = path.parent.with_name("2027-02") / path.name
    moved.parent.mkdir()
    path.rename(moved)
    with pytest.raises(QuestionnaireError, match="so it belongs in big-leeds-conversation/2027-01/questionnaire.yaml "
                                                 "under the layouts folder"):
        known_definitions(tmp_path)
