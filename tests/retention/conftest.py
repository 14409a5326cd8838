"""Scans to forget: the verification tests' queue (three page files, every field waiting)."""

from __future__ import annotations

from tests.ingest.conftest import returned  # noqa: F401  (the synthetic batch)
from tests.verify.conftest import config, ctx, queued, verifier  # noqa: F401
