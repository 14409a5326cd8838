"""Migrations build the schema on an empty database, agree with the models, and round-trip."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

from forms_service.context import ServiceContext
from forms_service.jobs.queue import claim, enqueue, run_pending, task
from forms_service.services import questionnaires, users
from forms_service.store.db import Database
from forms_service.store.models import Base, User
from tests.conftest import make_config

TABLES = {"users", "user_roles", "api_tokens", "questionnaire_versions", "print_runs", "sheets", "jobs",
          "leases", "field_changes", "keyings",
          "scan_files", "scan_pages", "responses", "field_readings"}


def test_upgrade_builds_every_table_on_an_empty_database(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    db = Database(db_url)
    assert db.current_revision() is None
    assert db.upgrade() == db.head_revision()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.require_current()
    db.dispose()


def test_models_and_migrations_agree(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    db = Database(db_url)
    db.upgrade()
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models differ from migrations: {diff}"
    db.dispose()


def test_downgrade_to_nothing_and_back(db_url: str, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir(exist_ok=True)
    db = Database(db_url)
    db.upgrade()
    command.downgrade(db.alembic_config(), "base")
    assert not (TABLES & set(inspect(db.engine).get_table_names()))
    db.upgrade()
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    db.dispose()


def test_models_work_on_each_database(db_url: str, tmp_path: Path, layouts: Path) -> None:
    ctx = ServiceContext.from_config(make_config(tmp_path, layouts, db_url))
    ctx.db.upgrade()
    assert [r.outcome for r in questionnaires.sync_definitions(ctx)] == ["added", "added"]  # two shipped versions
    users.add_user(ctx, "dana", ["verifier", "moderator"], "a long enough password")
    token = users.create_token(ctx, "dana")
    info = users.user_for_token(ctx, token)
    assert info is not None and info.roles == {"verifier", "moderator"}
    with ctx.db.session() as s:
        stored = s.scalar(select(User).where(User.name == "dana"))
        assert stored is not None and "a long enough password" not in stored.password_hash
    ctx.close()


def test_job_queue_leases_each_job_to_one_worker(db_url: str, tmp_path: Path, layouts: Path) -> None:
    ran: list[int] = []

    @task("test-echo")
    def echo(ctx: ServiceContext, job) -> None:  # type: ignore[no-untyped-def]
        job.progress(1, 1)
        ran.append(job.payload["n"])

    ctx = ServiceContext.from_config(make_config(tmp_path, layouts, db_url))
    ctx.db.upgrade()
    first = enqueue(ctx, "test-echo", {"n": 1})
    enqueue(ctx, "test-echo", {"n": 2})
    a = claim(ctx, "worker-a")
    b = claim(ctx, "worker-b")
    assert a is not None and b is not None and a.id == first and b.id != a.id
    assert claim(ctx, "worker-c") is None
    ctx.close()


def test_a_job_whose_worker_died_is_run_again(tmp_path: Path, layouts: Path, sqlite_url: str) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from forms_service.jobs import get_job
    from forms_service.store.models import Job, utcnow

    ran: list[int] = []

    @task("test-count")
    def count(ctx: ServiceContext, job) -> None:  # type: ignore[no-untyped-def]
        ran.append(job.id)

    ctx = ServiceContext.from_config(make_config(tmp_path, layouts, sqlite_url))
    ctx.db.upgrade()
    job_id = enqueue(ctx, "test-count", {})
    assert claim(ctx, "dies") is not None  # claimed, then the worker "dies"
    assert run_pending(ctx) == 0  # the lease still holds
    with ctx.db.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert run_pending(ctx) == 1
    assert ran == [job_id]
    job = get_job(ctx, job_id)
    assert job is not None and job.state == "done"
    ctx.close()
