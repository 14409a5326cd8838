"""A synthetic batch of returned forms: printed by the service, filled, scanned, with the truth."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from forms_lab.synth.batch import SyntheticSheet, synth_sheets
from forms_service.questionnaire import load_definition
from forms_service.sheets import new_sheet_id
from tests.conftest import SHIPPED


@dataclass
class Returned:
    sheets: dict[str, SyntheticSheet]


@pytest.fixture(scope="session")
def returned() -> Returned:
    """Two standard, one large-print and one easy-read copy, filled and scanned on an office scanner."""
    q = load_definition(SHIPPED).questionnaire
    rng = np.random.default_rng(20261124)
    ids = np.random.default_rng([20261124, 1])  # the same page codes on every run
    sheets: dict[str, SyntheticSheet] = {}
    for variant, copies in (("standard", 2), ("large-print", 1), ("easy-read", 1)):
        for sheet in synth_sheets(q, variant, [new_sheet_id(ids) for _ in range(copies)], rng, preset="office"):
            sheets[sheet.sheet] = sheet
    return Returned(sheets)


def shuffled_pages(returned: Returned, variant: str | None = None, seed: int = 3) -> list:  # type: ignore[type-arg]
    pages = [p for s in returned.sheets.values() if variant in (None, s.variant) for p in s.pages]
    random.Random(seed).shuffle(pages)
    return pages


def first_sheet(returned: Returned, variant: str) -> SyntheticSheet:
    return next(s for s in returned.sheets.values() if s.variant == variant)


@pytest.fixture
def scan_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "incoming"
    folder.mkdir()
    return folder
