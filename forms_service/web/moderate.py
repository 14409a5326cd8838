"""The moderators' screens: one held answer at a time, what the screen found marked in it, keyboard first.

``static/moderate.js`` adds the keys; without script every action is a form with a button. The
answer is shown as plain text (never as markup), with no trace of the response, sheet, batch or
time it came from.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..errors import Conflict, InvalidInput, NotFound
from ..http import service_context
from ..services import moderation
from .auth import roles_required
from .verify import TokenForm

bp = Blueprint("moderate", __name__, url_prefix="/moderate")

SAID = {"release": "Released: it will be posted.", "edit": "Edited; it is still yours to release.",
        "redact": "Redacted; it is still yours to release.", "split": "Split; each part is yours to release.",
        "move": "Moved.", "withhold": "Withheld: it will never be posted."}


def segments(text: str, findings: tuple[dict[str, Any], ...]) -> list[tuple[str, int | None]]:
    """The text in pieces, each with the number (1-based) of the finding that covers it, or None."""
    cuts = sorted({0, len(text), *(min(max(f["start"], 0), len(text)) for f in findings),
                   *(min(max(f["end"], 0), len(text)) for f in findings)})
    out: list[tuple[str, int | None]] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        if a == b:
            continue
        which = next((n for n, f in enumerate(findings, 1) if f["start"] <= a and b <= f["end"]
                      and not (f["start"] == 0 and f["end"] == len(text) and len(findings) > 1)), None)
        out.append((text[a:b], which))
    return out


@bp.get("/")
@roles_required("moderator")
def index() -> Any:
    ctx = service_context()
    items = moderation.next_items(ctx, int(current_user.id))
    item = items[0] if items else None
    return render_template("moderate/index.html", item=item, counts=moderation.counts(ctx), form=TokenForm(),
                           segments=segments(item.text, item.findings) if item else [],
                           lease_seconds=int(moderation.LEASE.total_seconds()))


@bp.post("/<int:contribution_id>")
@roles_required("moderator")
def act(contribution_id: int) -> Any:
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; it has been shown again.")
    ctx = service_context()
    action = request.form.get("action", "")
    if action == "skip":
        moderation.give_back(ctx, int(current_user.id), contribution_id)
        return redirect(url_for("moderate.index"))
    item = None
    try:
        item = moderation.item(ctx, contribution_id)
        spans = []
        for raw in request.form.getlist("finding"):
            if raw.isdigit() and 1 <= int(raw) <= len(item.findings):
                f = item.findings[int(raw) - 1]
                spans.append([int(f["start"]), int(f["end"])])
        texts = [t.strip() for t in request.form.get("parts", "").replace("\r\n", "\n").split("\n\n") if t.strip()]
        moderation.act(ctx, int(current_user.id), contribution_id, action,
                       text=request.form.get("text") if action in ("edit", "release") and
                       request.form.get("text") not in (None, item.text) else None,
                       spans=spans or None, texts=texts, area=request.form.get("area"),
                       reason=request.form.get("reason"))
    except (Conflict, InvalidInput, NotFound) as exc:
        flash(exc.message, "error")
        return redirect(url_for("moderate.index"))
    flash(SAID.get(action, "Done."), "success")
    return redirect(url_for("moderate.index"))


@bp.post("/renew")
@roles_required("moderator")
def renew() -> Any:
    """Keep the answer on screen held while the moderator works (the page calls this)."""
    if not TokenForm().validate_on_submit():
        raise InvalidInput("This page was out of date; reload it.")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    return {"held": moderation.renew(service_context(), int(current_user.id), ids)}


@bp.get("/audit")
@roles_required("administrator")
def audit() -> Any:
    """What moderators did to which answer, and when (administrators only)."""
    return render_template("moderate/audit.html", actions=moderation.audit_log(service_context()))
