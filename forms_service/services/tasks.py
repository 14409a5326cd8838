"""The background job kinds, registered with the job queue.

Each task is a thin wrapper over a service function, so the embedded worker,
a Celery worker and a synchronous CLI run execute the same code.
"""

from __future__ import annotations

from ..jobs.queue import JobHandle, task
from . import printing, scans
from .context import ServiceContext


@task("render_print_run")
def render_print_run(ctx: ServiceContext, job: JobHandle) -> None:
    printing.draw_print_run(ctx, int(job.payload["print_run"]), progress=job.progress)


@task("read_scans")
def read_scans(ctx: ServiceContext, job: JobHandle) -> None:
    scans.read_scans(ctx, job)
