"""Responses in the database: a read page joins its response, and responses are looked up whole.

The rules (which response a page joins, duplicates, photocopies, a verified
value never overwritten, a response's status) live in the pure
:mod:`forms_service.responses`; this module loads what they need, applies them
and writes the outcome in one transaction. A written part's crop is stored
under its scan (``storage.crop_key``) for the person who will transcribe it.

Must never: log answer text or sheet ids, or store anything about who a respondent is.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from .. import storage
from ..context import ServiceContext
from ..responses import (
    FieldValue,
    KnownResponse,
    PageReading,
    Placement,
    merge_field,
    place_page,
    response_status,
)
from ..scan import PageImage
from ..scan.pipeline import PageRead
from ..states import FieldState, ResponseStatus, ScanPageState
from ..store.models import FieldReading, PrintRun, Response, ScanFile, ScanPage, Sheet, utcnow


def record_reading(ctx: ServiceContext, file_id: int, page: PageImage, read: PageRead) -> Placement:
    """Attach a read page to its response, or note it as a duplicate or a conflict; say which."""
    reading = PageReading.from_read(read)
    code = read.page_code
    with ctx.db.session() as s:
        f = s.get(ScanFile, file_id)
        assert f is not None
        row = s.scalar(select(ScanPage).where(ScanPage.scan_file_id == file_id,
                                              ScanPage.source_index == page.source_index))
        if row is None:
            row = ScanPage(scan_file_id=file_id, source_index=page.source_index)
            s.add(row)
        row.questionnaire, row.version, row.variant = code.questionnaire, code.version, code.variant
        row.page, row.sheet_id, row.fingerprint = code.page, code.sheet, reading.fingerprint
        row.dpi, row.bilevel, row.read_at = page.dpi, page.bilevel, utcnow()
        row.details = {"alignment": read.alignment.method, "alignment_note": read.alignment.note,
                       "max_residual_pt": round(read.alignment.max_residual_pt, 2), "notes": read.notes}
        responses = {r.id: r for r in s.scalars(select(Response).where(Response.sheet_id == code.sheet)
                                                .order_by(Response.id))}
        pages: dict[int, dict[int, str]] = {i: {} for i in responses}
        for response_id, number, fingerprint in s.execute(
                select(ScanPage.response_id, ScanPage.page, ScanPage.fingerprint).where(
                    ScanPage.response_id.in_(list(responses)), ScanPage.state == ScanPageState.READ,
                    ScanPage.id != row.id)):
            if response_id is not None and number is not None:
                pages[response_id].setdefault(number, fingerprint or "")
        known = [KnownResponse(i, pages[i], r.conflict_of) for i, r in responses.items()]
        where = place_page(known, reading.page, reading.fingerprint)
        if where.placement is Placement.DUPLICATE:
            row.state, row.response_id, row.reason = ScanPageState.DUPLICATE, where.response, where.reason
            return where.placement
        if where.placement in (Placement.NEW, Placement.CONFLICT):
            target = Response(
                public_id=secrets.token_hex(8), sheet_id=code.sheet, questionnaire=code.questionnaire,
                version=code.version, variant=code.variant, pages_expected=len(read.layout.pages),
                conflict_of=where.response,
            )
            s.add(target)
            s.flush()
        else:
            target = responses[where.response or 0]
        row.state, row.response_id, row.reason = ScanPageState.READ, target.id, where.reason
        sheet = s.get(Sheet, code.sheet)
        if sheet is not None and sheet.returned_at is None:
            sheet.returned_at = utcnow()
        s.flush()
        _take_fields(ctx, s, target, f.sha256, page.source_index, reading)
        return where.placement


def _take_fields(ctx: ServiceContext, s: Session, response: Response, sha256: str, source_index: int,
                 reading: PageReading) -> None:
    stored = {r.field_id: r for r in s.scalars(select(FieldReading).where(
        FieldReading.response_id == response.id,
        FieldReading.field_id.in_([f.field_id for f in reading.fields])))}
    for result in reading.fields:
        row = stored.get(result.field_id)
        current = field_value(row) if row is not None else None
        crop = None
        # a picture for the person who will answer it: a field left for a person, a written part
        if (result.crop is not None and (result.written or not result.auto)
                and not (current is not None and current.state.final)):
            crop = _store_crop(ctx, storage.crop_key(sha256, source_index, result.field_id, result.part or 1),
                               result.crop)
        merged = merge_field(current, result, reading.page, crop)
        if merged is current:
            continue  # a person's answer is never overwritten by the machine
        if row is None:
            row = FieldReading(response_id=response.id, field_id=result.field_id, type=result.type)
            s.add(row)
            stored[result.field_id] = row
        row.value, row.confidence, row.state = {"v": merged.value}, merged.confidence, merged.state
        row.page, row.details, row.updated_at = merged.page, merged.details, utcnow()
        row.crop_key = merged.crop
        if merged.type == "text":
            row.suggestion = merged.suggestion


def field_value(row: FieldReading) -> FieldValue:
    """A stored field reading as the pure part knows it."""
    return FieldValue(row.field_id, row.type, (row.value or {}).get("v"), float(row.confidence),
                      FieldState(row.state), row.page, row.suggestion, row.crop_key, dict(row.details or {}))


def _store_crop(ctx: ServiceContext, key: str, crop: NDArray[np.uint8]) -> str:
    buf = io.BytesIO()
    Image.fromarray(crop).save(buf, format="PNG", compress_level=3)
    return ctx.storage.write(key, buf.getvalue())


# -- responses, whole ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseInfo:
    """A response with everything its export record needs."""

    id: int
    public_id: str
    sheet: str
    questionnaire: str
    version: str
    variant: str
    batch: str | None
    conflict_of: int | None
    received: list[int]
    fields: dict[str, FieldValue]

    @property
    def not_returned(self) -> set[int]:
        """Pages a person said were never returned (their fields were settled as blank)."""
        return {f.page for f in self.fields.values() if f.details.get("not_returned") and f.page is not None}

    def status(self, pages_with_fields: set[int]) -> ResponseStatus:
        return response_status(pages_with_fields, self.received, [f.state for f in self.fields.values()],
                               conflict=self.conflict_of is not None, not_returned=self.not_returned)


def count_responses(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Response)) or 0)


def list_responses(ctx: ServiceContext, offset: int = 0, limit: int | None = None) -> list[ResponseInfo]:
    """Responses in a stable order (by when they were first read), ``limit`` at a time from ``offset``."""
    query = select(Response).order_by(Response.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return _infos(ctx, query)


def list_responses_by_id(ctx: ServiceContext, ids: Iterable[int]) -> list[ResponseInfo]:
    """These responses (those that exist), by id."""
    return _infos(ctx, select(Response).where(Response.id.in_(list(ids))).order_by(Response.id))


def _infos(ctx: ServiceContext, query: Any) -> list[ResponseInfo]:
    with ctx.db.session() as s:
        responses = list(s.scalars(query))
        ids = [r.id for r in responses]
        fields: dict[int, dict[str, FieldValue]] = {i: {} for i in ids}
        for fr in s.scalars(select(FieldReading).where(FieldReading.response_id.in_(ids))):
            fields[fr.response_id][fr.field_id] = field_value(fr)
        pages: dict[int, set[int]] = {i: set() for i in ids}
        for response_id, page in s.execute(select(ScanPage.response_id, ScanPage.page).where(
                ScanPage.response_id.in_(ids), ScanPage.state == ScanPageState.READ)):
            if response_id is not None and page is not None:
                pages[response_id].add(page)
        batches: dict[str, Any] = dict(s.execute(select(Sheet.sheet_id, PrintRun.batch).join(
            PrintRun, PrintRun.id == Sheet.print_run_id).where(
            Sheet.sheet_id.in_({r.sheet_id for r in responses}))).all())
        return [ResponseInfo(r.id, r.public_id, r.sheet_id, r.questionnaire, r.version, r.variant,
                             batches.get(r.sheet_id), r.conflict_of, sorted(pages[r.id]), fields[r.id])
                for r in responses]


# -- responses, many: counts by status and print run, and a page of them -----------------------------


@dataclass(frozen=True)
class ResponseRow:
    """One line of the Responses page."""

    public_id: str
    questionnaire: str
    version: str
    variant: str
    print_run: int | None
    batch: str | None
    status: ResponseStatus
    queued: int  # its fields waiting for a person
    read_at: Any  # when its first page was read


def _expected_fields(ctx: ServiceContext, s: Session) -> dict[tuple[str, str, str], int]:
    """How many fields each kind of response has (by questionnaire, version and variant), from its layout."""
    from .layouts import find_layout

    out: dict[tuple[str, str, str], int] = {}
    for q, v, variant in s.execute(select(Response.questionnaire, Response.version, Response.variant).distinct()):
        layout = find_layout(ctx, q, v, variant)
        out[(q, v, variant)] = len({f.id for p in layout.pages for f in p.fields}) if layout is not None else 0
    return out


def _with_status(ctx: ServiceContext, s: Session, only: list[int] | None = None) -> Any:
    """A query of responses with their status, print run and queued fields, worked out in the database.

    A response is ``incomplete`` while a field of its layout has no reading (its page has not been
    read nor said to be never returned), ``needs_verification`` while a field waits for a person or
    its sheet id was read with other answers too, else ``complete``: the rule of
    :func:`forms_service.responses.response_status` for layouts whose fields each lie on one page
    (every layout the service draws).
    """
    expected = _expected_fields(ctx, s)
    grouped = (select(FieldReading.response_id.label("response_id"), func.count().label("fields"),
                      func.sum(case((FieldReading.state == FieldState.QUEUED, 1), else_=0)).label("queued"))
               .group_by(FieldReading.response_id))
    if only is not None:  # these responses alone (a page of them): their fields only are counted
        grouped = grouped.where(FieldReading.response_id.in_(only))
    per = grouped.subquery()
    wanted = case(*[(and_(Response.questionnaire == q, Response.version == v, Response.variant == variant), n)
                    for (q, v, variant), n in expected.items()], else_=0) if expected else literal(0)
    fields, queued = func.coalesce(per.c.fields, 0), func.coalesce(per.c.queued, 0)
    status = case((fields < wanted, ResponseStatus.INCOMPLETE.value),
                  (or_(Response.conflict_of.is_not(None), queued > 0), ResponseStatus.NEEDS_VERIFICATION.value),
                  else_=ResponseStatus.COMPLETE.value).label("status")
    return (select(Response.public_id, Response.questionnaire, Response.version, Response.variant,
                   Sheet.print_run_id, PrintRun.batch, status, queued.label("queued"), Response.created_at)
            .outerjoin(per, per.c.response_id == Response.id)
            .outerjoin(Sheet, Sheet.sheet_id == Response.sheet_id)
            .outerjoin(PrintRun, PrintRun.id == Sheet.print_run_id)), status


def status_counts(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Responses by print run and status: ``[{"print_run", "batch", "complete", "needs_verification",
    "incomplete", "total"}]``, print runs in order, responses whose sheet id no print run knows last."""
    with ctx.db.session() as s:
        query, status = _with_status(ctx, s)
        inner = query.subquery()
        rows = s.execute(select(inner.c.print_run_id, inner.c.batch, inner.c.status, func.count())
                         .group_by(inner.c.print_run_id, inner.c.batch, inner.c.status)).all()
    runs: dict[int | None, dict[str, Any]] = {}
    for run, batch, state, n in rows:
        entry = runs.setdefault(run, {"print_run": run, "batch": batch, "total": 0,
                                      **{st.value: 0 for st in ResponseStatus}})
        entry[state] += int(n)
        entry["total"] += int(n)
    return sorted(runs.values(), key=lambda r: (r["print_run"] is None, r["print_run"] or 0))


def browse(ctx: ServiceContext, *, print_run: int | None = None, status: ResponseStatus | None = None,
           offset: int = 0, limit: int = 50) -> tuple[list[ResponseRow], int]:
    """A page of responses (newest first), optionally of one print run and one status, and how many there are."""
    with ctx.db.session() as s:
        if status is None:  # the page's responses first, then the status of those alone
            chosen = select(Response.id).outerjoin(Sheet, Sheet.sheet_id == Response.sheet_id)
            if print_run is not None:
                chosen = chosen.where(Sheet.print_run_id == print_run)
            total = int(s.scalar(select(func.count()).select_from(chosen.subquery())) or 0)
            ids = list(s.scalars(chosen.order_by(Response.id.desc()).offset(offset).limit(limit)))
            query, state = _with_status(ctx, s, only=ids)
            query = query.where(Response.id.in_(ids))
        else:  # the ids of that status (of that print run's responses alone), then the page's rows
            run = None
            if print_run is not None:
                run = list(s.scalars(select(Response.id).join(Sheet, Sheet.sheet_id == Response.sheet_id)
                                     .where(Sheet.print_run_id == print_run)))
            query, state = _with_status(ctx, s, only=run)
            if run is not None:
                query = query.where(Response.id.in_(run))
            matching = list(s.scalars(query.with_only_columns(Response.id).where(state == status.value)
                                      .order_by(Response.id.desc())))
            total, ids = len(matching), matching[offset:offset + limit]
            query, state = _with_status(ctx, s, only=ids)
            query = query.where(Response.id.in_(ids))
        rows = s.execute(query.order_by(Response.id.desc())).all()
    return [ResponseRow(p, q, v, var, run, batch, ResponseStatus(st), int(n), at)
            for p, q, v, var, run, batch, st, n, at in rows], total


def field_crop(ctx: ServiceContext, public_id: str, field_id: str) -> bytes:
    """The stored picture of one field of one response (deleted with the scans under retention)."""
    from ..errors import NotFound
    from ..storage import StorageError

    with ctx.db.session() as s:
        key = s.scalar(select(FieldReading.crop_key).join(Response, Response.id == FieldReading.response_id)
                       .where(Response.public_id == public_id, FieldReading.field_id == field_id))
    if key is None:
        raise NotFound("This field has no picture (its page has not come back, or it was read without one).")
    try:
        return ctx.storage.read(key)
    except StorageError:
        raise NotFound("This field's picture was deleted with its scan, as the retention rule says.") from None


def incomplete_or_conflicting(ctx: ServiceContext) -> list[int]:
    """The ids of responses missing pages, and of responses that share a sheet id with another."""
    with ctx.db.session() as s:
        query, state = _with_status(ctx, s)
        return list(s.scalars(query.with_only_columns(Response.id).where(
            or_(state == ResponseStatus.INCOMPLETE.value, Response.conflict_of.is_not(None)))
            .order_by(Response.id)))
