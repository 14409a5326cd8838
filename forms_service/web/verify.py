"""Verification screens for data-entry staff: grids of tick boxes, single fields, keyboard first.

Every screen works with the keyboard alone (``static/verify.js`` adds the keys; without
script the radio buttons, boxes and buttons still work). A person sees the picture of the
field at hand, never the rest of the form.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..errors import Conflict, InvalidInput, NotFound
from ..http import service_context
from ..services import verify
from .auth import roles_required

bp = Blueprint("verify", __name__, url_prefix="/verify")

CANNOT_TELL = "verify_cannot_tell"  # the session's list of grid fields left for the single-field screen
SKIPPED = "verify_skipped"  # fields this person skipped: others are offered first
REOPENED = "verify_reopened"  # the field this person took back, shown next


class TokenForm(FlaskForm):
    """Only the CSRF token: the screens' values are read from the request as the tiles name them."""


def _user() -> int:
    return int(current_user.id)


@bp.get("/")
@roles_required("verifier")
def index() -> Any:
    ctx = service_context()
    return render_template("verify/index.html", counts=verify.counts(ctx), runs=verify.counts_by_print_run(ctx),
                           pace=verify.pace(ctx), whole=verify.response_tasks(ctx),
                           agreement=verify.keying_agreement(ctx) if current_user.has("administrator") else [])


@bp.get("/responses")
@roles_required("verifier")
def responses() -> Any:
    """Responses to settle as a whole: pages never returned, photocopied forms."""
    return render_template("verify/responses.html", tasks=verify.response_tasks(service_context()),
                           form=TokenForm())


@bp.post("/responses/<public_id>")
@roles_required("verifier")
def settle_response(public_id: str) -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; it has been shown again.")
    ctx = service_context()
    action = request.form.get("action")
    try:
        if action == "not_returned":
            n = verify.close_incomplete(ctx, _user(), public_id)
            flash(f"The missing pages count as not returned: {n} field{'s' if n != 1 else ''} left blank.",
                  "success")
        elif action == "keep_both":
            verify.keep_both(ctx, _user(), public_id)
            flash("Both copies stand as answers of two different people.", "success")
        else:
            raise InvalidInput("Choose what to do with this response.")
    except (Conflict, NotFound) as exc:
        flash(exc.message, "error")
    return redirect(url_for("verify.responses"))


@bp.get("/audit")
@roles_required("administrator")
def audit() -> Any:
    """Who changed which field from what to what, and when (administrators only)."""
    return render_template("verify/audit.html", changes=verify.audit_log(service_context()))


# -- grids --------------------------------------------------------------------------------------


def _value(kind: str, raw: list[str]) -> Any:
    if kind == "multi_choice":
        return [v for v in raw if v]
    return raw[0] if raw and raw[0] else None


def _print_run() -> int | None:
    raw = request.args.get("print_run")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise InvalidInput("Choose a print run by its number.")
    return int(raw)


@bp.get("/grid")
@roles_required("verifier")
def grid() -> Any:
    run = _print_run()
    screen = verify.grid(service_context(), _user(), exclude=session.get(CANNOT_TELL, []), print_run=run)
    return render_template("verify/grid.html", screen=screen, form=TokenForm(), print_run=run)


@bp.post("/grid")
@roles_required("verifier")
def grid_confirm() -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This screen was out of date; it has been shown again.")
    ctx = service_context()
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if request.form.get("action") == "stop":
        for i in ids:
            verify.release(ctx, _user(), i)
        return redirect(url_for("verify.index"))
    kind = request.form.get("type", "single_choice")
    answers = {i: _value(kind, request.form.getlist(f"v-{i}")) for i in ids}
    cannot = [i for i in ids if request.form.get(f"cannot-{i}")]
    verified, problems = verify.confirm_grid(ctx, _user(), answers, cannot)
    for problem in problems:
        flash(problem, "error")
    if cannot:
        session[CANNOT_TELL] = sorted(set(session.get(CANNOT_TELL, [])) | set(cannot))
    flash(f"{verified} field{'s' if verified != 1 else ''} confirmed"
          + (f"; {len(cannot)} left for a closer look" if cannot else "") + ".", "success")
    run = request.form.get("print_run", "")
    return redirect(url_for("verify.grid", print_run=int(run)) if run.isdigit() else url_for("verify.grid"))


# -- single fields --------------------------------------------------------------------------------


@bp.get("/field")
@roles_required("verifier")
def field() -> Any:
    ctx = service_context()
    kind = request.args.get("kind")
    if kind not in (None, "choice", "text"):
        raise InvalidInput("Choose tick boxes (kind=choice) or written answers (kind=text).")
    of_kind = verify.TaskKind(kind) if kind else None
    run = _print_run()
    # the screen after the one on show, fetched by the page ahead of time: not the field on screen
    after = request.args.get("after", "")
    on_screen = [int(after)] if after.isdigit() else []
    reopened = None if on_screen else session.pop(REOPENED, None)
    tasks = verify.field_tasks(ctx, [reopened]) if reopened is not None else []
    tasks = [t for t in tasks if t.id in verify.renew(ctx, _user(), [t.id])] or verify.next_fields(
        ctx, _user(), kind=of_kind, exclude=[*session.get(SKIPPED, []), *on_screen], print_run=run)
    if not tasks and session.get(SKIPPED):  # only skipped ones are left: offer them again
        session.pop(SKIPPED)
        tasks = verify.next_fields(ctx, _user(), kind=of_kind, exclude=on_screen, print_run=run)
    task = tasks[0] if tasks else None
    if task is not None and task.id in session.get(CANNOT_TELL, []):
        session[CANNOT_TELL] = [i for i in session[CANNOT_TELL] if i != task.id]
    picture = None
    if task is not None and task.has_image:  # inline: the screen and its picture arrive together
        picture = base64.b64encode(verify.image(ctx, _user(), task.id)).decode("ascii")
    here = {k: v for k, v in (("kind", kind), ("print_run", run)) if v is not None}
    return render_template("verify/field.html", task=task, kind=kind, form=TokenForm(), picture=picture,
                           lease_seconds=int(verify.LEASE.total_seconds()), here=here, print_run=run)


def _fetched() -> bool:
    """The page sent this itself (``fetch``) and wants a JSON answer rather than the next screen."""
    return request.headers.get("X-Requested-With") == "fetch"


@bp.post("/field/<int:reading_id>")
@roles_required("verifier")
def field_answer(reading_id: int) -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This screen was out of date; it has been shown again.")
    ctx = service_context()
    action = request.form.get("action", "save")
    kind = request.form.get("kind") or None
    run = request.form.get("print_run", "")
    here: dict[str, Any] = {k: v for k, v in (("kind", kind), ("print_run", int(run) if run.isdigit() else None)) if v is not None}
    back = redirect(url_for("verify.field", **here))
    if action == "back":
        verify.release(ctx, _user(), reading_id)
        reopened = verify.reopen_last(ctx, _user())
        if reopened is None:
            verify.next_fields(ctx, _user(), limit=1)  # hold the field on screen again
            flash("There is no answer of yours to take back (only the last one, within 15 minutes).", "error")
        else:
            session[REOPENED] = reopened
            flash("Your last answer is back on screen: change it and press Enter.", "success")
        return redirect(url_for("verify.field"))
    if action in ("skip", "stop"):
        verify.release(ctx, _user(), reading_id)
        if action == "stop":
            return redirect(url_for("verify.index"))
        session[SKIPPED] = [*session.get(SKIPPED, [])[-200:], reading_id]
        return {"saved": True, "message": "Skipped."} if _fetched() else back
    try:
        if action == "illegible":
            saved = verify.answer(ctx, _user(), reading_id, illegible=True)
        else:
            # the screen says what kind of field it showed; the service checks the value all the same
            of_type = request.form.get("type") or verify.field_task(ctx, reading_id).type
            raw = request.form.getlist("value")
            value: Any = (request.form.get("value", "") if of_type == "text" else _value(of_type, raw))
            flag = request.form.get("flag_note") if action == "flag" else None
            if action == "flag" and not (flag or "").strip():
                flag = "flagged without a note"
            saved = verify.answer(ctx, _user(), reading_id, value, flag=flag)
    except (Conflict, InvalidInput, NotFound) as exc:
        if _fetched():
            return {"saved": False, "message": exc.message}, 409 if isinstance(exc, Conflict) else 400
        flash(exc.message, "error")
        return back
    said = {"illegible": "Marked illegible.", "flag": "Saved and flagged for a moderator."}.get(
        action, "Saved." if saved.state == "verified" else "Saved; a second person types it too.")
    if _fetched():
        return {"saved": True, "message": said}
    flash(said, "success")
    return back


@bp.get("/field/<int:reading_id>.png")
@roles_required("verifier")
def field_image(reading_id: int) -> Any:
    png = verify.image(service_context(), _user(), reading_id)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


@bp.get("/field/<int:reading_id>/context.png")
@roles_required("verifier")
def field_context(reading_id: int) -> Any:
    """The whole page with the marks the reader saw, for the person holding the field (on request)."""
    png = verify.context_picture(service_context(), _user(), reading_id)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


@bp.post("/release")
@roles_required("verifier")
def release() -> Any:
    """Give back the fields of a screen the person left without answering (sent as the page goes)."""
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This screen was out of date; reload it.")
    for i in (int(i) for i in request.form.getlist("ids") if i.isdigit()):
        verify.release(service_context(), _user(), i)
    return {"released": True}


@bp.post("/renew")
@roles_required("verifier")
def renew() -> Any:
    """Keep the fields on screen (the page calls this while the person works)."""
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This screen was out of date; reload it.")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    return {"held": verify.renew(service_context(), _user(), ids)}
