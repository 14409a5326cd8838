"""The Celery adapter: the same job code, run by Celery workers fed through Redis.

With FORMS_SERVICE_WORKER=celery the web process starts no worker of its own.
``enqueue`` commits the job row, then sends one small message to the queue
FORMS_SERVICE_CELERY_QUEUE on the Redis at FORMS_SERVICE_BROKER_URL; the
message carries the job's id and nothing else. Any `forms-service worker`
process receives it and claims the job through the same lease as the
database-polling worker (``queue.run_one``), so the database row stays the
truth and a job never runs twice at once.

Crash safety:

* messages are acknowledged only after the job ran (``acks_late``) and given
  back when a pool process dies (``reject_on_worker_lost``);
* every worker process sweeps the jobs table when it starts and every
  ``SWEEP_SECONDS``: a job whose worker's lease ran out (its machine died, it
  was killed) is sent again, and so is a job that waited longer than
  ``STALE_QUEUED`` while the Redis queue was empty (its message was lost,
  e.g. Redis was down when the job was queued). A message for a job that is
  finished or held by a live lease does nothing, so a message too many is
  harmless;
* the task code skips what an earlier attempt finished (scan pages already
  read are not read again).

The worker's main process also runs the registered periodic tasks (reading the watch folder, FORMS_SERVICE_WATCH),
as the embedded worker does; the web process does not, in this mode.

Must never: put answer text into a message, or log the broker's password.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from celery import Celery
from celery import signals as celery_signals
from kombu.utils.url import maybe_sanitize_url

from ..config import Config
from ..context import ServiceContext
from ..errors import ConfigurationError
from ..logs import configure_logging
from ..store.models import utcnow
from .broker import TASK_NAME, celery_app, send_job, waiting_messages
from .periodic import PeriodicRunner
from .queue import expired_jobs, fail_abandoned, run_one, waiting_jobs, worker_name

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
WATCH_SECONDS = 5.0
STALE_QUEUED = timedelta(seconds=60)


def worker_app(config: Config) -> Celery:
    """The broker's Celery app with the task that runs a job message registered on it (once)."""
    app = celery_app(config)
    if TASK_NAME not in app.tasks:
        app.task(name=TASK_NAME, ignore_result=True, acks_late=True, reject_on_worker_lost=True)(
            _run_job_message
        )
    return app


# -- inside the worker ---------------------------------------------------------

_worker_config: Config | None = None
_contexts: dict[int, ServiceContext] = {}


def _context() -> ServiceContext:
    """This process's service context (each pool process opens its own database pool)."""
    pid = os.getpid()
    ctx = _contexts.get(pid)
    if ctx is None:
        from ..config import load_config

        ctx = _contexts[pid] = ServiceContext.from_config(_worker_config or load_config())
    return ctx


def _run_job_message(job_id: int) -> None:
    """The Celery task: claim job ``job_id`` under its lease and run it (retries included).

    Nothing to do when the job is finished or another worker holds it.
    """
    ctx = _context()
    name = f"{worker_name()}:celery"
    ran = 0
    while run_one(ctx, name, job_id=int(job_id)):
        ran += 1
    if not ran:
        log.info("job message with nothing to do", extra={"job": job_id})


def sweep(ctx: ServiceContext, *, stale_after: timedelta = STALE_QUEUED) -> list[int]:
    """Send again the jobs no message will bring to a worker; return their ids.

    Fails the jobs that ran out of attempts; sends the jobs whose lease ran out,
    and, when the Redis queue is empty, the jobs queued before ``stale_after`` ago.
    """
    fail_abandoned(ctx)
    found = set(expired_jobs(ctx))
    if waiting_messages(ctx.config) == 0:
        found.update(waiting_jobs(ctx, created_before=utcnow() - stale_after))
    ids = sorted(found)
    for job_id in ids:
        send_job(ctx.config, job_id)
    if ids:
        log.info("jobs sent again", extra={"jobs": len(ids), "first": ids[0]})
    return ids


class _Housekeeper(threading.Thread):
    """In the worker's main process: the watch folder every few seconds, the sweep now and then."""

    def __init__(self, config: Config) -> None:
        super().__init__(name="forms-service-housekeeper", daemon=True)
        self.config = config
        self.stopping = threading.Event()

    def run(self) -> None:
        ctx = ServiceContext.from_config(self.config)
        _contexts[os.getpid()] = ctx
        next_sweep = 0.0
        stale = timedelta(0)  # at start: anything claimable and not in the queue
        periodic = PeriodicRunner()
        while not self.stopping.is_set():
            periodic.run(ctx)
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_SECONDS
                try:
                    sweep(ctx, stale_after=stale)
                except Exception:
                    log.exception("could not sweep the job queue")
                stale = STALE_QUEUED
            self.stopping.wait(WATCH_SECONDS)


def run_celery_worker(config: Config, concurrency: int | None = None) -> int:
    """Run a Celery worker in this process until it is stopped; return its exit status."""
    global _worker_config
    _worker_config = config
    app = worker_app(config)
    _check_broker(app, config)
    housekeeper = _Housekeeper(config)

    def setup_logging(**_: Any) -> None:
        configure_logging(config.log_level)

    def ready(**_: Any) -> None:
        if housekeeper.ident is None:  # once, even if Celery says "ready" again
            housekeeper.start()

    def shutdown(**_: Any) -> None:
        housekeeper.stopping.set()

    def child_started(**_: Any) -> None:
        # a pool process starts as a copy of the main one: leave the main one's
        # database connections to it and open its own on first use
        for ctx in _contexts.values():
            ctx.db.engine.dispose(close=False)
        _contexts.clear()

    celery_signals.setup_logging.connect(setup_logging, weak=False)
    celery_signals.worker_ready.connect(ready, weak=False)
    celery_signals.worker_shutdown.connect(shutdown, weak=False)
    celery_signals.worker_process_init.connect(child_started, weak=False)
    argv = [
        "worker",
        f"--queues={config.celery_queue}",
        f"--loglevel={config.log_level}",
        f"--hostname=forms-service-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
    ]
    if concurrency is not None:
        argv.append(f"--concurrency={concurrency}")
    status = app.start(argv)  # `celery worker ...`, in this process
    return int(status or 0)


def _check_broker(app: Celery, config: Config) -> None:
    """Stop with one sentence, rather than retry for ever, when Redis cannot be reached."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ConfigurationError(
            f"Cannot reach the broker at {maybe_sanitize_url(config.broker_url or '')} ({reason}); "
            f"check FORMS_SERVICE_BROKER_URL and that Redis is running."
        ) from None
