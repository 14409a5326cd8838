"""The administrators' delivery page: contributions per area, a run on demand, dead letters to retry or withhold."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import Conflict, InvalidInput
from ..http import service_context
from ..services import delivery
from .auth import roles_required
from .verify import TokenForm

bp = Blueprint("delivery", __name__, url_prefix="/delivery")


@bp.get("/")
@roles_required("administrator")
def index() -> Any:
    ctx = service_context()
    return render_template("delivery/index.html", areas=delivery.by_area(ctx), outbox=delivery.counts(ctx),
                           dead=delivery.dead_letters(ctx), target=ctx.config.conversation,
                           health=delivery.health(ctx), form=TokenForm())


@bp.post("/run")
@roles_required("administrator")
def run() -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; it has been shown again.")
    result = delivery.deliver(service_context())
    text = result.sentence()
    flash(text[0].upper() + text[1:], "success" if not result.dead else "error")
    return redirect(url_for("delivery.index"))


@bp.post("/dead/<int:entry_id>")
@roles_required("administrator")
def dead(entry_id: int) -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; it has been shown again.")
    ctx = service_context()
    try:
        if request.form.get("action") == "withhold":
            delivery.withhold_dead(ctx, int(current_user.id), entry_id, request.form.get("reason", ""))
            flash("Withheld: it will never be delivered.", "success")
        else:
            delivery.retry_dead(ctx, entry_id)
            flash("It will be sent again on the next run.", "success")
    except (Conflict, InvalidInput) as exc:
        flash(exc.message, "error")
    return redirect(url_for("delivery.index"))
