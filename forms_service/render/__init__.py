"""The PDF renderer: questionnaires drawn as print-ready forms in three variants, with their layouts.

``render_pdf`` draws a print run (many copies, each with its own sheet id, in one
PDF); ``build_layout`` gives the layout file of a variant from the very same
composition the drawing uses; ``render_previews`` turns PDF pages into images.
See docs/printing.md.

Pipeline: :mod:`.compose` lays out chunks (with :mod:`.text` and
:mod:`.variants`), :mod:`.flow` puts them on pages, :mod:`.draw` draws the
display list of :mod:`.items`, :mod:`.qr` draws page codes and :mod:`.pdf`
writes copies.

Must never: put anything on a page that identifies a respondent, or log answer
text or sheet ids.
"""

from __future__ import annotations

from ..layout import Layout
from ..questionnaire.model import Questionnaire
from .compose import compose
from .pdf import RenderResult, render_pdf
from .pictograms import pictogram_exists
from .previews import render_previews
from .variants import VARIANTS

__all__ = [
    "VARIANTS",
    "RenderResult",
    "build_layout",
    "pictogram_exists",
    "render_pdf",
    "render_previews",
]


def build_layout(q: Questionnaire, variant: str) -> Layout:
    """The layout file of ``variant`` of ``q``: the positions ``render_pdf`` draws at."""
    return compose(q, variant).layout
