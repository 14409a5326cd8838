"""Reading pages of stored scans, and recording what became of each page.

A :class:`PageReader` reads pages with the shipped calibration, the layouts and
the blank forms (looked up once per job and shared by the reading threads), and
records each outcome: a read page joins its response (:mod:`.responses`); a page
the machine cannot identify or line up waits for a person with its picture
(:mod:`.identify` works that queue); a page that cannot be read is rejected with
its reason.

Must never: log answer text or sheet ids.
"""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import select

from .. import storage
from ..context import ServiceContext
from ..errors import NotFound
from ..layout import Layout
from ..scan import PageImage, PageRejected, load_pages
from ..scan.calibration import Calibration, load_calibration
from ..scan.pipeline import IDENTIFIED_NOTE, PageProblem, PageRead, hold_critical, read_page
from ..sheets import PageCode
from ..states import ScanFileState, ScanPageState
from ..store.models import PrintRun, QuestionnaireVersion, ScanFile, ScanPage, Sheet, utcnow
from . import layouts, questionnaires, responses

PAGE_PICTURE_DPI = 110.0
"""The picture of an unidentified page kept for a person is at most this sharp (enough to read it)."""


class PageReader:
    """Reads pages and records them; caches layouts and blank pages for the job."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.calibration: Calibration = load_calibration().with_floor(ctx.config.auto_accept_min)
        self._layouts: dict[tuple[str, str, str], Layout | None] = {}
        self._candidates: list[Layout] | None = None
        self._critical: dict[tuple[str, str], frozenset[str]] = {}
        self._lock = threading.RLock()  # pages are read on several threads (ingest.READERS)

    def layout(self, questionnaire: str, version: str, variant: str) -> Layout | None:
        """The layout a page names by its page code: kept as its file, since a page is read with it."""
        key = (questionnaire, version, variant)
        with self._lock:
            if key not in self._layouts:
                self._layouts[key] = layouts.keep_layout(self.ctx, *key)
            return self._layouts[key]

    def candidates(self) -> list[Layout]:
        """Every layout of every questionnaire version loaded here: what a page without a
        readable page code is compared with (looked up once per job, on first need)."""
        with self._lock:
            if self._candidates is None:
                self._candidates = layouts.all_layouts(self.ctx, self._layouts)
            return self._candidates

    def blank(self, layout: Layout, page: int, dpi: float) -> NDArray[np.uint8]:
        return layouts.blank_page(self.ctx, layout.questionnaire, layout.version, layout.variant, page, dpi)

    def critical(self, questionnaire: str, version: str) -> frozenset[str]:
        """The critical fields of a questionnaire version (the routing question's, and those marked)."""
        key = (questionnaire, version)
        with self._lock:
            if key not in self._critical:
                self._critical[key] = questionnaires.get_questionnaire(self.ctx, *key).critical_fields()
            return self._critical[key]

    def _held(self, outcome: PageRead | PageProblem) -> PageRead | PageProblem:
        if isinstance(outcome, PageRead):
            code = outcome.page_code
            hold_critical(outcome, self.critical(code.questionnaire, code.version))
        return outcome

    def read(self, page: PageImage | PageRejected) -> PageRead | PageProblem | None:
        """The machine's reading of a page (None for a page that could not be decoded)."""
        if isinstance(page, PageRejected):
            return None
        outcome = read_page(page, self.layout, self.blank, self.calibration, candidates=self.candidates)
        if isinstance(outcome, PageRead) and IDENTIFIED_NOTE in outcome.notes:
            outcome = self._as_printed(outcome)
            problem = self._printed_as(outcome.page_code)
            if problem is not None:
                return PageProblem("no_page_code", problem, upright=page.image)
        return self._held(outcome)

    def _as_printed(self, read: PageRead) -> PageRead:
        """A page recognised by its layout, filed under the version its sheet was printed as when
        that version prints the page alike (two versions of one form share most pages)."""
        code = read.page_code
        with self.ctx.db.session() as s:
            sheet = s.get(Sheet, code.sheet)
            run = s.get(PrintRun, sheet.print_run_id) if sheet is not None else None
            version = run.questionnaire_version.version if run is not None else None
            same_form = run is not None and (run.questionnaire_version.questionnaire, run.variant) == (
                code.questionnaire, code.variant)
        if not same_form or version is None or version == code.version:
            return read
        printed = self.layout(code.questionnaire, version, code.variant)
        if printed is None or code.page > len(printed.pages) or \
                printed.page(code.page).fields != read.layout.page(code.page).fields:
            return read
        return replace(read, page_code=PageCode(code.questionnaire, version, code.variant, code.page, code.sheet),
                       layout=printed)

    def read_as(self, page: PageImage, code: PageCode, rotation: int) -> PageRead | PageProblem:
        """Read a page as the page a person says it is, turned as they say."""
        return self._held(read_page(page, self.layout, self.blank, self.calibration, known=(code, rotation)))

    def _printed_as(self, code: PageCode) -> str | None:
        """Why a page recognised by its layout cannot be the sheet its footer names (None: it can).

        The footer's sheet id was read twice and its check character holds, but a
        misread that passes both would file the page with someone else's answers:
        so the sheet id must also be one this service printed as that form, unless
        the service has no print run of that form at all (printed elsewhere).
        """
        lead = (f"No page code could be read on this page; it looks like page {code.page} of the "
                f"{code.variant} form of {code.questionnaire} {code.version}, and its footer reads "
                f"sheet {code.sheet}")
        with self.ctx.db.session() as s:
            sheet = s.get(Sheet, code.sheet)
            if sheet is not None:
                run = s.get(PrintRun, sheet.print_run_id)
                assert run is not None
                qv = run.questionnaire_version
                if (qv.questionnaire, qv.version, run.variant) == (code.questionnaire, code.version, code.variant):
                    return None
                return (f"{lead}, but that sheet was printed as the {run.variant} form of "
                        f"{qv.questionnaire} {qv.version}: check the sheet id and identify the page by hand.")
            printed = s.scalar(
                select(PrintRun.id).join(QuestionnaireVersion)
                .where(QuestionnaireVersion.questionnaire == code.questionnaire,
                       QuestionnaireVersion.version == code.version, PrintRun.variant == code.variant)
                .limit(1))  # fmt: skip
        if printed is None:
            return None
        return (f"{lead}, but no print run of this service issued that sheet id: "
                f"check the sheet id and identify the page by hand.")

    def record(self, file_id: int, page: PageImage | PageRejected,
               outcome: PageRead | PageProblem | None) -> None:
        """Record what became of a page."""
        if isinstance(page, PageRejected) or outcome is None:
            reason = page.reason if isinstance(page, PageRejected) else "The page could not be read."
            _page_row(self.ctx, file_id, page.source_index, state=ScanPageState.REJECTED, reason=reason)
            return
        if isinstance(outcome, PageProblem):
            state = ScanPageState.REJECTED if outcome.kind == "unknown_layout" else ScanPageState.UNIDENTIFIED
            reason = outcome.reason
            if outcome.kind == "misaligned":  # identified, but its marks were not found: a person cannot fix that
                reason += (" Its page code was read, so identifying it by hand will not help: scan it again, "
                           "flat, with the whole page in view.")
            picture = None
            if state is ScanPageState.UNIDENTIFIED and outcome.upright is not None:
                picture = self._keep_picture(file_id, page.source_index, outcome.upright, page.dpi)
            _page_row(self.ctx, file_id, page.source_index, state=state, reason=reason,
                      dpi=page.dpi, bilevel=page.bilevel, image_key=picture,
                      details={"turned": outcome.turned, "kind": outcome.kind})
            return
        responses.record_reading(self.ctx, file_id, page, outcome)

    def _keep_picture(self, file_id: int, source_index: int, image: NDArray[np.uint8], dpi: float) -> str:
        """Store the picture of a page for the person who will identify it; returns its key."""
        scale = min(1.0, PAGE_PICTURE_DPI / max(dpi, 1.0))
        im = Image.fromarray(image)
        if scale < 1.0:
            im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))))
        buf = io.BytesIO()
        im.save(buf, format="PNG", compress_level=3)
        return self.ctx.storage.write(storage.page_image_key(stored_file(self.ctx, file_id).sha256, source_index),
                                      buf.getvalue())


def _page_row(ctx: ServiceContext, file_id: int, index: int, **values: Any) -> int:
    with ctx.db.session() as s:
        row = s.scalar(select(ScanPage).where(ScanPage.scan_file_id == file_id, ScanPage.source_index == index))
        if row is None:
            row = ScanPage(scan_file_id=file_id, source_index=index)
            s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.read_at = utcnow()
        s.flush()
        return row.id


class StoredFile:
    """What a job needs to know of a stored scan file (detached from the database session)."""

    def __init__(self, row: ScanFile) -> None:
        self.id, self.filename, self.sha256, self.kind = row.id, row.filename, row.sha256, row.kind
        self.state, self.pages = row.state, row.pages

    @property
    def key(self) -> str:
        return storage.original_key(self.sha256, self.kind)


def stored_file(ctx: ServiceContext, file_id: int) -> StoredFile:
    with ctx.db.session() as s:
        row = s.get(ScanFile, file_id)
        assert row is not None
        return StoredFile(row)


def load_page(ctx: ServiceContext, file_id: int, source_index: int) -> PageImage | PageRejected:
    """One page of a stored scan file, decoded again (for a person's second look)."""
    with ctx.db.session() as s:
        row = s.get(ScanFile, file_id)
        if row is not None and row.state == ScanFileState.PURGED:
            raise NotFound("This scan was deleted by the retention purge: only the paper form can show the page now.")
    f = stored_file(ctx, file_id)
    return next(p for p in load_pages(ctx.storage.read(f.key), f.filename) if p.source_index == source_index)
