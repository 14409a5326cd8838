"""Export records: one per response, as JSON Lines or CSV (docs/export.md).

The record is the public contract ``forms-service.export-record/1``: every
field of the layout appears in every record, with its best current value, its
state and its calibrated confidence. A schema of one record ships as
``forms_service/schemas/export-record.schema.json``.

Must never: add anything to a record that identifies a respondent; logs carry
counts only, never answers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from ..errors import InvalidInput, NotFound
from ..layout import Layout
from ..store.models import FieldReading, PrintRun, Response, ScanPage, Sheet
from .context import ServiceContext
from .printing import layout_for


def _layout(ctx: ServiceContext, cache: dict[tuple[str, str, str], Layout], r: Response) -> Layout:
    key = (r.questionnaire, r.version, r.variant)
    if key not in cache:
        layout = layout_for(ctx, *key)
        if layout is None:  # a response exists only for a page that was read with its layout
            raise NotFound(f"There is no layout for {r.questionnaire} {r.version} ({r.variant}).")
        cache[key] = layout
    return cache[key]


def count_responses(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Response)) or 0)


def iter_records(ctx: ServiceContext, offset: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Export records in a stable order (by response), ``limit`` at a time from ``offset``."""
    layouts: dict[tuple[str, str, str], Layout] = {}
    with ctx.db.session() as s:
        query = select(Response).order_by(Response.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        responses = list(s.scalars(query))
        ids = [r.id for r in responses]
        readings: dict[int, dict[str, FieldReading]] = {i: {} for i in ids}
        for fr in s.scalars(select(FieldReading).where(FieldReading.response_id.in_(ids))):
            readings[fr.response_id][fr.field_id] = fr
        pages: dict[int, set[int]] = {i: set() for i in ids}
        for response_id, page in s.execute(select(ScanPage.response_id, ScanPage.page).where(
                ScanPage.response_id.in_(ids), ScanPage.state == "read")):
            if response_id is not None and page is not None:
                pages[response_id].add(page)
        batches = dict(s.execute(select(Sheet.sheet_id, PrintRun.batch).join(
            PrintRun, PrintRun.id == Sheet.print_run_id).where(
            Sheet.sheet_id.in_({r.sheet_id for r in responses}))).all())
    for r in responses:
        yield record(_layout(ctx, layouts, r), r, readings[r.id], sorted(pages[r.id]),
                     batches.get(r.sheet_id))


def record(layout: Layout, r: Response, readings: dict[str, FieldReading], received: list[int],
           batch: str | None) -> dict[str, Any]:
    answers: dict[str, dict[str, Any]] = {}
    types: dict[str, str] = {}
    for page in layout.pages:
        for f in page.fields:
            types.setdefault(f.id, f.type)
    for field_id, kind in types.items():
        fr = readings.get(field_id)
        if fr is None:
            blank: Any = [] if kind == "multi_choice" else ("" if kind == "text" else None)
            answers[field_id] = {"value": blank, "state": "queued", "confidence": 0.0}
        else:
            value = fr.value.get("v")
            if kind == "multi_choice":
                value = sorted(value or [])
            elif kind == "text":
                value = value or ""
            answers[field_id] = {"value": value, "state": fr.state, "confidence": float(fr.confidence)}
    needed = {p.page for p in layout.pages if p.fields}
    if not needed <= set(received):
        status = "incomplete"
    elif r.conflict_of is not None or any(a["state"] == "queued" for a in answers.values()):
        status = "needs_verification"
    else:
        status = "complete"
    out: dict[str, Any] = {
        "response": r.public_id, "sheet": r.sheet_id, "questionnaire": r.questionnaire,
        "version": r.version, "variant": r.variant, "batch": batch,
        "pages": {"expected": len(layout.pages), "received": received},
        "status": status, "answers": answers,
    }
    if r.conflict_of is not None:
        out["flags"] = ["sheet_seen_twice_with_different_answers"]
    return out


def write_jsonl(records: Iterator[dict[str, Any]], out: io.TextIOBase | Any) -> int:
    n = 0
    for rec in records:
        out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(records: Iterator[dict[str, Any]], out: io.TextIOBase | Any) -> int:
    """One row a response: the record's fixed columns, then value/state/confidence per field."""
    writer: Any = None
    columns: list[str] = []
    fields: list[str] = []
    n = 0
    for rec in records:
        if writer is None:
            fields = list(rec["answers"])
            columns = ["response", "sheet", "questionnaire", "version", "variant", "batch",
                       "pages_expected", "pages_received", "status"]
            for f in fields:
                columns += [f, f"{f}.state", f"{f}.confidence"]
            writer = csv.writer(out)
            writer.writerow(columns)
        elif set(rec["answers"]) != set(fields):
            raise InvalidInput(
                "A CSV export holds one questionnaire version, and these responses are of several; "
                "export with --format jsonl instead."
            )
        row = [rec["response"], rec["sheet"], rec["questionnaire"], rec["version"], rec["variant"],
               rec["batch"] or "", rec["pages"]["expected"], " ".join(map(str, rec["pages"]["received"])),
               rec["status"]]
        for f in fields:
            a = rec["answers"][f]
            value = a["value"]
            if isinstance(value, list):
                value = ";".join(value)
            row += ["" if value is None else value, a["state"], a["confidence"]]
        writer.writerow(row)
        n += 1
    return n
