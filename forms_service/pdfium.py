"""One lock for every call into PDFium (pypdfium2), which is not thread-safe.

The web server's threads, the embedded worker and the scan reader all open
PDFs; each holds this lock while it does.
"""

from __future__ import annotations

import threading

PDFIUM_LOCK = threading.RLock()
