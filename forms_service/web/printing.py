"""Print pages for facilities managers: order a run, watch it, download it, preview variants."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, redirect, render_template, send_file, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..errors import FormsServiceError
from ..http import service_context, wake_worker
from ..services import printing, questionnaires
from .auth import roles_required

bp = Blueprint("printing", __name__, url_prefix="/print")

VARIANT_LABELS = {
    "standard": "Standard (clear print, 12 pt and up)",
    "large-print": "Large print (18 pt and up)",
    "easy-read": "Easy read (16 pt, pictures)",
}


class OrderForm(FlaskForm):
    questionnaire = SelectField("Questionnaire", validators=[DataRequired()])
    variant = SelectField("Variant", choices=[SelectChoice(v, label) for v, label in VARIANT_LABELS.items()], validators=[DataRequired()])
    copies = IntegerField(
        "Copies",
        default=50,
        validators=[InputRequired(message="Enter how many copies to print."),
                    NumberRange(min=1, message="Order at least one copy.")],
        render_kw={"inputmode": "numeric", "min": 1},
    )
    batch = StringField(
        "Batch label (optional)", validators=[Optional(), Length(max=80)],
        description="Where these copies go, e.g. 'Estates night shift'. Never a person's name.",
    )


def _order_form() -> OrderForm:
    form = OrderForm()
    versions = questionnaires.list_versions(service_context())
    form.questionnaire.choices = [
        SelectChoice(f"{v.questionnaire}@{v.version}", f"{v.title} ({v.version})") for v in versions
    ]
    return form


@bp.route("/", methods=["GET", "POST"])
@roles_required("facilities-manager")
def index() -> Any:
    ctx = service_context()
    form = _order_form()
    form.copies.render_kw = {**(form.copies.render_kw or {}), "max": ctx.config.max_copies}
    if form.validate_on_submit():
        qid, _, version = (form.questionnaire.data or "").partition("@")
        try:
            run = printing.queue_print_run(
                ctx, questionnaire=qid, version=version, variant=form.variant.data or "",
                copies=form.copies.data or 0, batch=form.batch.data, ordered_by=current_user.id,
            )
        except FormsServiceError as exc:
            form.copies.errors = [exc.message]
        else:
            wake_worker()
            return redirect(url_for("printing.run", run_id=run.id))
    status = 200 if not form.errors else 400
    return render_template("printing/index.html", form=form, runs=printing.list_print_runs(ctx),
                           versions=questionnaires.list_versions(ctx),
                           variants=VARIANT_LABELS, max_copies=ctx.config.max_copies), status


@bp.get("/runs/<int:run_id>")
@roles_required("facilities-manager")
def run(run_id: int) -> Any:
    return render_template("printing/run.html", run=printing.get_print_run(service_context(), run_id),
                           variants=VARIANT_LABELS)


@bp.get("/runs/<int:run_id>.json")
@roles_required("facilities-manager")
def run_status(run_id: int) -> Any:
    r = printing.get_print_run(service_context(), run_id)
    return jsonify({"state": r.state, "copies": r.copies, "copies_done": r.copies_done,
                    "error": r.error, "pdf_ready": r.pdf_ready})


@bp.get("/runs/<int:run_id>/pdf")
@roles_required("facilities-manager")
def run_pdf(run_id: int) -> Any:
    ctx = service_context()
    info = printing.get_print_run(ctx, run_id)
    return send_file(printing.pdf_path(ctx, run_id), mimetype="application/pdf",
                     as_attachment=True, download_name=info.filename)


@bp.get("/preview/<qid>/<version>/<variant>")
@roles_required("facilities-manager", "accessibility-coordinator")
def preview(qid: str, version: str, variant: str) -> Any:
    ctx = service_context()
    info = questionnaires.get_version(ctx, qid, version)
    pages = printing.preview_page_count(ctx, qid, version, variant)
    return render_template("printing/preview.html", info=info, variant=variant, pages=pages,
                           variants=VARIANT_LABELS)


@bp.get("/preview/<qid>/<version>/<variant>/<int:page>.png")
@roles_required("facilities-manager", "accessibility-coordinator")
def preview_png(qid: str, version: str, variant: str, page: int) -> Any:
    png = printing.preview_png(service_context(), qid, version, variant, page)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})
