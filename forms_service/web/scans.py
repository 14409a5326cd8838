"""Scan pages for data-entry staff: upload many files at once, watch them being read, identify stray pages."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange

from ..errors import FormsServiceError, InvalidInput
from ..http import service_context, wake_worker
from ..services import identify as identifying
from ..services import ingest, layouts, questionnaires
from .auth import roles_required

bp = Blueprint("scans", __name__, url_prefix="/scans")


class UploadForm(FlaskForm):
    files = MultipleFileField("Scan files", description=(
        "PDF, TIFF, PNG or JPEG, as many as you like, pages in any order and any way up. "
        "Scan in grey at 200 to 300 dpi."))


class SetAsideForm(FlaskForm):
    """Only the CSRF token (checked by the app's CSRFProtect): setting a page aside needs nothing else."""


class IdentifyForm(FlaskForm):
    form = SelectField("Questionnaire and variant", validators=[DataRequired()])
    page = IntegerField("Page number (printed at the foot of the page)",
                        validators=[InputRequired(message="Enter the page number."), NumberRange(min=1)])
    sheet = StringField("Sheet id (printed at the foot of the page, like K7MQ-9XHT-P4R)",
                        validators=[DataRequired(message="Enter the sheet id.")])
    rotation = SelectField("The page as shown is turned", choices=[
        SelectChoice("0", "the right way up"), SelectChoice("90", "on its right side (turned clockwise)"),
        SelectChoice("180", "upside down"), SelectChoice("270", "on its left side (turned anticlockwise)")])


@bp.route("/", methods=["GET", "POST"])
@roles_required("verifier")
def index() -> Any:
    ctx = service_context()
    form = UploadForm()
    if form.validate_on_submit():
        uploads = [f for f in request.files.getlist(form.files.name) if f.filename]
        if not uploads:
            form.files.errors = ["Choose one or more scan files to upload."]
        else:
            batch = ingest.accept_files(ctx, ((f.filename or "unnamed", f.read()) for f in uploads))
            wake_worker()
            return redirect(url_for("scans.job", job_id=batch.job_id))
    status = 200 if not form.errors else 400
    return render_template("scans/index.html", form=form, jobs=ingest.recent_jobs(ctx),
                           unidentified=identifying.count_unidentified(ctx)), status


@bp.get("/jobs/<int:job_id>")
@roles_required("verifier")
def job(job_id: int) -> Any:
    ctx = service_context()
    return render_template("scans/job.html", summary=ingest.job_summary(ctx, job_id),
                           number=ingest.upload_number(ctx, job_id))


@bp.get("/jobs/<int:job_id>.json")
@roles_required("verifier")
def job_status(job_id: int) -> Any:
    s = ingest.job_summary(service_context(), job_id)
    return jsonify({"state": s.state, "done": s.pages_done, "total": s.pages_total,
                    "message": ingest.summary_text(s)})


@bp.get("/unidentified")
@roles_required("verifier")
def unidentified() -> Any:
    return render_template("scans/unidentified.html", pages=identifying.unidentified_pages(service_context()))


@bp.route("/unidentified/<int:page_id>", methods=["GET", "POST"])
@roles_required("verifier")
def identify(page_id: int) -> Any:
    ctx = service_context()
    page = identifying.unidentified_page(ctx, page_id)
    form = IdentifyForm()
    form.form.choices = [
        SelectChoice(f"{v.questionnaire}@{v.version}@{variant}", f"{v.title} {v.version}, {variant}")
        for v in questionnaires.list_versions(ctx) for variant in layouts.variants()
    ]
    if form.validate_on_submit():
        qid, version, variant = (form.form.data or "").split("@")
        try:
            identifying.identify_page(ctx, page_id, qid, version, variant, form.page.data or 0,
                                form.sheet.data or "", int(form.rotation.data or 0))
        except (InvalidInput, FormsServiceError) as exc:
            form.sheet.errors = [exc.message]
        else:
            flash("The page was identified and read.", "success")
            return redirect(url_for("scans.unidentified"))
    status = 200 if not form.errors else 400
    return render_template("scans/identify.html", page=page, form=form, set_aside=SetAsideForm()), status


@bp.post("/unidentified/<int:page_id>/set-aside")
@roles_required("verifier")
def set_aside(page_id: int) -> Any:
    page = identifying.set_aside_page(service_context(), page_id)  # CSRFProtect has checked the form's token
    flash(f"Page {page['page']} of {page['file']} was set aside: scan it again and upload the new file.", "success")
    return redirect(url_for("scans.unidentified"))


@bp.post("/unidentified/<int:page_id>/not-ours")
@roles_required("verifier")
def not_ours(page_id: int) -> Any:
    page = identifying.not_ours_page(service_context(), page_id, int(current_user.id))  # CSRF checked
    flash(f"Page {page['page']} of {page['file']} is kept as not one of our forms.", "success")
    return redirect(url_for("scans.unidentified"))


@bp.get("/unidentified/<int:page_id>.png")
@roles_required("verifier")
def page_image(page_id: int) -> Any:
    return Response(identifying.page_picture(service_context(), page_id), mimetype="image/png")
