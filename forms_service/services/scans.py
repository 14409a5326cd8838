"""Scans: accept files, read their pages in the background, and group pages into responses.

Accepting a file stores the original, content-addressed by its SHA-256, under
``$FORMS_SERVICE_HOME/scans/``; the same file twice is recognised and not read
again. Reading happens in a ``read_scans`` job: every page is identified,
aligned and read (``scan.pipeline``), and the result recorded:

* a page that was read joins the response of its sheet id; a page seen twice
  with the same content is noted and ignored; the same sheet id and page with
  different content (a photocopied form) starts a second response that is
  flagged for a person, never merged;
* a page the machine cannot identify or line up waits for a person in the
  unidentified-pages queue, with its reason;
* a page or file that cannot be read at all is rejected with its reason.

A job that dies half-way loses nothing: on the next attempt, pages already
recorded are skipped and the others are read.

Must never: log answer text or sheet ids, or store anything about who a
respondent is.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import select

from ..errors import NotFound
from ..jobs.queue import JobHandle, enqueue
from ..layout import Layout, LayoutError
from ..pdfium import PDFIUM_LOCK
from ..scan import PageImage, PageRejected, ScanFileError, content_sha256, detect_kind, load_pages
from ..scan.calibration import Calibration, load_calibration
from ..scan.marks import render_blank
from ..scan.pipeline import IDENTIFIED_NOTE, FieldResult, PageProblem, PageRead, read_page
from ..sheets import PageCode
from ..store.models import (
    FieldReading,
    PrintRun,
    QuestionnaireVersion,
    Response,
    ScanFile,
    ScanPage,
    Sheet,
    utcnow,
)
from .context import ServiceContext
from .printing import layout_for, variants

log = logging.getLogger(__name__)

SET_ASIDE = "set_aside"  # a page state: a person judged that only a new scan of it can be read
SUFFIX = {"pdf": ".pdf", "tiff": ".tif", "png": ".png", "jpeg": ".jpg"}


@dataclass(frozen=True)
class FileOutcome:
    filename: str
    state: str  # accepted, duplicate, rejected
    reason: str | None = None
    scan_file: int | None = None


@dataclass
class IngestBatch:
    job_id: int
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def rejected(self) -> list[FileOutcome]:
        return [f for f in self.files if f.state == "rejected"]


def accept_files(ctx: ServiceContext, items: Iterable[tuple[str, bytes]]) -> IngestBatch:
    """Store each file (or say why not) and queue one job that reads the accepted ones."""
    outcomes: list[FileOutcome] = []
    for filename, data in items:
        name = Path(filename).name or "unnamed file"
        try:
            kind = detect_kind(data, name)
        except ScanFileError as exc:
            outcomes.append(FileOutcome(name, "rejected", exc.message))
            continue
        sha = content_sha256(data)
        with ctx.db.session() as s:
            known = s.scalar(select(ScanFile).where(ScanFile.sha256 == sha))
            if known is not None and known.state == "queued":
                # received before, but its reading never finished: read it in this job
                outcomes.append(FileOutcome(name, "accepted", None, known.id))
                continue
            if known is not None:
                outcomes.append(FileOutcome(
                    name, "duplicate",
                    f"{name} was already received (as {known.filename}); it is not read again.",
                    known.id))
                continue
            path = _original_path(ctx, sha, kind)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
            row = ScanFile(sha256=sha, filename=name[:255], size=len(data), kind=kind)
            s.add(row)
            s.flush()
            outcomes.append(FileOutcome(name, "accepted", None, row.id))
    accepted = [o.scan_file for o in outcomes if o.state == "accepted"]
    rejected = [{"file": o.filename, "reason": o.reason} for o in outcomes if o.state == "rejected"]
    duplicates = [{"file": o.filename, "reason": o.reason} for o in outcomes if o.state == "duplicate"]
    job_id = enqueue(ctx, "read_scans",
                     {"scan_files": accepted, "rejected": rejected, "duplicates": duplicates})
    with ctx.db.session() as s:
        for row in s.scalars(select(ScanFile).where(ScanFile.id.in_(accepted))):
            row.job_id = job_id
    log.info("scans accepted", extra={"job": job_id, "accepted": len(accepted),
                                      "rejected": len(rejected), "duplicates": len(duplicates)})
    return IngestBatch(job_id, outcomes)


def accept_paths(ctx: ServiceContext, paths: Iterable[Path]) -> IngestBatch:
    """Accept files and folders (folders are walked, hidden files skipped)."""
    return accept_files(ctx, _read_all(paths))


def _read_all(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                    yield str(child), child.read_bytes()
        elif path.is_file():
            yield str(path), path.read_bytes()
        else:
            yield str(path), b""  # named but missing: reported as empty below


def _original_path(ctx: ServiceContext, sha: str, kind: str) -> Path:
    return ctx.config.scans_dir / sha[:2] / f"{sha}{SUFFIX[kind]}"


# -- reading, as a background job ----------------------------------------------


def read_scans(ctx: ServiceContext, job: JobHandle) -> None:
    ids: list[int] = list(job.payload.get("scan_files", []))
    reader = _Reader(ctx)
    with ctx.db.session() as s:
        files = {f.id: (f.filename, f.sha256, f.kind, f.state, f.pages)
                 for f in s.scalars(select(ScanFile).where(ScanFile.id.in_(ids)))}
    counts = {i: _page_count(ctx, *files[i][1:3]) for i in ids if i in files}
    total = sum(counts.values())
    done = 0
    job.progress(done, total)
    for file_id in ids:
        if file_id not in files:
            continue
        filename, sha, kind, state, _pages = files[file_id]
        if state in ("read", "rejected"):
            done += counts[file_id]
            job.progress(done, total)
            continue
        with ctx.db.session() as s:
            finished = set(s.scalars(select(ScanPage.source_index).where(
                ScanPage.scan_file_id == file_id, ScanPage.state != "queued")))
        data = _original_path(ctx, sha, kind or "pdf").read_bytes()
        counter = _Seen()
        try:
            todo = (p for p in load_pages(data, filename) if counter(p, finished))
            for page, reading in _read_ahead(reader.read, todo):
                reader.store(file_id, page, reading)
                done += 1
                job.progress(done, total)
            done += len(finished)
            job.progress(done, total)
        except ScanFileError as exc:
            with ctx.db.session() as s:
                row = s.get(ScanFile, file_id)
                assert row is not None
                row.state, row.reason = "rejected", exc.message
            done += max(0, counts[file_id] - counter.seen)
            job.progress(done, total)
            continue
        with ctx.db.session() as s:
            row = s.get(ScanFile, file_id)
            assert row is not None
            row.state, row.pages = "read", counter.seen
    job.progress(total, total, summary_text(job_summary(ctx, job.id)))


#: pages read at once, each on its own thread, while the job records the ones before them in order
#: (OpenCV, numpy and the OCR engine's process do their work outside Python's lock)
READERS = 2


def _read_ahead(read: Callable[[Any], Any], pages: Iterable[Any], readers: int = READERS) -> Iterator[tuple[Any, Any]]:
    """``(page, read(page))`` in the pages' order, the next pages being read meanwhile.

    Pages are recorded one by one in order, as before: a job stopped part way has recorded
    a run of pages from the start and reads the rest again. A file that turns out damaged
    part way (the pages' iterator raises) still has the pages before the damage recorded.
    """
    pending: deque[tuple[Any, Future[Any]]] = deque()

    def oldest() -> tuple[Any, Any]:
        page, future = pending.popleft()
        return page, future.result()

    with ThreadPoolExecutor(max_workers=readers, thread_name_prefix="forms-service-read") as pool:
        it = iter(pages)
        while True:
            try:
                page = next(it)
            except StopIteration:
                break
            except Exception:  # only the pages' iterator: a page that fails to read stops here at once
                while pending:
                    yield oldest()
                raise
            pending.append((page, pool.submit(read, page)))
            if len(pending) > readers:
                yield oldest()
        while pending:
            yield oldest()


def _page_count(ctx: ServiceContext, sha: str, kind: str | None) -> int:
    """Pages in a stored file, cheaply (for the progress bar)."""
    path = _original_path(ctx, sha, kind or "pdf")
    try:
        if kind == "pdf":
            import pypdfium2

            with PDFIUM_LOCK:
                doc = pypdfium2.PdfDocument(str(path))
                try:
                    return len(doc)
                finally:
                    doc.close()
        if kind == "tiff":
            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1))
    except Exception:  # a damaged file: its reading will say what is wrong
        return 1
    return 1


class _Reader:
    """Reads pages and records them; caches layouts and blank pages for the job."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.calibration: Calibration = load_calibration().with_floor(ctx.config.auto_accept_min)
        self._layouts: dict[tuple[str, str, str], Layout | None] = {}
        self._candidates: list[Layout] | None = None
        self._lock = threading.RLock()  # pages are read on several threads (READERS)

    def layout(self, questionnaire: str, version: str, variant: str) -> Layout | None:
        key = (questionnaire, version, variant)
        with self._lock:  # a layout drawn from its definition is kept as a file: once
            if key not in self._layouts:
                self._layouts[key] = layout_for(self.ctx, *key)
            return self._layouts[key]

    def candidates(self) -> list[Layout]:
        """Every layout of every questionnaire version loaded here: what a page without a
        readable page code is compared with (loaded once per job, on first need)."""
        with self._lock:
            if self._candidates is None:
                from .questionnaires import list_versions

                found: list[Layout] = []
                for info in list_versions(self.ctx):
                    for variant in variants():
                        try:  # a variant never printed is drawn, not kept: no page has been read with it yet
                            key = (info.questionnaire, info.version, variant)
                            layout = self._layouts.get(key) or layout_for(self.ctx, *key, keep=False)
                        except LayoutError:
                            continue  # a broken layout file: the others still serve
                        if layout is not None:
                            found.append(layout)
                self._candidates = found
            return self._candidates

    def blank(self, layout: Layout, page: int, dpi: float) -> NDArray[np.uint8]:
        return blank_page(self.ctx, layout.questionnaire, layout.version, layout.variant, page, dpi)

    def read(self, page: PageImage | PageRejected) -> PageRead | PageProblem | None:
        """The machine's reading of a page (None for a page that could not be decoded)."""
        if isinstance(page, PageRejected):
            return None
        outcome = read_page(page, self.layout, self.blank, self.calibration, candidates=self.candidates)
        if isinstance(outcome, PageRead) and IDENTIFIED_NOTE in outcome.notes:
            problem = self._printed_as(outcome.page_code)
            if problem is not None:
                return PageProblem("no_page_code", problem, upright=page.image)
        return outcome

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

    def store(self, file_id: int, page: PageImage | PageRejected,
              outcome: PageRead | PageProblem | None) -> None:
        """Record what became of a page."""
        if isinstance(page, PageRejected) or outcome is None:
            reason = page.reason if isinstance(page, PageRejected) else "The page could not be read."
            self._page_row(file_id, page.source_index, state="rejected", reason=reason)
            return
        if isinstance(outcome, PageProblem):
            state = "rejected" if outcome.kind == "unknown_layout" else "unidentified"
            reason = outcome.reason
            if outcome.kind == "misaligned":  # identified, but its marks were not found: a person cannot fix that
                reason += (" Its page code was read, so identifying it by hand will not help: scan it again, "
                           "flat, with the whole page in view.")
            row_id = self._page_row(file_id, page.source_index, state=state, reason=reason,
                                    dpi=page.dpi, bilevel=page.bilevel,
                                    details={"turned": outcome.turned, "kind": outcome.kind})
            if state == "unidentified" and outcome.upright is not None:
                self._save_page_image(row_id, outcome.upright, page.dpi)
            return
        record_reading(self.ctx, file_id, page, outcome)

    def _page_row(self, file_id: int, index: int, **values: Any) -> int:
        with self.ctx.db.session() as s:
            row = s.scalar(select(ScanPage).where(ScanPage.scan_file_id == file_id,
                                                  ScanPage.source_index == index))
            if row is None:
                row = ScanPage(scan_file_id=file_id, source_index=index)
                s.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.read_at = utcnow()
            s.flush()
            return row.id

    def _save_page_image(self, row_id: int, image: NDArray[np.uint8], dpi: float) -> None:
        path = self.ctx.config.home / "pages" / f"{row_id}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        scale = min(1.0, 110.0 / max(dpi, 1.0))
        im = Image.fromarray(image)
        if scale < 1.0:
            im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))))
        im.save(path, format="PNG", compress_level=3)
        with self.ctx.db.session() as s:
            row = s.get(ScanPage, row_id)
            assert row is not None
            row.image_path = str(path)


class _Seen:
    """Counts the pages a file yields while letting through only those not yet recorded."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, page: PageImage | PageRejected, finished: set[int]) -> bool:
        self.seen += 1
        return page.source_index not in finished


def record_reading(ctx: ServiceContext, file_id: int, page: PageImage, read: PageRead) -> None:
    """Attach a read page to its response, or note it as a duplicate or a conflict."""
    code = read.page_code
    fingerprint = read.fingerprint
    with ctx.db.session() as s:
        row = s.scalar(select(ScanPage).where(ScanPage.scan_file_id == file_id,
                                              ScanPage.source_index == page.source_index))
        if row is None:
            row = ScanPage(scan_file_id=file_id, source_index=page.source_index)
            s.add(row)
        row.questionnaire, row.version, row.variant = code.questionnaire, code.version, code.variant
        row.page, row.sheet_id, row.fingerprint = code.page, code.sheet, fingerprint
        row.dpi, row.bilevel, row.read_at = page.dpi, page.bilevel, utcnow()
        row.details = {"alignment": read.alignment.method, "alignment_note": read.alignment.note,
                       "max_residual_pt": round(read.alignment.max_residual_pt, 2),
                       "notes": read.notes}
        responses = list(s.scalars(select(Response).where(Response.sheet_id == code.sheet)
                                   .order_by(Response.id)))
        target: Response | None = None
        for response in responses:
            same_page = s.scalars(select(ScanPage).where(
                ScanPage.response_id == response.id, ScanPage.page == code.page,
                ScanPage.state == "read")).first()
            if same_page is None:
                target = response
                break
            if same_page.fingerprint == fingerprint:
                row.state, row.response_id = "duplicate", response.id
                row.reason = "This page was already read (the same page scanned twice); ignored."
                return
        if target is None:
            target = Response(
                public_id=secrets.token_hex(8), sheet_id=code.sheet, questionnaire=code.questionnaire,
                version=code.version, variant=code.variant, pages_expected=len(read.layout.pages),
                conflict_of=responses[0].id if responses else None,
            )
            s.add(target)
            s.flush()
            if responses:
                row.reason = ("Another copy of this sheet id with different answers was already read "
                              "(a photocopied form?): kept apart for a person to check.")
        row.state, row.response_id = "read", target.id
        sheet = s.get(Sheet, code.sheet)
        if sheet is not None and sheet.returned_at is None:
            sheet.returned_at = utcnow()
        s.flush()
        _store_fields(ctx, s, target, code.page, read.fields)


def _store_fields(ctx: ServiceContext, s: Any, response: Response, page: int,
                  results: list[FieldResult]) -> None:
    for result in results:
        reading = s.scalar(select(FieldReading).where(FieldReading.response_id == response.id,
                                                      FieldReading.field_id == result.field_id))
        if reading is None:
            reading = FieldReading(response_id=response.id, field_id=result.field_id, type=result.type,
                                   details={})
            s.add(reading)
        if reading.state == "verified":
            continue  # a person's answer is never overwritten by the machine
        if result.type != "text":
            reading.value = {"v": result.value}
            reading.confidence = round(float(result.confidence), 4)
            reading.state = "auto" if result.auto else "queued"
            reading.page = page
            reading.details = result.details
        else:
            parts = dict(reading.details.get("parts", {}))
            crop_path = None
            if result.crop is not None and result.written:
                crop_path = _save_crop(ctx, response.public_id, result.field_id, result.part or 1, result.crop)
            parts[str(result.part or 1)] = {
                "page": page, "written": bool(result.written), "text": result.value,
                "confidence": round(float(result.confidence), 4), "auto": bool(result.auto),
                "crop": crop_path, "words": [[w, round(c, 1)] for w, c in result.word_confidences],
            }
            reading.details = {"parts": parts}
            ordered = [parts[k] for k in sorted(parts, key=int)]
            reading.value = {"v": "\n".join(p["text"] for p in ordered if p["text"])}
            reading.confidence = min(p["confidence"] for p in ordered)
            reading.state = "auto" if all(p["auto"] for p in ordered) else "queued"
            reading.suggestion = reading.value["v"] or None
            reading.page = ordered[0]["page"]
            reading.crop_path = next((p["crop"] for p in ordered if p["crop"]), None)
        reading.updated_at = utcnow()


def _save_crop(ctx: ServiceContext, response: str, field_id: str, part: int,
               crop: NDArray[np.uint8]) -> str:
    path = ctx.config.home / "crops" / response / f"{field_id}-{part}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, format="PNG", compress_level=3)
    path.write_bytes(buf.getvalue())
    return str(path)


#: pages are read on several threads (READERS): one of them draws a missing blank form
_BLANK_LOCK = threading.Lock()


def blank_page(ctx: ServiceContext, questionnaire: str, version: str, variant: str, page: int,
               dpi: float) -> NDArray[np.uint8]:
    """The blank printed page in layout coordinates at ``dpi``, rendered from the same renderer.

    The one-copy PDF is kept under ``$FORMS_SERVICE_HOME/blanks`` (keyed by the
    definition's hash); rasters are cached in memory per process.
    """
    from .questionnaires import get_questionnaire, get_version

    info = get_version(ctx, questionnaire, version)
    pdf = ctx.config.home / "blanks" / questionnaire / version / f"{variant}-{info.sha256[:12]}.pdf"
    with _BLANK_LOCK:
        if not pdf.exists():
            from ..render import render_pdf

            pdf.parent.mkdir(parents=True, exist_ok=True)
            partial = pdf.with_suffix(".part.pdf")
            render_pdf(get_questionnaire(ctx, questionnaire, version), variant, partial, copies=1)
            partial.replace(pdf)
    return _raster(str(pdf), page, float(dpi))


@lru_cache(maxsize=64)
def _raster(pdf: str, page: int, dpi: float) -> NDArray[np.uint8]:
    image = render_blank(pdf, page, dpi / 72.0)
    image.setflags(write=False)
    return image


# -- what became of a job ---------------------------------------------------------


@dataclass
class JobSummary:
    job_id: int
    state: str
    pages_done: int
    pages_total: int
    files: list[dict[str, Any]]
    pages_read: int
    pages_duplicate: int
    pages_unidentified: list[dict[str, Any]]
    pages_set_aside: list[dict[str, Any]]
    pages_rejected: list[dict[str, Any]]
    responses: int
    fields_queued: int
    notes: list[str]

    @property
    def rejected_files(self) -> list[dict[str, Any]]:
        return [f for f in self.files if f["state"] == "rejected"]


def job_summary(ctx: ServiceContext, job_id: int) -> JobSummary:
    from ..jobs import get_job

    job = get_job(ctx, job_id)
    if job is None or job.kind != "read_scans":
        raise NotFound(f"There is no scan job {job_id}.")
    files: list[dict[str, Any]] = []
    files += [{"file": r["file"], "state": "rejected", "reason": r["reason"]} for r in job.payload.get("rejected", [])]
    files += [{"file": r["file"], "state": "duplicate", "reason": r["reason"]} for r in job.payload.get("duplicates", [])]
    with ctx.db.session() as s:
        rows = list(s.scalars(select(ScanFile).where(ScanFile.id.in_(job.payload.get("scan_files", [])))))
        for f in rows:
            files.append({"file": f.filename, "state": f.state if f.state != "queued" else "reading",
                          "reason": f.reason, "pages": f.pages})
        pages = list(s.scalars(select(ScanPage).where(ScanPage.scan_file_id.in_([f.id for f in rows]))))
        names = {f.id: f.filename for f in rows}
        response_ids = {p.response_id for p in pages if p.response_id is not None and p.state == "read"}
        queued = 0
        if response_ids:
            queued = len(list(s.scalars(select(FieldReading.id).where(
                FieldReading.response_id.in_(response_ids), FieldReading.state == "queued"))))
    notes = sorted({n for p in pages for n in (p.details or {}).get("notes", [])})

    def listed(state: str) -> list[dict[str, Any]]:
        return [{"file": names[p.scan_file_id], "page": p.source_index + 1, "reason": p.reason}
                for p in pages if p.state == state]

    floor = ctx.config.auto_accept_min
    if floor > 1.0:
        notes.append("auto-acceptance is off (FORMS_SERVICE_AUTO_ACCEPT=off): a person verifies every field")
    elif floor > 0.0:
        notes.append(f"only readings at least {floor:g} sure are accepted without a person "
                     f"(FORMS_SERVICE_AUTO_ACCEPT={floor:g})")
    return JobSummary(
        job_id=job_id, state=job.state, pages_done=job.done, pages_total=job.total, files=files,
        pages_read=sum(1 for p in pages if p.state == "read"),
        pages_duplicate=sum(1 for p in pages if p.state == "duplicate"),
        pages_unidentified=listed("unidentified"), pages_set_aside=listed(SET_ASIDE),
        pages_rejected=listed("rejected"),
        responses=len(response_ids), fields_queued=queued, notes=notes,
    )


def summary_text(summary: JobSummary) -> str:
    """The ingest summary in a sentence or two (also the job's message)."""
    parts = [f"{summary.pages_read} page{'s' if summary.pages_read != 1 else ''} read",
             f"{summary.responses} response{'s' if summary.responses != 1 else ''} touched",
             f"{summary.fields_queued} field{'s' if summary.fields_queued != 1 else ''} waiting for a person"]
    if summary.pages_duplicate:
        parts.append(f"{summary.pages_duplicate} page{'s' if summary.pages_duplicate != 1 else ''} seen before")
    if summary.pages_unidentified:
        parts.append(f"{len(summary.pages_unidentified)} page(s) for a person to identify")
    if summary.pages_set_aside:
        parts.append(f"{len(summary.pages_set_aside)} page(s) set aside for a new scan")
    rejected = len(summary.rejected_files) + len(summary.pages_rejected)
    if rejected:
        parts.append(f"{rejected} file(s) or page(s) rejected")
    return ", ".join(parts) + "."


# -- lists for the web pages, and identifying a page by hand ---------------------------


def recent_jobs(ctx: ServiceContext, limit: int = 20) -> list[dict[str, Any]]:
    from ..store.models import Job

    with ctx.db.session() as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "read_scans").order_by(Job.id.desc()).limit(limit)))
        return [{"id": j.id, "state": j.state, "done": j.done, "total": j.total, "message": j.message,
                 "created_at": j.created_at, "files": len(j.payload.get("scan_files", []))} for j in jobs]


def count_unidentified(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return len(list(s.scalars(select(ScanPage.id).where(ScanPage.state == "unidentified"))))


def _waiting(page_id: int | None = None) -> Any:
    """The pages waiting to be identified (or the one of them with ``page_id``), with their file names."""
    query = (select(ScanPage, ScanFile.filename).join(ScanFile, ScanFile.id == ScanPage.scan_file_id)
             .where(ScanPage.state == "unidentified").order_by(ScanPage.id))  # fmt: skip
    return query if page_id is None else query.where(ScanPage.id == page_id)


def _waiting_dict(p: ScanPage, name: str) -> dict[str, Any]:
    return {"id": p.id, "file": name, "page": p.source_index + 1, "reason": p.reason,
            "image_path": p.image_path, "needs_new_scan": (p.details or {}).get("kind") == "misaligned"}


def unidentified_pages(ctx: ServiceContext) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [_waiting_dict(p, name) for p, name in s.execute(_waiting())]


def unidentified_page(ctx: ServiceContext, page_id: int) -> dict[str, Any]:
    with ctx.db.session() as s:
        found = s.execute(_waiting(page_id)).first()
        if found is None:
            raise NotFound("That page is not waiting to be identified (someone may have done it already).")
        return _waiting_dict(*found)


def set_aside_page(ctx: ServiceContext, page_id: int) -> dict[str, Any]:
    """Take a page out of the identify queue because only a new scan of it can be read.

    Nothing is deleted: the page keeps its file, reason and picture (until the
    retention purge), is listed in its job's summary as set aside, and the
    response it belongs to still lacks it until a new scan of it is read.
    Returns the page as :func:`unidentified_page` described it.
    """
    with ctx.db.session() as s:
        found = s.execute(_waiting(page_id)).first()
        if found is None:
            raise NotFound("That page is not waiting to be identified (someone may have done it already).")
        row, name = found
        page = _waiting_dict(row, name)
        row.state = SET_ASIDE
        row.details = {**(row.details or {}), "set_aside_at": utcnow().isoformat(timespec="seconds")}
    return page


def identify_page(ctx: ServiceContext, page_id: int, questionnaire: str, version: str, variant: str,
                  page_number: int, sheet: str, rotation: int) -> None:
    """Read an unidentified page as the page a person says it is."""
    from ..errors import InvalidInput
    from ..sheets import normalise_sheet_id

    unidentified_page(ctx, page_id)
    code = PageCode(questionnaire, version, variant, page_number, normalise_sheet_id(sheet))
    if rotation not in (0, 90, 180, 270):
        raise InvalidInput("Choose how the page is turned: 0, 90, 180 or 270 degrees.")
    with ctx.db.session() as s:
        row = s.get(ScanPage, page_id)
        assert row is not None
        f = s.get(ScanFile, row.scan_file_id)
        assert f is not None
        file_id, index, filename, sha, kind = f.id, row.source_index, f.filename, f.sha256, f.kind
        # the person chose the turn of the picture they were shown, which may be the page already turned
        rotation = (int((row.details or {}).get("turned", 0)) + rotation) % 360
    data = _original_path(ctx, sha, kind or "pdf").read_bytes()
    image = next(p for p in load_pages(data, filename) if p.source_index == index)
    if isinstance(image, PageRejected):
        raise InvalidInput(image.reason)
    reader = _Reader(ctx)
    layout = reader.layout(questionnaire, version, variant)
    if layout is None or page_number > len(layout.pages):
        raise InvalidInput(f"The {variant} form of {questionnaire} {version} has no page {page_number}.")
    outcome = read_page(image, reader.layout, reader.blank, reader.calibration, known=(code, rotation))
    if isinstance(outcome, PageProblem):
        raise InvalidInput(f"{outcome.reason} Check the page number and how the page is turned.")
    record_reading(ctx, file_id, image, outcome)


def ingest_watch_folder(ctx: ServiceContext, settle_seconds: float = 2.0) -> IngestBatch | None:
    """Accept every finished file in the watch folder, then remove it from there.

    A file is taken once it has not changed for ``settle_seconds`` (a scanner may
    still be writing it). Its original is kept in the service's store, so the
    watch folder is emptied; a file that cannot be accepted is moved to
    ``rejected/`` inside the watch folder with a ``.txt`` beside it saying why.
    """
    import time

    folder = ctx.config.watch
    if folder is None or not folder.is_dir():
        return None
    now = time.time()
    ready = [p for p in sorted(folder.iterdir())
             if p.is_file() and not p.name.startswith(".") and p.name != "README.md"
             and now - p.stat().st_mtime >= settle_seconds]
    if not ready:
        return None
    batch = accept_files(ctx, ((p.name, p.read_bytes()) for p in ready))
    for path, outcome in zip(ready, batch.files, strict=True):
        if outcome.state == "rejected":
            target = folder / "rejected" / path.name
            target.parent.mkdir(exist_ok=True)
            path.replace(target)
            target.with_name(target.name + ".txt").write_text((outcome.reason or "") + "\n", encoding="utf-8")
        else:
            path.unlink()
    return batch
