"""Pages without a readable page code: recognised from their marks, printed layout and footer.

The shipped questionnaire is printed by the project's renderer (one run per
variant with a known sheet id, and one copy for the blanks, as the service
keeps them), filled by :mod:`forms_lab.synth`, its page code painted over
before or after scanning, and degraded as a scanner, photocopier or phone
would. Pages of another questionnaire, a blank sheet and a random picture
must not be identified.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import select

from forms_lab.degrade import degrade
from forms_lab.synth import fill_page, random_respondent
from forms_service.context import ServiceContext
from forms_service.layout import Layout
from forms_service.questionnaire import load_definition
from forms_service.questionnaire.loader import parse_definition
from forms_service.render import render_pdf
from forms_service.scan import PageImage, find_page_code
from forms_service.scan.calibration import load_calibration
from forms_service.scan.identify import Identified, Unidentified, identify_page
from forms_service.scan.marks import render_blank
from forms_service.scan.pipeline import IDENTIFIED_NOTE, PageProblem, PageRead, read_page
from forms_service.sheets import PageCode

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"
QUESTIONNAIRE, VERSION = "big-leeds-conversation", "2026-11"
# ids with look-alike characters (8/B, 2/Z, 5/S, 6/G, 7/Z): the footer reader must tell them apart
SHEETS = {"standard": "K7MQ-9XHT-P4Z", "large-print": "B8R2-ZQ5S-G6N", "easy-read": "W4DN-3JCU-E7C"}
SOURCE = 300 / 72  # pixels per point of the clean page rasters
U8 = NDArray[np.uint8]


@dataclass
class Printed:
    """The shipped questionnaire printed once per variant, and the blanks the service compares with."""

    folder: Path
    layouts: dict[str, Layout]

    @property
    def candidates(self) -> list[Layout]:
        return list(self.layouts.values())

    def blank(self, layout: Layout, page: int, dpi: float) -> U8:
        return _blank(str(self.folder / f"blank-{layout.questionnaire}-{layout.variant}.pdf"), page, dpi)

    def raster(self, variant: str, page: int) -> U8:
        return _raster(str(self.folder / f"run-{variant}.pdf"), page)

    def code(self, variant: str, page: int) -> PageCode:
        return PageCode(QUESTIONNAIRE, VERSION, variant, page, SHEETS[variant])


@cache
def _blank(pdf: str, page: int, dpi: float) -> U8:
    return render_blank(pdf, page, dpi / 72.0)


@cache
def _raster(pdf: str, page: int) -> U8:
    document = pdfium.PdfDocument(pdf)
    try:
        return np.array(document[page - 1].render(scale=SOURCE, grayscale=True).to_numpy(), dtype=np.uint8)
    finally:
        document.close()


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    cv2.setNumThreads(1)
    folder = tmp_path_factory.mktemp("identify")
    q = load_definition(SHIPPED).questionnaire
    layouts = {}
    for variant, sheet in SHEETS.items():
        render_pdf(q, variant, folder / f"run-{variant}.pdf", copies=1, sheet_ids=[sheet])
        blank = render_pdf(q, variant, folder / f"blank-{q.id}-{variant}.pdf", copies=1)
        layouts[variant] = blank.layout
    return Printed(folder, layouts)


def scanned(
    printed: Printed,
    variant: str,
    page: int,
    preset: str,
    turns: int,
    *,
    seed: int,
    erase: str = "before",
    smudge_sheet: bool = False,
    raster: U8 | None = None,
) -> tuple[U8, float | None]:
    """A filled page, its page code painted over before or after it is scanned; and its dpi."""
    rng = np.random.default_rng(seed)
    layout_page = printed.layouts[variant].page(page)
    clean = printed.raster(variant, page) if raster is None else raster
    image = fill_page(clean, layout_page, SOURCE, rng, respondent=random_respondent(rng)).image
    x0, y0, x1, y1 = layout_page.page_code
    if erase == "before":
        image[int(y0 * SOURCE) : int(y1 * SOURCE) + 1, int(x0 * SOURCE) : int(x1 * SOURCE) + 1] = 255
    if smudge_sheet:  # a thumb dragged through the sheet id: dark, smeared strokes over it
        assert layout_page.footer is not None
        lx0, ly0, _, ly1 = layout_page.footer.sheet_id.rect
        top, bottom = int((ly0 + 2.5) * SOURCE), int((ly1 + 7.7) * SOURCE)
        for k in range(7):
            cv2.line(image, (int((lx0 + 62) * SOURCE) + 40 * k, top),
                     (int((lx0 + 37) * SOURCE) + 40 * k, bottom), 30, 18)
    d = degrade(image, rng, preset, source_dpi=300, quarter_turns=turns)
    out = d.image.copy()
    if erase == "after":  # white correction tape over the code, on the page as it lies
        corners = d.map_points(np.array([[x0 - 2, y0 - 2], [x1 + 2, y0 - 2], [x1 + 2, y1 + 2],
                                         [x0 - 2, y1 + 2]]) * SOURCE)
        cv2.fillPoly(out, [np.round(corners).astype(np.int32)], 255)
    assert find_page_code(out) is None  # the page code really cannot be read
    return out, (None if preset == "phone" else d.params.dpi)


CASES = [  # variant, page, preset, quarter turns, when the code is painted over
    ("standard", 2, "office", 0, "before"),
    ("standard", 4, "photocopy", 3, "after"),
    ("large-print", 5, "office-150", 1, "before"),
    ("large-print", 10, "bilevel-200", 2, "after"),
    ("easy-read", 3, "phone", 1, "before"),
    ("easy-read", 6, "office", 2, "after"),
]


@pytest.mark.parametrize(("variant", "page", "preset", "turns", "erase"), CASES)
def test_a_page_whose_code_is_painted_over_is_identified(
    printed: Printed, variant: str, page: int, preset: str, turns: int, erase: str
) -> None:
    image, dpi = scanned(printed, variant, page, preset, turns, seed=page * 7 + turns, erase=erase)
    found = identify_page(image, printed.candidates, printed.blank, dpi=dpi)
    assert isinstance(found, Identified), found.reason
    assert found.page_code == printed.code(variant, page)
    assert found.rotation == turns * 90
    assert found.match.score - (found.runner_up.score if found.runner_up else 0.0) > 0.3
    assert found.upright.shape[0] > found.upright.shape[1]  # turned upright (A4 portrait)


def _other_questionnaire(folder: Path) -> tuple[dict[str, Layout], Path]:
    """A questionnaire this service does not know that shares the opening and the about-you pages."""
    source = SHIPPED.read_text(encoding="utf-8")
    cut = source[source.index("  - id: our-values-today") : source.index("  - id: about-you")]
    text = (source.replace(cut, "")
            .replace(f"id: {QUESTIONNAIRE}", "id: campus-travel-survey")
            .replace("title: The Big Leeds Conversation", "title: How do you travel to campus?"))
    q = parse_definition(text.encode(), Path("campus-travel-survey.yaml")).questionnaire
    layouts = {}
    for variant in ("standard", "easy-read"):
        result = render_pdf(q, variant, folder / f"other-{variant}.pdf", copies=1)
        layouts[variant] = result.layout
    return layouts, folder


def test_pages_that_are_not_ours_are_not_identified(printed: Printed) -> None:
    other, folder = _other_questionnaire(printed.folder)
    refused = []
    # page 1 of the other standard form differs from the shipped page 1 in its title and
    # footer only; page 3 of the easy-read one is the shipped page 8 (about you) but for its footer
    for variant, page, preset in (("standard", 1, "office"), ("easy-read", 3, "photocopy")):
        raster = _raster(str(folder / f"other-{variant}.pdf"), page)
        printed_other = Printed(folder, {variant: other[variant]})
        image, dpi = scanned(printed_other, variant, page, preset, 0, seed=page, raster=raster)
        found = identify_page(image, printed.candidates, printed.blank, dpi=dpi)
        assert isinstance(found, Unidentified) and found.match is None
        assert found.scores[0].score > 0.85  # it does look like a known page
        refused.append(found.reason)
    assert "footer says page 1 of 4" in refused[0] and "footer says page 3 of 6" in refused[1]
    rng = np.random.default_rng(5)
    blank_sheet = np.clip(rng.normal(240, 4, (3508, 2480)), 0, 255).astype(np.uint8)
    photo = _random_photo(rng)
    for image in (blank_sheet, photo):
        found = identify_page(image, printed.candidates, printed.blank, dpi=300.0)
        assert isinstance(found, Unidentified) and found.match is None
        assert not found.scores or found.scores[0].score < 0.6
    found = identify_page(blank_sheet, printed.candidates, printed.blank)
    assert isinstance(found, Unidentified) and "registration marks" in found.reason


def _random_photo(rng: np.random.Generator) -> U8:
    """Smooth light and shadow, blobs, lines and a few black discs: not a form."""
    h, w = 3508, 2480
    yy, xx = np.mgrid[0:h, 0:w]
    image = (150 + 60 * np.sin(xx / 300.0) * np.cos(yy / 410.0)).astype(np.float32)
    for _ in range(60):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(image, centre, int(rng.integers(10, 220)), float(rng.integers(0, 255)), -1)
    for _ in range(40):
        a = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        b = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(image, a, b, float(rng.integers(0, 120)), int(rng.integers(2, 30)))
    for x, y in ((200, 200), (2280, 200), (200, 3300), (2280, 3300)):  # black discs in the corners
        cv2.circle(image, (x + int(rng.integers(-80, 80)), y), 33, 10.0, -1)
    return np.clip(image + rng.normal(0, 6, image.shape), 0, 255).astype(np.uint8)


def test_a_page_whose_sheet_id_is_smudged_waits_for_a_person(printed: Printed) -> None:
    image, dpi = scanned(printed, "standard", 3, "office", 0, seed=11, smudge_sheet=True)
    page = PageImage(0, image, dpi or 300.0, False, False, "png")
    outcome = read_page(page, _lookup(printed), printed.blank, load_calibration(), ocr=False,
                        candidates=lambda: printed.candidates)
    assert isinstance(outcome, PageProblem) and outcome.kind == "no_page_code"
    assert outcome.page_code is None  # a sheet id is never guessed
    assert outcome.reason == (
        "No page code could be read on this page; the page looks like page 3 of the standard "
        "big-leeds-conversation form (version 2026-11), but its sheet id could not be read.")


def _lookup(printed: Printed) -> Callable[[str, str, str], Layout | None]:
    def layout(questionnaire: str, version: str, variant: str) -> Layout | None:
        if (questionnaire, version) != (QUESTIONNAIRE, VERSION):
            return None
        return printed.layouts.get(variant)

    return layout


def test_read_page_reads_an_identified_page_and_asks_for_candidates_only_when_needed(
    printed: Printed,
) -> None:
    calibration = load_calibration()
    image, dpi = scanned(printed, "large-print", 3, "office", 0, seed=3)
    page = PageImage(0, image, dpi or 300.0, False, False, "png")
    outcome = read_page(page, _lookup(printed), printed.blank, calibration, ocr=False,
                        candidates=lambda: printed.candidates)
    assert isinstance(outcome, PageRead)
    assert outcome.page_code == printed.code("large-print", 3)
    assert IDENTIFIED_NOTE in outcome.notes
    assert {f.field_id for f in outcome.fields} == {f.id for f in printed.layouts["large-print"].page(3).fields}

    def never() -> list[Layout]:
        raise AssertionError("a page with a readable page code needs no candidates")

    with_code = degrade(printed.raster("large-print", 3), np.random.default_rng(1), "office")
    page = PageImage(0, with_code.image, with_code.params.dpi, False, False, "png")
    outcome = read_page(page, _lookup(printed), printed.blank, calibration, ocr=False, candidates=never)
    assert isinstance(outcome, PageRead) and IDENTIFIED_NOTE not in outcome.notes
    # without candidates, a page without a code goes to a person as before
    page = PageImage(0, image, dpi or 300.0, False, False, "png")
    outcome = read_page(page, _lookup(printed), printed.blank, calibration, ocr=False)
    assert isinstance(outcome, PageProblem) and outcome.reason.startswith("No page code could be read")


def test_the_service_reads_a_page_whose_code_is_painted_over(
    ctx: ServiceContext, printed: Printed
) -> None:
    from forms_service.jobs.queue import run_job
    from forms_service.services import export, identify, ingest
    from forms_service.store.models import ScanPage

    image, dpi = scanned(printed, "standard", 2, "office", 2, seed=21, erase="after")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", dpi=(dpi, dpi))
    batch = ingest.accept_files(ctx, [("no-code.png", buf.getvalue())])
    run_job(ctx, batch.job_id)
    assert identify.unidentified_pages(ctx) == []
    with ctx.db.session() as s:
        [row] = list(s.scalars(select(ScanPage)))
        assert (row.state, row.page, row.variant, row.sheet_id) == ("read", 2, "standard", SHEETS["standard"])
        assert IDENTIFIED_NOTE in row.details["notes"]
    [record] = list(export.iter_records(ctx))
    assert record["sheet"] == SHEETS["standard"] and record["pages"]["received"] == [2]


@pytest.mark.parametrize(("printed_as", "expected"), [
    ("standard", None),
    ("large-print", "but that sheet was printed as the large-print form of big-leeds-conversation 2026-11"),
    (None, "but no print run of this service issued that sheet id"),
])  # fmt: skip
def test_a_page_recognised_by_its_layout_must_be_a_sheet_printed_as_that_form(
    ctx: ServiceContext, printed: Printed, printed_as: str | None, expected: str | None
) -> None:
    """The footer's sheet id is checked against the print runs, when the service printed that form."""
    from forms_service.jobs.queue import run_job
    from forms_service.services import identify, ingest
    from forms_service.store.models import PrintRun, QuestionnaireVersion, ScanPage, Sheet

    with ctx.db.session() as s:
        qv = s.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire == QUESTIONNAIRE,
                                                         QuestionnaireVersion.version == VERSION))
        assert qv is not None
        # the service printed standard forms; this sheet id was among them, in another run, or not at all
        run = PrintRun(questionnaire_version_id=qv.id, variant="standard", copies=1, state="done")
        s.add(run)
        s.flush()
        s.add(Sheet(sheet_id="ZZZZ-ZZZZ-ZZZ", print_run_id=run.id, copy=1))
        if printed_as is not None:
            other = PrintRun(questionnaire_version_id=qv.id, variant=printed_as, copies=1, state="done")
            s.add(other)
            s.flush()
            s.add(Sheet(sheet_id=SHEETS["standard"], print_run_id=other.id, copy=1))
    image, dpi = scanned(printed, "standard", 2, "office", 2, seed=21, erase="after")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", dpi=(dpi, dpi))
    batch = ingest.accept_files(ctx, [("no-code.png", buf.getvalue())])
    run_job(ctx, batch.job_id)
    with ctx.db.session() as s:
        [row] = list(s.scalars(select(ScanPage)))
        state = row.state
    if expected is None:
        assert state == "read" and identify.unidentified_pages(ctx) == []
        return
    assert state == "unidentified"
    [waiting] = identify.unidentified_pages(ctx)
    assert "looks like page 2 of the standard form" in waiting["reason"]
    assert f"its footer reads sheet {SHEETS['standard']}" in waiting["reason"] and expected in waiting["reason"]
    assert ctx.storage.exists(waiting["image_key"])
