"""The task registry: which code runs a background job of each kind, and what runs periodically.

It sits below both the job machinery (``jobs``: the queue, the embedded worker,
the Celery adapter), which looks tasks up here, and the use cases
(``services``), which register their tasks here where they define them; so
neither imports the other's way round. A process that runs jobs imports the
services that register them (``services.jobs.register_tasks``).

Must never: hold answer text, or import the services or the job machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .context import ServiceContext


class JobHandle(Protocol):
    """What a running task sees of its job: its id, its payload and a way to report progress."""

    id: int
    payload: dict[str, Any]

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None: ...


TaskFn = Callable[["ServiceContext", JobHandle], None]
TASKS: dict[str, TaskFn] = {}


def task(kind: str) -> Callable[[TaskFn], TaskFn]:
    """Register ``fn`` as the code that runs jobs of ``kind``."""

    def register(fn: TaskFn) -> TaskFn:
        TASKS[kind] = fn
        return fn

    return register


@dataclass(frozen=True)
class PeriodicTask:
    """Work a worker does every few seconds besides jobs (reading the watch folder, ...)."""

    name: str
    seconds: float
    fn: Callable[[ServiceContext], object]


PERIODIC: dict[str, PeriodicTask] = {}


def periodic(name: str, seconds: float) -> Callable[[Callable[[ServiceContext], object]],
                                                     Callable[[ServiceContext], object]]:
    """Register ``fn(ctx)`` to run every ``seconds`` in one worker per process."""

    def register(fn: Callable[[ServiceContext], object]) -> Callable[[ServiceContext], object]:
        PERIODIC[name] = PeriodicTask(name, seconds, fn)
        return fn

    return register
