"""Shared fixtures: a fresh home and database per test, the app, a client, the CLI.

Tests use SQLite in a temporary folder; where TEST_DATABASE_URL is set (CI sets
it to this machine's PostgreSQL), tests that take the ``db_url`` fixture run
against both, each PostgreSQL test in a schema of its own.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from forms_service.config import Config
from forms_service.context import ServiceContext

REPO = Path(__file__).resolve().parent.parent
#: the shipped definition, inside the package (the repository's layouts/ holds its committed layout files)
SHIPPED = REPO / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"
#: the next shipped version: the same questionnaire with the tear-off receipt slip
SHIPPED_RECEIPT = SHIPPED.parents[1] / "2026-12" / "questionnaire.yaml"
PG_URL = os.environ.get("TEST_DATABASE_URL")
#: under CI (`.ci/run`), `make test` installs and starts everything the tests need: a database
#: test whose PostgreSQL went missing there fails instead of passing silently
IN_CI = bool(os.environ.get("CI"))

#: the database tests run on SQLite everywhere, and on PostgreSQL where TEST_DATABASE_URL names one
#: (and always under CI); on a machine without it they are not collected for PostgreSQL at all
BACKENDS = ["sqlite", *([pytest.param("postgres", marks=pytest.mark.postgres)] if PG_URL or IN_CI else [])]


@pytest.fixture
def layouts(tmp_path: Path) -> Path:
    """A private layouts folder holding a copy of the committed layout files (tests may write here).

    The shipped definition comes from the package, as it does for every installation.
    """
    root = tmp_path / "layouts"
    root.mkdir()
    for source in (REPO / "layouts").glob("*/*/*.json"):
        target = root / source.relative_to(REPO / "layouts")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return root


def add_version(layouts: Path, version: str, change: tuple[str, str] = ("", "")) -> Path:
    """Put a new version of the shipped questionnaire into a layouts folder, as an operator would.

    ``change`` replaces one piece of its text with another.
    """
    text = SHIPPED.read_text(encoding="utf-8").replace('version: "2026-11"', f'version: "{version}"')
    path = layouts / "big-leeds-conversation" / version / "questionnaire.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(*change) if change[0] else text, encoding="utf-8")
    return path


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL: SQLite, then (where TEST_DATABASE_URL is set) a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'forms-service.db'}"
        return
    if not PG_URL:  # only under CI, which must test PostgreSQL
        pytest.fail("TEST_DATABASE_URL is not set: under CI the database tests must run on PostgreSQL too")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'home' / 'forms-service.db'}"


def make_config(tmp_path: Path, layouts: Path, db_url: str, **changes: object) -> Config:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    cfg = Config(home=home, layouts=layouts, database_url=db_url, secret_key="test-secret",
                 max_copies=200, worker="off", testing=True)
    return cfg.with_(**changes) if changes else cfg


@pytest.fixture
def config(tmp_path: Path, layouts: Path, sqlite_url: str) -> Config:
    return make_config(tmp_path, layouts, sqlite_url)


@pytest.fixture
def ctx(config: Config) -> Iterator[ServiceContext]:
    """A service context on a freshly migrated database with the shipped questionnaire loaded."""
    from forms_service.services.questionnaires import sync_definitions

    context = ServiceContext.from_config(config)
    context.db.upgrade()
    sync_definitions(context)
    yield context
    context.close()


@pytest.fixture
def app(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    from forms_service.app import create_app

    application = create_app(ctx.config)
    yield application
    application.extensions["forms_service"].close()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


PASSWORD = "correct horse battery"


@pytest.fixture
def make_user(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    from forms_service.services import users

    def make(name: str, *roles: str):  # type: ignore[no-untyped-def]
        return users.add_user(ctx, name, list(roles), PASSWORD)

    return make


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client, name: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/sign-in")
    return client.post("/sign-in", data={"name": name, "password": password,
                                          "csrf_token": csrf_token(page.get_data(as_text=True))})


@pytest.fixture
def cli_env(tmp_path: Path, layouts: Path) -> dict[str, str]:
    home = tmp_path / "clihome"
    return {"FORMS_SERVICE_HOME": str(home), "FORMS_SERVICE_LAYOUTS": str(layouts),
            "DATABASE_URL": "", "FORMS_SERVICE_SECRET_KEY": ""}


@pytest.fixture
def cli(cli_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from forms_service.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), env=cli_env, input=input, catch_exceptions=False)

    return invoke
