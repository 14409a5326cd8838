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
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from wtforms import StringField
from wtforms.validators import Length

from ..http import service_context
from ..services import receipts
from .auth import roles_required

bp = Blueprint("receipt", __name__, url_prefix="/receipt")
MIN_SECONDS = 0.3
"""Every lookup answers after at least this long, so a known code cannot be told by its speed."""



class CodeForm(FlaskForm):
    code = StringField("Your receipt code", validators=[Length(max=60)])


class Throttle:
    """The receipt page's limits: per address, and for everyone together."""

    def __init__(self, storage_uri: str, per_address: str, everyone: str, prefix: str) -> None:
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_address = parse_many(per_address)
        self.everyone = parse_many(everyone)
        self.prefix = prefix

    def allow(self, address: str) -> bool:
        """Count one lookup; False (and nothing counted further) when a limit is reached."""
        for item, key in [*((i, address) for i in self.per_address), *((i, "everyone") for i in self.everyone)]:
            if not self.window.hit(item, self.prefix, key):
                return False
        return True


def init_app(app: Flask) -> None:
    cfg = app.extensions["forms_service"].config
    try:
        per_address, everyone = parse_many(cfg.receipt_rate), parse_many(cfg.receipt_rate_global)
    except ValueError:
        per_address = everyone = []
    if not per_address or not everyone:
        from ..errors import ConfigurationError

        raise ConfigurationError("FORMS_SERVICE_RECEIPT_RATE and FORMS_SERVICE_RECEIPT_RATE_GLOBAL must be "
                                 "limits such as '10 per minute;60 per hour'.")
    storage = cfg.broker_url if cfg.worker == "celery" and cfg.broker_url else "memory://"
    app.extensions["receipt_throttle"] = Throttle(storage, cfg.receipt_rate, cfg.receipt_rate_global,
                                                  f"{cfg.celery_queue}:receipt")


def _look_up(typed: str) -> receipts.Lookup:
    started = time.perf_counter()
    result = receipts.lookup(service_context(), typed)
    time.sleep(max(0.0, MIN_SECONDS - (time.perf_counter() - started)))
    return result


@bp.route("/", methods=["GET", "POST"])
def index() -> Any:
    form = CodeForm()
    if request.method == "POST" and not current_app.extensions["receipt_throttle"].allow(request.remote_addr or "-"):
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

