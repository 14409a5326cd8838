"""Holds on tasks (``field:<id>``, ``contribution:<id>``), so two people never work on the same one.

The verification queue and the moderators' queue share these: a hold is taken in one upsert,
renewed while the person works, and runs out at ``expires_at`` unless renewed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ..store.db import upsert
from ..store.models import Lease, utcnow


def take(s: Session, user_id: int, tasks: list[str], duration: timedelta) -> set[str]:
    """Hold as many of ``tasks`` for ``user_id`` as nobody else holds, in one statement (a new hold,
    or this person's own or a run-out one taken over); returns the tasks now theirs."""
    if not tasks:
        return set()
    now = utcnow()
    stmt = upsert(s, Lease).values([{"task": t, "user_id": user_id, "taken_at": now, "expires_at": now + duration}
                                 for t in tasks])
    stmt = stmt.on_conflict_do_update(
        index_elements=["task"],
        set_={"user_id": stmt.excluded.user_id, "taken_at": stmt.excluded.taken_at,
              "expires_at": stmt.excluded.expires_at},
        where=or_(Lease.expires_at <= now, Lease.user_id == user_id))
    return set(s.scalars(stmt.returning(Lease.task)))


def renew(s: Session, user_id: int, tasks: Iterable[str], duration: timedelta) -> set[str]:
    """Extend this person's live holds on ``tasks``; returns the tasks still theirs."""
    now, tasks = utcnow(), list(tasks)
    s.execute(update(Lease).where(Lease.task.in_(tasks), Lease.user_id == user_id, Lease.expires_at > now)
              .values(expires_at=now + duration))
    return set(s.scalars(select(Lease.task).where(Lease.task.in_(tasks), Lease.user_id == user_id,
                                                  Lease.expires_at > now)))
