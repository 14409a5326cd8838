"""Shared fixtures for the renderer tests: the shipped questionnaire, rendered once per variant.

Every variant is drawn once per test session (one copy, a known sheet id) and
measured from the PDF itself: pdfplumber for text and vector shapes, pypdfium2
renders for pixels. Tests read these measurements; none of them mocks the renderer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from render_helpers import DEFINITION, Rendered, measure

from forms_service.questionnaire import load_definition
from forms_service.questionnaire.model import Questionnaire
from forms_service.render import render_pdf
from forms_service.sheets import new_sheet_id


@pytest.fixture(scope="session")
def questionnaire() -> Questionnaire:
    return load_definition(DEFINITION).questionnaire


class _Renders:
    def __init__(self, q: Questionnaire, folder: Path) -> None:
        self.q = q
        self.folder = folder
        self.cache: dict[str, Rendered] = {}

    def __getitem__(self, variant: str) -> Rendered:
        if variant not in self.cache:
            sheet = new_sheet_id()
            path = self.folder / f"{variant}.pdf"
            result = render_pdf(self.q, variant, path, sheet_ids=[sheet])
            pages, fonts = measure(path)
            self.cache[variant] = Rendered(variant, path, sheet, result, pages, fonts)
        return self.cache[variant]


@pytest.fixture(scope="session")
def renders(questionnaire: Questionnaire, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Renders]:
    yield _Renders(questionnaire, tmp_path_factory.mktemp("render"))


@pytest.fixture(params=["standard", "large-print", "easy-read"])
def rendered(request: pytest.FixtureRequest, renders: _Renders) -> Rendered:
    return renders[request.param]
