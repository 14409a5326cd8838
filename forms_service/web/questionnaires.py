"""Questionnaire pages: the loaded versions and their questions and fields."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import login_required

from ..http import service_context
from ..services import questionnaires

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
    return render_template("questionnaires/show.html", info=info, q=q, fields=q.fields())
