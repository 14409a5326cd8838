"""Real page readings: pages of the synthetic batch, read by the service's reader."""

from __future__ import annotations

from tests.ingest.conftest import Returned, first_sheet, returned  # noqa: F401  (the same synthetic batch)

__all__ = ["Returned", "first_sheet"]
