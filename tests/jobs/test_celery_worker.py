"""`forms-service worker`: the same job code under Celery with a real Redis, and polling the database.

The Celery tests start real `forms-service worker` processes against the Redis
at TEST_REDIS_URL (CI: redis://127.0.0.1:6379/15), each test on a queue of its
own whose name prefixes every Redis key it makes, so parallel test processes
never take each other's messages; only those keys are deleted afterwards.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from sqlalchemy import select, update

from forms_lab.synth.batch import SyntheticSheet, synth_sheets, write_scan_files
from forms_service.config import Config, load_config
from forms_service.context import ServiceContext
from forms_service.errors import ConfigurationError
from forms_service.jobs import get_job
from forms_service.jobs.queue import worker_name
from forms_service.questionnaire import load_definition
from forms_service.services import ingest
from forms_service.services.questionnaires import sync_definitions
from forms_service.sheets import new_sheet_id
from forms_service.store.models import Job, ScanPage, utcnow
from tests.conftest import IN_CI, SHIPPED, make_config

REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(
    not REDIS_URL and not IN_CI,  # under CI a missing URL must fail, not skip
    reason="TEST_REDIS_URL is not set: no Redis to run the Celery worker against "
           "(CI sets redis://127.0.0.1:6379/15)",
)
EXE = Path(sys.executable).with_name("forms-service")
T = TypeVar("T")


@pytest.fixture(scope="module")
def sheets() -> list[SyntheticSheet]:
    """Two filled and scanned standard copies (6 pages each)."""
    q = load_definition(SHIPPED).questionnaire
    ids = np.random.default_rng([20261124, 1])  # the same page codes on every run
    return synth_sheets(q, "standard", [new_sheet_id(ids) for _ in range(2)],
                        np.random.default_rng(20261124), preset="office")


def scan_pdf(sheets: list[SyntheticSheet], folder: Path, stem: str) -> bytes:
    [pdf] = write_scan_files([p for s in sheets for p in s.pages], folder, "pdf", stem)
    return pdf.read_bytes()


@dataclass
class Worker:
    """A `forms-service worker` process in a session of its own (killed with all its children)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """SIGKILL to the worker and every process it started (its pool processes)."""
        with suppress(ProcessLookupError):  # all gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)


@dataclass
class Shared:
    """A home, a database and (for Celery) a private queue, shared by this test and its workers."""

    ctx: ServiceContext
    env: dict[str, str]
    root: Path
    workers: list[Worker] = field(default_factory=list)

    def start_worker(self, *args: str, sigint_ignored: bool = False) -> Worker:
        log = self.root / f"worker-{len(self.workers) + 1}.log"
        # a worker started from a script's background job inherits SIGINT ignored
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
        with log.open("wb") as out:
            proc = subprocess.Popen([str(EXE), "worker", *args], env=self.env, cwd=self.root,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=ignore)  # noqa: PLW1509
        worker = Worker(proc, log)
        self.workers.append(worker)
        return worker

    def wait(self, what: str, check: Callable[[], T | None], timeout: float = 60) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            for w in self.workers:
                if w.proc.poll() not in (None, -signal.SIGKILL):
                    raise AssertionError(f"a worker stopped (status {w.proc.returncode}):\n{w.output()}")
            time.sleep(0.02)
        logs = "\n".join(w.output() for w in self.workers)
        raise AssertionError(f"timed out waiting for {what}; worker output:\n{logs}")

    def finished(self, job_id: int, timeout: float = 60) -> Any:
        def check() -> Any:
            job = get_job(self.ctx, job_id)
            return job if job is not None and job.finished else None

        return self.wait(f"job {job_id} to finish", check, timeout)


@contextmanager
def shared_home(tmp_path: Path, layouts: Path, db_url: str, **changes: Any) -> Iterator[Shared]:
    config: Config = make_config(tmp_path, layouts, db_url, watch=tmp_path / "watch", **changes)
    ctx = ServiceContext.from_config(config)
    ctx.db.upgrade()
    sync_definitions(ctx)
    env = {**os.environ, "FORMS_SERVICE_HOME": str(config.home), "FORMS_SERVICE_LAYOUTS": str(layouts),
           "DATABASE_URL": db_url, "FORMS_SERVICE_WATCH": str(tmp_path / "watch"),
           "FORMS_SERVICE_SECRET_KEY": "test-secret", "FORMS_SERVICE_WORKER": config.worker,
           "FORMS_SERVICE_BROKER_URL": config.broker_url or "",
           "FORMS_SERVICE_CELERY_QUEUE": config.celery_queue, "FORMS_SERVICE_LOG_LEVEL": "INFO"}
    shared = Shared(ctx, env, tmp_path)
    try:
        yield shared
    finally:
        for w in shared.workers:
            w.kill()
        ctx.close()


@pytest.fixture
def queue_name() -> Iterator[str]:
    """A queue of this test's own; afterwards every Redis key under its name is deleted."""
    name = f"forms-service-test-{uuid.uuid4().hex[:12]}"
    yield name
    if REDIS_URL:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{name}:*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def celery_home(tmp_path: Path, layouts: Path, sqlite_url: str, queue_name: str) -> Iterator[Shared]:
    """A home on SQLite with a Celery queue of its own."""
    with shared_home(tmp_path, layouts, sqlite_url, worker="celery", broker_url=REDIS_URL,
                     celery_queue=queue_name) as shared:
        yield shared


@pytest.fixture
def celery_home_each_db(tmp_path: Path, layouts: Path, db_url: str, queue_name: str) -> Iterator[Shared]:
    """The same on SQLite, then (where TEST_DATABASE_URL is set) on PostgreSQL."""
    with shared_home(tmp_path, layouts, db_url, worker="celery", broker_url=REDIS_URL,
                     celery_queue=queue_name) as shared:
        yield shared


def read_at(ctx: ServiceContext) -> dict[int, Any]:
    with ctx.db.session() as s:
        return {p.source_index: p.read_at for p in s.scalars(select(ScanPage))}


@needs_redis
def test_celery_worker_reads_a_batch_and_the_watch_folder(celery_home: Shared, sheets: list[SyntheticSheet]) -> None:
    watch = celery_home.root / "watch"
    write_scan_files(sheets[1].pages[:2], watch, "pdf", "dropped")
    settled = time.time() - 10
    os.utime(watch / "dropped.pdf", (settled, settled))
    celery_home.start_worker("--concurrency", "1")
    batch = ingest.accept_files(celery_home.ctx, [("a.pdf", scan_pdf(sheets[:1], celery_home.root / "in", "a"))])
    job = celery_home.finished(batch.job_id)
    assert job.state == "done", job.message
    assert ingest.job_summary(celery_home.ctx, batch.job_id).pages_read == 6
    with celery_home.ctx.db.session() as s:
        row = s.get(Job, batch.job_id)
        assert row is not None and row.worker is not None and row.attempts == 1
        assert row.worker.endswith(":celery") and not row.worker.startswith(worker_name())
    # the worker process also reads the watch folder (the web process does not, in this mode)
    dropped = celery_home.wait("the watch folder to be read", lambda: not (watch / "dropped.pdf").exists())
    assert dropped
    with celery_home.ctx.db.session() as s:
        watch_job = s.scalar(select(Job.id).where(Job.id != batch.job_id))
    assert watch_job is not None
    assert celery_home.finished(watch_job).state == "done"
    assert ingest.job_summary(celery_home.ctx, watch_job).pages_read == 2


@needs_redis
def test_a_worker_killed_mid_batch_loses_nothing(celery_home_each_db: Shared, sheets: list[SyntheticSheet]) -> None:
    celery_home = celery_home_each_db
    ctx = celery_home.ctx
    first = celery_home.start_worker("--concurrency", "1")
    batch = ingest.accept_files(ctx, [("b.pdf", scan_pdf(sheets, celery_home.root / "in", "b"))])

    def two_pages_read() -> bool:
        job = get_job(ctx, batch.job_id)
        return job is not None and job.state == "running" and job.done >= 2

    celery_home.wait("the first pages to be read", two_pages_read)
    first.kill()  # the machine dies: worker and pool processes, no goodbye
    before = read_at(ctx)
    job = get_job(ctx, batch.job_id)
    assert job is not None and job.state == "running" and 2 <= len(before) < 12, (job, len(before))
    with ctx.db.session() as s:  # the dead worker's lease runs out
        s.execute(update(Job).where(Job.id == batch.job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    celery_home.start_worker("--concurrency", "1")  # its start-up sweep sends the job again
    job = celery_home.finished(batch.job_id)
    assert job.state == "done", job.message
    after = read_at(ctx)
    assert len(after) == 12
    assert all(after[i] == before[i] for i in before)  # finished pages were not read again
    with ctx.db.session() as s:
        row = s.get(Job, batch.job_id)
        assert row is not None and row.attempts == 2


@needs_redis
def test_the_message_carries_only_the_job_id(celery_home: Shared) -> None:
    import redis

    batch = ingest.accept_files(celery_home.ctx, [("letter.txt", b"Dear team, my answer is private.")])
    queue = celery_home.ctx.config.celery_queue
    client = redis.Redis.from_url(REDIS_URL or "")
    [raw] = client.lrange(f"{queue}:{queue}", 0, -1)  # no worker runs: the message waits
    client.close()
    message = json.loads(raw)
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "forms_service.run_job"
    assert (args, kwargs) == ([batch.job_id], {})
    assert b"letter" not in raw and b"private" not in raw


@needs_redis
def test_a_job_whose_message_was_lost_is_sent_by_the_start_up_sweep(celery_home: Shared) -> None:
    config = celery_home.ctx.config
    down = ServiceContext.from_config(config.with_(broker_url="redis://127.0.0.1:1/0"))  # Redis down
    try:
        batch = ingest.accept_files(down, [("letter.txt", b"not a scan")])  # queued, message lost
    finally:
        down.close()
    job = get_job(celery_home.ctx, batch.job_id)
    assert job is not None and job.state == "pending"
    celery_home.start_worker("--concurrency", "1")
    assert celery_home.finished(batch.job_id).state == "done"


def test_the_database_polling_worker_runs_jobs_and_stops_on_ctrl_c(
    tmp_path: Path, layouts: Path, sqlite_url: str, sheets: list[SyntheticSheet]
) -> None:
    with shared_home(tmp_path, layouts, sqlite_url, worker="off") as shared:
        worker = shared.start_worker(sigint_ignored=True)  # Ctrl+C stops it all the same
        batch = ingest.accept_files(shared.ctx, [("c.pdf", scan_pdf(sheets[:1], tmp_path / "in", "c"))])
        assert shared.finished(batch.job_id).state == "done"
        assert ingest.job_summary(shared.ctx, batch.job_id).pages_read == 6
        os.killpg(worker.proc.pid, signal.SIGINT)
        try:
            status = worker.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(worker.proc.pid, signal.SIGUSR1)  # what each thread is doing (faulthandler)
            time.sleep(2)
            pytest.fail("the worker did not stop within 15 s of Ctrl+C:\n" + worker.output())
        assert status == 0, worker.output()
        assert "press Ctrl+C to stop" in worker.output()


def test_celery_settings_are_checked(tmp_path: Path) -> None:
    base = {"FORMS_SERVICE_HOME": str(tmp_path / "home"), "FORMS_SERVICE_WORKER": "celery"}
    with pytest.raises(ConfigurationError, match="needs FORMS_SERVICE_BROKER_URL") as missing:
        load_config(base, ensure_home=False)
    assert missing.value.exit_code == 3 and "\n" not in missing.value.message
    with pytest.raises(ConfigurationError, match="FORMS_SERVICE_BROKER_URL must be a Redis address") as amqp:
        load_config({**base, "FORMS_SERVICE_BROKER_URL": "amqp://guest:s3cret@rabbit//"}, ensure_home=False)
    assert "s3cret" not in amqp.value.message
    with pytest.raises(ConfigurationError, match="FORMS_SERVICE_WORKER must be"):
        load_config({**base, "FORMS_SERVICE_WORKER": "threads"}, ensure_home=False)
    with pytest.raises(ConfigurationError, match="FORMS_SERVICE_CELERY_QUEUE"):
        load_config({**base, "FORMS_SERVICE_BROKER_URL": "redis://h/0", "FORMS_SERVICE_CELERY_QUEUE": "a b"},
                    ensure_home=False)
    config = load_config({**base, "FORMS_SERVICE_BROKER_URL": "rediss://:pw@h:6380/2"}, ensure_home=False)
    assert (config.worker, config.broker_url, config.celery_queue) == ("celery", "rediss://:pw@h:6380/2", "forms-service")
    assert "pw" not in repr(config)


def test_worker_command_errors_are_one_sentence(cli, cli_env: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert cli("db", "upgrade").exit_code == 0
    cli_env.update(FORMS_SERVICE_WORKER="celery", FORMS_SERVICE_BROKER_URL="")
    result = cli("worker")
    assert result.exit_code == 3
    assert result.output.strip().splitlines() == [
        "error: FORMS_SERVICE_WORKER=celery needs FORMS_SERVICE_BROKER_URL, the address of the Redis "
        "server that carries the job messages, such as redis://localhost:6379/0."]
    cli_env.update(FORMS_SERVICE_BROKER_URL="redis://:hidden@127.0.0.1:1/0")  # nothing listens there
    result = cli("worker")
    assert result.exit_code == 3
    assert result.output.startswith("error: Cannot reach the broker at redis://:**@127.0.0.1:1/0 (")
    assert "hidden" not in result.output and len(result.output.strip().splitlines()) == 1


def test_the_web_process_starts_no_worker_in_celery_mode(config: Config) -> None:
    from forms_service.app import create_app

    app = create_app(config.with_(worker="celery", broker_url="redis://127.0.0.1:1/0"), start_worker=True)
    try:
        assert "forms_service_worker" not in app.extensions
    finally:
        app.extensions["forms_service"].close()
