"""The administrators' retention page: what the purge will delete and when, a purge on demand, the purge log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import InvalidInput
from ..http import service_context
from ..services import retention
from .auth import roles_required
from .verify import TokenForm

bp = Blueprint("retention", __name__, url_prefix="/retention")


@bp.get("/")
@roles_required("administrator")
def index() -> Any:
    ctx = service_context()
    due = retention.rule(ctx)
    everything = retention.rule(ctx, everything=True)
    return render_template("retention/index.html", due=due, counts=retention.preview(ctx, due),
                           all_counts=retention.preview(ctx, everything), log=retention.log_entries(ctx),
                           config=ctx.config, form=TokenForm())


@bp.post("/purge")
@roles_required("administrator")
def purge() -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; it has been shown again.")
    everything = request.form.get("scope") == "all"
    if everything and request.form.get("confirm") != "delete":
        flash("To delete every scan's images, type delete in the box: nothing was deleted.", "error")
        return redirect(url_for("retention.index"))
    result = retention.purge(service_context(), trigger="web", user_id=int(current_user.id), everything=everything,
                             include_waiting=request.form.get("include_waiting") == "1")
    flash(result.sentence(), "success")
    return redirect(url_for("retention.index"))
