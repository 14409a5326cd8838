"""The receipt page: a paper respondent types the code on their slip and sees what became of each
written answer; no account, no sign-in. The same lookup at a reception desk, for staff with the
role ``accessibility-coordinator``, with a large-print result to print and hand over.

Abuse of the public page: lookups are throttled per address and for all addresses together
(the ``limits`` library's moving window, in memory, or in Redis when the workers use Celery, so
that every web process counts alike), every answer takes at least
:data:`MIN_SECONDS` whether or not the code is known, and each lookup is counted by outcome only.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ..http import service_context
from ..services import receipts
from .auth import roles_required
from .throttle import Throttle, storage_uri

bp = Blueprint("receipt", __name__, url_prefix="/receipt")
MIN_SECONDS = 0.3
"""Every lookup answers after at least this long, so a known code cannot be told by its speed."""



class CodeForm(FlaskForm):
    code = StringField("Your receipt code", validators=[Length(max=60)])


def init_app(app: Flask) -> None:
    cfg = app.extensions["forms_service"].config
    app.extensions["receipt_throttle"] = Throttle(storage_uri(cfg), f"{cfg.celery_queue}:receipt",
                                                  per_address=cfg.receipt_rate, everyone=cfg.receipt_rate_global)


def _look_up(typed: str) -> receipts.Lookup:
    started = time.perf_counter()
    result = receipts.lookup(service_context(), typed)
    time.sleep(max(0.0, MIN_SECONDS - (time.perf_counter() - started)))
    return result


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    form = CodeForm()
    throttle = current_app.extensions["receipt_throttle"]
    if request.method == "POST" and not throttle.hit([("per_address", request.remote_addr or "-"),
                                                      ("everyone", "all")]):
        abort(429)
    result = _look_up(form.code.data or "") if form.validate_on_submit() else None
    return render_template("receipt/index.html", form=form, result=result, desk=False,
                           url=current_app.extensions["forms_service"].config.receipt_url)


@bp.route("/desk", methods=["GET", "POST"])
@roles_required("accessibility-coordinator")
def desk() -> Any:
    form = CodeForm()
    result = _look_up(form.code.data or "") if form.validate_on_submit() else None
    return render_template("receipt/index.html", form=form, result=result, desk=True,
                           url=current_app.extensions["forms_service"].config.receipt_url)


@bp.errorhandler(429)
def too_many(_exc: Any) -> Any:
    return render_template("receipt/index.html", form=CodeForm(), result=None, desk=False, busy=True,
                           url=current_app.extensions["forms_service"].config.receipt_url), 429

