"""Joining batch PDFs into one print run, streaming, so memory stays flat in the copies.

ReportLab keeps a whole document in memory until it saves it, and general PDF
libraries (pikepdf, pypdf) hold every object of every input while they write:
both grow with the number of copies. A large print run is therefore drawn in
batches, each saved to its own temporary PDF by ReportLab, and joined here one
batch at a time: each batch's objects are copied with their numbers shifted
(stream data byte for byte), each batch's page tree is hung under one new page
tree root, and a new cross-reference table is written.

This reads only what the renderer itself wrote (ReportLab: one revision, a
classic cross-reference table, no object streams, no encryption); anything
else is refused with a RenderError rather than guessed at. Tests check the
result with an independent PDF library.

Must never: change the content of a page, or be used on PDFs from elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import RenderError

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_XREF_HEAD = re.compile(rb"xref\s+0\s+(\d+)\s+")
_REF = re.compile(rb"(\d+) 0 R\b")
_ROOT = re.compile(rb"/Root (\d+) 0 R")
_INFO = re.compile(rb"/Info (\d+) 0 R")
_ID = re.compile(rb"/ID\s*\[\s*(<[0-9a-fA-F]*>\s*<[0-9a-fA-F]*>)\s*\]")
_PAGES = re.compile(rb"/Pages (\d+) 0 R")
_COUNT = re.compile(rb"/Count (\d+)")
_STREAM = re.compile(rb"\bstream\r?\n")


class _Batch:
    """One ReportLab PDF: its objects, by number, as byte ranges of the file."""

    def __init__(self, path: Path) -> None:
        self.data = data = path.read_bytes()
        end = _STARTXREF.search(data[-64:])
        if not data.startswith(b"%PDF-") or end is None:
            raise RenderError(f"Internal error: {path.name} is not a PDF this renderer wrote.")
        xref_at = int(end.group(1))
        head = _XREF_HEAD.match(data, xref_at)
        if head is None:
            raise RenderError(f"Internal error: {path.name} has no classic cross-reference table.")
        self.size = int(head.group(1))
        table = head.end()
        self.offsets: dict[int, int] = {}
        for number in range(1, self.size):
            entry = data[table + 20 * number : table + 20 * number + 18]
            if entry.endswith(b" n"):
                self.offsets[number] = int(entry[:10])
        trailer = data[table + 20 * self.size : len(data)]
        root, info, file_id = _ROOT.search(trailer), _INFO.search(trailer), _ID.search(trailer)
        if root is None:
            raise RenderError(f"Internal error: {path.name} has no document catalog.")
        self.root = int(root.group(1))
        self.info = int(info.group(1)) if info else None
        self.file_id = file_id.group(1) if file_id else None
        pages = _PAGES.search(self.object(self.root))
        if pages is None:
            raise RenderError(f"Internal error: {path.name} has no page tree.")
        self.pages = int(pages.group(1))
        count = _COUNT.search(self.object(self.pages))
        self.count = int(count.group(1)) if count else 0

    def object(self, number: int) -> bytes:
        """The bytes of object ``number``, from ``N 0 obj`` to ``endobj`` inclusive."""
        start = self.offsets[number]
        end_obj = self.data.find(b"endobj", start)
        stream = _STREAM.search(self.data, start, end_obj)
        if stream is not None:
            # skip the stream data (it may contain anything) before looking for endobj
            end_obj = self.data.find(b"endobj", self.data.find(b"endstream", stream.end()))
        return self.data[start : end_obj + len(b"endobj")]


def _renumber(obj: bytes, shift: int) -> tuple[bytes, bytes]:
    """Split an object into (dictionary part with references shifted, stream part untouched)."""
    stream = _STREAM.search(obj)
    head, tail = (obj[: stream.start()], obj[stream.start() :]) if stream else (obj, b"")
    head = _REF.sub(lambda m: b"%d 0 R" % (int(m.group(1)) + shift), head)
    number, _, rest = head.partition(b" 0 obj")
    return b"%d 0 obj" % (int(number) + shift) + rest, tail


def join_pdfs(parts: Sequence[Path], output: Path) -> None:
    """Write the pages of ``parts``, in order, to ``output`` (document info from the first)."""
    offsets: list[int] = []
    kids: list[int] = []
    total = 0
    first: _Batch | None = None
    shift = 0
    root_pages = root_catalog = 0
    with output.open("wb") as out:
        out.write(b"%PDF-1.4\n%\x93\x8c\x8b\x9e\n")
        for part in parts:
            batch = _Batch(part)
            if first is None:
                first = batch
                root_pages, root_catalog = 1, 2  # written last, numbered first
                shift = 2
            for number in range(1, batch.size):
                if number == batch.root or number not in batch.offsets:
                    continue
                if first is not batch and number == batch.info:
                    continue
                head, tail = _renumber(batch.object(number), shift)
                if number == batch.pages:
                    head = head.replace(b"<<", b"<< /Parent %d 0 R" % root_pages, 1)
                while len(offsets) < number + shift:
                    offsets.append(0)
                offsets[number + shift - 1] = out.tell()
                out.write(head + tail + b"\n")
            kids.append(batch.pages + shift)
            total += batch.count
            shift += batch.size
            del batch
        if first is None:
            raise RenderError("Internal error: there were no batches to join.")
        catalog, _ = _renumber(first.object(first.root), 2)
        catalog = _PAGES.sub(b"/Pages %d 0 R" % root_pages, catalog)
        catalog = catalog.replace(b"%d 0 obj" % (first.root + 2), b"%d 0 obj" % root_catalog, 1)
        tree = b"%d 0 obj\n<< /Type /Pages /Count %d /Kids [ %s ] >>\nendobj" % (
            root_pages, total, b" ".join(b"%d 0 R" % k for k in kids))
        while len(offsets) < 2:
            offsets.append(0)
        offsets[root_pages - 1] = out.tell()
        out.write(tree + b"\n")
        offsets[root_catalog - 1] = out.tell()
        out.write(catalog + b"\n")
        xref_at = out.tell()
        size = len(offsets) + 1
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for offset in offsets:
            out.write(b"%010d 00000 n \n" % offset if offset else b"0000000000 65535 f \n")
        trailer = b"/Size %d /Root %d 0 R" % (size, root_catalog)
        if first.info is not None:
            trailer += b" /Info %d 0 R" % (first.info + 2)
        if first.file_id is not None:
            trailer += b" /ID [%s]" % first.file_id
        out.write(b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref_at))
