"""The receipt lookup: what became of each written answer of the copy a receipt code was printed on.

A paper respondent has no account; the code on their slip is the only key. :func:`lookup` finds
the copy by the code's keyed hash and tells, for each written question, where its answer stands
in words the respondent understands (:data:`SENTENCES`): received and being checked; posted in
their group's area (with a link where the conversation has one), or posted after a moderator
removed a name or contact details, split it or moved it; not posted, with the kind of reason;
nothing to post. It never gives the text of an answer that was not posted, a tick-box answer or
an "about you" answer, and never the sheet id, the time or anything else about the response.

Lookups are counted a day by outcome (:func:`counts`): never the code, never the address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from .. import receipts
from ..context import ServiceContext
from ..states import ContributionState, FieldState, OutboxState
from ..store.db import upsert
from ..store.models import (
    Contribution,
    FieldChange,
    FieldReading,
    ModerationAction,
    OutboxEntry,
    Purge,
    ReceiptLookups,
    Response,
    Sheet,
    utcnow,
)
from . import questionnaires

log = logging.getLogger(__name__)

OUTCOMES = ("found", "mistyped", "unknown", "forgotten")

IDENTIFYING = {"email", "phone", "url", "postcode", "id-number", "name", "singling-out"}


@dataclass(frozen=True)
class AnswerState:
    """One written question's answer as its writer may know it."""

    question: str
    state: str  # a key of SENTENCES
    sentence: str
    link: str | None = None
    parts: int = 1


@dataclass
class Lookup:
    outcome: str  # found, mistyped (the check failed), unknown (no such copy), forgotten (purged)
    answers: list[AnswerState] = field(default_factory=list)
    returned: bool = False  # the form has come back
    forgotten_on: str | None = None  # when the records were deleted (outcome forgotten, or unknown after a purge)


SENTENCES = {
    "not_returned": "We have not received this form yet.",
    "checking": "Received: it is being checked.",
    "moderating": "Received: a moderator is looking at it.",
    "ready": "Checked: it will be added to the conversation shortly.",
    "waiting": "Checked: it is waiting to be added to the conversation (the conversation site is not "
               "taking it at the moment; we keep trying).",
    "posted": "Posted in the area for your group.",
    "posted_redacted": "Posted in the area for your group, after a moderator removed a name or contact details.",
    "posted_edited": "Posted in the area for your group, after a moderator edited it.",
    "posted_split": "Posted in the area for your group, split into {parts} parts by a moderator.",
    "posted_moved": "Posted, after a moderator moved it to the area for {area}.",
    "withheld_identifies": "Not posted: it named or described someone.",
    "withheld_abusive": "Not posted: it was abusive.",
    "withheld_other": "Not posted: it did not follow the consultation's rules.",
    "blank": "Nothing to post: this question was left blank.",
    "illegible": "Nothing to post: the writing could not be read.",
}


def lookup(ctx: ServiceContext, typed: str) -> Lookup:
    """What the code a person typed leads to (the same work whether or not it is known: the
    hash is computed and looked up every time)."""
    code = receipts.normalise(typed)
    digest = receipts.code_hash(ctx.config.secret_key, code or "-")
    with ctx.db.session() as s:
        sheet = s.scalar(select(Sheet.sheet_id).where(Sheet.receipt_hash == digest))
        forgotten = s.scalar(select(Purge.at).where(Purge.files > 0).order_by(Purge.at.desc()).limit(1))
    if code is None:
        return _counted(ctx, Lookup("mistyped"))
    if sheet is None:
        when = f"{forgotten:%-d %B %Y}" if forgotten is not None else None
        return _counted(ctx, Lookup("forgotten" if when else "unknown", forgotten_on=when))
    return _counted(ctx, _answers(ctx, sheet))


def _counted(ctx: ServiceContext, result: Lookup) -> Lookup:
    """Count the lookup in today's row for its outcome (one upsert), and log the outcome alone."""
    with ctx.db.session() as s:
        stmt = upsert(s, ReceiptLookups).values(day=utcnow().date(), outcome=result.outcome, count=1)
        s.execute(stmt.on_conflict_do_update(index_elements=["day", "outcome"],
                                             set_={"count": ReceiptLookups.count + 1}))
    log.info("receipt lookup", extra={"outcome": result.outcome})
    return result


def counts(ctx: ServiceContext, days: int = 30) -> list[dict[str, Any]]:
    """Lookups a day by outcome, the last ``days`` days, newest first (no codes, no addresses)."""
    since = utcnow().date() - timedelta(days=days)
    with ctx.db.session() as s:
        rows = s.execute(select(ReceiptLookups.day, ReceiptLookups.outcome, ReceiptLookups.count)
                         .where(ReceiptLookups.day >= since)).all()
    by_day: dict[Any, dict[str, Any]] = {}
    for day, outcome, n in rows:
        by_day.setdefault(day, {"day": day, **{o: 0 for o in OUTCOMES}})[outcome] = int(n)
    return sorted(by_day.values(), key=lambda d: d["day"], reverse=True)


def _answers(ctx: ServiceContext, sheet_id: str) -> Lookup:
    with ctx.db.session() as s:
        r = s.scalars(select(Response).where(Response.sheet_id == sheet_id, Response.conflict_of.is_(None))
                      .order_by(Response.id).limit(1)).first()
        if r is None:
            return Lookup("found")
        q = questionnaires.get_questionnaire(ctx, r.questionnaire, r.version)
        readings = {fr.field_id: fr for fr in s.scalars(select(FieldReading).where(FieldReading.response_id == r.id))}
        contributions = list(s.scalars(select(Contribution).where(Contribution.response_id == r.id)
                                       .order_by(Contribution.field_id, Contribution.part)))
        ids = [c.id for c in contributions]
        sent = {e.contribution_id: e for e in s.scalars(select(OutboxEntry).where(OutboxEntry.contribution_id.in_(ids)))}
        actions: dict[int, set[str]] = {}
        for cid, action, old, new in s.execute(
                select(ModerationAction.contribution_id, ModerationAction.action, ModerationAction.old_text,
                       ModerationAction.new_text).where(ModerationAction.contribution_id.in_(ids))):
            # a release with a changed text is an edit
            if cid is not None:
                actions.setdefault(int(cid), set()).add("edit" if action == "release" and old != new else action)
        illegible = set(s.scalars(select(FieldChange.field_id).where(FieldChange.response_id == r.id,
                                                                     FieldChange.action == "illegible")))
        by_field: dict[str, list[Contribution]] = {}
        for c in contributions:
            by_field.setdefault(c.field_id, []).append(c)
        answers: list[AnswerState] = []
        for spec in q.fields():
            if spec.type.value != "text" or spec.about_you:
                continue
            answers.append(_state(ctx, q.question(spec.question).text, spec.id, readings, by_field.get(spec.id, []), sent, actions,
                                  routed=_routed_area(q, readings), illegible=spec.id in illegible))
    return Lookup("found", answers, returned=True)


def _routed_area(q: Any, readings: dict[str, FieldReading]) -> str | None:
    router = readings.get(q.routing.question)
    value = (router.value or {}).get("v") if router is not None else None
    return q.routing.areas.get(value) if isinstance(value, str) else None


def _state(ctx: ServiceContext, question: str, field_id: str, readings: dict[str, FieldReading],
           parts: list[Contribution], sent: dict[int, OutboxEntry], actions: dict[int, set[str]],
           routed: str | None, illegible: bool) -> AnswerState:
    def say(state: str, link: str | None = None, **words: Any) -> AnswerState:
        return AnswerState(question, state, SENTENCES[state].format(**words), link, int(words.get("parts", 1)))

    fr = readings.get(field_id)
    if fr is None or fr.state == FieldState.QUEUED:
        return say("checking")
    value = (fr.value or {}).get("v")
    if not parts:
        if not value:
            return say("illegible" if illegible else "blank")
        return say("checking")  # settled, but the response is not complete yet
    # a split answer's original (state split) is replaced by its parts
    live = [c for c in parts if c.state != ContributionState.SPLIT] or parts
    if any(c.state == ContributionState.HELD for c in live):
        return say("moderating")
    if all(c.state == ContributionState.WITHHELD for c in live):
        kinds = {f.get("kind") for c in live for f in (c.findings or [])}
        if kinds & IDENTIFYING:
            return say("withheld_identifies")
        if "abuse" in kinds:
            return say("withheld_abusive")
        return say("withheld_other")
    posted = [c for c in live if c.state in (ContributionState.PASSED, ContributionState.RELEASED)]
    entries = [sent.get(c.id) for c in posted]
    if any(e is None or e.state == OutboxState.PENDING for e in entries):
        return say("ready")
    if any(e.state == OutboxState.DEAD for e in entries if e is not None):
        return say("waiting")
    done = set().union(*(actions.get(c.id, set()) for c in parts))
    link = _link(ctx, entries[0]) if entries and entries[0] is not None else None
    if len(posted) > 1 or "split" in done:
        return say("posted_split", link, parts=len(posted))
    if "move" in done and posted[0].area and posted[0].area != routed:
        return say("posted_moved", link, area=posted[0].area.replace("-", " "))
    if "redact" in done:
        return say("posted_redacted", link)
    if "edit" in done:
        return say("posted_edited", link)
    return say("posted", link)


def _link(ctx: ServiceContext, entry: OutboxEntry) -> str | None:
    """Where a posted contribution can be read: the forum's topic, for the Discourse target."""
    forum = ctx.config.discourse
    if entry.target != "discourse" or forum is None or not (entry.remote_id or "").isdigit():
        return None
    return f"{forum.url}/t/{entry.remote_id}"
