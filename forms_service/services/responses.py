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
from sqlalchemy import func, select
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
