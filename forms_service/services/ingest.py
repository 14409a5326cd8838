"""Ingest: accept scan files, read their pages in the background, and say what became of them.

Accepting a file stores the original under its scan's storage key
(``scans/<sha256>/original.<ext>``, content-addressed): the same file twice is
recognised and not read again. Reading happens in a ``read_scans`` job: every
page is identified, aligned and read, two pages at a time, and recorded in the
file's order (:mod:`.reading`): a read page joins its response; a page the
machine cannot place waits for a person (:mod:`.identify`); a page or file that
cannot be read is rejected with its reason. The watch folder is read by a
periodic task of the worker.

A job that dies half-way loses nothing: on the next attempt, pages already
recorded are skipped and the others are read.

Must never: log answer text or sheet ids, or store anything about who a respondent is.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from .. import storage
from ..context import ServiceContext
from ..errors import NotFound
from ..jobs.queue import enqueue, get_job
from ..pdfium import pdf_page_count
from ..registry import JobHandle, periodic, task
from ..scan import PageImage, PageRejected, ScanFileError, content_sha256, detect_kind, load_pages
from ..states import FieldState, JobState, ScanFileState, ScanPageState
from ..store.models import FieldReading, Job, ScanFile, ScanPage
from . import moderation
from .reading import PageReader, StoredFile

log = logging.getLogger(__name__)

WATCH_SECONDS = 5.0
"""How often a worker looks in the watch folder."""


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


def accept_files(ctx: ServiceContext, items: Iterable[tuple[str, bytes]],
                 refused: Iterable[tuple[str, str]] = ()) -> IngestBatch:
    """Store each file (or say why not) and queue one job that reads the accepted ones.

    ``refused``: (name, reason) of what was named but cannot be read at all (a path that does
    not exist), listed with the rejected files."""
    outcomes: list[FileOutcome] = [FileOutcome(name, "rejected", reason) for name, reason in refused]
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
            if known is not None and known.state == ScanFileState.PENDING:
                # received before, but its reading never finished: read it in this job
                outcomes.append(FileOutcome(name, "accepted", None, known.id))
                continue
            if known is not None and known.state == ScanFileState.REJECTED:
                # a file that was rejected stays rejected, with its reason, every time
                outcomes.append(FileOutcome(name, "rejected", known.reason or f"{name} could not be read."))
                continue
            if known is not None:
                outcomes.append(FileOutcome(
                    name, "duplicate",
                    f"{name} was already received (as {known.filename}); it is not read again.",
                    known.id))
                continue
            ctx.storage.write(storage.original_key(sha, kind), data)
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
    """Accept files and folders (folders are walked, hidden files skipped); a path that does not
    exist, or a folder with no files in it, is listed as rejected with its reason."""
    paths = list(paths)
    refused: list[tuple[str, str]] = []
    for path in paths:
        if not path.exists():
            refused.append((str(path), f"{path} does not exist: check the name and the folder."))
        elif path.is_dir() and not any(_files_in(path)):
            refused.append((str(path), f"{path} is a folder with no scan files in it."))
    return accept_files(ctx, _read_all(p for p in paths if p.exists()), refused=refused)


def _files_in(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.rglob("*")):
        if child.is_file() and not any(p.startswith(".") for p in child.relative_to(folder).parts):
            yield child


def _read_all(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    for path in paths:
        if path.is_dir():
            for child in _files_in(path):
                yield str(child), child.read_bytes()
        elif path.is_file():
            yield str(path), path.read_bytes()


# -- reading, as a background job ----------------------------------------------


@task("read_scans")
def read_scans(ctx: ServiceContext, job: JobHandle) -> None:
    ids: list[int] = list(job.payload.get("scan_files", []))
    reader = PageReader(ctx)
    with ctx.db.session() as s:
        files = {f.id: StoredFile(f) for f in s.scalars(select(ScanFile).where(ScanFile.id.in_(ids)))}
    counts = {i: _page_count(ctx, files[i]) for i in ids if i in files}
    total = sum(counts.values())
    done = 0
    job.progress(done, total)
    for file_id in ids:
        if file_id not in files:
            continue
        f = files[file_id]
        if f.state in (ScanFileState.READ, ScanFileState.REJECTED):
            done += counts[file_id]
            job.progress(done, total)
            continue
        with ctx.db.session() as s:
            finished = set(s.scalars(select(ScanPage.source_index).where(
                ScanPage.scan_file_id == file_id, ScanPage.state != ScanPageState.PENDING)))
        data = ctx.storage.read(f.key)
        counter = _Seen()
        try:
            todo = (p for p in load_pages(data, f.filename) if counter(p, finished))
            for page, reading in _read_ahead(reader.read, todo):
                reader.record(file_id, page, reading)
                done += 1
                job.progress(done, total)
            done += len(finished)
            job.progress(done, total)
        except ScanFileError as exc:
            with ctx.db.session() as s:
                row = s.get(ScanFile, file_id)
                assert row is not None
                row.state, row.reason = ScanFileState.REJECTED, exc.message
            done += max(0, counts[file_id] - counter.seen)
            job.progress(done, total)
            continue
        with ctx.db.session() as s:
            row = s.get(ScanFile, file_id)
            assert row is not None
            row.state, row.pages = ScanFileState.READ, counter.seen
    moderation.screen_ready(ctx)  # responses these pages completed: their written answers are screened
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


def _page_count(ctx: ServiceContext, f: StoredFile) -> int:
    """Pages in a stored file, cheaply (for the progress bar)."""
    path = ctx.storage.path(f.key)
    try:
        if f.kind == "pdf":
            return pdf_page_count(path)
        if f.kind == "tiff":
            with Image.open(path) as im:
                return int(getattr(im, "n_frames", 1))
    except Exception:  # a damaged file: its reading will say what is wrong
        return 1
    return 1


class _Seen:
    """Counts the pages a file yields while letting through only those not yet recorded."""

    def __init__(self) -> None:
        self.seen = 0

    def __call__(self, page: PageImage | PageRejected, finished: set[int]) -> bool:
        self.seen += 1
        return page.source_index not in finished


# -- what became of a job ---------------------------------------------------------


@dataclass
class JobSummary:
    job_id: int
    state: JobState
    pages_done: int
    pages_total: int
    files: list[dict[str, Any]]
    pages_read: int
    pages_duplicate: int
    pages_unidentified: list[dict[str, Any]]
    pages_set_aside: list[dict[str, Any]]
    pages_not_ours: list[dict[str, Any]]
    pages_rejected: list[dict[str, Any]]
    responses: int
    fields_queued: int
    notes: list[str]

    @property
    def rejected_files(self) -> list[dict[str, Any]]:
        return [f for f in self.files if f["state"] == "rejected"]


def job_summary(ctx: ServiceContext, job_id: int) -> JobSummary:
    job = get_job(ctx, job_id)
    if job is None or job.kind != "read_scans":
        raise NotFound(f"There is no scan job {job_id}.")
    files: list[dict[str, Any]] = []
    files += [{"file": r["file"], "state": "rejected", "reason": r["reason"]} for r in job.payload.get("rejected", [])]
    files += [{"file": r["file"], "state": "duplicate", "reason": r["reason"]} for r in job.payload.get("duplicates", [])]
    with ctx.db.session() as s:
        rows = list(s.scalars(select(ScanFile).where(ScanFile.id.in_(job.payload.get("scan_files", [])))))
        for f in rows:
            files.append({"file": f.filename, "state": "reading" if f.state == ScanFileState.PENDING else f.state.value,
                          "reason": f.reason, "pages": f.pages})
        pages = list(s.scalars(select(ScanPage).where(ScanPage.scan_file_id.in_([f.id for f in rows]))))
        names = {f.id: f.filename for f in rows}
        response_ids = {p.response_id for p in pages
                        if p.response_id is not None and p.state == ScanPageState.READ}
        queued = 0
        if response_ids:
            queued = int(s.scalar(select(func.count()).select_from(FieldReading).where(
                FieldReading.response_id.in_(response_ids), FieldReading.state == FieldState.QUEUED)) or 0)
    # what some pages share, once each, as sentences ("Some pages were scanned in black and white …")
    notes = [f"Some pages were {n}." for n in sorted({n for p in pages for n in (p.details or {}).get("notes", [])})]

    def listed(state: ScanPageState) -> list[dict[str, Any]]:
        return [{"file": names[p.scan_file_id], "page": p.source_index + 1, "reason": p.reason}
                for p in pages if p.state == state]

    floor = ctx.config.auto_accept_min
    if floor > 1.0:
        notes.append("Auto-acceptance is off (FORMS_SERVICE_AUTO_ACCEPT=off): a person verifies every field.")
    elif floor > 0.0:
        notes.append(f"Only readings at least {floor:g} sure are accepted without a person "
                     f"(FORMS_SERVICE_AUTO_ACCEPT={floor:g}).")
    return JobSummary(
        job_id=job_id, state=job.state, pages_done=job.done, pages_total=job.total, files=files,
        pages_read=sum(1 for p in pages if p.state == ScanPageState.READ),
        pages_duplicate=sum(1 for p in pages if p.state == ScanPageState.DUPLICATE),
        pages_unidentified=listed(ScanPageState.UNIDENTIFIED), pages_set_aside=listed(ScanPageState.SET_ASIDE),
        pages_not_ours=listed(ScanPageState.NOT_OURS),
        pages_rejected=listed(ScanPageState.REJECTED),
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
    if summary.pages_not_ours:
        parts.append(f"{len(summary.pages_not_ours)} page(s) not one of our forms")
    rejected = len(summary.rejected_files) + len(summary.pages_rejected)
    if rejected:
        parts.append(f"{rejected} file(s) or page(s) rejected")
    return ", ".join(parts) + "."


def recent_jobs(ctx: ServiceContext, limit: int = 20) -> list[dict[str, Any]]:
    """The latest uploads, newest first, each with its number among uploads (not the job id, which
    print runs share), when it came, and every file it named (read, duplicate or rejected)."""
    with ctx.db.session() as s:
        total = int(s.scalar(select(func.count()).select_from(Job).where(Job.kind == "read_scans")) or 0)
        jobs = list(s.scalars(select(Job).where(Job.kind == "read_scans").order_by(Job.id.desc()).limit(limit)))
        out = []
        for n, j in enumerate(jobs):
            files = sum(len(j.payload.get(k, [])) for k in ("scan_files", "rejected", "duplicates"))
            out.append({"id": j.id, "number": total - n, "state": j.state, "done": j.done, "total": j.total,
                        "message": j.message, "created_at": j.created_at, "files": files})
        return [j for j in out if j["files"]]


def upload_number(ctx: ServiceContext, job_id: int) -> int:
    """An upload's number among uploads: the first upload is upload 1."""
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Job).where(
            Job.kind == "read_scans", Job.id <= job_id)) or 0)


@periodic("watch_folder", WATCH_SECONDS)
def read_watch_folder(ctx: ServiceContext) -> None:
    """The worker's periodic look at the watch folder (FORMS_SERVICE_WATCH)."""
    ingest_watch_folder(ctx)


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
