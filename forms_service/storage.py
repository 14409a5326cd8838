"""Every file the service writes or reads back, addressed by a key relative to FORMS_SERVICE_HOME.

A key is a relative POSIX path such as ``scans/<sha256>/original.pdf``; the
database stores keys, never absolute paths, so a home can move, a second
machine can mount the same home, and a later backend can keep the same keys
elsewhere. Files are grouped by what owns them, so that everything belonging to
a scan or a print run can be listed and deleted in one step (the retention
purge):

| key | what |
| --- | --- |
| ``scans/<sha256>/original.<ext>`` | a stored scan file, content-addressed |
| ``scans/<sha256>/page-<n>.png`` | the picture of page *n* kept for a person to identify |
| ``scans/<sha256>/crops/p<n>-<field>-<part>.png`` | a writing area cut from page *n*, for the verifier |
| ``print-runs/<id>/<name>.pdf`` | a print run's print-ready PDF |
| ``blanks/<questionnaire>/<version>/<variant>-<hash>.pdf`` | the one-copy blank form the reader compares with |
| ``previews/<questionnaire>/<version>/<variant>-<hash>[-p<n>.png\\|.pdf]`` | page previews |
| ``exports/...``, ``outbox/...`` | files written for analysts and facilitators |

Writes are atomic (a temporary file renamed into place), so a reader never sees
half a file and a crash leaves no partial one under its key.

Must never: accept a key that leaves the home (absolute, ``..``), or log a file's contents.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import FormsServiceError

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}")
SCAN_SUFFIX = {"pdf": ".pdf", "tiff": ".tif", "png": ".png", "jpeg": ".jpg"}


class StorageError(FormsServiceError):
    """A key that cannot name a file in the home, or a stored file that is missing."""


def _check(key: str) -> str:
    """The key itself, once it is known to be relative names joined by '/' (no '.', '..' or empty names)."""
    if not key or any(not _SEGMENT.fullmatch(p) for p in key.split("/")):
        raise StorageError(f"{key!r} is not a storage key (a relative path of plain names).")
    return key


def _segment(text: str) -> str:
    """A name made safe for one segment of a key (field ids, questionnaire ids)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+-]+", "-", text).strip("-.") or "x"
    return cleaned[:200]


# -- keys -----------------------------------------------------------------------------


def scan_prefix(sha256: str) -> str:
    """Everything stored for one scan file starts with this."""
    return f"scans/{_segment(sha256)}/"


def original_key(sha256: str, kind: str | None) -> str:
    return f"{scan_prefix(sha256)}original{SCAN_SUFFIX.get(kind or 'pdf', '.bin')}"


def page_image_key(sha256: str, source_index: int) -> str:
    return f"{scan_prefix(sha256)}page-{source_index + 1}.png"


def crop_key(sha256: str, source_index: int, field_id: str, part: int) -> str:
    return f"{scan_prefix(sha256)}crops/p{source_index + 1}-{_segment(field_id)}-{part}.png"


def print_run_prefix(run_id: int) -> str:
    """Everything stored for one print run starts with this."""
    return f"print-runs/{int(run_id)}/"


def print_run_pdf_key(run_id: int) -> str:
    return f"{print_run_prefix(run_id)}run-{int(run_id)}.pdf"


def blank_key(questionnaire: str, version: str, variant: str, sha256: str) -> str:
    return f"blanks/{_segment(questionnaire)}/{_segment(version)}/{_segment(variant)}-{sha256[:12]}.pdf"


def preview_key(questionnaire: str, version: str, variant: str, sha256: str, page: int | None = None) -> str:
    stem = f"previews/{_segment(questionnaire)}/{_segment(version)}/{_segment(variant)}-{sha256[:12]}"
    return f"{stem}.pdf" if page is None else f"{stem}-p{int(page)}.png"


# -- the store --------------------------------------------------------------------------


class Storage:
    """Files under one home folder, by key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The local file behind a key, for libraries that need a path (it may not exist yet)."""
        return self.root.joinpath(*_check(key).split("/"))

    def exists(self, key: str | None) -> bool:
        return bool(key) and self.path(key or "").is_file()

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(
                f"The stored file {key} is missing from {self.root} (deleted, or the home was moved "
                f"without it)."
            ) from None

    def write(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key`` atomically; returns the key."""
        with self.writing(key) as tmp:
            tmp.write_bytes(data)
        return _check(key)

    @contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A temporary path to write the file to; it takes its key's place when the block ends
        without an error, and is removed otherwise."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            yield tmp
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def copy_out(self, key: str, destination: Path) -> None:
        """Copy a stored file to a path outside the home (atomically)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}.tmp")
        try:
            shutil.copyfile(self.path(key), tmp)
            os.replace(tmp, destination)
        finally:
            tmp.unlink(missing_ok=True)

    def keys(self, prefix: str) -> list[str]:
        """Every stored key that starts with ``prefix`` (a folder-like prefix ending in '/')."""
        base = self.path(prefix.rstrip("/"))
        if base.is_file():
            return [_check(prefix.rstrip("/"))]
        if not base.is_dir():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in base.rglob("*")
                      if p.is_file() and not p.name.startswith("."))

    def delete(self, key: str) -> bool:
        """Remove one stored file; False when there was none."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_prefix(self, prefix: str) -> list[str]:
        """Remove everything under ``prefix``; returns the keys removed."""
        keys = self.keys(prefix)
        for key in keys:
            self.delete(key)
        base = self.path(prefix.rstrip("/"))
        if base.is_dir():
            shutil.rmtree(base, ignore_errors=True)  # the emptied folders, and any temporary leftovers
        return keys

    # what belongs to whom: the retention purge and a second backend build on these

    def scan_keys(self, sha256: str) -> list[str]:
        """The original of a scan file, its pages' pictures and every crop cut from it."""
        return self.keys(scan_prefix(sha256))

    def delete_scan(self, sha256: str) -> list[str]:
        return self.delete_prefix(scan_prefix(sha256))

    def print_run_keys(self, run_id: int) -> list[str]:
        return self.keys(print_run_prefix(run_id))

    def delete_print_run(self, run_id: int) -> list[str]:
        return self.delete_prefix(print_run_prefix(run_id))
