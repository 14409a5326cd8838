"""The identify queue: pages the machine could not place, for a person to name or set aside.

A page without a readable page code that the machine could not recognise, or
one it recognised but cannot line up, waits here with its reason and a picture
of it turned upright. A person says which page of which sheet it is (and how it
is turned) and it is read as that page; or, when only a new scan can be read,
sets it aside; or says it is not one of our forms at all. Nothing is deleted either way.

Must never: log sheet ids or answer text.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select

from ..context import ServiceContext
from ..errors import InvalidInput, NotFound
from ..scan import PageRejected
from ..scan.pipeline import PageProblem
from ..sheets import PageCode, normalise_sheet_id
from ..states import ScanPageState
from ..store.models import ScanFile, ScanPage, utcnow
from . import responses
from .reading import PageReader, load_page

log = logging.getLogger(__name__)

GONE = "That page is not waiting to be identified (someone may have done it already)."


def count_unidentified(ctx: ServiceContext) -> int:
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ScanPage)
                            .where(ScanPage.state == ScanPageState.UNIDENTIFIED)) or 0)


def _waiting(page_id: int | None = None) -> Any:
    """The pages waiting to be identified (or the one of them with ``page_id``), with their file names."""
    query = (select(ScanPage, ScanFile.filename).join(ScanFile, ScanFile.id == ScanPage.scan_file_id)
             .where(ScanPage.state == ScanPageState.UNIDENTIFIED).order_by(ScanPage.id))  # fmt: skip
    return query if page_id is None else query.where(ScanPage.id == page_id)


def _waiting_dict(p: ScanPage, name: str) -> dict[str, Any]:
    return {"id": p.id, "file": name, "page": p.source_index + 1, "reason": p.reason,
            "image_key": p.image_key, "needs_new_scan": (p.details or {}).get("kind") == "misaligned"}


def unidentified_pages(ctx: ServiceContext) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [_waiting_dict(p, name) for p, name in s.execute(_waiting())]


def unidentified_page(ctx: ServiceContext, page_id: int) -> dict[str, Any]:
    with ctx.db.session() as s:
        found = s.execute(_waiting(page_id)).first()
        if found is None:
            raise NotFound(GONE)
        return _waiting_dict(*found)


def page_picture(ctx: ServiceContext, page_id: int) -> bytes:
    """The PNG picture of a page waiting to be identified."""
    page = unidentified_page(ctx, page_id)
    if not page["image_key"]:
        raise NotFound("No picture was kept of this page.")
    return ctx.storage.read(page["image_key"])


def set_aside_page(ctx: ServiceContext, page_id: int) -> dict[str, Any]:
    """Take a page out of the identify queue because only a new scan of it can be read.

    Nothing is deleted: the page keeps its file, reason and picture (until the
    retention purge), is listed in its job's summary as set aside, and the
    response it belongs to still lacks it until a new scan of it is read.
    Returns the page as :func:`unidentified_page` described it.
    """
    return _settle(ctx, page_id, ScanPageState.SET_ASIDE, "set_aside_at")


def not_ours_page(ctx: ServiceContext, page_id: int, user_id: int | None = None) -> dict[str, Any]:
    """Take a page out of the identify queue because it is not one of our forms (a letter, a
    leaflet, someone else's survey). Kept like a set-aside page, listed in its job's summary,
    and logged with who judged it (never with what the page says)."""
    page = _settle(ctx, page_id, ScanPageState.NOT_OURS, "not_ours_at", user_id)
    log.info("page judged not one of our forms", extra={"scan_page": page_id, "user": user_id})
    return page


def _settle(ctx: ServiceContext, page_id: int, state: ScanPageState, stamp: str,
            user_id: int | None = None) -> dict[str, Any]:
    with ctx.db.session() as s:
        found = s.execute(_waiting(page_id)).first()
        if found is None:
            raise NotFound(GONE)
        row, name = found
        page = _waiting_dict(row, name)
        row.state = state
        row.details = {**(row.details or {}), stamp: utcnow().isoformat(timespec="seconds"),
                       **({"judged_by": user_id} if user_id is not None else {})}
    return page


def identify_page(ctx: ServiceContext, page_id: int, questionnaire: str, version: str, variant: str,
                  page_number: int, sheet: str, rotation: int) -> None:
    """Read an unidentified page as the page a person says it is."""
    unidentified_page(ctx, page_id)
    code = PageCode(questionnaire, version, variant, page_number, normalise_sheet_id(sheet))
    if rotation not in (0, 90, 180, 270):
        raise InvalidInput("Choose how the page is turned: 0, 90, 180 or 270 degrees.")
    with ctx.db.session() as s:
        row = s.get(ScanPage, page_id)
        assert row is not None
        file_id, index = row.scan_file_id, row.source_index
        # the person chose the turn of the picture they were shown, which may be the page already turned
        rotation = (int((row.details or {}).get("turned", 0)) + rotation) % 360
    image = load_page(ctx, file_id, index)
    if isinstance(image, PageRejected):
        raise InvalidInput(image.reason)
    reader = PageReader(ctx)
    layout = reader.layout(questionnaire, version, variant)
    if layout is None or page_number > len(layout.pages):
        raise InvalidInput(f"The {variant} form of {questionnaire} {version} has no page {page_number}.")
    outcome = reader.read_as(image, code, rotation)
    if isinstance(outcome, PageProblem):
        raise InvalidInput(f"{outcome.reason} Check the page number and how the page is turned.")
    responses.record_reading(ctx, file_id, image, outcome)
