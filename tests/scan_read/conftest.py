"""Fixtures for the field readers: the shipped questionnaire, rendered once per session (see scan_read_helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import pytest
from scan_read_helpers import Forms


@pytest.fixture(scope="session")
def forms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forms]:
    cv2.setNumThreads(1)
    yield Forms(tmp_path_factory.mktemp("scan-read"))
