"""Background jobs: a queue kept in the database and the worker that runs it."""

from .queue import JobHandle, JobInfo, enqueue, get_job, run_pending, task
from .worker import EmbeddedWorker

__all__ = ["EmbeddedWorker", "JobHandle", "JobInfo", "enqueue", "get_job", "run_pending", "task"]
