"""Background jobs as the adapters see them: follow a job, run one now, run the workers.

Web views, API endpoints and CLI commands call these, never the job machinery
(``forms_service.jobs``) directly. Importing this module registers every task
of the service (their modules register them where they are defined).

Must never: put answer text into a job's payload or message.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Config
from ..context import ServiceContext
from ..errors import NotFound
from ..jobs import queue
from ..jobs.queue import JobInfo
from ..jobs.worker import EmbeddedWorker
from . import delivery, ingest, printing, retention  # noqa: F401  (they register their tasks)

__all__ = ["JobInfo", "get_job", "run_celery_worker", "run_now", "run_workers", "start_worker"]


def get_job(ctx: ServiceContext, job_id: int) -> JobInfo:
    job = queue.get_job(ctx, job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return job


def run_now(ctx: ServiceContext, job_id: int, listener: Callable[[int, int], None] | None = None) -> JobInfo:
    """Run a job in this thread to its end (or follow the worker that holds it) and say how it ended."""
    return queue.run_job(ctx, job_id, listener=listener)


def start_worker(ctx: ServiceContext) -> EmbeddedWorker:
    """Start the embedded worker (a thread in this process) and return it."""
    worker = EmbeddedWorker(ctx)
    worker.start()
    return worker


def run_workers(ctx: ServiceContext, concurrency: int, say: Callable[[str], None]) -> None:
    """Run database-polling workers in the foreground until Ctrl+C."""
    from ..jobs.worker import run_in_foreground

    run_in_foreground(ctx, concurrency, say=say)


def run_celery_worker(config: Config, concurrency: int | None) -> int:
    """Run a Celery worker in this process until it is stopped; return its exit status."""
    from ..jobs.celery_app import run_celery_worker as run

    return run(config, concurrency)
