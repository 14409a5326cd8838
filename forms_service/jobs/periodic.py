"""The registered periodic tasks (reading the watch folder, ...), run by whichever worker loop hosts them.

Must never: let one task's failure stop the others or the worker.
"""

from __future__ import annotations

import logging
import time

from ..context import ServiceContext
from ..registry import PERIODIC

log = logging.getLogger(__name__)


class PeriodicRunner:
    """Runs each registered periodic task (the watch folder, ...) when its time has come."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}

    def run(self, ctx: ServiceContext) -> None:
        now = time.monotonic()
        for name, periodic in list(PERIODIC.items()):
            if now < self._due.get(name, 0.0):
                continue
            self._due[name] = now + periodic.seconds
            try:
                periodic.fn(ctx)
            except Exception:
                log.exception("periodic task failed", extra={"task": name})
