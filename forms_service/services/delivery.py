"""Delivery: contributions ready to post join the conversation, exactly once.

A transactional outbox: a contribution that passes the screen, or that a moderator releases,
gets its outbox entry in the same database transaction (:func:`enqueue`). A delivery run
(:func:`deliver`: ``forms-service deliver``, ``POST /api/v1/delivery/run``, the ``deliver``
task and the workers' periodic sweep) sends the entries that are due, in a shuffled order, to
the configured target. Each entry carries a deterministic idempotency key: before sending again
an entry whose answer was lost, the run asks the target whether the key arrived, so nothing is
posted twice. A failure that retrying may cure is retried later (exponential backoff with
jitter); one it cannot (or the last allowed attempt) leaves the entry a dead letter with the
target's message.

What is sent: the text, the area and the "submitted on paper" marker. Never a sheet id, batch,
print run, date or time, demographic answer or image.

Must never: deliver a contribution that is not passed or released, or log its text.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..context import ServiceContext
from ..conversation import Post, Refused, Retry, Target
from ..conversation.files import ExportTarget
from ..errors import Conflict, InvalidInput
from ..registry import JobHandle, periodic, task
from ..states import READY, OutboxState
from ..store.models import Contribution, DeliveryRun, OutboxEntry, utcnow

log = logging.getLogger(__name__)

BACKOFF_BASE = 30.0  # seconds before the first retry; doubled each attempt, with jitter
BACKOFF_MAX = 6 * 3600.0


def target_for(ctx: ServiceContext) -> Target:
    kind = ctx.config.conversation
    if kind == "export":
        return ExportTarget(ctx.storage)
    if kind == "discourse":
        from ..conversation.discourse import DiscourseTarget

        return DiscourseTarget(ctx.config.discourse)
    if kind == "webhook":
        from ..conversation.webhook import WebhookTarget

        return WebhookTarget(ctx.config.webhook)
    raise InvalidInput(f"There is no delivery target {kind!r}; set FORMS_SERVICE_CONVERSATION=export.")


def idempotency_key(ctx: ServiceContext, contribution_id: int) -> str:
    """The same key for a contribution every time, revealing nothing (not even the order of ids):
    ``paper-`` and 32 hex digits of an HMAC under the service's secret key (38 characters)."""
    digest = hmac.new(ctx.config.secret_key.encode("utf-8"), f"contribution:{contribution_id}".encode(),
                      hashlib.sha256).hexdigest()
    return f"paper-{digest[:32]}"


def enqueue(ctx: ServiceContext, s: Session, contribution: Contribution) -> None:
    """Write the outbox entry of a contribution that became ready, in the caller's transaction."""
    s.add(OutboxEntry(contribution_id=contribution.id, key=idempotency_key(ctx, contribution.id),
                      target=ctx.config.conversation, state=OutboxState.PENDING, attempts=0,
                      next_attempt_at=utcnow(), created_at=utcnow()))


@dataclass(frozen=True)
class RunResult:
    delivered: int
    retrying: int
    dead: int
    already: int  # found at the target already (an answer lost before): marked, not sent again

    def sentence(self) -> str:
        parts = [f"{self.delivered} contribution{'s' if self.delivered != 1 else ''} delivered"]
        if self.already:
            parts.append(f"{self.already} found delivered already")
        if self.retrying:
            parts.append(f"{self.retrying} waiting to retry")
        if self.dead:
            parts.append(f"{self.dead} dead letter{'s' if self.dead != 1 else ''} (see the delivery page)")
        return ", ".join(parts) + "."


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt: exponential in the attempts made, with full jitter."""
    rng = rng or random.Random()
    return rng.uniform(0.5, 1.0) * min(BACKOFF_MAX, BACKOFF_BASE * 2 ** max(0, attempts - 1))


def deliver(ctx: ServiceContext, *, progress: Callable[[int, int], None] | None = None,
            now: datetime | None = None) -> RunResult:
    """Send every outbox entry that is due, in a shuffled order; returns what became of them."""
    now = now or utcnow()
    target = target_for(ctx)
    with ctx.db.session() as s:
        due = list(s.execute(
            select(OutboxEntry.id, OutboxEntry.key, Contribution.area, Contribution.text)
            .join(Contribution, Contribution.id == OutboxEntry.contribution_id)
            .where(OutboxEntry.state == OutboxState.PENDING, OutboxEntry.next_attempt_at <= now,
                   Contribution.state.in_(READY), Contribution.area.is_not(None))).all())
    random.SystemRandom().shuffle(due)  # the forum's timestamps must not give away the scanning order
    delivered = retrying = dead = already = claimed = 0
    last_error: str | None = None
    rate_limited = False
    started = utcnow()
    for n, (entry_id, key, area, text) in enumerate(due):
        tried = _claim(ctx, entry_id, now)
        if tried is None:
            continue  # another delivery run (another worker) has it
        claimed += 1
        state, remote, error, wait, stop = OutboxState.SENT, None, None, None, False
        try:
            # only an entry tried before may have arrived: a first attempt costs one request
            remote = target.exists(key) if tried else None
            if remote is not None:
                already += 1
            else:
                remote = target.send(Post(key, str(area), text))
                delivered += 1
        except Retry as exc:
            state, error, wait = OutboxState.PENDING, exc.message, exc.wait
            stop = exc.rate_limited  # the target asks us to slow down: the rest wait for the next run
            last_error, rate_limited = exc.message, rate_limited or exc.rate_limited
        except Refused as exc:
            state, error = OutboxState.DEAD, exc.message
            last_error = exc.message
        with ctx.db.session() as s:
            entry = s.get(OutboxEntry, entry_id)
            assert entry is not None
            if state is OutboxState.PENDING and entry.attempts >= ctx.config.delivery_attempts:
                state = OutboxState.DEAD
            entry.state, entry.last_error = state, error
            if state is OutboxState.SENT:
                entry.remote_id, entry.sent_at = remote, utcnow()
            elif state is OutboxState.PENDING:
                entry.next_attempt_at = utcnow() + timedelta(seconds=max(wait or 0.0, backoff(entry.attempts)))
        retrying += state is OutboxState.PENDING
        dead += state is OutboxState.DEAD
        if progress is not None:
            progress(n + 1, len(due))
        if stop:
            retrying += len(due) - n - 1
            break
    result = RunResult(delivered, retrying, dead, already)
    _record_run(ctx, DeliveryRun(started_at=started, finished_at=utcnow(), target=target.name, tried=claimed,
                                 delivered=delivered, already=already, retrying=retrying, dead=dead,
                                 rate_limited=rate_limited, last_error=(last_error or None) and last_error[:500]))
    if due:
        log.info("delivery run", extra={"delivered": delivered, "retrying": retrying, "dead": dead,
                                        "already": already, "target": target.name})
    return result


def _record_run(ctx: ServiceContext, run: DeliveryRun) -> None:
    """Keep a run that tried anything (an idle sweep, every minute, writes nothing)."""
    if not run.tried:
        return
    with ctx.db.session() as s:
        s.add(run)


def health(ctx: ServiceContext) -> dict[str, Any]:
    """How delivery to the target is going, for the administrators' dashboard: ``state`` is
    ``ok``, ``refusing`` (it answers, but refused some: dead letters), ``failing`` (no answer, or
    errors it may recover from), ``slowed`` (it asked for fewer requests) or ``unknown`` (nothing
    tried yet), with a sentence, the last run and the last delivery."""
    with ctx.db.session() as s:
        last = s.scalars(select(DeliveryRun).order_by(DeliveryRun.started_at.desc(), DeliveryRun.id.desc())
                         .limit(1)).first()
        tried = s.scalars(select(DeliveryRun).where(DeliveryRun.tried > 0)
                          .order_by(DeliveryRun.started_at.desc(), DeliveryRun.id.desc()).limit(50)).all()
        sent_at = s.scalar(select(func.max(OutboxEntry.sent_at)))
        out: dict[str, Any] = {"last_run": None, "last_delivered_at": sent_at, "state": "unknown",
                               "sentence": "Nothing has been sent yet."}
        if last is not None:
            out["last_run"] = {"at": last.finished_at, "tried": last.tried, "delivered": last.delivered,
                               "retrying": last.retrying, "dead": last.dead}
        if not tried:
            return out
        latest = tried[0]
        if not (latest.retrying or latest.dead or latest.rate_limited):
            out["state"] = "ok"
            out["sentence"] = "Working: the last run that had anything to send delivered all of it."
            return out
        failing = [r for r in tried if r.retrying or r.dead or r.rate_limited]
        since = latest.started_at
        for r in tried:  # back to the last clean run
            if not (r.retrying or r.dead or r.rate_limited):
                break
            since = r.started_at
        out["since"] = since
        out["error"] = latest.last_error
        if not latest.retrying and not latest.rate_limited:
            out["state"] = "refusing"
            out["sentence"] = (f"The target answers, but refused {latest.dead} contribution"
                               f"{'s' if latest.dead != 1 else ''} in the last run that had anything to send "
                               f"(dead letters, below): {latest.last_error or 'no reason given'}")
            out["sentence"] += "" if out["sentence"].endswith(".") else "."
        elif latest.rate_limited:
            out["state"] = "slowed"
            out["sentence"] = ("The target asked for fewer requests: the rest wait for the next run "
                               f"({latest.last_error or 'rate limited'}).")
        else:
            out["state"] = "failing"
            out["sentence"] = (f"Failing for {len(failing)} run{'s' if len(failing) != 1 else ''}: "
                               f"{latest.last_error or 'the target did not answer'}. Entries are retried "
                               "with a growing wait; none is lost.")
        return out


CLAIM = timedelta(minutes=5)
"""How long a run holds an entry it is sending: a run that dies leaves it due again after this."""


def _claim(ctx: ServiceContext, entry_id: int, now: datetime) -> int | None:
    """Take an entry for this run, counting the attempt before it is made (a run that dies mid-send
    leaves the count, so the next run asks the target first): its due time moves on, only if it is
    still due, in one conditional update, so two runs never send it at once. Returns the attempts
    made before this one, or None when another run has it."""
    with ctx.db.session() as s:
        done = s.execute(update(OutboxEntry).where(
            OutboxEntry.id == entry_id, OutboxEntry.state == OutboxState.PENDING,
            OutboxEntry.next_attempt_at <= now).values(next_attempt_at=utcnow() + CLAIM,
                                                      attempts=OutboxEntry.attempts + 1)
            .returning(OutboxEntry.attempts).execution_options(synchronize_session=False))
        after = done.scalar()
        return None if after is None else int(after) - 1


def counts(ctx: ServiceContext) -> dict[str, int]:

    with ctx.db.session() as s:
        rows = {OutboxState(k).value: int(n) for k, n in s.execute(
            select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)).all()}
    return {state.value: rows.get(state.value, 0) for state in OutboxState}


def retry_dead(ctx: ServiceContext, entry_id: int) -> None:
    """An administrator sends a dead letter again (after fixing what the target refused)."""
    with ctx.db.session() as s:
        done = s.execute(update(OutboxEntry).where(OutboxEntry.id == entry_id, OutboxEntry.state == OutboxState.DEAD)
                         .values(state=OutboxState.PENDING, next_attempt_at=utcnow(), attempts=0)
                         .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("That delivery is not a dead letter (any more); nothing was changed.")


def withhold_dead(ctx: ServiceContext, user_id: int, entry_id: int, reason: str) -> None:
    """An administrator withholds a dead letter's contribution: it is never delivered."""
    from ..states import ContributionState
    from ..store.models import ModerationAction

    if not reason.strip():
        raise InvalidInput("Say why it is withheld (the reason is kept in the moderation log).")
    with ctx.db.session() as s:
        entry = s.get(OutboxEntry, entry_id)
        if entry is None or entry.state != OutboxState.DEAD:
            raise Conflict("That delivery is not a dead letter (any more); nothing was changed.")
        c = s.get(Contribution, entry.contribution_id)
        assert c is not None
        c.state, c.reason, c.updated_at = ContributionState.WITHHELD, reason.strip()[:1000], utcnow()
        s.add(ModerationAction(contribution_id=c.id, user_id=user_id, action="withhold", old_text=c.text,
                               new_text=c.text, note=f"dead letter: {reason.strip()[:1000]}", at=utcnow()))


@dataclass(frozen=True)
class DeadLetter:
    id: int
    area: str | None
    text: str
    attempts: int
    error: str | None


def dead_letters(ctx: ServiceContext, *, limit: int = 200) -> list[DeadLetter]:
    """Deliveries that failed for good and whose contribution is still ready, oldest first."""
    with ctx.db.session() as s:
        rows = s.execute(select(OutboxEntry, Contribution.area, Contribution.text)
                         .join(Contribution, Contribution.id == OutboxEntry.contribution_id)
                         .where(OutboxEntry.state == OutboxState.DEAD, Contribution.state.in_(READY))
                         .order_by(OutboxEntry.id).limit(limit)).all()
    return [DeadLetter(e.id, area, text, e.attempts, e.last_error) for e, area, text in rows]


def by_area(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Contributions per area: held, passed, released, withheld; delivered and dead letters."""

    with ctx.db.session() as s:
        states = s.execute(select(Contribution.area, Contribution.state, func.count())
                           .group_by(Contribution.area, Contribution.state)).all()
        sent = s.execute(select(Contribution.area, OutboxEntry.state, func.count())
                         .join(Contribution, Contribution.id == OutboxEntry.contribution_id)
                         .group_by(Contribution.area, OutboxEntry.state)).all()
    areas: dict[str, dict[str, Any]] = {}
    for area, cstate, n in states:
        areas.setdefault(area or "(none)", {"area": area or "(none)"})[str(cstate)] = int(n)
    for area, ostate, n in sent:
        areas.setdefault(area or "(none)", {"area": area or "(none)"})[f"outbox_{ostate}"] = int(n)
    for a in areas.values():  # what the dashboard draws: each contribution once, where it stands
        a["ready"] = a.get("outbox_pending", 0)
        a["shown"] = sum(a.get(k, 0) for k in ("held", "ready", "outbox_sent", "outbox_dead", "withheld"))
    return sorted(areas.values(), key=lambda a: a["area"])


@task("deliver")
def deliver_task(ctx: ServiceContext, job: JobHandle) -> None:
    result = deliver(ctx, progress=lambda done, total: job.progress(done, total))
    job.progress(1, 1, result.sentence())


@periodic("deliver", 60.0)
def deliver_now_and_then(ctx: ServiceContext) -> object:
    """The workers' sweep: what became ready, and retries that came due."""
    return deliver(ctx)
