"""Layouts and blank forms: what a page is read against.

Two steps, kept apart:

* :func:`find_layout` looks a layout up and has no side effects: the variant's
  layout file under FORMS_SERVICE_LAYOUTS, or, where there is none, the layout
  drawn from the definition as a print run would draw it;
* :func:`keep_layout` is the explicit step taken when a page is read with a
  layout that has no file yet (a sample printed from the preview, forms printed by
  another installation from the same definition): it draws the layout, freezes the
  questionnaire version as printing would, and writes the layout file, so paper in
  people's hands is always read with the layout it was printed with.

:func:`blank_page` gives the blank printed page that marks are compared with,
rendered by the same renderer (the one-copy PDF is stored under ``blanks/``).

Must never: move a layout that has been printed.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from .. import storage
from ..context import ServiceContext
from ..errors import NotFound
from ..layout import Layout, dump_layout, layout_path, load_layout
from . import questionnaires

log = logging.getLogger(__name__)

#: pages are read on several threads: one of them draws a missing blank form, once
_BLANK_LOCK = threading.Lock()


def variants() -> tuple[str, ...]:
    """The printed variants (standard, large-print, easy-read)."""
    from ..render import VARIANTS

    return tuple(VARIANTS)


def find_layout(ctx: ServiceContext, questionnaire: str, version: str, variant: str) -> Layout | None:
    """The variant's layout file, or else its layout drawn from the definition (nothing is written).

    ``None`` when the service has no such questionnaire version or variant.
    """
    path = layout_path(ctx.config.layouts, questionnaire, version, variant)
    if path.exists():
        return load_layout(path)
    return _drawn(ctx, questionnaire, version, variant)


def keep_layout(ctx: ServiceContext, questionnaire: str, version: str, variant: str) -> Layout | None:
    """The variant's layout, made permanent: drawn, its version frozen and its file written if it had none.

    ``None`` when the service has no such questionnaire version or variant.
    """
    path = layout_path(ctx.config.layouts, questionnaire, version, variant)
    if path.exists():
        return load_layout(path)
    layout = _drawn(ctx, questionnaire, version, variant)
    if layout is None:
        return None
    questionnaires.freeze(ctx, questionnaires.get_version(ctx, questionnaire, version).id)
    try:
        dump_layout(layout, path)
    except OSError as exc:  # a read-only layouts folder: the drawing still serves this process
        log.warning("could not keep the %s layout of %s %s as %s: %s", variant, questionnaire, version, path, exc)
    return layout


def _drawn(ctx: ServiceContext, questionnaire: str, version: str, variant: str) -> Layout | None:
    from ..render import build_layout

    if variant not in variants():
        return None
    try:
        questionnaires.get_version(ctx, questionnaire, version)
    except NotFound:
        return None
    return build_layout(questionnaires.get_questionnaire(ctx, questionnaire, version), variant)


def all_layouts(ctx: ServiceContext, known: dict[tuple[str, str, str], Layout | None] | None = None) -> list[Layout]:
    """Every layout of every questionnaire version loaded here (files, or drawn where none is kept).

    What a page without a readable page code is compared with. ``known`` holds
    layouts already looked up, to draw nothing twice.
    """
    from ..layout import LayoutError

    found: list[Layout] = []
    for info in questionnaires.list_versions(ctx):
        for variant in variants():
            key = (info.questionnaire, info.version, variant)
            try:
                layout = (known or {}).get(key) or find_layout(ctx, *key)
            except LayoutError:
                continue  # a broken layout file: the others still serve
            if layout is not None:
                found.append(layout)
    return found


def blank_page(ctx: ServiceContext, questionnaire: str, version: str, variant: str, page: int,
               dpi: float) -> NDArray[np.uint8]:
    """The blank printed page in layout coordinates at ``dpi``, rendered by the same renderer.

    The one-copy PDF is stored under ``blanks/`` (keyed by the definition's hash);
    rasters are cached in memory per process.
    """
    from ..render import render_pdf

    info = questionnaires.get_version(ctx, questionnaire, version)
    key = storage.blank_key(questionnaire, version, variant, info.sha256)
    with _BLANK_LOCK:
        if not ctx.storage.exists(key):
            with ctx.storage.writing(key) as partial:
                render_pdf(questionnaires.get_questionnaire(ctx, questionnaire, version), variant,
                           partial, copies=1, receipt_url=ctx.config.receipt_url)
    return _raster(str(ctx.storage.path(key)), page, float(dpi))


@lru_cache(maxsize=64)
def _raster(pdf: str, page: int, dpi: float) -> NDArray[np.uint8]:
    from ..scan.marks import render_blank

    image = render_blank(pdf, page, dpi / 72.0)
    image.setflags(write=False)
    return image
