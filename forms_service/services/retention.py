"""Forgetting scans on schedule: the retention purge.

The consultation promises that paper is read, then forgotten. What the purge deletes, through the
storage part: each scan file's original, the pictures of its pages kept for a person to identify,
the field crops cut from it for the verifiers, and the blank-form files the reader compares with
(made again if a scan ever needs one). What stays: the readings, transcriptions, verified answers,
contributions and what was delivered, so a purged response still exports and nothing posted
changes.

When a scan is due (:func:`rule`):

* with the consultation's closing date set (``FORMS_SERVICE_CLOSING_DATE``), every scan, once
  ``FORMS_SERVICE_RETENTION_DAYS`` (30) days have passed since it; nothing before;
* without one, each scan that many days after it was received;
* on demand (``forms-service purge --older-than DAYS`` or ``--all``, the Retention page).

The receipt codes of the deleted scans' copies are forgotten with them (their keyed hashes), and
every copy's when everything is due: a slip then finds nothing, and the receipt page says the
records were deleted.

A scan a person still needs (a page waiting to be identified, a page of a response with a field
waiting to be verified) is kept, and counted, unless an administrator says to include those too.
Each run that deletes or keeps anything is logged in the purge log (:class:`~..store.models.Purge`),
counted only: never a file's name, sheet id or content.

The database is changed first (the file marked purged, its keys forgotten), the files deleted
after; a run that stops between the two leaves files that the next run deletes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update

from ..context import ServiceContext
from ..registry import periodic
from ..states import FieldState, ScanFileState, ScanPageState
from ..storage import scan_prefix
from ..store.models import FieldReading, Purge, ScanFile, ScanPage, Sheet, User, utcnow

log = logging.getLogger(__name__)

TRIGGERS = ("schedule", "cli", "web", "api")


@dataclass
class Due:
    """What the purge would take now: its rule in words, and the cut-off (received before it)."""

    rule: str
    before: datetime | None  # None: nothing is due yet
    everything: bool = False  # blank forms too, whatever their age


@dataclass
class PurgeResult:
    rule: str
    files: int = 0
    pages: int = 0
    crops: int = 0
    blanks: int = 0
    bytes: int = 0
    kept_waiting: int = 0
    receipts: int = 0  # receipt codes forgotten besides those of the deleted scans' copies

    def sentence(self) -> str:
        if not (self.files or self.blanks or self.kept_waiting):
            return f"Nothing to delete ({self.rule})."
        deleted = (f"Deleted {self.files} scan file{'s' if self.files != 1 else ''} "
                   f"({self.pages} page picture{'s' if self.pages != 1 else ''}, "
                   f"{self.crops} field crop{'s' if self.crops != 1 else ''}) and "
                   f"{self.blanks} blank form{'s' if self.blanks != 1 else ''}, {_size(self.bytes)}")
        if self.kept_waiting:
            deleted += (f"; kept {self.kept_waiting} scan file{'s' if self.kept_waiting != 1 else ''} "
                        f"a person still needs (a page to identify or a field to verify)")
        return deleted + f" ({self.rule})."


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"  # pragma: no cover


def rule(ctx: ServiceContext, now: datetime | None = None, *, older_than_days: int | None = None,
         everything: bool = False) -> Due:
    """What is due now, by the configuration or by an administrator's choice."""
    now = now or utcnow()
    days = ctx.config.retention_days
    if everything:
        return Due("every scan, on an administrator's demand", now, everything=True)
    if older_than_days is not None:
        return Due(f"scans received more than {older_than_days} day{'s' if older_than_days != 1 else ''} ago",
                   now - timedelta(days=older_than_days))
    closing = ctx.config.closing_date
    if closing is not None:
        ends = datetime.combine(closing, time(0), UTC) + timedelta(days=days)
        if now >= ends:
            return Due(f"every scan: {days} days have passed since the consultation closed on "
                       f"{closing:%-d %B %Y}", now, everything=True)
        return Due(f"nothing before {ends:%-d %B %Y}, {days} days after the consultation closes", None)
    return Due(f"scans received more than {days} day{'s' if days != 1 else ''} ago", now - timedelta(days=days))


def _waiting(s: Any) -> set[int]:
    """Scan files a person still needs: a page to identify, or a page of a response with a field
    waiting for a person (its crop is cut from the file's pages)."""
    to_identify = select(ScanPage.scan_file_id).where(ScanPage.state == ScanPageState.UNIDENTIFIED)
    to_verify = (select(ScanPage.scan_file_id)
                 .join(FieldReading, FieldReading.response_id == ScanPage.response_id)
                 .where(FieldReading.state == FieldState.QUEUED))
    return set(s.scalars(to_identify)) | set(s.scalars(to_verify))


def preview(ctx: ServiceContext, due: Due) -> dict[str, int]:
    """How many scan files the rule would delete now, and how many it would keep for a person."""
    if due.before is None:
        return {"due": 0, "waiting": 0}
    with ctx.db.session() as s:
        ids = set(s.scalars(select(ScanFile.id).where(ScanFile.state != ScanFileState.PURGED,
                                                      ScanFile.received_at <= due.before)))
        waiting = ids & _waiting(s)
    return {"due": len(ids - waiting), "waiting": len(waiting)}


def purge(ctx: ServiceContext, *, trigger: str, user_id: int | None = None, older_than_days: int | None = None,
          everything: bool = False, include_waiting: bool = False, now: datetime | None = None,
          progress: Callable[[int, int], None] | None = None) -> PurgeResult:
    """Delete what is due (see the module's description); log the run when it deleted or kept anything."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    now = now or utcnow()
    due = rule(ctx, now, older_than_days=older_than_days, everything=everything)
    result = PurgeResult(due.rule)
    chosen: list[str] = []
    if due.before is not None:
        with ctx.db.session() as s:
            files = list(s.execute(select(ScanFile.id, ScanFile.sha256).where(
                ScanFile.state != ScanFileState.PURGED, ScanFile.received_at <= due.before)).all())
            waiting = _waiting(s) if not include_waiting else set()
            ids = [i for i, _sha in files if i not in waiting]
            result.kept_waiting = len(files) - len(ids)
            chosen = [sha for i, sha in files if i not in waiting]
            if ids:
                # forget the keys first: a screen never points at a deleted file
                s.execute(update(ScanFile).where(ScanFile.id.in_(ids))
                          .values(state=ScanFileState.PURGED, purged_at=now))
                s.execute(update(ScanPage).where(ScanPage.scan_file_id.in_(ids)).values(image_key=None))
                # the receipt codes of those copies go with them: a slip then finds nothing
                sheets = select(ScanPage.sheet_id).where(ScanPage.scan_file_id.in_(ids), ScanPage.sheet_id.is_not(None))
                s.execute(update(Sheet).where(Sheet.sheet_id.in_(sheets)).values(receipt_hash=None))
                for sha in chosen:
                    s.execute(update(FieldReading).where(FieldReading.crop_key.startswith(scan_prefix(sha)))
                              .values(crop_key=None))
    if due.everything and due.before is not None:
        with ctx.db.session() as s:  # the consultation is over: every copy's receipt code is forgotten
            result.receipts = s.execute(update(Sheet).where(Sheet.receipt_hash.is_not(None))
                                        .values(receipt_hash=None)).rowcount or 0  # type: ignore[attr-defined]
    # the files of scans purged before whose deletion did not finish, then this run's
    leftovers = _leftovers(ctx, set(chosen))
    todo = chosen + leftovers
    for n, sha in enumerate(todo, start=1):
        for key in ctx.storage.scan_keys(sha):
            result.bytes += _bytes(ctx, key)
            if "/crops/" in key:
                result.crops += 1
            elif key.rsplit("/", 1)[-1].startswith("page-"):
                result.pages += 1
        ctx.storage.delete_scan(sha)
        if progress is not None:
            progress(n, len(todo))
    result.files = len(chosen)
    if due.before is not None:
        for key in ctx.storage.keys("blanks"):
            if due.everything or _modified(ctx, key) <= due.before:
                result.bytes += _bytes(ctx, key)
                result.blanks += ctx.storage.delete(key)
    if result.files or result.blanks or result.kept_waiting or leftovers:
        with ctx.db.session() as s:
            s.add(Purge(at=now, trigger=trigger, user_id=user_id, rule=due.rule[:200],
                        include_waiting=include_waiting, files=result.files, pages=result.pages,
                        crops=result.crops, blanks=result.blanks, bytes=result.bytes,
                        kept_waiting=result.kept_waiting))
        log.info("retention purge", extra={"trigger": trigger, "files": result.files, "pages": result.pages,
                                           "crops": result.crops, "blanks": result.blanks,
                                           "kept_waiting": result.kept_waiting})
    return result


def _leftovers(ctx: ServiceContext, now_chosen: set[str]) -> list[str]:
    """Scans marked purged whose folder is still there (a run stopped between its two steps)."""
    folder = ctx.storage.path("scans")
    if not folder.is_dir():
        return []
    present = {p.name for p in folder.iterdir() if p.is_dir()} - now_chosen
    if not present:
        return []
    with ctx.db.session() as s:
        purged = set(s.scalars(select(ScanFile.sha256).where(ScanFile.state == ScanFileState.PURGED)))
    return sorted(present & purged)


def _bytes(ctx: ServiceContext, key: str) -> int:
    try:
        return ctx.storage.path(key).stat().st_size
    except OSError:
        return 0


def _modified(ctx: ServiceContext, key: str) -> datetime:
    try:
        return datetime.fromtimestamp(ctx.storage.path(key).stat().st_mtime, UTC)
    except OSError:
        return datetime.max.replace(tzinfo=UTC)


def log_entries(ctx: ServiceContext, *, limit: int = 100) -> list[dict[str, Any]]:
    """The purge log, newest first, for administrators."""
    with ctx.db.session() as s:
        rows = s.execute(select(Purge, User.name).outerjoin(User, User.id == Purge.user_id)
                         .order_by(Purge.at.desc(), Purge.id.desc()).limit(limit)).all()
        return [{"at": p.at, "trigger": p.trigger, "by": name, "rule": p.rule,
                 "include_waiting": p.include_waiting, "files": p.files, "pages": p.pages,
                 "crops": p.crops, "blanks": p.blanks, "bytes": p.bytes, "kept_waiting": p.kept_waiting}
                for p, name in rows]


@periodic("purge", 3600.0)
def purge_on_schedule(ctx: ServiceContext) -> object:
    """The workers' hourly sweep: what the configuration says is due (never what a person still needs)."""
    return purge(ctx, trigger="schedule")
