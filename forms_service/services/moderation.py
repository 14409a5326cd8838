"""Screening and moderation: every final written answer becomes a contribution, screened; what the
screen finds (and a sample of what it passes) waits for a moderator.

A response's written answers are screened once the response is complete (every field accepted
or verified): then the answers are final and the area the routing question chooses is known.
Each non-blank written answer becomes one contribution in its area, ``passed`` when the screen
finds nothing (unless drawn for a spot check) and ``held`` otherwise, with its findings. A
moderator holds a lease on a contribution while working on it, and releases it (perhaps edited),
redacts spans, splits it into several, moves it to another area, or withholds it with a reason;
every action goes to the moderators' audit log. Only ``passed`` and ``released`` contributions
are ever handed to delivery (:func:`ready`).

Must never: log a contribution's text, or show a moderator the response, sheet, batch or time
an answer came from.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import String as SqlString
from sqlalchemy import cast as sql_cast
from sqlalchemy import delete, exists, func, literal, select
from sqlalchemy.orm import Session

from ..context import ServiceContext
from ..errors import Conflict, InvalidInput, NotFound
from ..questionnaire.model import FieldType
from ..screening import KINDS, MAX_SCREENED, Finding, Screener, Settings, redact
from ..states import READY, ContributionState, FieldState
from ..store.models import Contribution, FieldReading, Lease, ModerationAction, Response, utcnow
from . import delivery, leases, questionnaires
from .responses import list_responses_by_id

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_TEXT = 5000
"""The most characters a moderator's edit of one contribution may have."""

ACTIONS = ("release", "redact", "edit", "split", "move", "withhold")


@dataclass(frozen=True)
class Item:
    """A held contribution as a moderator sees it: its area, its text and what the screen found."""

    id: int
    area: str | None
    question: str
    text: str
    findings: tuple[dict[str, Any], ...]
    spot_check: bool
    state: str
    areas: tuple[str, ...]  # where it may be moved


_SCREENERS: dict[tuple[Any, ...], Screener] = {}


def screener(ctx: ServiceContext | None = None) -> Screener:
    """The screener, with the deployment's word lists (``FORMS_SERVICE_DENY_NAMES``,
    ``FORMS_SERVICE_ALLOW_WORDS``); built again when a list file changes. A configured list that
    cannot be read stops screening with one sentence: nothing is passed without it."""
    files = (ctx.config.deny_names, ctx.config.allow_words) if ctx is not None else (None, None)
    key = tuple((str(f), f.stat().st_mtime_ns) if f is not None and f.exists() else None for f in files)
    if key not in _SCREENERS:
        deny, allow = (_word_list(f) for f in files)
        _SCREENERS.clear()
        _SCREENERS[key] = Screener(Settings(deny_names=tuple(deny), allow_words=tuple(allow)))
    return _SCREENERS[key]


def _word_list(path: Any) -> list[str]:
    """One entry a line (a staff directory export: its first column); blank lines and # comments skipped.
    A full name adds each of its words of three letters or more."""
    if path is None:
        return []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise InvalidInput(f"The word list {path} cannot be read ({exc.strerror}).") from None
    words: list[str] = []
    for line in lines:
        entry = line.split(",")[0].strip().strip('"')
        if entry and not entry.startswith("#"):
            words += [w for w in entry.split() if len(w) >= 3]
    return words


def _task(contribution_id: int) -> str:
    return f"contribution:{contribution_id}"


def _lease_key() -> Any:
    return literal("contribution:") + sql_cast(Contribution.id, SqlString)


# -- screening --------------------------------------------------------------------------------------


def screen_ready(ctx: ServiceContext, response_ids: Iterable[int] | None = None) -> int:
    """Turn the written answers of complete responses (``response_ids``, or every response) that
    have no contributions yet into contributions, screened. Returns how many were made."""
    with ctx.db.session() as s:
        query = select(Response.id).where(~exists().where(Contribution.response_id == Response.id))
        if response_ids is not None:
            ids = list(response_ids)
            if not ids:
                return 0
            query = query.where(Response.id.in_(ids))
        # only responses with no field waiting for a person
        query = query.where(~exists().where(FieldReading.response_id == Response.id,
                                            FieldReading.state == FieldState.QUEUED))
        candidates = list(s.scalars(query))
    made = 0
    for start in range(0, len(candidates), 200):
        made += _screen_responses(ctx, candidates[start:start + 200])
    if made:
        log.info("answers screened", extra={"contributions": made})
    return made


def _screen_responses(ctx: ServiceContext, response_ids: list[int]) -> int:
    from .export import (
        layout_of,  # the layout says which pages have fields (and so what is complete)
    )

    layouts: dict[tuple[str, str, str], Any] = {}
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    rng = random.Random()
    for r in list_responses_by_id(ctx, response_ids):
        layout = layout_of(ctx, layouts, r)
        if r.status({p.page for p in layout.pages if p.fields}).value != "complete":
            continue
        q = questionnaires.get_questionnaire(ctx, r.questionnaire, r.version)
        answers = {fid: fv.value for fid, fv in r.fields.items()}
        for spec in q.fields():
            if spec.type is not FieldType.TEXT:
                continue
            fv = r.fields.get(spec.id)
            text = (fv.value if fv is not None and isinstance(fv.value, str) else "").strip()
            if not text:
                continue  # nothing written, or illegible: nothing to post
            flagged = (fv.details or {}).get("flagged") if fv is not None else None
            rows.append({"response_id": r.id, "field_id": spec.id, "part": 0,
                         "area": q.area_for(answers, spec.question), "text": text[:MAX_SCREENED * 2],
                         "flagged": flagged})
            texts.append(text)
    if not rows:
        return 0
    found = screener(ctx).screen_many(texts)
    now, rate = utcnow(), ctx.config.spot_check_rate
    made = 0
    with ctx.db.session() as s:
        for row, findings in zip(rows, found, strict=True):
            listed = [f.as_dict() for f in findings]
            flagged = row.pop("flagged")
            if flagged is not None:
                note = (flagged.get("note") or "").strip()
                listed.append(Finding("flagged", 0, len(row["text"]), 1.0,
                                      "flagged by the person who typed it" + (f": {note}" if note else "")).as_dict())
            spot = not listed and rng.random() < rate
            state = ContributionState.HELD if listed or spot else ContributionState.PASSED
            c = Contribution(**row, findings=listed, state=state, spot_check=spot, created_at=now, updated_at=now)
            s.add(c)
            if state is ContributionState.PASSED:  # ready: its outbox entry in the same transaction
                s.flush()
                delivery.enqueue(ctx, s, c)
            made += 1
    return made


def counts(ctx: ServiceContext) -> dict[str, int]:
    """Contributions by state."""
    with ctx.db.session() as s:
        rows = {ContributionState(state).value: int(n) for state, n in s.execute(
            select(Contribution.state, func.count()).group_by(Contribution.state)).all()}
    return {state.value: rows.get(state.value, 0) for state in ContributionState}


def ready(ctx: ServiceContext, *, limit: int = 500, after: int = 0) -> list[tuple[int, str, str]]:
    """The contributions delivery may post: ``(id, area, text)``, passed or released, with an
    area. The one gate between moderation and delivery: nothing held reaches it."""
    with ctx.db.session() as s:
        return [(i, str(a), t) for i, a, t in s.execute(
            select(Contribution.id, Contribution.area, Contribution.text)
            .where(Contribution.state.in_(READY), Contribution.area.is_not(None), Contribution.id > after)
            .order_by(Contribution.id).limit(limit)).all()]


# -- the moderators' queue ---------------------------------------------------------------------------------


def _take(s: Session, user_id: int, ids: list[int]) -> set[int]:
    mine = leases.take(s, user_id, [_task(i) for i in ids], LEASE)
    return {i for i in ids if _task(i) in mine}


def next_items(ctx: ServiceContext, user_id: int, *, limit: int = 1) -> list[Item]:
    """The next held contributions for this moderator, each leased to them (theirs first, then
    the oldest nobody else holds)."""
    if not 1 <= limit <= 100:
        raise InvalidInput("Ask for between 1 and 100 answers at a time.")
    now = utcnow()
    with ctx.db.session() as s:
        query = (select(Contribution.id).where(
            Contribution.state == ContributionState.HELD,
            ~exists().where(Lease.task == _lease_key(), Lease.expires_at > now, Lease.user_id != user_id))
            .order_by(Contribution.id))  # fmt: skip
        chosen: list[int] = []
        tried: set[int] = set()
        while len(chosen) < limit:
            page = [i for i in s.scalars(query.where(Contribution.id.not_in(tried) if tried else literal(True))
                                         .limit(limit - len(chosen) + 2))]
            if not page:
                break
            tried |= set(page)
            got = _take(s, user_id, page[:limit - len(chosen)])
            chosen += [i for i in page if i in got]
    return items(ctx, chosen)


def items(ctx: ServiceContext, ids: Sequence[int]) -> list[Item]:
    with ctx.db.session() as s:
        rows = {c.id: (c, r) for c, r in s.execute(
            select(Contribution, Response).join(Response, Response.id == Contribution.response_id)
            .where(Contribution.id.in_(list(ids)))).all()}
    out: list[Item] = []
    cache: dict[tuple[str, str], Any] = {}
    for i in ids:
        if i not in rows:
            continue
        c, r = rows[i]
        key = (r.questionnaire, r.version)
        if key not in cache:
            cache[key] = questionnaires.get_questionnaire(ctx, *key)
        q = cache[key]
        spec = next((f for f in q.fields() if f.id == c.field_id), None)
        areas = tuple(sorted(set(q.routing.areas.values()))) if q.routing else ()
        out.append(Item(c.id, c.area, spec.label if spec else c.field_id, c.text, tuple(c.findings or ()),
                        bool(c.spot_check), ContributionState(c.state).value, areas))
    return out


def item(ctx: ServiceContext, contribution_id: int) -> Item:
    found = items(ctx, [contribution_id])
    if not found:
        raise NotFound(f"There is no answer {contribution_id} to moderate.")
    return found[0]


def renew(ctx: ServiceContext, user_id: int, ids: Iterable[int]) -> list[int]:
    ids = list(ids)
    with ctx.db.session() as s:
        held = leases.renew(s, user_id, [_task(i) for i in ids], LEASE)
    return [i for i in ids if _task(i) in held]


def give_back(ctx: ServiceContext, user_id: int, contribution_id: int) -> None:
    with ctx.db.session() as s:
        s.execute(delete(Lease).where(Lease.task == _task(contribution_id), Lease.user_id == user_id))


# -- a moderator's actions ----------------------------------------------------------------------------------


def act(ctx: ServiceContext, user_id: int, contribution_id: int, action: str, *, text: str | None = None,
        spans: Sequence[Sequence[int]] | None = None, texts: Sequence[str] | None = None,
        area: str | None = None, reason: str | None = None) -> list[Item]:
    """One moderator's action on a contribution they hold. Returns the contributions it leaves
    (the same one, or the parts of a split), as they now are.

    Changes nothing and says why in one sentence when the contribution is not held, not theirs,
    or the action's arguments do not fit.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"Choose an action: {', '.join(ACTIONS)}.")
    with ctx.db.session() as s:
        c = s.get(Contribution, contribution_id)
        if c is None:
            raise NotFound(f"There is no answer {contribution_id} to moderate.")
        if c.state != ContributionState.HELD:
            raise Conflict("This answer was dealt with already (by you or someone else); nothing was changed.")
        held = s.scalar(select(Lease.task).where(Lease.task == _task(c.id), Lease.user_id == user_id,
                                                 Lease.expires_at > utcnow()))
        if held is None:
            raise Conflict("You do not hold this answer any more (your hold ran out, or someone else has it); "
                           "nothing was changed: take it again from the queue.")
        before = c.text
        result = [c.id]
        now = utcnow()
        if action == "release":
            if text is not None:
                c.text = _checked_text(text)
            c.state = ContributionState.RELEASED
            delivery.enqueue(ctx, s, c)  # in the same transaction as the release
        elif action == "edit":
            c.text = _checked_text(text)
            c.findings = [f.as_dict() for f in screener(ctx).screen(c.text)]
        elif action == "redact":
            c.text = _redacted(c.text, c.findings or [], spans)
            c.findings = [f.as_dict() for f in screener(ctx).screen(c.text)]
        elif action == "move":
            areas = _areas(ctx, s, c)
            if area not in areas:
                raise InvalidInput(f"Move it to one of the areas: {', '.join(areas)}.")
            c.area = area
        elif action == "withhold":
            if not (reason or "").strip():
                raise InvalidInput("Say why it is withheld (the reason is kept in the audit log).")
            c.state, c.reason = ContributionState.WITHHELD, reason.strip()[:1000] if reason else None
        elif action == "split":
            parts = [_checked_text(t) for t in (texts or [])]
            if len(parts) < 2:
                raise InvalidInput("Split it into at least two parts, each with some text.")
            top = int(s.scalar(select(func.max(Contribution.part)).where(
                Contribution.response_id == c.response_id, Contribution.field_id == c.field_id)) or 0)
            new = []
            for n, part in enumerate(parts, start=top + 1):
                found = [f.as_dict() for f in screener(ctx).screen(part)]
                new.append(Contribution(response_id=c.response_id, field_id=c.field_id, part=n, area=c.area,
                                        text=part, findings=found, state=ContributionState.HELD,
                                        spot_check=False, created_at=now, updated_at=now))
            s.add_all(new)
            s.flush()
            c.state = ContributionState.SPLIT
            result = [x.id for x in new]
            _take(s, user_id, result)  # the parts stay with the moderator who split it
        c.updated_at = now
        s.add(ModerationAction(contribution_id=c.id, user_id=user_id, action=action, old_text=before,
                               new_text=c.text if action != "split" else "\n\n".join(texts or []),
                               note=reason if action == "withhold" else (area if action == "move" else None), at=now))
        if c.state != ContributionState.HELD:
            s.execute(delete(Lease).where(Lease.task == _task(c.id)))
    log.info("answer moderated", extra={"contribution": contribution_id, "action": action, "user": user_id})
    return items(ctx, result)


def _checked_text(text: str | None) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("Give the answer's text (an empty answer is withheld, not released).")
    text = text.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"An answer may have at most {MAX_TEXT} characters.")
    return text


def _redacted(text: str, findings: list[dict[str, Any]], spans: Sequence[Sequence[int]] | None) -> str:
    if not spans:
        raise InvalidInput("Give the spans to redact, as [start, end] character offsets.")
    marked: list[tuple[int, int, str]] = []
    for span in spans:
        if len(span) != 2 or not all(isinstance(x, int) for x in span) or not 0 <= span[0] < span[1] <= len(text):
            raise InvalidInput(f"A span is [start, end] with 0 <= start < end <= {len(text)}.")
        start, end = int(span[0]), int(span[1])
        kind = next((f["kind"] for f in findings if f["start"] < end and start < f["end"] and f["kind"] in KINDS),
                    "name")
        marked.append((start, end, kind))
    return redact(text, marked)


def _areas(ctx: ServiceContext, s: Session, c: Contribution) -> list[str]:
    r = s.get(Response, c.response_id)
    assert r is not None
    q = questionnaires.get_questionnaire(ctx, r.questionnaire, r.version)
    return sorted(set(q.routing.areas.values())) if q.routing else []


def audit_log(ctx: ServiceContext, *, limit: int = 200) -> list[dict[str, Any]]:
    """The moderators' actions, newest first (administrators only)."""
    from ..store.models import User

    with ctx.db.session() as s:
        rows = s.execute(select(ModerationAction, User.name).outerjoin(User, User.id == ModerationAction.user_id)
                         .order_by(ModerationAction.at.desc(), ModerationAction.id.desc()).limit(limit)).all()
    return [{"at": a.at, "user": name or "(deleted account)", "contribution": a.contribution_id,
             "action": a.action, "old": a.old_text, "new": a.new_text, "note": a.note} for a, name in rows]

