"""Complete responses whose written answers were typed by a verifier: contributions to moderate."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forms_service.config import Config
from forms_service.context import ServiceContext
from forms_service.services import ingest, jobs, questionnaires, users, verify
from tests.conftest import PASSWORD, make_config
from tests.ingest.conftest import Returned, first_sheet, returned  # noqa: F401
from tests.verify.conftest import png

WRITTEN = [
    "Respect for each other, always",
    "call me on 07700 900123 if you want to talk about it",
    "the head porter in Estates never answers, <b>ever</b>",
    "Kindness and honesty",
]


@pytest.fixture
def config(tmp_path: Path, layouts: Path, db_url: str) -> Config:
    """Every field waits for a person; no spot checks (the tests choose what is held)."""
    import math

    return make_config(tmp_path, layouts, db_url, auto_accept_min=math.inf, spot_check_rate=0.0)


@pytest.fixture
def ctx(config: Config) -> Iterator[ServiceContext]:
    context = ServiceContext.from_config(config)
    context.db.upgrade()
    questionnaires.sync_definitions(context)
    yield context
    context.close()


@pytest.fixture
def screened(ctx: ServiceContext, returned: Returned) -> ServiceContext:  # noqa: F811
    """Pages 2 to 4 of the first standard copy read and verified (tick boxes as the first option,
    group "staff"; written answers typed from WRITTEN, the last one flagged), pages 1, 5 and 6
    counted as never returned: the response is complete and its answers screened."""
    sheet = first_sheet(returned, "standard")
    batch = ingest.accept_files(ctx, [(f"page{p.page}.png", png(p)) for p in sheet.pages[1:4]])
    jobs.run_now(ctx, batch.job_id)
    typist = users.add_user(ctx, "tess", ["verifier"], PASSWORD).id
    written = iter(WRITTEN)
    while tasks := verify.next_fields(ctx, typist, limit=20):
        for t in tasks:
            if t.type == "text":
                text = next(written, "")
                verify.answer(ctx, typist, t.id, text, flag="names a porter" if "porter" in text else None)
            elif t.type == "multi_choice":
                verify.answer(ctx, typist, t.id, [t.options[0].value])
            else:
                verify.answer(ctx, typist, t.id, "staff" if "staff" in [o.value for o in t.options]
                              else t.options[0].value)
    [whole] = verify.response_tasks(ctx)["incomplete"]
    verify.close_incomplete(ctx, typist, whole.public_id)
    return ctx


@pytest.fixture
def moderator(ctx: ServiceContext) -> Callable[[str], tuple[int, dict[str, str]]]:
    def make(name: str) -> tuple[int, dict[str, str]]:
        user = users.add_user(ctx, name, ["moderator"], PASSWORD)
        return user.id, {"Authorization": f"Bearer {users.create_token(ctx, name)}"}

    return make
