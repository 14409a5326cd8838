"""Preview images of a rendered PDF (pypdfium2), for the web page and the docs.

Must never: write files, or keep a document open after returning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from ..errors import RenderError
from ..pdfium import PDFIUM_LOCK


def render_previews(
    pdf: Path | bytes, *, dpi: int = 60, pages: Sequence[int] | None = None
) -> list[Image.Image]:
    """Pages of ``pdf`` (a path or the PDF's bytes) as RGB images; ``pages`` are 1-based (default: all)."""
    if dpi <= 0 or dpi > 1200:
        raise RenderError(f"A preview resolution must be between 1 and 1200 dpi, not {dpi}.")
    with PDFIUM_LOCK:
        return _render(pdf, dpi, pages)


def _render(pdf: Path | bytes, dpi: int, pages: Sequence[int] | None) -> list[Image.Image]:
    try:
        doc = pdfium.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    except (pdfium.PdfiumError, FileNotFoundError, OSError) as exc:
        raise RenderError(f"Cannot preview this PDF: {exc}.") from None
    try:
        count = len(doc)
        wanted = list(pages) if pages is not None else list(range(1, count + 1))
        bad = [p for p in wanted if not 1 <= p <= count]
        if bad:
            raise RenderError(f"The PDF has {count} pages; there is no page {bad[0]}.")
        images = []
        for number in wanted:
            page = doc[number - 1]
            try:
                bitmap = page.render(scale=dpi / 72)
                images.append(bitmap.to_pil().convert("RGB"))
            finally:
                page.close()
        return images
    finally:
        doc.close()
