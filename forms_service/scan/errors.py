"""The scan reader's failures, each with a sentence for the person who uploaded the scan.

A :class:`ScanFileError` rejects a whole file (empty, not a scan, damaged,
password-protected, too large); a single bad page inside an otherwise good file
is not an exception but a :class:`~forms_service.scan.files.PageRejected`
value, so the other pages still come through. An :class:`AlignmentError` says
why a page could not be lined up with its layout.

Must never: put answer text, a sheet id or image content into a message; a
message names the file and the page, and says what to do.
"""

from __future__ import annotations

from ..errors import FormsServiceError


class ScanError(FormsServiceError):
    """Base class for everything the scan reader rejects."""

    exit_code = 2
    http_status = 422
    code = "scan_rejected"


class ScanFileError(ScanError):
    """A file that cannot be read as a scan at all."""

    code = "scan_file_rejected"

    def __init__(self, message: str, *, filename: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.filename = filename
        #: technical detail for the operator's log (never shown as the reason)
        self.detail = detail


class EmptyScanFile(ScanFileError):
    code = "scan_file_empty"


class UnsupportedScanFile(ScanFileError):
    code = "scan_file_unsupported"


class DamagedScanFile(ScanFileError):
    code = "scan_file_damaged"


class ProtectedScanFile(ScanFileError):
    code = "scan_file_protected"


class ScanPageTooLarge(ScanFileError):
    code = "scan_page_too_large"


class AlignmentError(ScanError):
    """A page whose registration marks cannot be found or do not line up."""

    code = "alignment_failed"
