"""The start page: what the signed-in person can do, by role."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("home", __name__)


@bp.get("/")
@login_required
def index() -> Any:
    return render_template("home.html")
