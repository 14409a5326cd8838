"""The start page: what the signed-in person can do, by role."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..http import service_context
from ..services import moderation, verify

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    queue = verify.counts(service_context()) if current_user.has("verifier") else None
    held = moderation.counts(service_context())["held"] if current_user.has("moderator") else None
    return render_template("home.html", queue=queue, held=held)
