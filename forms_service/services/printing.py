"""Print runs: order copies of a printed variant, draw them, and count what came back.

A print run (a *batch*) is N copies of one variant of one questionnaire
version, each copy with its own random sheet id. The PDF is drawn by
``forms_service.render`` and the variant's layout file is written from the
same numbers. Ordering a run freezes the questionnaire version.

Must never: record who a sheet was given to.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from .. import receipts, storage
from ..context import ServiceContext
from ..errors import FrozenVersionError, InvalidInput, NotFound, RenderError
from ..jobs.queue import enqueue
from ..layout import (
    Layout,
    LayoutError,
    dump_layout,
    layout_path,
    load_layout,
    same_printed_positions,
)
from ..registry import JobHandle, task
from ..sheets import new_sheet_id
from ..states import PrintRunState
from ..store.models import PrintRun, Sheet, utcnow
from . import questionnaires
from .layouts import variants

log = logging.getLogger(__name__)

_PREVIEW_LOCK = threading.Lock()
BATCH_RE = re.compile(r"^[\w][\w .,/()&'-]{0,79}$")

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PrintRunInfo:
    id: int
    questionnaire: str
    version: str
    variant: str
    copies: int
    batch: str | None
    state: PrintRunState
    copies_done: int
    pages_per_copy: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    sheets_returned: int
    pdf_ready: bool

    @property
    def filename(self) -> str:
        label = re.sub(r"[^A-Za-z0-9-]+", "-", self.batch or "")
        return "-".join(p for p in (self.questionnaire, self.version, self.variant, label, f"run{self.id}") if p) + ".pdf"


def check_order(ctx: ServiceContext, variant: str, copies: int, batch: str | None) -> str | None:
    if variant not in variants():
        raise InvalidInput(f"{variant!r} is not a printed variant; choose one of {', '.join(variants())}.")
    if copies < 1:
        raise InvalidInput("Order at least one copy.")
    if copies > ctx.config.max_copies:
        raise InvalidInput(
            f"One print run can have at most {ctx.config.max_copies} copies; split the order into "
            f"several batches."
        )
    if batch is not None:
        batch = batch.strip() or None
    if batch is not None and not BATCH_RE.match(batch):
        raise InvalidInput(
            "A batch label has up to 80 letters, digits, spaces and simple punctuation, such as "
            "'Estates night shift'."
        )
    return batch


def order_print_run(
    ctx: ServiceContext,
    questionnaire: str,
    variant: str,
    copies: int,
    batch: str | None = None,
    version: str | None = None,
    ordered_by: int | None = None,
) -> PrintRunInfo:
    """Record a print run (state ``pending``); the drawing happens in :func:`draw_print_run`."""
    batch = check_order(ctx, variant, copies, batch)
    info = questionnaires.get_version(ctx, questionnaire, version)
    with ctx.db.session() as s:
        run = PrintRun(
            questionnaire_version_id=info.id, variant=variant, copies=copies, batch=batch,
            ordered_by=ordered_by,
        )
        s.add(run)
        s.flush()
        run_id = run.id
    questionnaires.freeze(ctx, info.id)
    return get_print_run(ctx, run_id)


def queue_print_run(ctx: ServiceContext, **order: Any) -> PrintRunInfo:
    """Order a print run and leave the drawing to the background worker."""
    info = order_print_run(ctx, **order)
    enqueue(ctx, "render_print_run", {"print_run": info.id}, total=info.copies)
    return info


@task("render_print_run")
def render_print_run(ctx: ServiceContext, job: JobHandle) -> None:
    draw_print_run(ctx, int(job.payload["print_run"]), progress=job.progress)


def draw_print_run(
    ctx: ServiceContext, run_id: int, output: Path | None = None, progress: Progress | None = None
) -> PrintRunInfo:
    """Draw the run's PDF into storage (and a copy to ``output``), refresh the layout file, record its sheets.

    Safe to run again after a crash: the PDF is written atomically and the
    sheets are recorded in the same transaction that marks the run done.
    """
    from ..render import build_layout, render_pdf

    with ctx.db.session() as s:
        run = s.get(PrintRun, run_id)
        if run is None:
            raise NotFound(f"There is no print run {run_id}.")
        qv = run.questionnaire_version
        qid, version, variant, copies = qv.questionnaire, qv.version, run.variant, run.copies
        run.state, run.error = PrintRunState.RUNNING, None
    q = questionnaires.get_questionnaire(ctx, qid, version)
    key = storage.print_run_pdf_key(run_id)
    sheet_ids = _fresh_sheet_ids(ctx, copies)
    layout_file = layout_path(ctx.config.layouts, qid, version, variant)
    step = max(1, copies // 100)

    def report(done: int, total: int) -> None:
        # record every 1 % (and the end), so a big run does not flood the database
        if done != total and done % step:
            return
        with ctx.db.session() as s:
            s.execute(update(PrintRun).where(PrintRun.id == run_id).values(copies_done=done))
        if progress is not None:
            progress(done, total)

    try:
        _check_layout_kept(ctx, run_id, build_layout(q, variant), layout_file)
        with ctx.storage.writing(key) as target:
            # each copy's receipt code goes onto its slip and is forgotten: only its keyed hash is kept
            codes = [receipts.new_code() for _ in sheet_ids] if q.receipt else None
            result = render_pdf(q, variant, target, copies=copies, sheet_ids=sheet_ids, progress=report,
                                receipts=codes, receipt_url=ctx.config.receipt_url)
            hashes = ({sid: receipts.code_hash(ctx.config.secret_key, receipts.normalise(code) or "")
                       for sid, code in zip(sheet_ids, codes, strict=True)} if codes else {})
            del codes
    except (RenderError, FrozenVersionError) as exc:
        _fail(ctx, run_id, exc.message)
        raise
    if output is not None:
        ctx.storage.copy_out(key, output)
    dump_layout(result.layout, layout_file)
    with ctx.db.session() as s:
        run = s.get(PrintRun, run_id)
        assert run is not None
        s.execute(delete(Sheet).where(Sheet.print_run_id == run_id))
        s.add_all(
            Sheet(sheet_id=sheet, print_run_id=run_id, copy=i, receipt_hash=hashes.get(sheet))
            for i, (sheet, _pages) in enumerate(result.sheets, start=1)
        )
        run.state, run.copies_done, run.pages_per_copy = PrintRunState.DONE, copies, result.pages_per_copy
        run.pdf_key, run.finished_at = key, utcnow()
    return get_print_run(ctx, run_id)


def _fail(ctx: ServiceContext, run_id: int, message: str) -> None:
    with ctx.db.session() as s:
        run = s.get(PrintRun, run_id)
        assert run is not None
        run.state, run.error, run.finished_at = PrintRunState.FAILED, message, utcnow()


def _check_layout_kept(ctx: ServiceContext, run_id: int, layout: Layout, path: Path) -> None:
    """Refuse a drawing whose boxes would move on a variant that has been printed before.

    A layout file written before the format recorded the footer compares on
    what it records (a layout file that does not load counts as moved).
    """
    if path.exists() and not _same_positions(path, layout):
        with ctx.db.session() as s:
            this = s.get(PrintRun, run_id)
            assert this is not None
            earlier = s.scalar(
                select(func.count()).select_from(PrintRun).where(
                    PrintRun.questionnaire_version_id == this.questionnaire_version_id,
                    PrintRun.variant == this.variant, PrintRun.state == PrintRunState.DONE, PrintRun.id != run_id,
                )
            )
        if earlier:
            raise FrozenVersionError(
                f"The {this.variant} layout of this questionnaire version would change ({path}), "
                f"but copies of it have already been printed; print a new questionnaire version instead."
            )


def _same_positions(path: Path, layout: Layout) -> bool:
    try:
        return same_printed_positions(load_layout(path), layout)
    except LayoutError:
        return False


def manifest(ctx: ServiceContext, run_id: int) -> dict[str, Any]:
    """The print-run record of the CLI contract."""
    info = get_print_run(ctx, run_id)
    with ctx.db.session() as s:
        order = list(
            s.scalars(select(Sheet.sheet_id).where(Sheet.print_run_id == run_id).order_by(Sheet.copy))
        )
    per = info.pages_per_copy or 0
    return {
        "questionnaire": info.questionnaire,
        "version": info.version,
        "variant": info.variant,
        "batch": info.batch,
        "layout": str(layout_path(ctx.config.layouts, info.questionnaire, info.version, info.variant)),
        "sheets": [
            {"sheet": sheet, "pdf_pages": list(range(i * per + 1, (i + 1) * per + 1))}
            for i, sheet in enumerate(order)
        ],
    }


def write_manifest(ctx: ServiceContext, run_id: int, path: Path) -> None:
    doc = manifest(ctx, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)


def _fresh_sheet_ids(ctx: ServiceContext, copies: int) -> list[str]:
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < copies:
        batch = [new_sheet_id() for _ in range(copies - len(ids))]
        batch = [b for b in batch if b not in seen]
        with ctx.db.session() as s:
            taken = set(s.scalars(select(Sheet.sheet_id).where(Sheet.sheet_id.in_(batch))))
        for b in batch:
            if b not in taken:
                ids.append(b)
                seen.add(b)
    return ids


def get_print_run(ctx: ServiceContext, run_id: int) -> PrintRunInfo:
    runs = _runs(ctx, run_id)
    if not runs:
        raise NotFound(f"There is no print run {run_id}.")
    return runs[0]


def list_print_runs(ctx: ServiceContext) -> list[PrintRunInfo]:
    return _runs(ctx, None)


def _runs(ctx: ServiceContext, run_id: int | None) -> list[PrintRunInfo]:
    returned = (
        select(Sheet.print_run_id, func.count().label("n"))
        .where(Sheet.returned_at.is_not(None))
        .group_by(Sheet.print_run_id)
        .subquery()
    )
    query = select(PrintRun, returned.c.n).outerjoin(returned, returned.c.print_run_id == PrintRun.id)
    if run_id is not None:
        query = query.where(PrintRun.id == run_id)
    with ctx.db.session() as s:
        out = []
        for run, n in s.execute(query.order_by(PrintRun.id.desc())):
            qv = run.questionnaire_version
            out.append(
                PrintRunInfo(
                    run.id, qv.questionnaire, qv.version, run.variant, run.copies, run.batch, run.state,
                    run.copies_done, run.pages_per_copy, run.error, run.created_at, run.finished_at,
                    int(n or 0), ctx.storage.exists(run.pdf_key),
                )
            )
        return out


def pdf_path(ctx: ServiceContext, run_id: int) -> Path:
    """The local file of a print run's PDF, to send or copy."""
    with ctx.db.session() as s:
        run = s.get(PrintRun, run_id)
        if run is None or run.state != PrintRunState.DONE or not ctx.storage.exists(run.pdf_key):
            raise NotFound("This print run has no PDF (yet): wait until it is drawn.")
        return ctx.storage.path(run.pdf_key or "")


def preview_pdf(ctx: ServiceContext, questionnaire: str, version: str, variant: str) -> Path:
    """A one-copy sample of a variant (cached per definition), for page previews."""
    from ..render import render_pdf
    from ..render.compose import RECEIPT_SAMPLE

    if variant not in variants():
        raise NotFound(f"{variant!r} is not a printed variant.")
    info = questionnaires.get_version(ctx, questionnaire, version)
    key = storage.preview_key(questionnaire, version, variant, info.sha256)
    if not ctx.storage.exists(key):
        q = questionnaires.get_questionnaire(ctx, questionnaire, version)
        with ctx.storage.writing(key) as partial:
            render_pdf(q, variant, partial, copies=1, receipt_url=ctx.config.receipt_url,
                       receipts=[RECEIPT_SAMPLE] if q.receipt else None)
    return ctx.storage.path(key)


def preview_png(ctx: ServiceContext, questionnaire: str, version: str, variant: str, page: int) -> bytes:
    """PNG bytes of one page of the sample copy, at screen resolution (cached)."""
    import io

    from ..render import render_previews

    with _PREVIEW_LOCK:  # a page of previews asks for all its images at once
        pdf = preview_pdf(ctx, questionnaire, version, variant)
        sha = questionnaires.get_version(ctx, questionnaire, version).sha256
        key = storage.preview_key(questionnaire, version, variant, sha, page)
        if ctx.storage.exists(key):
            return ctx.storage.read(key)
        images = render_previews(pdf, dpi=80)
        if not 1 <= page <= len(images):
            raise NotFound(f"The {variant} variant has pages 1 to {len(images)}; there is no page {page}.")
        for n, image in enumerate(images, start=1):
            buf = io.BytesIO()
            image.save(buf, format="PNG", optimize=True)
            ctx.storage.write(storage.preview_key(questionnaire, version, variant, sha, n), buf.getvalue())
        return ctx.storage.read(key)


def preview_page_count(ctx: ServiceContext, questionnaire: str, version: str, variant: str) -> int:
    from ..pdfium import pdf_page_count

    return pdf_page_count(preview_pdf(ctx, questionnaire, version, variant))
