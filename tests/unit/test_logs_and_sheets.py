"""Structured logs, sheet ids and page codes."""

from __future__ import annotations

import json
import logging

import pytest

from forms_service.errors import InvalidInput
from forms_service.logs import JsonFormatter
from forms_service.sheets import ALPHABET, PageCode, new_sheet_id, normalise_sheet_id


def test_log_lines_are_json_with_extra_fields() -> None:
    record = logging.LogRecord("forms_service.jobs", logging.INFO, __file__, 1, "job failed", None, None)
    record.job = 7
    record.kind = "render_print_run"
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "job failed" and line["job"] == 7 and line["level"] == "info"


def test_sheet_ids_are_random_typable_and_checked() -> None:
    ids = {new_sheet_id() for _ in range(2000)}
    assert len(ids) == 2000
    for sid in list(ids)[:50]:
        assert normalise_sheet_id(sid.lower().replace("-", " ")) == sid
        assert not set(sid.replace("-", "")) - set(ALPHABET)
        assert not set("01OI") & set(sid)
    sid = sorted(ids)[0]
    wrong = sid[:2] + ("A" if sid[2] != "A" else "B") + sid[3:]
    with pytest.raises(InvalidInput, match="typing mistake"):
        normalise_sheet_id(wrong)
    with pytest.raises(InvalidInput, match="never contains '0', 'O'"):
        normalise_sheet_id("O0AB-CDEF-GHJ")
    with pytest.raises(InvalidInput, match="has 3"):
        normalise_sheet_id("ABC")


def test_a_seeded_generator_makes_the_same_valid_sheet_ids_for_synthetic_forms() -> None:
    import numpy as np

    first = [new_sheet_id(np.random.default_rng(5)) for _ in range(3)]
    again = [new_sheet_id(np.random.default_rng(5)) for _ in range(3)]
    assert first == again and len(set(first)) == 1  # the same seed, the same id
    rng = np.random.default_rng(5)
    ids = {new_sheet_id(rng) for _ in range(500)}
    assert len(ids) == 500
    assert all(normalise_sheet_id(sid) == sid for sid in ids)  # check character and alphabet hold
    assert new_sheet_id() not in ids  # without a generator, the operating system's randomness


def test_page_codes_round_trip_and_refuse_other_codes() -> None:
    code = PageCode("big-leeds-conversation", "2026-11", "easy-read", 12, new_sheet_id())
    assert PageCode.decode(code.encode()) == code
    with pytest.raises(InvalidInput, match="not a forms-service page code"):
        PageCode.decode("https://example.org/")
