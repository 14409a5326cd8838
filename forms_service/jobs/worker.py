"""The database-polling worker: a thread that runs queued jobs.

`make run` needs nothing but `serve`: the web server and this worker (started
inside it, FORMS_SERVICE_WORKER=embedded) share the database queue. The same
loop runs in the foreground as `forms-service worker` (FORMS_SERVICE_WORKER=off
on the web process), for instance on a second machine sharing PostgreSQL. With
FORMS_SERVICE_WORKER=celery, `forms-service worker` runs Celery instead
(``celery_app``).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from ..context import ServiceContext
from .periodic import PeriodicRunner
from .queue import fail_abandoned, run_one, worker_name

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(
        self,
        ctx: ServiceContext,
        poll_seconds: float = 0.5,
        watch_seconds: float = 5.0,
        *,
        watch: bool = True,
        label: str = "embedded",
    ) -> None:
        self.ctx = ctx
        self.poll = poll_seconds
        self.watch_seconds = watch_seconds
        self.watch = watch
        self._next_watch = 0.0
        self._periodic = PeriodicRunner()
        self.name = f"{worker_name()}:{label}"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="forms-service-worker", daemon=True)
        self._thread.start()
        log.info("worker started", extra={"worker": self.name})

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll."""
        self._wake.set()

    def request_stop(self) -> None:
        """Take no new job; the one in hand runs to its end."""
        self._stop.set()
        self._wake.set()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10) -> None:
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() >= self._next_watch:
                self._next_watch = time.monotonic() + self.watch_seconds
                self._housekeeping()
            try:
                busy = run_one(self.ctx, self.name)
            except Exception:  # the database was unreachable for a moment: try again later
                log.exception("worker could not reach the job queue")
                busy = False
            if not busy:
                self._wake.wait(self.poll)
                self._wake.clear()

    def _housekeeping(self) -> None:
        if self.watch:
            self._periodic.run(self.ctx)
        try:
            fail_abandoned(self.ctx)
        except Exception:
            log.exception("worker could not reach the job queue")


def run_in_foreground(
    ctx: ServiceContext, concurrency: int = 1, say: Callable[[str], None] = print
) -> None:
    """Run ``concurrency`` polling workers (the first also reads the watch folder) until stopped.

    Ctrl+C or SIGTERM: take no new jobs and let the ones in hand finish; a second
    Ctrl+C stops at once (an interrupted job is taken up again once its lease runs out).
    """
    workers = [
        EmbeddedWorker(ctx, watch=(i == 0), label=f"worker-{i + 1}") for i in range(concurrency)
    ]

    def on_terminate(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_terminate)
    # Ctrl+C stops the worker even when it was started with SIGINT ignored (a background job of a
    # script, or a parent process that ignores it: the disposition is inherited)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for worker in workers:
            worker.start()
        try:
            while any(w.is_alive() for w in workers):
                time.sleep(0.5)
        except KeyboardInterrupt:
            for worker in workers:
                worker.request_stop()
            if any(w.is_alive() for w in workers):
                say("Stopping once the jobs in hand are finished (press Ctrl+C again to stop now; "
                    "an interrupted job is taken up again when its lease runs out).")
            try:
                while any(w.is_alive() for w in workers):
                    time.sleep(0.2)
            except KeyboardInterrupt:
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    log.info("worker stopped")
