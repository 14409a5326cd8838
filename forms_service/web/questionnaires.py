"""Questionnaire pages: the loaded versions and their questions and fields."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField

from ..http import service_context
from ..services import questionnaires, verify
from .auth import roles_required

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")


@bp.get("/")
@login_required
def index() -> Any:
    return render_template("questionnaires/index.html",
                           versions=questionnaires.list_versions(service_context()))


@bp.get("/<qid>/<version>")
@login_required
def show(qid: str, version: str) -> Any:
    ctx = service_context()
    info = questionnaires.get_version(ctx, qid, version)
    q = questionnaires.get_questionnaire(ctx, qid, version)
    form = None
    if current_user.has("administrator"):
        form = KeyingForm(blind_entry=info.blind_entry, double_keying=info.double_keying)
    return render_template("questionnaires/show.html", info=info, q=q, fields=q.fields(), form=form)


class KeyingForm(FlaskForm):
    blind_entry = BooleanField("Blind entry: written answers are typed without the machine's suggestion")
    double_keying = BooleanField("Double-blind keying: two people type each written answer without seeing "
                                 "the other's; a third settles a mismatch")


@bp.post("/<qid>/<version>/verification")
@roles_required("administrator")
def set_verification(qid: str, version: str) -> Any:
    form = KeyingForm()
    if form.validate_on_submit():
        verify.set_keying(service_context(), qid, version, blind_entry=bool(form.blind_entry.data),
                          double_keying=bool(form.double_keying.data))
        flash("How written answers are verified was saved.", "success")
    return redirect(url_for("questionnaires.show", qid=qid, version=version))
