"""Pages are read on several threads and recorded in their order (services.ingest._read_ahead)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from forms_service.services.ingest import _read_ahead


def test_readings_come_back_in_the_pages_order_while_later_pages_are_read() -> None:
    active, most = 0, 0
    lock = threading.Lock()

    def read(page: int) -> str:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.02 if page % 3 == 0 else 0.001)  # some pages take longer than the next
        with lock:
            active -= 1
        return f"read {page}"

    out = list(_read_ahead(read, range(12), readers=2))
    assert out == [(i, f"read {i}") for i in range(12)]
    assert most == 2  # two pages were being read at once


def test_a_file_damaged_part_way_still_yields_the_pages_before_the_damage() -> None:
    class Damaged(Exception):
        pass

    def pages() -> Iterator[int]:
        yield from range(4)
        raise Damaged("page 5 cannot be decoded")

    got = []
    with pytest.raises(Damaged):
        for page, reading in _read_ahead(lambda p: p * 10, pages(), readers=2):
            got.append((page, reading))
    assert got == [(0, 0), (1, 10), (2, 20), (3, 30)]


def test_a_page_that_fails_to_read_stops_the_file_as_before() -> None:
    def read(page: int) -> int:
        if page == 2:
            raise ValueError("unreadable")
        return page

    got = []
    with pytest.raises(ValueError, match="unreadable"):
        for _page, reading in _read_ahead(read, range(6), readers=2):
            got.append(reading)
    assert got == [0, 1]
