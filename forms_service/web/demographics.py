"""The analysts' "about you" page: counts by group, small cells suppressed, as charts and tables."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, render_template

from ..http import service_context
from ..services import demographics
from .auth import roles_required

bp = Blueprint("demographics", __name__, url_prefix="/about-you")


@bp.get("/")
@roles_required("analyst")
def index() -> Any:
    return render_template("demographics/index.html", report=demographics.report(service_context()),
                           suppress_below=demographics.SUPPRESS_BELOW, rounded_to=demographics.ROUND_TO)


@bp.get("/demographics.json")
@roles_required("analyst")
def download() -> Any:
    body = json.dumps(demographics.report(service_context()), indent=1, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="about-you-counts.json"'})
