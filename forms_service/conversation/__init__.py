"""Where contributions go: the conversation's targets (files for facilitators, Discourse).

A target receives a :class:`Post` (the text, the area, the "submitted on paper" marker and an
idempotency key) and nothing else. It answers whether a key has arrived already
(:meth:`Target.exists`) and sends (:meth:`Target.send`), raising :class:`Retry` when a later
attempt may succeed and :class:`Refused` when no attempt will.

Must never: receive or send a sheet id, batch, print run, date or time, demographic answer or image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MARKER = "submitted on paper"


class Retry(Exception):
    """The target failed in a way a later attempt may not (down, slow, a dropped connection)."""

    def __init__(self, message: str, wait: float | None = None, *, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.message, self.wait, self.rate_limited = message, wait, rate_limited


class Refused(Exception):
    """The target refused the contribution in a way retrying cannot change (a validation error)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Post:
    """What a target receives: nothing more."""

    key: str
    area: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "area": self.area, "text": self.text, "submitted": MARKER}


class Target(Protocol):
    name: str

    def exists(self, key: str) -> str | None:
        """The target's id of what arrived under ``key``, or None when nothing did."""

    def send(self, post: Post) -> str:
        """Send; the target's id of what it made. Raises :class:`Retry` or :class:`Refused`."""
