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
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..context import ServiceContext
from ..errors import InvalidInput, NotFound
from ..layout import Layout
from ..responses import CONFLICT_FLAG, blank_value, export_value
from ..states import FieldState
from ..store.models import FieldReading, Response
from .layouts import find_layout
from .responses import ResponseInfo, count_responses, list_responses, list_responses_by_id

__all__ = ["count_responses", "csv_rows", "iter_records", "one_field_set", "record", "write_csv", "write_jsonl"]


def layout_of(ctx: ServiceContext, cache: dict[tuple[str, str, str], Layout], r: ResponseInfo) -> Layout:
    key = (r.questionnaire, r.version, r.variant)
    if key not in cache:
        layout = find_layout(ctx, *key)
        if layout is None:  # a response exists only for a page that was read with its layout
            raise NotFound(f"There is no layout for {r.questionnaire} {r.version} ({r.variant}).")
        cache[key] = layout
    return cache[key]


def about_you(ctx: ServiceContext, questionnaire: str, version: str) -> frozenset[str]:
    """The ids of a questionnaire version's "about you" fields (its section marked ``about_you``)."""
    from .questionnaires import get_questionnaire

    return frozenset(f.id for f in get_questionnaire(ctx, questionnaire, version).fields() if f.about_you)


def iter_records(ctx: ServiceContext, offset: int = 0, limit: int | None = None, *,
                 withhold_about_you: bool = False) -> Iterator[dict[str, Any]]:
    """Export records in a stable order (by response), ``limit`` at a time from ``offset``.

    ``withhold_about_you``: the analysts' records, whose "about you" answers are withheld
    (:func:`record`): those are counted together only (docs/demographics.md).
    """
    layouts: dict[tuple[str, str, str], Layout] = {}
    withheld: dict[tuple[str, str], frozenset[str]] = {}
    for r in list_responses(ctx, offset, limit):
        hide: frozenset[str] = frozenset()
        if withhold_about_you:
            key = (r.questionnaire, r.version)
            if key not in withheld:
                withheld[key] = about_you(ctx, *key)
            hide = withheld[key]
        yield record(layout_of(ctx, layouts, r), r, withheld=hide)


def record(layout: Layout, r: ResponseInfo, *, withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The export record of one response: every field of its layout, with value, state and confidence.

    A field in ``withheld`` keeps its key, state and confidence, but its value is the blank one and
    it says ``"withheld": true``: the record stays one of the contract (every field present), and
    shows nothing of that answer.
    """
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
        if field_id in withheld:
            answers[field_id] = {**answers[field_id], "value": blank_value(kind), "withheld": True}
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


def csv_rows(records: Iterator[dict[str, Any]]) -> Iterator[list[Any]]:
    """The CSV export's rows: a header, then one row a response: the record's fixed columns, then
    value/state/confidence per field."""
    fields: list[str] | None = None
    for rec in records:
        if fields is None:
            fields = list(rec["answers"])
            columns = ["response", "sheet", "questionnaire", "version", "variant", "batch",
                       "pages_expected", "pages_received", "status"]
            for f in fields:
                columns += [f, f"{f}.state", f"{f}.confidence"]
            yield columns
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
        yield row


def write_csv(records: Iterator[dict[str, Any]], out: io.TextIOBase | Any) -> int:
    """The CSV export (:func:`csv_rows`) written to ``out``; returns how many responses."""
    writer = csv.writer(out)
    n = -1
    for row in csv_rows(records):
        writer.writerow(row)
        n += 1
    return max(n, 0)


def one_field_set(ctx: ServiceContext) -> bool:
    """Do all responses have the same fields (so that one CSV can hold them)?"""
    from .questionnaires import get_questionnaire

    with ctx.db.session() as s:
        kinds = s.execute(select(Response.questionnaire, Response.version).distinct()).all()
    sets = {frozenset(f.id for f in get_questionnaire(ctx, q, v).fields()) for q, v in kinds}
    return len(sets) <= 1


@dataclass(frozen=True)
class FieldLine:
    """One field of one response, as the Responses page shows it."""

    field: str
    question: str
    type: str
    value: Any  # in the export's value form
    state: FieldState | None  # None: its page has not come back
    confidence: float
    about_you: bool
    has_crop: bool


def response_fields(ctx: ServiceContext, public_id: str) -> tuple[dict[str, Any], list[FieldLine]]:
    """One response: its export record (without answers) and its fields in the questionnaire's order."""
    from .questionnaires import get_questionnaire

    with ctx.db.session() as s:
        rid = s.scalar(select(Response.id).where(Response.public_id == public_id))
        crops = set(s.scalars(select(FieldReading.field_id).where(
            FieldReading.response_id == rid, FieldReading.crop_key.is_not(None)))) if rid is not None else set()
    found = list_responses_by_id(ctx, [rid]) if rid is not None else []
    if not found:
        raise NotFound(f"There is no response {public_id}.")
    r = found[0]
    head = record(layout_of(ctx, {}, r), r)
    head.pop("answers")
    q = get_questionnaire(ctx, r.questionnaire, r.version)
    lines = []
    for spec in q.fields():
        fv = r.fields.get(spec.id)
        kind = spec.type.value
        lines.append(FieldLine(spec.id, spec.label, kind,
                               export_value(kind, fv.value) if fv is not None else blank_value(kind),
                               fv.state if fv is not None else None, float(fv.confidence) if fv is not None else 0.0,
                               spec.about_you, spec.id in crops))
    return head, lines
