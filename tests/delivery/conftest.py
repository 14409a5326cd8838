"""Contributions to deliver: the moderation tests' complete, screened response (two passed, two held)."""

from __future__ import annotations

from tests.ingest.conftest import returned  # noqa: F401  (the synthetic batch)
from tests.moderation.conftest import WRITTEN, config, ctx, moderator, screened  # noqa: F401

__all__ = ["WRITTEN"]
