"""The verification queue: the fields the machine was not sure of, answered by data-entry staff.

A field reading in state ``queued`` is a task. Tasks come least certain first
(lowest confidence, then oldest), by kind (``choice``: tick-box fields;
``text``: written answers to transcribe) and optionally by print run. Each task
handed out is *leased* to one person (:class:`~forms_service.store.models.Lease`):
nobody else is given it while the lease runs, the person's screen renews it while
they work, and a lease that runs out frees the task for others. An answer is
taken only from the person who holds the lease, only while the field is still
queued, and only when it is a value the field can have; it makes the field
``verified`` (never overwritten by a later reading) and is written to the audit
log with the person, the old and new value and the time.

The same functions serve the web screens and the JSON API (``/api/v1/queue``).

Must never: log answer text; show a person more of a form than the field at hand;
let the audit log reach an export for analysts or anything posted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from ..context import ServiceContext
from ..errors import Conflict, InvalidInput, NotFound
from ..questionnaire import Questionnaire
from ..responses import export_value, verify_field
from ..states import FieldState, ScanPageState
from ..store.models import (
    FieldChange,
    FieldReading,
    Keying,
    Lease,
    PrintRun,
    QuestionnaireVersion,
    Response,
    ScanPage,
    Sheet,
    utcnow,
)
from . import leases, moderation, questionnaires
from .responses import field_value

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
"""How long a task stays with the person it was handed to without being renewed."""
MAX_TEXT = 5000
"""The longest written answer a person may type, in characters."""
UNDECIDED = 0.5
"""A tick-box reading this sure or less is no better than a coin: see :attr:`FieldTask.undecided`."""


class TaskKind(StrEnum):
    CHOICE = "choice"  # a tick-box field: single or multiple choice, a rating row
    TEXT = "text"  # a written answer to transcribe


class Action(StrEnum):
    """What a person did to a field (the audit log's ``action``)."""

    VERIFIED = "verified"  # confirmed or corrected the value
    REOPENED = "reopened"  # took their own last answer back, to change it
    KEYED = "keyed"  # typed a written answer under double-blind keying (final once two agree)
    NOT_RETURNED = "not_returned"  # a page never came back: its fields count as blank
    KEPT_APART = "kept_apart"  # two responses with one sheet id are two people (a photocopied form)
    ILLEGIBLE = "illegible"  # a written answer nobody can read: verified as blank, marked illegible
    FLAGGED = "flagged"  # verified, and flagged for a moderator (names or identifies someone, or abusive)


@dataclass(frozen=True)
class Option:
    value: str
    label: str


@dataclass(frozen=True)
class FieldTask:
    """One field waiting for a person, as handed to the person who holds it."""

    id: int  # the field reading's id
    kind: TaskKind
    response: str  # the response's public id
    field: str
    type: str
    question: str
    options: tuple[Option, ...]
    value: Any  # the machine's reading, in the export's value form
    suggestion: str | None  # text: the OCR suggestion
    confidence: float
    has_image: bool
    batch: str | None
    blind: bool = False  # typed without the OCR suggestion (blind entry, or double-blind keying)
    keying: int = 0  # under double-blind keying: how many people typed it before (2: they disagreed)
    state: FieldState = FieldState.QUEUED
    paper: bool = False  # a 1-bit scan showing no mark: a light one may have been lost, only the paper tells

    @property
    def undecided(self) -> bool:
        """A tick-box field the machine could not decide (no reading it gives better than even odds:
        two marks, a filled box with no tick, a broken mark on a 1-bit scan). A grid does not
        pre-mark it with a guess a person might confirm unseen: it arrives marked *cannot tell*."""
        return self.kind is TaskKind.CHOICE and not self.paper and self.confidence <= UNDECIDED


def _task(reading_id: int) -> str:
    return f"field:{reading_id}"


def _lease_key() -> Any:
    """The SQL expression of a field reading's task name (``field:<id>``), for joining leases."""
    return literal("field:") + cast(FieldReading.id, String)


# -- what the fields can be ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Definition:
    """What the verification screens need of a questionnaire version's fields."""

    options: dict[str, tuple[str, str, tuple[Option, ...]]]
    """field id -> (type, the question as printed, the options a person may choose)"""
    questions: dict[str, tuple[str, str, str]]
    """field id -> (its question's id, the question's text, the row's label: "" unless a rating row)"""


def _definition(q: Questionnaire) -> _Definition:
    options: dict[str, tuple[str, str, tuple[Option, ...]]] = {}
    questions: dict[str, tuple[str, str, str]] = {}
    for spec in q.fields():
        question = q.question(spec.question)
        choices = question.scale if question.rows else question.options
        labels = {o.value: o.label for o in choices}
        options[spec.id] = (spec.type.value, spec.label, tuple(Option(v, labels.get(v, v)) for v in spec.values))
        row = next((r.label for r in question.rows if spec.id == f"{question.id}.{r.id}"), "")
        questions[spec.id] = (question.id, question.text, row)
    return _Definition(options, questions)


Specs = dict[tuple[str, str], dict[str, tuple[str, str, tuple[Option, ...]]]]
_BY_DEFINITION: dict[str, _Definition] = {}
"""Fields by the sha-256 of their definition: a definition's text never changes under its hash."""


def _definition_of(ctx: ServiceContext, questionnaire: str, version: str) -> _Definition:
    """A questionnaire version's fields (parsed once per process and definition, looked up by hash)."""
    with ctx.db.session() as s:
        sha = s.scalar(select(QuestionnaireVersion.sha256).where(
            QuestionnaireVersion.questionnaire == questionnaire, QuestionnaireVersion.version == version))
    if sha is None or sha not in _BY_DEFINITION:
        found = _definition(questionnaires.get_questionnaire(ctx, questionnaire, version))
        if sha is None:
            return found
        if len(_BY_DEFINITION) > 64:
            _BY_DEFINITION.clear()
        _BY_DEFINITION[sha] = found
    return _BY_DEFINITION[sha]


def _options_of(ctx: ServiceContext, questionnaire: str, version: str) -> dict[str, tuple[str, str, tuple[Option, ...]]]:
    """The fields of a questionnaire version: field id -> (type, question as printed, options)."""
    return _definition_of(ctx, questionnaire, version).options


def _spec(ctx: ServiceContext, r: Response, field_id: str,
          cache: Specs | None = None) -> tuple[str, str, tuple[Option, ...]]:
    key = (r.questionnaire, r.version)
    cache = {} if cache is None else cache
    if key not in cache:
        cache[key] = _options_of(ctx, r.questionnaire, r.version)
    specs = cache[key]
    if field_id not in specs:
        raise NotFound(f"{r.questionnaire} {r.version} has no field {field_id!r}.")
    return specs[field_id]


def check_value(kind: str, options: Iterable[Option], value: Any) -> Any:
    """The value a person gave, in the export's form, or one sentence saying what is wrong with it."""
    allowed = [o.value for o in options]
    if kind == "single_choice":
        if value is None or value in allowed:
            return value
        raise InvalidInput(f"Choose one of {', '.join(allowed)}, or none (null); {value!r} is not an option.")
    if kind == "multi_choice":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput("Give the ticked options as a list, such as [\"arts\", \"law\"] ([] for none).")
        wrong = [v for v in value if v not in allowed]
        if wrong:
            raise InvalidInput(f"{', '.join(map(repr, wrong))} {'is' if len(wrong) == 1 else 'are'} not "
                               f"among the options ({', '.join(allowed)}).")
        return sorted(set(value))
    if not isinstance(value, str):
        raise InvalidInput("Give a written answer as text (\"\" when nothing is written).")
    value = value.replace("\r\n", "\n").strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"A written answer may have at most {MAX_TEXT} characters.")
    return value


# -- the queue -------------------------------------------------------------------------------------


def _waiting(kind: TaskKind | None, print_run: int | None, user_id: int | None = None) -> Any:
    """Queued field readings nobody holds a live lease on, least certain first (and, for a person,
    not those they typed already under double-blind keying)."""
    now = utcnow()
    # NOT EXISTS looks each candidate's hold up by its key, so the database can walk the queue in
    # order (index on state, confidence, id) and stop at the limit
    query = (select(FieldReading.id)
             .where(FieldReading.state == FieldState.QUEUED,
                    ~exists().where(Lease.task == _lease_key(), Lease.expires_at > now))
             .order_by(FieldReading.confidence, FieldReading.id))  # fmt: skip
    if user_id is not None:
        query = query.where(~exists().where(Keying.field_reading_id == FieldReading.id, Keying.user_id == user_id))
    return _of_kind(query, kind, print_run)


def _of_kind(query: Any, kind: TaskKind | None, print_run: int | None) -> Any:
    if kind is TaskKind.TEXT:
        query = query.where(FieldReading.type == "text")
    elif kind is TaskKind.CHOICE:
        query = query.where(FieldReading.type != "text")
    if print_run is not None:
        query = (query.join(Response, Response.id == FieldReading.response_id)
                 .join(Sheet, Sheet.sheet_id == Response.sheet_id).where(Sheet.print_run_id == print_run))
    return query


def counts(ctx: ServiceContext) -> dict[str, int]:
    """How many tasks wait, by kind (held ones included), and pages to identify."""
    with ctx.db.session() as s:
        by_type = dict(s.execute(select(FieldReading.type, func.count())
                                 .where(FieldReading.state == FieldState.QUEUED).group_by(FieldReading.type)).all())
        pages = s.scalar(select(func.count()).select_from(ScanPage)
                         .where(ScanPage.state == ScanPageState.UNIDENTIFIED))
    text = int(by_type.pop("text", 0))
    return {TaskKind.CHOICE.value: int(sum(by_type.values())), TaskKind.TEXT.value: text,
            "identify": int(pages or 0)}


def counts_by_print_run(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Pages read, and fields accepted, queued and verified, per print run (sheets printed elsewhere
    under ``None``)."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(Sheet.print_run_id, PrintRun.batch, FieldReading.state, func.count())
            .select_from(FieldReading).join(Response, Response.id == FieldReading.response_id)
            .outerjoin(Sheet, Sheet.sheet_id == Response.sheet_id)
            .outerjoin(PrintRun, PrintRun.id == Sheet.print_run_id)
            .group_by(Sheet.print_run_id, PrintRun.batch, FieldReading.state)).all()
        pages = dict(s.execute(
            select(Sheet.print_run_id, func.count()).select_from(ScanPage)
            .outerjoin(Sheet, Sheet.sheet_id == ScanPage.sheet_id)
            .where(ScanPage.state == ScanPageState.READ).group_by(Sheet.print_run_id)).all())
    runs: dict[int | None, dict[str, Any]] = {}
    for run_id, batch, state, n in rows:
        entry = runs.setdefault(run_id, {"print_run": run_id, "batch": batch, "pages": int(pages.get(run_id, 0)),
                                         **{s.value: 0 for s in FieldState}})
        entry[FieldState(state).value] += int(n)
    return sorted(runs.values(), key=lambda r: (r["print_run"] is None, r["print_run"] or 0))


def _take_many(ctx: ServiceContext, user_id: int, reading_ids: list[int]) -> set[int]:
    """Lease as many of these tasks to ``user_id`` as nobody else holds, in one transaction; returns those."""
    if not reading_ids:
        return set()
    tasks = [_task(i) for i in reading_ids]
    with ctx.db.session() as s:
        mine = leases.take(s, user_id, tasks, LEASE)
    return {i for i, t in zip(reading_ids, tasks, strict=True) if t in mine}


def _held_by(ctx: ServiceContext, user_id: int, kind: TaskKind | None, print_run: int | None) -> list[int]:
    """The queued fields this person holds, least certain first (their few holds first, then the fields)."""
    now = utcnow()
    with ctx.db.session() as s:
        tasks = s.scalars(select(Lease.task).where(Lease.user_id == user_id, Lease.expires_at > now,
                                                   Lease.task.like("field:%")))
        ids = [int(t.split(":", 1)[1]) for t in tasks]
        if not ids:
            return []
        return list(s.scalars(_of_kind(
            select(FieldReading.id).where(FieldReading.id.in_(ids), FieldReading.state == FieldState.QUEUED)
            .order_by(FieldReading.confidence, FieldReading.id), kind, print_run)))


def next_fields(ctx: ServiceContext, user_id: int, *, kind: TaskKind | None = None, limit: int = 1,
                print_run: int | None = None, exclude: Iterable[int] = ()) -> list[FieldTask]:
    """The next ``limit`` fields for this person, each leased to them, least certain first.

    Fields this person already holds come first (a reload hands back the same task);
    fields in ``exclude`` (the ones they skipped) are not offered.
    """
    skip = set(exclude)
    if not 1 <= limit <= 100:
        raise InvalidInput("Ask for between 1 and 100 fields at a time.")
    held = [i for i in _held_by(ctx, user_id, kind, print_run) if i not in skip]
    renewed = _take_many(ctx, user_id, held[:limit])
    chosen = [i for i in held[:limit] if i in renewed]
    tried = set(skip) | set(chosen)
    while len(chosen) < limit:
        want = limit - len(chosen)
        query = _waiting(kind, print_run, user_id)
        if tried:
            query = query.where(FieldReading.id.not_in(tried))
        with ctx.db.session() as s:
            page = list(s.scalars(query.limit(want + 2)))
        if not page:
            break
        tried |= set(page)
        got = _take_many(ctx, user_id, page[:want])
        chosen += [i for i in page[:want] if i in got]
    return field_tasks(ctx, chosen)


def field_task(ctx: ServiceContext, reading_id: int) -> FieldTask:
    found = field_tasks(ctx, [reading_id])
    if not found:
        raise NotFound(f"There is no field {reading_id} in the queue.")
    return found[0]


def field_tasks(ctx: ServiceContext, reading_ids: list[int]) -> list[FieldTask]:
    """The fields as tasks, in the order of ``reading_ids`` (one query for all of them)."""
    cache: Specs = {}
    with ctx.db.session() as s:
        rows = s.execute(select(FieldReading, Response, PrintRun.batch, QuestionnaireVersion.blind_entry,
                                QuestionnaireVersion.double_keying)
                         .join(Response, Response.id == FieldReading.response_id)
                         .outerjoin(QuestionnaireVersion, and_(
                             QuestionnaireVersion.questionnaire == Response.questionnaire,
                             QuestionnaireVersion.version == Response.version))
                         .outerjoin(Sheet, Sheet.sheet_id == Response.sheet_id)
                         .outerjoin(PrintRun, PrintRun.id == Sheet.print_run_id)
                         .where(FieldReading.id.in_(reading_ids))).all()
        keyed = dict(s.execute(select(Keying.field_reading_id, func.count()).where(
            Keying.field_reading_id.in_(reading_ids)).group_by(Keying.field_reading_id)).all())
        found: dict[int, FieldTask] = {}
        for fr, r, batch, blind_entry, double in rows:
            kind, question, options = _spec(ctx, r, fr.field_id, cache)
            value = export_value(kind, field_value(fr).value)
            blind = kind == "text" and bool(blind_entry or double) and fr.state == FieldState.QUEUED
            found[fr.id] = FieldTask(fr.id, TaskKind.TEXT if fr.type == "text" else TaskKind.CHOICE, r.public_id,
                                     fr.field_id, kind, question, options, "" if blind else value,
                                     None if blind else fr.suggestion, float(fr.confidence), bool(fr.crop_key),
                                     batch, blind=blind,
                                     keying=int(keyed.get(fr.id, 0)) if kind == "text" and double else 0,
                                     state=FieldState(fr.state), paper=bool((fr.details or {}).get("paper")))
    return [found[i] for i in reading_ids if i in found]


def renew(ctx: ServiceContext, user_id: int, reading_ids: Iterable[int]) -> list[int]:
    """Extend this person's leases on these fields; returns the ids still theirs."""
    ids = [_task(i) for i in reading_ids]
    with ctx.db.session() as s:
        held = leases.renew(s, user_id, ids, LEASE)
    return [int(t.split(":", 1)[1]) for t in ids if t in held]


def release(ctx: ServiceContext, user_id: int, reading_id: int) -> None:
    """Give a task back to the queue (skip)."""
    with ctx.db.session() as s:
        s.execute(delete(Lease).where(Lease.task == _task(reading_id), Lease.user_id == user_id))


def image(ctx: ServiceContext, user_id: int, reading_id: int) -> bytes:
    """The picture of a field, for the person who holds it and nobody else."""
    with ctx.db.session() as s:
        key = s.scalar(select(FieldReading.crop_key).join(Lease, Lease.task == _lease_key())
                       .where(FieldReading.id == reading_id, Lease.user_id == user_id,
                              Lease.expires_at > utcnow()))
    if key is None:
        raise NotFound("This field is not held by you (or has no picture): take it from the queue first.")
    return ctx.storage.read(key)


_MISSING = object()


def answer(ctx: ServiceContext, user_id: int, reading_id: int, value: Any = _MISSING, *,
           illegible: bool = False, flag: str | None = None) -> FieldTask:
    """Take a person's answer to a field they hold: their value, "illegible", or a flag for a moderator.

    Changes nothing and says why in one sentence when the field was answered already, when
    the lease ran out or belongs to someone else, or when the value is not one the field can have.
    """
    if value is _MISSING and not illegible:
        raise InvalidInput("Send the value the field shows, or mark a written answer illegible.")
    if value is not _MISSING and illegible:
        raise InvalidInput("An illegible answer has no value: send one or the other.")
    with ctx.db.session() as s:
        response_id = _answer(ctx, s, user_id, reading_id, value, illegible=illegible, flag=flag, cache={})
    log.info("field verified", extra={"field_reading": reading_id, "user": user_id})
    moderation.screen_ready(ctx, [response_id])  # its last field: the written answers go to screening
    return field_task(ctx, reading_id)


def _prefetch(s: Session, user_id: int, reading_ids: list[int]) -> tuple[dict[int, Any], set[str]]:
    """The fields with their responses, and which of them this person holds, in two queries."""
    rows = {fr.id: (fr, r) for fr, r in s.execute(
        select(FieldReading, Response).join(Response, Response.id == FieldReading.response_id)
        .where(FieldReading.id.in_(reading_ids))).all()}
    held = set(s.scalars(select(Lease.task).where(Lease.task.in_([_task(i) for i in reading_ids]),
                                                  Lease.user_id == user_id, Lease.expires_at > utcnow())))
    return rows, held


def _held_queued(rows: dict[int, Any], held: set[str], reading_id: int) -> tuple[FieldReading, Response]:
    """The field and its response, if it is still queued and this person holds it (else one sentence)."""
    if reading_id not in rows:
        raise NotFound(f"There is no field {reading_id}.")
    fr, r = rows[reading_id]
    if fr.state != FieldState.QUEUED:
        raise Conflict("This field was answered already (by you or someone else); nothing was changed.")
    if _task(reading_id) not in held:
        raise Conflict("You do not hold this field any more (your hold ran out, or someone else has it); "
                       "nothing was changed: take the next field from the queue.")
    return fr, r


def _answer(ctx: ServiceContext, s: Session, user_id: int, reading_id: int, value: Any, *, illegible: bool,
            flag: str | None, cache: Specs) -> int:
    """One answer inside the caller's transaction (raises, changing nothing of this field, when
    refused); returns the field's response."""
    rows, held = _prefetch(s, user_id, [reading_id])
    fr, r = _held_queued(rows, held, reading_id)
    kind, _question, options = _spec(ctx, r, fr.field_id, cache)
    if illegible:
        if kind != "text":
            raise InvalidInput("Only a written answer can be marked illegible; tick what the boxes show.")
        checked: Any = ""
    else:
        checked = check_value(kind, options, value)
    if kind == "text" and not illegible and flag is None and _double_keying(s, r):
        _key(s, fr, user_id, checked)
    else:
        _record(s, fr, user_id, checked, Action.ILLEGIBLE if illegible else
                Action.FLAGGED if flag is not None else Action.VERIFIED, note=flag)
    s.execute(delete(Lease).where(Lease.task == _task(reading_id)))
    return int(fr.response_id)


def _double_keying(s: Session, r: Response) -> bool:
    return bool(s.scalar(select(QuestionnaireVersion.double_keying).where(
        QuestionnaireVersion.questionnaire == r.questionnaire, QuestionnaireVersion.version == r.version)))


def _same_text(a: Any, b: Any) -> bool:
    """Two people typed the same answer (spaces and line breaks aside)."""
    return " ".join(str(a or "").split()) == " ".join(str(b or "").split())


def _key(s: Session, fr: FieldReading, user_id: int, value: str) -> None:
    """Double-blind keying: the first typing waits for a second; two that agree settle the field;
    two that differ send it to a third person, whose typing settles it."""
    others = [v.get("v") for v in s.scalars(select(Keying.value).where(Keying.field_reading_id == fr.id))]
    s.add(Keying(field_reading_id=fr.id, user_id=user_id, value={"v": value}))
    s.add(FieldChange(field_reading_id=fr.id, response_id=fr.response_id, field_id=fr.field_id, user_id=user_id,
                      action=Action.KEYED.value, old_value={"v": field_value(fr).value}, new_value={"v": value},
                      old_state=FieldState.QUEUED.value, new_state=FieldState.QUEUED.value))
    if not others:
        return
    if len(others) == 1 and not _same_text(others[0], value):
        fr.details = {**(fr.details or {}), "keying": "mismatch"}  # for a third person
        return
    _record(s, fr, user_id, value, Action.VERIFIED, note=None)


def keying_agreement(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Per person, under double-blind keying: answers typed on settled fields, and how many agreed
    with the final value."""
    from ..store.models import User

    with ctx.db.session() as s:
        rows = s.execute(select(User.name, Keying.value, FieldReading.value)
                         .join(FieldReading, FieldReading.id == Keying.field_reading_id)
                         .outerjoin(User, User.id == Keying.user_id)
                         .where(FieldReading.state == FieldState.VERIFIED)).all()
    people: dict[str, list[int]] = {}
    for name, typed, final in rows:
        entry = people.setdefault(name or "(deleted account)", [0, 0])
        entry[0] += 1
        entry[1] += int(_same_text((typed or {}).get("v"), (final or {}).get("v")))
    return sorted(({"name": n, "typed": t, "agreed": a, "rate": a / t} for n, (t, a) in people.items()),
                  key=lambda p: p["name"])


def set_keying(ctx: ServiceContext, questionnaire: str, version: str, *, blind_entry: bool,
               double_keying: bool) -> None:
    """How people verify this version's written answers (administrators)."""
    info = questionnaires.get_version(ctx, questionnaire, version)
    with ctx.db.session() as s:
        row = s.get(QuestionnaireVersion, info.id)
        assert row is not None
        row.blind_entry, row.double_keying = blind_entry, double_keying
    log.info("keying set", extra={"questionnaire": questionnaire, "version": version,
                                  "blind_entry": blind_entry, "double_keying": double_keying})


def _record(s: Session, fr: FieldReading, user_id: int, value: Any, action: Action, note: str | None) -> None:
    """Verify the field and log who changed what, once: a second answer racing this one changes nothing."""
    before = field_value(fr)
    after = verify_field(before, value)
    details = dict(fr.details or {})
    if action is Action.ILLEGIBLE:
        details["illegible"] = True
    if action is Action.FLAGGED:
        details["flagged"] = {"note": (note or "").strip()[:1000]}
    done = s.execute(update(FieldReading).where(FieldReading.id == fr.id, FieldReading.state == FieldState.QUEUED)
                     .values(value={"v": after.value}, state=after.state, details=details, updated_at=utcnow())
                     .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("This field was answered already (by you or someone else); nothing was changed.")
    s.add(FieldChange(field_reading_id=fr.id, response_id=fr.response_id, field_id=fr.field_id, user_id=user_id,
                      action=action.value, old_value={"v": before.value}, new_value={"v": after.value},
                      old_state=before.state.value, new_state=after.state.value,
                      note=details["flagged"]["note"] if action is Action.FLAGGED else None))


def audit_log(ctx: ServiceContext, *, limit: int = 200) -> list[dict[str, Any]]:
    """The newest changes people made to fields (administrators only)."""
    from ..store.models import User

    with ctx.db.session() as s:
        rows = s.execute(select(FieldChange, User.name, Response.public_id)
                         .outerjoin(User, User.id == FieldChange.user_id)
                         .outerjoin(Response, Response.id == FieldChange.response_id)
                         .order_by(FieldChange.id.desc()).limit(limit)).all()
        return [{"at": c.at, "user": name, "response": public, "field": c.field_id, "action": c.action,
                 "old": (c.old_value or {}).get("v"), "new": (c.new_value or {}).get("v"),
                 "old_state": c.old_state, "new_state": c.new_state} for c, name, public in rows]


# -- grid screens: one question, many respondents -------------------------------------------------


GRID_SIZE = 50
"""The most respondents' boxes one grid screen shows."""


@dataclass(frozen=True)
class GridScreen:
    """One question's tick boxes from many responses, each pre-marked with the machine's reading.

    A rating question's rows share its scale, so they share its screens: each tile names its row
    (``rows``, aligned with ``tasks``; "" for a question without rows). Versions of the questionnaire
    that ask the question with the same options share them too.
    """

    questionnaire: str
    version: str
    field: str
    question: str
    type: str
    options: tuple[Option, ...]
    tasks: tuple[FieldTask, ...]
    rows: tuple[str, ...] = ()


def _same_question(ctx: ServiceContext, questionnaire: str, version: str, field_id: str) -> Any:
    """SQL condition for the fields, in any version of ``questionnaire``, that ask the question of
    ``field_id`` with the same options (a rating question's rows count as one question)."""
    first = _definition_of(ctx, questionnaire, version)
    question_id = first.questions[field_id][0]
    kind, _label, options = first.options[field_id]
    with ctx.db.session() as s:
        versions = list(s.scalars(select(QuestionnaireVersion.version).where(
            QuestionnaireVersion.questionnaire == questionnaire)))
    if version not in versions:
        versions.append(version)
    alike = []
    for v in versions:
        d = first if v == version else _definition_of(ctx, questionnaire, v)
        ids = [f for f, (q, _text, _row) in d.questions.items()
               if q == question_id and d.options[f][0] == kind and d.options[f][2] == options]
        if ids:
            alike.append(and_(Response.version == v, FieldReading.field_id.in_(ids)))
    return and_(Response.questionnaire == questionnaire, or_(*alike))


def grid(ctx: ServiceContext, user_id: int, *, limit: int = GRID_SIZE, print_run: int | None = None,
         exclude: Iterable[int] = ()) -> GridScreen | None:
    """The next grid screen for this person: the question of the least certain tick-box field nobody
    else holds, with up to ``limit`` of its queued fields (least certain first), all leased to them.

    Fields in ``exclude`` (those the person could not tell on a grid) are left for the
    single-field screen. ``None`` when no tick-box field is free.
    """
    now = utcnow()
    anyone = (select(FieldReading.id, FieldReading.field_id, Response.questionnaire, Response.version)
              .join(Response, Response.id == FieldReading.response_id)
              .where(FieldReading.state == FieldState.QUEUED, FieldReading.type != "text",
                     ~exists().where(Lease.task == _lease_key(), Lease.expires_at > now, Lease.user_id != user_id))
              .order_by(FieldReading.confidence, FieldReading.id))  # fmt: skip
    skip = list(exclude)
    if skip:
        anyone = anyone.where(FieldReading.id.not_in(skip))
    if print_run is not None:
        anyone = anyone.join(Sheet, Sheet.sheet_id == Response.sheet_id).where(Sheet.print_run_id == print_run)
    with ctx.db.session() as s:
        first = s.execute(anyone.limit(1)).first()
    if first is None:
        return None
    _id, field_id, questionnaire, version = first
    alike = _same_question(ctx, questionnaire, version, field_id)
    with ctx.db.session() as s:
        candidates = list(s.scalars(anyone.with_only_columns(FieldReading.id).where(alike).limit(limit)))
    got = _take_many(ctx, user_id, candidates)
    chosen = [i for i in candidates if i in got]
    if not chosen:
        return None
    tasks = tuple(field_tasks(ctx, chosen))
    questions = _definition_of(ctx, questionnaire, version).questions
    rows = tuple(questions.get(t.field, ("", "", ""))[2] for t in tasks)
    return GridScreen(questionnaire, version, field_id, questions[field_id][1], tasks[0].type, tasks[0].options,
                      tasks, rows)


def confirm_grid(ctx: ServiceContext, user_id: int, answers: dict[int, Any], cannot_tell: Iterable[int] = ()
                 ) -> tuple[int, list[str]]:
    """Take a grid screen: each field's value as the person left it (the machine's, or flipped).

    Fields marked "cannot tell" stay with the person for the single-field screen. Returns how
    many fields were verified and a sentence for each that could not be (someone else's now,
    answered already, a value it cannot have): the others are taken all the same, in one
    transaction.
    """
    problems: list[str] = []
    skipped = set(cannot_tell)
    cache: Specs = {}
    taken: list[int] = []
    now = utcnow()
    with ctx.db.session() as s:
        rows, held = _prefetch(s, user_id, [i for i in answers if i not in skipped])
        checked: dict[int, tuple[Any, FieldReading]] = {}
        for reading_id, value in answers.items():
            if reading_id in skipped:
                continue
            try:
                fr, r = _held_queued(rows, held, reading_id)
                kind, _question, options = _spec(ctx, r, fr.field_id, cache)
                checked[reading_id] = (check_value(kind, options, value), fr)
            except (Conflict, InvalidInput, NotFound) as exc:
                problems.append(f"Field {reading_id}: {exc.message}")
        changes: list[dict[str, Any]] = []
        if checked:  # one statement for the screen, each field its own value, only if still queued
            done = set(s.scalars(
                update(FieldReading)
                .where(FieldReading.id.in_(list(checked)), FieldReading.state == FieldState.QUEUED)
                .values(value=case({i: type_coerce({"v": v}, JSON) for i, (v, _fr) in checked.items()},
                                   value=FieldReading.id),
                        state=FieldState.VERIFIED, updated_at=now)
                .returning(FieldReading.id).execution_options(synchronize_session=False)))
        for reading_id, (value, fr) in checked.items():
            if reading_id not in done:  # answered by someone else a moment ago
                problems.append(f"Field {reading_id}: This field was answered already; nothing was changed.")
                continue
            taken.append(reading_id)
            changes.append({"field_reading_id": reading_id, "response_id": fr.response_id, "field_id": fr.field_id,
                            "user_id": user_id, "action": Action.VERIFIED.value,
                            "old_value": {"v": field_value(fr).value}, "new_value": {"v": value},
                            "old_state": FieldState.QUEUED.value, "new_state": FieldState.VERIFIED.value,
                            "note": None, "at": now})
        if changes:
            s.execute(insert(FieldChange), changes)
        if taken:
            s.execute(delete(Lease).where(Lease.task.in_([_task(i) for i in taken])))
    if skipped:
        renew(ctx, user_id, skipped)
    log.info("grid confirmed", extra={"fields": len(taken), "user": user_id})
    moderation.screen_ready(ctx, {checked[i][1].response_id for i in taken})
    return len(taken), problems


def pace(ctx: ServiceContext, *, hours: int = 8) -> dict[str, Any]:
    """Fields answered per hour, in all and per person, over the last ``hours`` hours, and the time
    the queue would take at that pace."""
    from ..store.models import User

    now = utcnow()
    since = now - timedelta(hours=hours)
    with ctx.db.session() as s:
        rows = s.execute(select(FieldChange.at, User.name).outerjoin(User, User.id == FieldChange.user_id)
                         .where(FieldChange.at >= since)).all()
    per_hour = [0] * hours
    people: dict[str, int] = {}
    for at, name in rows:
        at = at if at.tzinfo is not None else at.replace(tzinfo=now.tzinfo)
        slot = min(hours - 1, max(0, int((now - at).total_seconds() // 3600)))
        per_hour[hours - 1 - slot] += 1
        people[name or "(deleted account)"] = people.get(name or "(deleted account)", 0) + 1
    waiting = sum(v for k, v in counts(ctx).items() if k != "identify")
    rate = per_hour[-1] if per_hour[-1] else (sum(per_hour) / hours if rows else 0.0)
    return {"per_hour": per_hour, "hours": hours, "waiting": waiting, "rate": rate,
            "people": sorted(({"name": n, "fields": c, "per_hour": round(c / hours, 1)} for n, c in people.items()),
                             key=lambda p: -p["fields"]),
            "hours_left": (waiting / rate) if rate else None}


UNDO_WINDOW = timedelta(minutes=15)
"""How long after a save the person may take it back (Shift+Enter on a single-field screen)."""


def reopen_last(ctx: ServiceContext, user_id: int) -> int | None:
    """Take back this person's last answer: the field is queued again, held by them, with their value.

    Only their own newest answer, within :data:`UNDO_WINDOW`, and only while nobody changed the
    field since; the audit log keeps both the answer and its taking back. Returns the field's id
    (None when there is nothing to take back).
    """
    now = utcnow()
    with ctx.db.session() as s:
        last = s.scalar(select(FieldChange).where(FieldChange.user_id == user_id, FieldChange.at >= now - UNDO_WINDOW,
                                                  FieldChange.action != Action.REOPENED)
                        .order_by(FieldChange.id.desc()).limit(1))
        if last is None or last.field_reading_id is None:
            return None
        newer = s.scalar(select(func.count()).select_from(FieldChange).where(
            FieldChange.field_reading_id == last.field_reading_id, FieldChange.id > last.id))
        fr = s.get(FieldReading, last.field_reading_id)
        if newer or fr is None or fr.state != FieldState.VERIFIED:
            return None
        details = {k: v for k, v in (fr.details or {}).items() if k not in ("illegible", "flagged")}
        s.add(FieldChange(field_reading_id=fr.id, response_id=fr.response_id, field_id=fr.field_id, user_id=user_id,
                          action=Action.REOPENED.value, old_value=dict(fr.value or {}), new_value=dict(fr.value or {}),
                          old_state=FieldState.VERIFIED.value, new_state=FieldState.QUEUED.value))
        fr.state, fr.details, fr.updated_at = FieldState.QUEUED, details, now
        reading_id = fr.id
    _take_many(ctx, user_id, [reading_id])
    return reading_id


CONTEXT_DPI = 90.0
"""Resolution of the context view: the whole page, enough to see where the field sits and what is near it."""


def context_picture(ctx: ServiceContext, user_id: int, reading_id: int) -> bytes:
    """The page a held field was read from, lined up as the reader saw it, with every field's boxes
    outlined, the boxes the reader found marked filled in, and this field framed (a PNG).

    For the rare field whose crop is not enough; it shows the whole page, so it is only drawn on
    request, for the person who holds the field, and the request is logged (never its content).
    """
    import io

    from PIL import Image, ImageDraw

    from ..scan import PageImage
    from ..scan.pipeline import PageRead, boxes_rect, read_page
    from .reading import PageReader, load_page

    with ctx.db.session() as s:
        found = s.execute(select(FieldReading, ScanPage.scan_file_id, ScanPage.source_index)
                          .join(Lease, Lease.task == _lease_key())
                          .join(ScanPage, and_(ScanPage.response_id == FieldReading.response_id,
                                               ScanPage.page == FieldReading.page,
                                               ScanPage.state == ScanPageState.READ))
                          .where(FieldReading.id == reading_id, Lease.user_id == user_id,
                                 Lease.expires_at > utcnow())).first()
    if found is None:
        raise NotFound("This field is not held by you (or its page is not kept): take it from the queue first.")
    fr, file_id, index = found
    page = load_page(ctx, file_id, index)
    if not isinstance(page, PageImage):
        raise NotFound("The page of this field can no longer be decoded.")
    reader = PageReader(ctx)
    read = read_page(page, reader.layout, reader.blank, reader.calibration, ocr=False,
                     candidates=reader.candidates)
    if not isinstance(read, PageRead) or read.upright is None:
        raise NotFound("The page of this field could not be lined up again.")
    k = CONTEXT_DPI / 72.0
    im = Image.fromarray(read.alignment.warp(read.upright, CONTEXT_DPI)).convert("RGB")
    draw = ImageDraw.Draw(im)
    marked = {f.field_id: f.details.get("boxes", {}) for f in read.fields if f.type != "text"}

    def box(rect: tuple[float, float, float, float]) -> list[float]:
        return [rect[0] * k, rect[1] * k, rect[2] * k, rect[3] * k]

    for lf in read.layout.page(read.page_code.page).fields:
        if lf.type == "text" and lf.rect is not None:
            draw.rectangle(box(lf.rect), outline=(120, 120, 120), width=1)
        for b in lf.boxes:
            seen = marked.get(lf.id, {}).get(b.value, "empty")  # empty, marked, or filled (a change of mind)
            colour = {"marked": (0, 100, 53), "filled": (176, 0, 32)}.get(seen, (120, 120, 120))
            draw.rectangle(box(b.rect), outline=colour, width=1 if seen == "empty" else 3)
        if lf.id == fr.field_id:
            target = boxes_rect(lf) if lf.boxes else lf.rect
            if target is not None:
                x0, y0, x1, y1 = box(target)
                draw.rectangle([x0 - 4, y0 - 4, x1 + 4, y1 + 4], outline=(29, 78, 216), width=4)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    log.info("context viewed", extra={"field_reading": reading_id, "user": user_id})
    return buf.getvalue()


# -- whole responses: pages never returned, photocopied forms -------------------------------------------


@dataclass(frozen=True)
class ResponseTask:
    """A response for a person to settle as a whole."""

    public_id: str
    questionnaire: str
    version: str
    variant: str
    batch: str | None
    received: list[int]
    missing: list[int]  # pages with fields not read yet
    conflict_of: str | None  # the response whose sheet id this one shares (a photocopied form)


def response_tasks(ctx: ServiceContext) -> dict[str, list[ResponseTask]]:
    """Responses missing pages, and responses that share a sheet id with another (photocopies)."""
    from .layouts import find_layout
    from .responses import incomplete_or_conflicting, list_responses_by_id

    layouts: dict[tuple[str, str, str], Any] = {}
    incomplete: list[ResponseTask] = []
    conflicts: list[ResponseTask] = []
    candidates = list_responses_by_id(ctx, incomplete_or_conflicting(ctx))
    with ctx.db.session() as s:  # the responses the photocopies were taken for
        public = dict(s.execute(select(Response.id, Response.public_id).where(Response.id.in_(
            [r.conflict_of for r in candidates if r.conflict_of is not None]))).all())
    for r in candidates:
        key = (r.questionnaire, r.version, r.variant)
        if key not in layouts:
            layouts[key] = find_layout(ctx, *key)
        layout = layouts[key]
        with_fields = {p.page for p in layout.pages if p.fields} if layout is not None else set()
        task = ResponseTask(r.public_id, r.questionnaire, r.version, r.variant, r.batch, r.received,
                            sorted(with_fields - set(r.received) - r.not_returned),
                            public.get(r.conflict_of) if r.conflict_of is not None else None)
        if task.missing:
            incomplete.append(task)
        if task.conflict_of is not None:
            conflicts.append(task)
    return {"incomplete": incomplete, "conflicts": conflicts}


def _response(s: Session, public_id: str) -> Response:
    r = s.scalar(select(Response).where(Response.public_id == public_id))
    if r is None:
        raise NotFound("There is no such response (it may have been settled already).")
    return r


def close_incomplete(ctx: ServiceContext, user_id: int, public_id: str) -> int:
    """The pages a respondent never returned: their fields count as blank, verified by this person.

    Returns how many fields were settled; each is in the audit log (``not_returned``). A page
    scanned later is still read, but never overwrites these (they are verified).
    """
    from ..responses import blank_value
    from .layouts import find_layout
    from .responses import list_responses_by_id

    task = next((t for t in response_tasks(ctx)["incomplete"] if t.public_id == public_id), None)
    if task is None:
        raise Conflict("This response is not missing pages any more; nothing was changed.")
    layout = find_layout(ctx, task.questionnaire, task.version, task.variant)
    assert layout is not None
    missing = {(f.id, f.type, p.page) for p in layout.pages if p.page in task.missing for f in p.fields}
    settled = 0
    with ctx.db.session() as s:
        r = _response(s, public_id)
        known = list_responses_by_id(ctx, [r.id])[0].fields
        for field_id, kind, page in sorted(missing):
            if field_id in known:
                continue  # a text field with a part on a page that came back
            fr = FieldReading(response_id=r.id, field_id=field_id, type=kind, value={"v": blank_value(kind)},
                              confidence=0.0, state=FieldState.VERIFIED, page=page,
                              details={"not_returned": True}, updated_at=utcnow())
            s.add(fr)
            s.flush()
            s.add(FieldChange(field_reading_id=fr.id, response_id=r.id, field_id=field_id, user_id=user_id,
                              action=Action.NOT_RETURNED.value, old_value={}, new_value={"v": blank_value(kind)},
                              old_state=FieldState.QUEUED.value, new_state=FieldState.VERIFIED.value))
            settled += 1
    log.info("incomplete response closed", extra={"fields": settled, "user": user_id})
    moderation.screen_ready(ctx, [r.id])
    return settled


def keep_both(ctx: ServiceContext, user_id: int, public_id: str) -> None:
    """Two people answered copies of one printed form (a photocopied blank): both responses stand."""
    with ctx.db.session() as s:
        r = _response(s, public_id)
        if r.conflict_of is None:
            raise Conflict("This response does not share its sheet id with another any more; nothing was changed.")
        first = s.get(Response, r.conflict_of)
        s.add(FieldChange(field_reading_id=None, response_id=r.id, field_id="(response)", user_id=user_id,
                          action=Action.KEPT_APART.value, old_value={"v": first.public_id if first else None},
                          new_value={}, old_state="conflict", new_state="separate"))
        r.conflict_of = None
        both = [r.id, *([first.id] if first else [])]
    log.info("photocopy kept apart", extra={"user": user_id})
    moderation.screen_ready(ctx, both)
