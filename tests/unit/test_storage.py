"""Stored files: keys relative to the home, atomic writes, and everything of a scan or print run at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from forms_service import storage
from forms_service.storage import Storage, StorageError

SHA = "ab" * 32


def test_keys_group_files_by_what_owns_them() -> None:
    assert storage.original_key(SHA, "tiff") == f"scans/{SHA}/original.tif"
    assert storage.page_image_key(SHA, 0) == f"scans/{SHA}/page-1.png"
    assert storage.crop_key(SHA, 2, "q_values", 1) == f"scans/{SHA}/crops/p3-q_values-1.png"
    assert storage.crop_key(SHA, 0, "values.integrity", 2).startswith(storage.scan_prefix(SHA))
    assert storage.print_run_pdf_key(12) == "print-runs/12/run-12.pdf"
    assert storage.blank_key("big-leeds-conversation", "2026-11", "easy-read", "f" * 64) == (
        "blanks/big-leeds-conversation/2026-11/easy-read-ffffffffffff.pdf")
    assert storage.preview_key("q", "1", "standard", "e" * 64, 2) == "previews/q/1/standard-eeeeeeeeeeee-p2.png"


def test_write_read_list_and_delete_what_belongs_to_a_scan(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    other = "cd" * 32
    store.write(storage.original_key(SHA, "pdf"), b"%PDF-1.7 scan")
    store.write(storage.page_image_key(SHA, 4), b"png")
    store.write(storage.crop_key(SHA, 4, "q_else", 1), b"crop")
    store.write(storage.original_key(other, "png"), b"other scan")
    assert store.read(storage.original_key(SHA, "pdf")) == b"%PDF-1.7 scan"
    assert store.scan_keys(SHA) == sorted([storage.original_key(SHA, "pdf"), storage.page_image_key(SHA, 4),
                                           storage.crop_key(SHA, 4, "q_else", 1)])
    assert len(store.delete_scan(SHA)) == 3
    assert store.scan_keys(SHA) == [] and not (tmp_path / "scans" / SHA).exists()
    assert store.scan_keys(other) == [storage.original_key(other, "png")]  # the other scan is untouched
    assert store.delete(storage.original_key(SHA, "pdf")) is False


def test_a_print_run_is_listed_and_deleted_whole(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    store.write(storage.print_run_pdf_key(3), b"%PDF run 3")
    store.write(storage.print_run_pdf_key(31), b"%PDF run 31")
    assert store.print_run_keys(3) == ["print-runs/3/run-3.pdf"]  # run 31 is not run 3's
    assert store.delete_print_run(3) == ["print-runs/3/run-3.pdf"]
    assert store.print_run_keys(31) == ["print-runs/31/run-31.pdf"]


def test_a_failed_write_leaves_nothing_under_its_key(tmp_path: Path) -> None:
    store = Storage(tmp_path)
    key = storage.print_run_pdf_key(5)
    with pytest.raises(RuntimeError), store.writing(key) as partial:
        partial.write_bytes(b"half a PDF")
        raise RuntimeError("the renderer stopped")
    assert not store.exists(key) and list((tmp_path / "print-runs" / "5").iterdir()) == []
    store.write(key, b"whole")
    store.copy_out(key, tmp_path / "out" / "forms.pdf")
    assert (tmp_path / "out" / "forms.pdf").read_bytes() == b"whole"


@pytest.mark.parametrize("key", ["/etc/passwd", "../secret-key", "scans/../../x", "scans\\x", "", "scans//x",
                                 ".hidden/x", "scans/./x"])
def test_a_key_never_leaves_the_home(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError, match="is not a storage key"):
        Storage(tmp_path).path(key)


def test_a_missing_file_is_named_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"The stored file scans/x/original.pdf is missing from "):
        Storage(tmp_path).read("scans/x/original.pdf")
