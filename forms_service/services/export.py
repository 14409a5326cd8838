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

from ..context import ServiceContext
from ..errors import InvalidInput, NotFound
from ..layout import Layout
from ..responses import CONFLICT_FLAG, blank_value, export_value
from ..states import FieldState
from .layouts import find_layout
from .responses import ResponseInfo, count_responses, list_responses

__all__ = ["count_responses", "iter_records", "record", "write_csv", "write_jsonl"]


def layout_of(ctx: ServiceContext, cache: dict[tuple[str, str, str], Layout], r: ResponseInfo) -> Layout:
    key = (r.questionnaire, r.version, r.variant)
    if key not in cache:
        layout = find_layout(ctx, *key)
        if layout is None:  # a response exists only for a page that was read with its layout
            raise NotFound(f"There is no layout for {r.questionnaire} {r.version} ({r.variant}).")
        cache[key] = layout
    return cache[key]


def iter_records(ctx: ServiceContext, offset: int = 0, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Export records in a stable order (by response), ``limit`` at a time from ``offset``."""
    layouts: dict[tuple[str, str, str], Layout] = {}
    for r in list_responses(ctx, offset, limit):
        yield record(layout_of(ctx, layouts, r), r)


def record(layout: Layout, r: ResponseInfo) -> dict[str, Any]:
    """The export record of one response: every field of its layout, with value, state and confidence."""
    answers: dict[str, dict[str, Any]] = {}
    types: dict[str, str] = {}
    for page in layout.pages:
        for f in page.fields:
            types.setdefault(f.id, f.type)
    for field_id, kind in types.items():
        fv = r.fields.get(field_id)
        if fv is None:
            answers[field_id] = {"value": blank_value(kind), "state": FieldState.QUEUED.value, "confidence": 0.0}
        else:
            answers[field_id] = {"value": export_value(kind, fv.value), "state": fv.state.value,
                                 "confidence": float(fv.confidence)}
    status = r.status({p.page for p in layout.pages if p.fields})
    out: dict[str, Any] = {
        "response": r.public_id, "sheet": r.sheet, "questionnaire": r.questionnaire,
        "version": r.version, "variant": r.variant, "batch": r.batch,
        "pages": {"expected": len(layout.pages), "received": r.received},
        "status": status.value, "answers": answers,
    }
    if r.conflict_of is not None:
        out["flags"] = [CONFLICT_FLAG]
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
