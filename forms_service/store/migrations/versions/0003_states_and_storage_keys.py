"""states as enumerations; stored files addressed by keys relative to the home

Jobs, print runs, scan files and pages that have not been processed yet move
from ``queued`` to ``pending`` (only a field reading is ever queued). Absolute
paths become storage keys (``pdf_path`` -> ``pdf_key``, ``image_path`` ->
``image_key``, ``crop_path`` -> ``crop_key``), and the files move to where their
keys say, grouped by the scan or print run they belong to:

| before | after |
| --- | --- |
| ``scans/<sha[:2]>/<sha>.<ext>`` | ``scans/<sha>/original.<ext>`` |
| ``pages/<page row id>.png`` | ``scans/<sha>/page-<n>.png`` |
| ``crops/<response>/<field>-<part>.png`` | ``scans/<sha>/crops/p<n>-<field>-<part>.png`` |
| ``print-runs/run-<id>.pdf`` or a file outside the home | ``print-runs/<id>/run-<id>.pdf`` |

Moving is idempotent: a file already at its new key is left alone, so an upgrade
that failed half-way can be run again. A print run's PDF written outside the home
(``render --output``) is copied in. A file that is missing is recorded by its key
anyway (the service says it is missing when asked for it).

The key formats are written out here, not imported, so this migration keeps
doing what it did when the service's own key scheme moves on.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING_TABLES = ("jobs", "print_runs", "scan_files", "scan_pages")
SUFFIX = {"pdf": ".pdf", "tiff": ".tif", "png": ".png", "jpeg": ".jpg"}
RENAMES = (("print_runs", "pdf_path", "pdf_key"), ("scan_pages", "image_path", "image_key"),
           ("field_readings", "crop_path", "crop_key"))


def _home() -> Path | None:
    home = context.config.attributes.get("home")
    return Path(home) if home else None


def _segment(text: str) -> str:
    return (re.sub(r"[^A-Za-z0-9._@+-]+", "-", text).strip("-.") or "x")[:200]


def _relative(path: str | None, home: Path | None) -> str | None:
    """An absolute path as a key under ``home`` (or None where it lies elsewhere)."""
    if not path:
        return None
    p = Path(path)
    if not p.is_absolute():
        return PurePosixPath(path).as_posix()
    if home is not None:
        try:
            return p.resolve().relative_to(home.resolve()).as_posix()
        except ValueError:
            return None
    return None


def _json(value: Any) -> dict[str, Any]:
    """A JSON column read with plain SQL: a dict on PostgreSQL, text on SQLite."""
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def _place(home: Path | None, old: str | None, key: str, *, copy: bool = False) -> None:
    """Put the file at ``old`` (an absolute path, or a key) where ``key`` says, once."""
    if home is None or not old:
        return
    target = home.joinpath(*key.split("/"))
    source = Path(old) if Path(old).is_absolute() else home.joinpath(*old.split("/"))
    if target.exists() or not source.is_file() or source == target:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        tmp = target.with_name(f".{target.name}.migrating")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    else:
        os.replace(source, target)


def upgrade() -> None:
    bind = op.get_bind()
    home = _home()
    for table in PENDING_TABLES:
        bind.execute(sa.text(f"UPDATE {table} SET state = 'pending' WHERE state = 'queued'"))
    for table, old, new in RENAMES:  # both databases rename in place (SQLite since 3.25): no table is rebuilt
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {old} TO {new}")

    files = {row.id: row for row in bind.execute(sa.text("SELECT id, sha256, kind FROM scan_files"))}
    for f in files.values():  # the originals
        key = f"scans/{_segment(f.sha256)}/original{SUFFIX.get(f.kind or 'pdf', '.bin')}"
        old = f"scans/{f.sha256[:2]}/{f.sha256}{SUFFIX.get(f.kind or 'pdf', '.bin')}"
        _place(home, old, key)

    pages = list(bind.execute(sa.text(
        "SELECT id, scan_file_id, source_index, image_key, response_id, page, state FROM scan_pages")))
    for p in pages:
        if not p.image_key:
            continue
        sha = files[p.scan_file_id].sha256
        key = f"scans/{_segment(sha)}/page-{p.source_index + 1}.png"
        _place(home, p.image_key, key)
        bind.execute(sa.text("UPDATE scan_pages SET image_key = :k WHERE id = :i"), {"k": key, "i": p.id})

    read_pages = {(p.response_id, p.page): p for p in pages if p.state == "read" and p.response_id is not None}
    readings = list(bind.execute(sa.text(
        "SELECT id, response_id, field_id, crop_key, details FROM field_readings "
        "WHERE crop_key IS NOT NULL OR type = 'text'")))
    for r in readings:
        details = _json(r.details)
        parts = dict(details.get("parts", {}))
        changed = False
        first: str | None = None
        for number in sorted(parts, key=int):
            part = dict(parts[number])
            crop = part.get("crop")
            if crop:
                source = read_pages.get((r.response_id, part.get("page")))
                if source is not None:
                    sha = files[source.scan_file_id].sha256
                    key = (f"scans/{_segment(sha)}/crops/p{source.source_index + 1}-"
                           f"{_segment(r.field_id)}-{int(number)}.png")
                    _place(home, crop, key)
                else:  # no page of the response is on that page any more: keep the file where it is
                    key = _relative(crop, home) or crop
                part["crop"] = key
                parts[number] = part
                changed = True
                first = first or key
        if changed:
            bind.execute(sa.text("UPDATE field_readings SET details = :d, crop_key = :k WHERE id = :i")
                         .bindparams(sa.bindparam("d", type_=sa.JSON)),
                         {"d": {**details, "parts": parts}, "k": first, "i": r.id})
        elif r.crop_key:
            bind.execute(sa.text("UPDATE field_readings SET crop_key = :k WHERE id = :i"),
                         {"k": _relative(r.crop_key, home) or r.crop_key, "i": r.id})

    for run in list(bind.execute(sa.text("SELECT id, pdf_key FROM print_runs WHERE pdf_key IS NOT NULL"))):
        key = f"print-runs/{run.id}/run-{run.id}.pdf"
        inside = _relative(run.pdf_key, home) is not None
        _place(home, run.pdf_key, key, copy=not inside)
        kept = home is None or home.joinpath(*key.split("/")).is_file()
        bind.execute(sa.text("UPDATE print_runs SET pdf_key = :k WHERE id = :i"),
                     {"k": key if kept else None, "i": run.id})


def downgrade() -> None:
    bind = op.get_bind()
    home = _home()

    def absolute(key: str | None) -> str | None:
        if not key or home is None:
            return key
        return str(home.joinpath(*key.split("/")))

    for table, column in (("print_runs", "pdf_key"), ("scan_pages", "image_key"), ("field_readings", "crop_key")):
        for row in list(bind.execute(sa.text(f"SELECT id, {column} AS k FROM {table} WHERE {column} IS NOT NULL"))):
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :k WHERE id = :i"),
                         {"k": absolute(row.k), "i": row.id})
    for f in list(bind.execute(sa.text("SELECT sha256, kind FROM scan_files"))):  # where 0002 looks for them
        suffix = SUFFIX.get(f.kind or "pdf", ".bin")
        _place(home, f"scans/{_segment(f.sha256)}/original{suffix}", f"scans/{f.sha256[:2]}/{f.sha256}{suffix}")
    for table, old, new in RENAMES:
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {new} TO {old}")
    for table in PENDING_TABLES:
        bind.execute(sa.text(f"UPDATE {table} SET state = 'queued' WHERE state = 'pending'"))
