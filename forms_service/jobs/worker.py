"""The embedded worker: a thread inside `serve` that runs queued jobs.

`make run` needs nothing but this process: the web server and this worker
share the database queue. A scale-out deployment runs workers elsewhere and
sets FORMS_SERVICE_WORKER=off on the web process.
"""

from __future__ import annotations

import logging
import threading
import time

from ..services.context import ServiceContext
from .queue import run_one, worker_name

log = logging.getLogger(__name__)


class EmbeddedWorker:
    def __init__(self, ctx: ServiceContext, poll_seconds: float = 0.5, watch_seconds: float = 5.0) -> None:
        self.ctx = ctx
        self.poll = poll_seconds
        self.watch_seconds = watch_seconds
        self._next_watch = 0.0
        self.name = worker_name() + ":embedded"
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="forms-service-worker", daemon=True)
        self._thread.start()
        log.info("embedded worker started")

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self.ctx.config.watch is not None and time.monotonic() >= self._next_watch:
                self._next_watch = time.monotonic() + self.watch_seconds
                try:
                    from ..services.scans import ingest_watch_folder

                    ingest_watch_folder(self.ctx)
                except Exception:
                    log.exception("could not read the watch folder")
            try:
                busy = run_one(self.ctx, self.name)
            except Exception:  # the database was unreachable for a moment: try again later
                log.exception("worker could not reach the job queue")
                busy = False
            if not busy:
                self._wake.wait(self.poll)
                self._wake.clear()
