"""The job queue, kept in the database so nothing needs a broker to start.

A job is claimed by one worker under a lease; the worker extends the lease as
it reports progress. If a worker dies, its lease runs out and another worker
(or the same one after a restart) claims the job again, so task code must be
idempotent: it skips what it already finished.

With FORMS_SERVICE_WORKER=celery, ``enqueue`` also sends a Celery message
carrying only the new job's id (``broker.send_job``); the row stays the
truth, and the Celery task claims it through the same lease.

Must never: put answer text into a job's payload or message.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from ..context import ServiceContext
from ..errors import FormsServiceError
from ..registry import TASKS, task
from ..states import JobState
from ..store.models import Job, utcnow

__all__ = ["JobHandle", "JobInfo", "claim", "enqueue", "get_job", "run_job", "run_one", "run_pending", "task"]

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class JobInfo:
    id: int
    kind: str
    state: JobState
    done: int
    total: int
    message: str | None
    payload: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.state.finished


def _info(job: Job) -> JobInfo:
    return JobInfo(
        job.id, job.kind, job.state, job.done, job.total, job.message, dict(job.payload or {}),
        job.created_at, job.finished_at,
    )


def enqueue(ctx: ServiceContext, kind: str, payload: dict[str, Any], total: int = 0) -> int:
    if kind not in TASKS:
        raise ValueError(f"no task is registered for job kind {kind!r}")
    with ctx.db.session() as s:
        job = Job(kind=kind, payload=payload, total=total)
        s.add(job)
        s.flush()
        job_id = job.id
    _announce(ctx, job_id)  # only now: the row is committed and a worker can see it
    return job_id


def _announce(ctx: ServiceContext, job_id: int) -> None:
    """Tell the Celery workers about a new job (no-op for the database-polling workers)."""
    if ctx.config.worker == "celery":
        from .broker import send_job

        send_job(ctx.config, job_id)


def get_job(ctx: ServiceContext, job_id: int) -> JobInfo | None:
    with ctx.db.session() as s:
        job = s.get(Job, job_id)
        return _info(job) if job is not None else None


class JobHandle:
    """What a running task sees of its job: its payload and a way to report progress."""

    def __init__(self, ctx: ServiceContext, job_id: int, payload: dict[str, Any]) -> None:
        self.ctx = ctx
        self.id = job_id
        self.payload = payload
        self.listener: Callable[[int, int], None] | None = None

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        values: dict[str, Any] = {"done": done, "lease_until": utcnow() + LEASE}
        if total is not None:
            values["total"] = total
        if message is not None:
            values["message"] = message
        with self.ctx.db.session() as s:
            s.execute(update(Job).where(Job.id == self.id).values(**values))
        if self.listener is not None and total is not None:
            self.listener(done, total)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(
    ctx: ServiceContext, worker: str, kinds: set[str] | None = None, job_id: int | None = None
) -> JobHandle | None:
    """Take the oldest job that is waiting, or whose worker's lease ran out."""
    now = utcnow()
    with ctx.db.session() as s:
        query = (
            select(Job.id)
            .where(
                or_(Job.state == JobState.PENDING, (Job.state == JobState.RUNNING) & (Job.lease_until < now)),
                Job.attempts < MAX_ATTEMPTS,
            )
            .order_by(Job.id)
            .limit(5)
        )
        if kinds is not None:
            query = query.where(Job.kind.in_(kinds))
        if job_id is not None:
            query = query.where(Job.id == job_id)
        candidates = list(s.scalars(query))
    for job_id in candidates:
        with ctx.db.session() as s:
            taken = s.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    or_(Job.state == JobState.PENDING, (Job.state == JobState.RUNNING) & (Job.lease_until < now)),
                )
                .values(
                    state=JobState.RUNNING,
                    worker=worker[:80],
                    lease_until=now + LEASE,
                    attempts=Job.attempts + 1,
                    started_at=now,
                )
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                job = s.get(Job, job_id)
                assert job is not None
                return JobHandle(ctx, job.id, dict(job.payload or {}))
    return None


def _finish(ctx: ServiceContext, job_id: int, state: JobState, message: str | None) -> None:
    with ctx.db.session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state=state, message=message, finished_at=utcnow(), lease_until=None)
        )


def run_one(
    ctx: ServiceContext,
    worker: str | None = None,
    job_id: int | None = None,
    listener: Callable[[int, int], None] | None = None,
) -> bool:
    """Claim and run one job (``job_id``, or the oldest waiting); False when there was none."""
    handle = claim(ctx, worker or worker_name(), job_id=job_id)
    if handle is None:
        return False
    handle.listener = listener
    with ctx.db.session() as s:
        job = s.get(Job, handle.id)
        assert job is not None
        kind, attempts = job.kind, job.attempts
    fn = TASKS.get(kind)
    if fn is None:
        _finish(ctx, handle.id, JobState.FAILED, f"This version of forms-service cannot run {kind!r} jobs.")
        return True
    try:
        fn(ctx, handle)
    except FormsServiceError as exc:
        log.info("job failed", extra={"job": handle.id, "kind": kind, "reason": exc.code})
        _finish(ctx, handle.id, JobState.FAILED, exc.message)
    except Exception:
        log.exception("job crashed", extra={"job": handle.id, "kind": kind, "attempt": attempts})
        if attempts >= MAX_ATTEMPTS:
            _finish(ctx, handle.id, JobState.FAILED, "The job failed with an internal error; see the service log.")
        else:
            with ctx.db.session() as s:
                s.execute(update(Job).where(Job.id == handle.id).values(state=JobState.PENDING, lease_until=None))
    else:
        with ctx.db.session() as s:
            job = s.get(Job, handle.id)
            if job is not None and job.state == JobState.RUNNING:
                job.state, job.finished_at, job.lease_until = JobState.DONE, utcnow(), None
    return True


def run_job(
    ctx: ServiceContext,
    job_id: int,
    listener: Callable[[int, int], None] | None = None,
    poll_seconds: float = 0.5,
) -> JobInfo:
    """Run one job in this thread, to its end (retries included), and return how it ended.

    If another worker holds the job (a Celery worker took it first), follow its
    progress until it ends, or take the job over if that worker's lease runs out.
    """
    while True:
        while run_one(ctx, job_id=job_id, listener=listener):
            pass
        job = get_job(ctx, job_id)
        assert job is not None
        if job.finished:
            return job
        if fail_abandoned(ctx, job_id):
            continue
        if listener is not None and job.total:
            listener(job.done, job.total)
        time.sleep(poll_seconds)


def fail_abandoned(ctx: ServiceContext, job_id: int | None = None) -> int:
    """Mark failed the jobs whose worker died on their last allowed attempt; return how many.

    Such a job stays 'running' with a lease that ran out, and ``claim`` no longer
    takes it; without this it would look busy for ever.
    """
    now = utcnow()
    with ctx.db.session() as s:
        query = update(Job).where(
            Job.state == JobState.RUNNING, Job.lease_until < now, Job.attempts >= MAX_ATTEMPTS
        )
        if job_id is not None:
            query = query.where(Job.id == job_id)
        result = s.execute(query.values(
            state=JobState.FAILED, finished_at=now, lease_until=None,
            message=f"The job was interrupted {MAX_ATTEMPTS} times (its worker stopped each "
                    f"time); see the service log.",
        ))
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        log.warning("abandoned jobs failed", extra={"jobs": count})
    return count


def expired_jobs(ctx: ServiceContext) -> list[int]:
    """Ids of the running jobs whose worker's lease ran out (and that may be tried again)."""
    with ctx.db.session() as s:
        return list(s.scalars(
            select(Job.id)
            .where(Job.state == JobState.RUNNING, Job.lease_until < utcnow(), Job.attempts < MAX_ATTEMPTS)
            .order_by(Job.id)
            .limit(1000)
        ))


def waiting_jobs(ctx: ServiceContext, created_before: datetime) -> list[int]:
    """Ids of the pending jobs created before ``created_before``, oldest first."""
    with ctx.db.session() as s:
        return list(s.scalars(
            select(Job.id)
            .where(Job.state == JobState.PENDING, Job.created_at < created_before,
                   Job.attempts < MAX_ATTEMPTS)
            .order_by(Job.id)
            .limit(1000)
        ))


def run_pending(ctx: ServiceContext, limit: int | None = None) -> int:
    """Run pending jobs in this thread until none is left (or ``limit`` ran)."""
    ran = 0
    while (limit is None or ran < limit) and run_one(ctx):
        ran += 1
    return ran
