"""The scan reader: returned paper forms from files to aligned, identified page images.

The stages, each a small pure module (arrays and dataclasses in and out):

1. :mod:`.files` -- a scan file (PDF, TIFF, PNG, JPEG; told by content) to
   upright greyscale :class:`PageImage` values at native resolution, or a
   :class:`PageRejected` for a page that cannot be read.
2. :mod:`.pagecode` -- find and decode the page code (QR) at any rotation;
   :func:`turn_upright` turns the page the right way up.
3. :mod:`.fiducials` -- find the four registration marks and fit the
   transform from layout points to image pixels (:class:`Alignment`), with
   a residual check that refuses pages that do not line up.

Later stages (marks, writing) build on these. Synthetic scanner, photocopier
and phone pages for tests and benchmarks come from :mod:`forms_lab.degrade`,
outside the service.

Typical use::

    for page in iter_pages(path):
        if isinstance(page, PageRejected):
            report(page.reason); continue
        hit = find_page_code(page.image)
        image, hit = turn_upright(page.image, hit)
        alignment = align_layout_page(image, layout.page(hit.page_code.page), hit.corners,
                                      dpi=page.dpi if page.dpi_known else None)

Must never: log answer text or page codes, write files, or keep images; the
caller decides what is stored and for how long.
"""

from __future__ import annotations

from .errors import (
    AlignmentError,
    DamagedScanFile,
    EmptyScanFile,
    ProtectedScanFile,
    ScanError,
    ScanFileError,
    ScanPageTooLarge,
    UnsupportedScanFile,
)
from .fiducials import Alignment, AlignmentLimits, FoundMark, align_layout_page, align_page
from .files import (
    DEFAULT_MAX_PIXELS,
    PageImage,
    PageRejected,
    PageResult,
    ScanLimits,
    content_sha256,
    detect_kind,
    iter_pages,
    load_pages,
)
from .pagecode import PageCodeHit, find_page_code, hint_from_points, turn_upright

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "Alignment",
    "AlignmentError",
    "AlignmentLimits",
    "DamagedScanFile",
    "EmptyScanFile",
    "FoundMark",
    "PageCodeHit",
    "PageImage",
    "PageRejected",
    "PageResult",
    "ProtectedScanFile",
    "ScanError",
    "ScanFileError",
    "ScanLimits",
    "ScanPageTooLarge",
    "UnsupportedScanFile",
    "align_layout_page",
    "align_page",
    "content_sha256",
    "detect_kind",
    "find_page_code",
    "hint_from_points",
    "iter_pages",
    "load_pages",
    "turn_upright",
]
