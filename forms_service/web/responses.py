"""The Responses page: responses by print run and status, one response's fields, and the export.

Verifiers, analysts and administrators see it. What each sees of an answer:

* administrators: everything, field pictures included;
* verifiers: every answer but the "about you" ones, and the field pictures (but theirs);
* analysts: every answer but the "about you" ones (counted together only, on the About you page),
  no pictures; and the export to download, with those answers withheld.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for
from flask_login import current_user

from ..errors import InvalidInput
from ..http import service_context
from ..services import export
from ..services import responses as responses_service
from ..states import ResponseStatus
from .auth import roles_required

bp = Blueprint("responses", __name__, url_prefix="/responses")

PAGE = 50


def _administrator() -> bool:
    return "administrator" in current_user.roles


def _number(name: str, *, default: int | None = None) -> int | None:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit():
        raise InvalidInput(f"'{name}' must be a whole number.")
    return int(raw)


@bp.get("/")
@roles_required("verifier", "analyst")
def index() -> Any:
    ctx = service_context()
    run = _number("print_run")
    raw = request.args.get("status", "")
    try:
        status = ResponseStatus(raw) if raw else None
    except ValueError:
        raise InvalidInput("Choose a status: complete, needs_verification or incomplete.") from None
    page = max(1, _number("page", default=1) or 1)
    rows, total = responses_service.browse(ctx, print_run=run, status=status, offset=(page - 1) * PAGE, limit=PAGE)
    counts = responses_service.status_counts(ctx)
    pages = max(1, (total + PAGE - 1) // PAGE)

    def link(n: int) -> str:
        return url_for("responses.index", print_run=run, status=status.value if status else None, page=n)

    return render_template("responses/index.html", rows=rows, total=total, counts=counts, print_run=run,
                           status=status, page=page, pages=pages, link=link, statuses=list(ResponseStatus),
                           can_export=current_user.has("analyst"))


@bp.get("/<public_id>")
@roles_required("verifier", "analyst")
def show(public_id: str) -> Any:
    head, fields = export.response_fields(service_context(), public_id)
    return render_template("responses/show.html", head=head, fields=fields, administrator=_administrator(),
                           pictures=current_user.has("verifier"))


@bp.get("/<public_id>/fields/<field_id>.png")
@roles_required("verifier")
def crop(public_id: str, field_id: str) -> Any:
    ctx = service_context()
    if not _administrator() and field_id in _about_you_of(public_id):
        abort(404)
    png = responses_service.field_crop(ctx, public_id, field_id)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


def _about_you_of(public_id: str) -> frozenset[str]:
    head, fields = export.response_fields(service_context(), public_id)
    return frozenset(f.field for f in fields if f.about_you)


@bp.get("/export.<fmt>")
@roles_required("analyst")
def download(fmt: str) -> Any:
    """Every response's export record (JSON Lines or CSV); an analyst's without "about you" answers."""
    if fmt not in ("jsonl", "csv"):
        abort(404)
    ctx = service_context()
    withhold = not _administrator()

    def records() -> Iterator[dict[str, Any]]:
        offset = 0
        while True:  # a thousand at a time: memory stays flat however many there are
            batch = list(export.iter_records(ctx, offset=offset, limit=1000, withhold_about_you=withhold))
            yield from batch
            if len(batch) < 1000:
                return
            offset += len(batch)

    if fmt == "csv" and not export.one_field_set(ctx):
        raise InvalidInput("One CSV file holds the responses of one questionnaire, and these are of several: "
                           "download JSON Lines instead.")

    def lines() -> Iterator[str]:
        chunk = _Chunks()
        if fmt == "jsonl":
            for rec in records():
                export.write_jsonl(iter([rec]), chunk)
                yield chunk.take()
        else:
            writer = csv.writer(chunk)
            for row in export.csv_rows(records()):
                writer.writerow(row)
                yield chunk.take()

    name = f"responses.{fmt}"
    mimetype = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    return Response(stream_with_context(lines()), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "private, no-store"})


class _Chunks:
    """A text sink the export writers write to, emptied as the download streams."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> str:
        out, self.parts = "".join(self.parts), []
        return out
