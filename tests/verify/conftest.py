"""A queue to verify: synthetic returned forms read with auto-acceptance off, so every field waits."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from forms_service.config import Config
from forms_service.context import ServiceContext
from forms_service.services import ingest, jobs, questionnaires, users
from tests.conftest import PASSWORD, make_config
from tests.ingest.conftest import Returned, first_sheet, returned  # noqa: F401  (the synthetic batch)

__all__ = ["Returned", "first_sheet"]


def png(page) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
    return buf.getvalue()


@pytest.fixture
def config(tmp_path: Path, layouts: Path, db_url: str) -> Config:
    """Auto-acceptance off: a person verifies every field (FORMS_SERVICE_AUTO_ACCEPT=off); SQLite and PostgreSQL."""
    return make_config(tmp_path, layouts, db_url, auto_accept_min=math.inf)


@pytest.fixture
def queued(ctx: ServiceContext, returned: Returned) -> ServiceContext:  # noqa: F811
    """Pages 2 to 4 of the first standard copy read (6 tick-box fields, 4 written answers), every
    field queued; pages 5 and 6 never came back."""
    sheet = first_sheet(returned, "standard")
    batch = ingest.accept_files(ctx, [(f"page{p.page}.png", png(p)) for p in sheet.pages[1:4]])
    jobs.run_now(ctx, batch.job_id)
    return ctx


@pytest.fixture
def verifier(ctx: ServiceContext) -> Callable[[str], tuple[int, dict[str, str]]]:
    """A verifier account: its user id and the API headers of a token of it."""
    def make(name: str) -> tuple[int, dict[str, str]]:
        user = users.add_user(ctx, name, ["verifier"], PASSWORD)
        return user.id, {"Authorization": f"Bearer {users.create_token(ctx, name)}"}

    return make


@pytest.fixture
def ctx(config: Config) -> Iterator[ServiceContext]:
    context = ServiceContext.from_config(config)
    context.db.upgrade()
    questionnaires.sync_definitions(context)
    yield context
    context.close()
