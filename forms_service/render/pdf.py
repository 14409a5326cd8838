"""Print runs: many copies of one variant in one print-ready PDF, written atomically.

Each page's static content (everything but the page code and the sheet id) is
drawn once as a PDF form XObject and reused by every copy, so a copy costs one
QR symbol and one line of text per page. ReportLab holds a document in memory
until it is saved, so a large run is drawn in batches of about
``BATCH_PAGES`` pages that :mod:`.join` streams into one file. The file is
written to a temporary name in the output folder and renamed into place only
when complete.

Must never: leave a partial PDF at the output path, log a sheet id, or record a
sheet id against a person.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from ..errors import RenderError
from ..layout import Layout
from ..layout.frame import sheet_id_text
from ..questionnaire.model import Questionnaire
from ..sheets import is_sheet_id, new_sheet_id
from .compose import Composition, compose
from .draw import draw_items
from .join import join_pdfs
from .qr import QrEncoder, draw_qr
from .text import REGULAR
from .variants import style_for

log = logging.getLogger(__name__)

BATCH_PAGES = 1200
"""Pages drawn per batch before it is saved; a larger run is drawn in batches and joined."""


@dataclass
class RenderResult:
    layout: Layout
    """The layout of this variant (the same for every copy)."""
    pages_per_copy: int
    """Pages of one copy, always even so duplex copies never share a sheet."""
    sheets: list[tuple[str, list[int]]]
    """For each copy: its sheet id and its 1-based page numbers in the PDF."""


def render_pdf(
    q: Questionnaire,
    variant: str,
    output: Path,
    *,
    copies: int = 1,
    sheet_ids: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    receipts: Sequence[str] | None = None,
    receipt_url: str = "the consultation's receipt page",
) -> RenderResult:
    """Draw ``copies`` copies of ``q`` in ``variant`` into one PDF at ``output``.

    Every copy gets its own random sheet id (or the given ``sheet_ids``, one per
    copy). ``progress(done, total)`` is called after each copy. A questionnaire with a
    receipt slip prints ``receipts[i]`` on copy *i*'s slip (nothing there when none are
    given: a blank form); the codes are drawn and forgotten, never logged or returned.
    """
    style_for(variant)
    ids = _sheet_ids(copies, sheet_ids)
    if receipts is not None and len(receipts) != len(ids):
        raise RenderError(f"{len(ids)} copies need {len(ids)} receipt codes, but {len(receipts)} were given.")
    composition = compose(q, variant, receipt_url)
    output = Path(output)
    if not output.parent.is_dir():
        raise RenderError(f"Cannot write {output}: the folder {output.parent} does not exist.")
    tmp = output.with_name(f".{output.name}.{secrets.token_hex(6)}.tmp")
    try:
        _draw(composition, q, tmp, ids, progress, receipts)
        os.replace(tmp, output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    per_copy = len(composition.pages)
    sheets = [(sid, list(range(i * per_copy + 1, (i + 1) * per_copy + 1))) for i, sid in enumerate(ids)]
    log.info(
        "rendered %d copies of %s %s (%s), %d pages each",
        len(ids),
        q.id,
        q.version,
        variant,
        per_copy,
    )
    return RenderResult(composition.layout, per_copy, sheets)


def _sheet_ids(copies: int, given: Sequence[str] | None) -> list[str]:
    if isinstance(copies, bool) or not isinstance(copies, int) or copies <= 0:
        raise RenderError(f"The number of copies must be a whole number of at least 1, not {copies!r}.")
    if given is None:
        ids: set[str] = set()
        out: list[str] = []
        while len(out) < copies:
            sid = new_sheet_id()
            if sid not in ids:
                ids.add(sid)
                out.append(sid)
        return out
    out = list(given)
    if len(out) != copies:
        need = "1 copy needs 1 sheet id" if copies == 1 else f"{copies} copies need {copies} sheet ids"
        raise RenderError(f"{need}, but {len(out)} were given.")
    if not all(isinstance(s, str) and is_sheet_id(s) for s in out):
        raise RenderError("A given sheet id is not a valid sheet id (like K7MQ-9XHT-P4R).")
    if len(set(out)) != len(out):
        raise RenderError("The given sheet ids repeat: every copy needs its own sheet id.")
    return out


def _draw(
    c: Composition,
    q: Questionnaire,
    path: Path,
    ids: list[str],
    progress: Callable[[int, int], None] | None,
    receipts: Sequence[str] | None = None,
) -> None:
    """Draw all copies to ``path``: in one go, or in batches joined afterwards (flat memory)."""
    codes = dict(zip(ids, receipts, strict=True)) if receipts is not None else {}
    encoder = QrEncoder(c.qr_version)
    per_batch = max(1, BATCH_PAGES // len(c.pages))
    batches = [ids[i : i + per_batch] for i in range(0, len(ids), per_batch)]
    done = 0

    def report(copies: int) -> None:
        nonlocal done
        done += copies
        if progress is not None:
            progress(done, len(ids))

    if len(batches) == 1:
        _draw_batch(c, q, path, ids, encoder, report, codes)
        return
    parts: list[Path] = []
    try:
        for number, batch in enumerate(batches, start=1):
            part = path.with_name(f"{path.name}.{number}")
            parts.append(part)
            _draw_batch(c, q, part, batch, encoder, report, codes)
        join_pdfs(parts, path)
    finally:
        for part in parts:
            part.unlink(missing_ok=True)


def _draw_batch(
    c: Composition,
    q: Questionnaire,
    path: Path,
    ids: list[str],
    encoder: QrEncoder,
    report: Callable[[int], None],
    codes: Mapping[str, str],
) -> None:
    frame, style = c.frame, c.style
    flip = frame.flip
    canvas = Canvas(
        str(path),
        pagesize=(frame.width, frame.height),
        pageCompression=1,
        invariant=1,
        initialFontName=REGULAR,
        lang=q.languages[0],
    )
    canvas.setTitle(f"{q.title} ({style.label})" if style.label else q.title)
    canvas.setSubject(f"{q.id} {q.version} {c.variant}")
    canvas.setCreator("forms-service")
    canvas.setAuthor("forms-service")
    forms = []
    for page in c.pages:
        name = f"page{page.number}"
        canvas.beginForm(name)
        draw_items(canvas, flip, page.items)
        canvas.endForm()
        forms.append(name)
    line = frame.printed.footer.sheet_id
    sx, sy = line.baseline
    for sheet in ids:
        for page, form in zip(c.pages, forms, strict=True):
            canvas.doForm(form)
            matrix = encoder.matrix(c.page_code(page.number, sheet), page.number)
            draw_qr(canvas, flip, frame.page_code, matrix)
            canvas.setFont(line.font, line.size)
            canvas.drawString(sx, flip.y(sy), sheet_id_text(sheet))
            spot = c.receipt
            if spot is not None and page.number == spot.page and sheet in codes:
                canvas.setFont(spot.font, spot.size)
                canvas.drawString(spot.x, flip.y(spot.y), codes[sheet])
            canvas.showPage()
        report(1)
    with _binary_streams():
        canvas.save()


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write compressed streams as plain binary (ReportLab's default adds ASCII85, +25 % size)."""
    saved = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = saved
