"""The screener finds contact data, names, descriptions of one person and abuse, offline, and
takes any text without error (the recall figures are in benchmarks/screen.py)."""

from __future__ import annotations

import pytest

from forms_service.screening import MAX_SCREENED, Screener, Settings, redact


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener()


def kinds(screener: Screener, text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in screener.screen(text):
        out.setdefault(f.kind, []).append(text[f.start:f.end])
    return out


@pytest.mark.parametrize(("text", "kind", "span"), [
    ("write to me at pat.lee@example.ac.uk please", "email", "pat.lee@example.ac.uk"),
    ("its sam dot okoro at example dot co dot uk", "email", "sam dot okoro at example dot co dot uk"),
    ("ring 0113 496 0123 any time", "phone", "0113 496 0123"),
    ("text +44 7700 900 456", "phone", "+44 7700 900 456"),
    ("see www.example.org/values", "url", "www.example.org/values"),
    ("I live at ls6 3qq and it floods", "postcode", "ls6 3qq"),
    ("my NI is QQ 12 34 56 C", "id-number", "QQ 12 34 56 C"),
    ("student no. 2023 45678 here", "id-number", "2023 45678"),
    ("Dr Okonkwo changed my life", "name", "Dr Okonkwo"),
    ("thanks to priya in the library", "name", "priya"),
    ("Jade in HR sorted it", "name", "Jade"),
    ("the head porter in Estates is never there", "singling-out", "the head porter in Estates"),
    ("I'm the only deaf student on my course", "singling-out", "only deaf student on my course"),
    ("the managers here are f*cking clueless", "abuse", "f*cking"),
    ("you are all useless idiots", "abuse", "useless"),
    # the forms people write them in
    ("ring 07700 9OO 190 after six", "phone", "07700 9OO 190"),
    ("give us a ring on oh seven seven double oh nine double oh one four six", "phone",
     "oh seven seven double oh nine double oh one four six"),
    ("email bex_h @ leeds . ac . uk", "email", "bex_h @ leeds . ac . uk"),
    ("ni qq-33-44-55-d", "id-number", "qq-33-44-55-d"),
    ("Student ID 2O1334455", "id-number", "2O1334455"),
    ("Przemysław from Estates fixed our radiator", "name", "Przemysław"),
    ("Kerry-Ann in Student Finance sorted it", "name", "Kerry-Ann"),
    ("professor o'neill", "name", "professor o'neill"),
    ("our HoS announced the cuts by email", "singling-out", "our HoS"),
    ("the technician with the beard in the Engineering workshop", "singling-out", "the technician"),
    ("numpties in the timetabling unit", "abuse", "numpties"),
    ("honestly a total clusterfuck", "abuse", "clusterfuck"),
    ("honestly a $hitshow", "abuse", "$hitshow"),
    ("c u n t s the lot of them", "abuse", "c u n t s"),
    ("kurwa, the visa office lost my documents", "abuse", "kurwa"),
    ("to whoever reported me: watch your back.", "abuse", "watch your back"),
    # the shipped lexicon (Surge AI's list): words and phrases no hand list holds
    ("the new timetable was made by a total dumbass", "abuse", "dumbass"),
    ("whoever designed this, shit for brains", "abuse", "shit for brains"),
    # hateful generalisations about a group, threats in other words, letters split by hyphens
    ("romanians are all thieves, lock your bikes", "abuse", "romanians are all thieves"),
    ("kick the international students out and fees would fall", "abuse", "kick the international students out"),
    ("cut my hours again and see what happens", "abuse", "and see what happens"),
    ("imma deck the next person who takes my oat milk", "abuse", "imma deck"),
    ("w-a-n-k-e-r-s, every one of them", "abuse", "w-a-n-k-e-r-s"),
    ("parasites, the lot of them upstairs", "abuse", "parasites"),
    # one person described in the voices people write in
    ("t'warden on our block never answers", "singling-out", "t'warden on our block"),
    ("the bloke running the bike hire is brilliant", "singling-out", "the bloke running the bike hire"),
    ("the cleaner wi the red hat sings every morning", "singling-out", "the cleaner wi the red hat"),
    ("our landlord never fixes anything", "singling-out", "our landlord"),
    ("the Deputy Vice-Chancellor should come to a seminar", "singling-out", "the Deputy Vice-Chancellor"),
])
def test_each_kind_is_found_with_its_span(screener: Screener, text: str, kind: str, span: str) -> None:
    found = kinds(screener, text)
    assert kind in found, found
    assert any(span in s or s in span for s in found[kind]), found


@pytest.mark.parametrize("text", [
    "Respect for each other, and listening before deciding",
    "The Estates team keep the campus lovely",
    "Grant funding should not decide everything",
    "Will power is not a workload model",
    "We should assess fairly and go to Scunthorpe for the away day",
    "Fees are £9,250 a year; room 1.08 is freezing in 2024",
    "Managers should listen more and lecturers should be paid on time",
    "the Parkinson Building steps are the heart of campus",
    "The Clothworkers building has had no heating since Tuesday",
    "Sheffield, Manchester and York all pay their PGRs more",
    "Charles Thackrah building has no gender neutral toilets",
    "Parking at St James's for placement costs £15 a day",
    "Dr Who night at the Union was the best social of the year",
    "Roger Stevens lecture theatres are freezing in winter and boiling in June",
    "A lecturer once told me I didn't look like a scientist",
    "lectures in June are too hot, pls open the windows ty",
    # countries and festivals are places and times, not people; food and words that merely contain one
    "I came from Jordan and my English improved so much here",
    "Exams in Ramadan were hard, a quiet room to break the fast would help",
    "faggots and mushy peas on the refectory menu please",
    "a bastardised version of last year's plan",
])
def test_clean_answers_pass(screener: Screener, text: str) -> None:
    assert screener.screen(text) == []


@pytest.mark.parametrize("text", [
    "", "   \n\t ", "x" * 20_000, "尊重每个人，倾听学生的声音", "احترام الجميع", "Уважение",
    "null\x00byte and \x1b[31mescape\x07 and \u200b zero width",
    "<script>alert('x')</script> <b>bold</b> [link](http://example.org) **strong**",
])
def test_any_text_is_screened_without_error(screener: Screener, text: str) -> None:
    findings = screener.screen(text)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)


def test_a_very_long_answer_is_held_for_the_part_not_screened(screener: Screener) -> None:
    text = "kindness " * (MAX_SCREENED // 9 + 100)
    [f] = [f for f in screener.screen(text) if f.start >= MAX_SCREENED]
    assert f.end == len(text) and "not screened" in f.reason


def test_a_deployment_adds_its_names_and_allowed_words() -> None:
    screener = Screener(Settings(deny_names=("Wibberley",), allow_words=("priya",)))
    assert kinds(screener, "ask wibberley")["name"] == ["wibberley"]
    assert "name" not in kinds(screener, "thanks to priya")


def test_redaction_puts_a_placeholder_per_kind() -> None:
    text = "call Jo on 07700 900123"
    assert redact(text, [(5, 7, "name"), (11, 23, "phone")]) == "call [name removed] on [contact details removed]"
    with pytest.raises(ValueError):
        redact(text, [(5, 99, "name")])
