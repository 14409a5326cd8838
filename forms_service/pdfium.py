"""One lock for every call into PDFium (pypdfium2), which is not thread-safe.

The web server's threads, the embedded worker and the scan reader all open
PDFs; each holds this lock while it does.
"""

from __future__ import annotations

import threading
from pathlib import Path

PDFIUM_LOCK = threading.RLock()


def pdf_page_count(path: str | Path) -> int:
    """How many pages the PDF at ``path`` has (raises PDFium's error for a damaged file)."""
    import pypdfium2

    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(str(path))
        try:
            return len(doc)
        finally:
            doc.close()
