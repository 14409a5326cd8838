"""Whole synthetic returns: printed copies, filled by simulated people, scanned, with the truth.

:func:`synth_sheets` prints copies of a variant with the project's own
renderer, fills every page with :func:`~forms_lab.synth.fill.fill_page`
(one simulated respondent per copy), degrades each page as a scanner,
photocopier or phone would (:mod:`forms_lab.degrade`), and keeps
the truth: for every field, the value the export should carry.
:func:`write_scan_files` saves the pages as the files a scanner station
would send (a multi-page PDF of images, multi-page TIFF, PNG or JPEG).

Used by the end-to-end tests and ``benchmarks/read.py``; never by the service.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2
from numpy.typing import NDArray
from PIL import Image

from forms_service.pdfium import PDFIUM_LOCK
from forms_service.questionnaire.model import Questionnaire

from ..degrade import degrade
from .fill import fill_page, random_respondent

SOURCE_DPI = 300.0


@dataclass
class ScannedPage:
    sheet: str
    page: int
    image: NDArray[np.uint8]
    dpi: float
    bilevel: bool


@dataclass
class SyntheticSheet:
    sheet: str
    variant: str
    truth: dict[str, Any] = field(default_factory=dict)
    cases: dict[str, str] = field(default_factory=dict)
    pen: str = ""
    pages: list[ScannedPage] = field(default_factory=list)


def synth_sheets(
    q: Questionnaire,
    variant: str,
    sheet_ids: Sequence[str],
    rng: np.random.Generator,
    *,
    preset: str = "office",
    cases: dict[str, str] | None = None,
    population: str = "stress",
) -> list[SyntheticSheet]:
    """Print, fill and scan one copy per sheet id; return the scanned pages and the truth.

    ``population``: how the respondents fill forms (``forms_lab.synth.POPULATIONS``).
    """
    from forms_service.render import render_pdf

    with tempfile.TemporaryDirectory() as tmp:
        pdf_path = Path(tmp) / "run.pdf"
        result = render_pdf(q, variant, pdf_path, copies=len(sheet_ids), sheet_ids=list(sheet_ids))
        layout = result.layout
        scale = SOURCE_DPI / 72.0
        sheets: list[SyntheticSheet] = []
        with PDFIUM_LOCK:
            doc = pypdfium2.PdfDocument(str(pdf_path))
            try:
                rasters = {
                    (sid, n): np.array(doc[pdf_page - 1].render(scale=scale, grayscale=True).to_pil().convert("L"))
                    for sid, pages in result.sheets for n, pdf_page in enumerate(pages, start=1)
                }
            finally:
                doc.close()
    for sid, pages in result.sheets:
        person = random_respondent(rng, population=population)
        sheet = SyntheticSheet(sid, variant, pen=person.pen.kind)
        for n in range(1, len(pages) + 1):
            filled = fill_page(rasters[(sid, n)], layout.page(n), scale, rng, respondent=person, cases=cases)
            for fid, value in filled.truth.items():
                if fid in sheet.truth and isinstance(value, str) and sheet.truth[fid]:
                    sheet.truth[fid] = "\n".join(t for t in (sheet.truth[fid], value) if t)
                else:
                    sheet.truth[fid] = value
            sheet.cases.update(filled.cases)
            scanned = degrade(filled.image, rng, preset, source_dpi=SOURCE_DPI)
            sheet.pages.append(ScannedPage(sid, n, scanned.image, scanned.params.dpi,
                                           scanned.params.bilevel_threshold is not None))
        sheets.append(sheet)
    return sheets


def write_scan_files(pages: Sequence[ScannedPage], folder: Path, kind: str = "pdf",
                     stem: str = "scan") -> list[Path]:
    """Save scanned pages as a scanner station would: one multi-page PDF or TIFF, or one image per page."""
    folder.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(p.image).convert("1") if p.bilevel else Image.fromarray(p.image) for p in pages]
    dpi = round(pages[0].dpi) if pages else 300
    if kind == "pdf":
        path = folder / f"{stem}.pdf"
        images[0].save(path, save_all=True, append_images=images[1:], resolution=dpi)
        return [path]
    if kind == "tiff":
        path = folder / f"{stem}.tif"
        compression = "group4" if all(p.bilevel for p in pages) else "tiff_deflate"
        images[0].save(path, save_all=True, append_images=images[1:], dpi=(dpi, dpi), compression=compression)
        return [path]
    out = []
    for i, (image, page) in enumerate(zip(images, pages, strict=True), start=1):
        suffix = "png" if kind == "png" else "jpg"
        path = folder / f"{stem}-{i}.{suffix}"
        options: dict[str, Any] = {"dpi": (round(page.dpi), round(page.dpi))}
        if suffix == "jpg":
            image = image.convert("L")
            options["quality"] = 85
        image.save(path, **options)
        out.append(path)
    return out
