"""Administration pages: staff accounts and their roles."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..errors import FormsServiceError
from ..http import service_context
from ..services import users
from ..store.models import ROLES
from .auth import roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

ROLE_HELP = {
    "administrator": "everything, including users and settings",
    "facilities-manager": "order and print batches",
    "accessibility-coordinator": "alternate formats",
    "verifier": "upload scans and check readings",
    "moderator": "review held answers",
    "analyst": "exports and aggregate counts",
}


class RoleChoices(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _role_field() -> RoleChoices:
    return RoleChoices(
        "Roles",
        choices=[SelectChoice(r, f"{r} ({ROLE_HELP[r]})") for r in ROLES],
        validators=[DataRequired(message="Choose at least one role.")],
    )


class AddUserForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(message="Enter a user name."), Length(max=80)])
    password = PasswordField(
        "First password", validators=[DataRequired(message="Enter a first password.")],
        render_kw={"autocomplete": "new-password"},
    )
    roles = _role_field()


class RolesForm(FlaskForm):
    roles = _role_field()


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(message="Enter a new password.")],
        render_kw={"autocomplete": "new-password"},
    )


@bp.route("/users", methods=["GET", "POST"])
@roles_required("administrator")
def user_list() -> Any:
    ctx = service_context()
    form = AddUserForm()
    if form.validate_on_submit():
        try:
            users.add_user(ctx, form.name.data or "", list(form.roles.data or []), form.password.data or "")
        except FormsServiceError as exc:
            form.name.errors = [exc.message]
        else:
            flash(f"User {form.name.data} added.", "success")
            return redirect(url_for("admin.user_list"))
    status = 200 if not form.errors else 400
    return render_template("admin/users.html", users=users.list_users(ctx), form=form,
                           role_help=ROLE_HELP), status


@bp.route("/users/<name>", methods=["GET", "POST"])
@roles_required("administrator")
def user_edit(name: str) -> Any:
    ctx = service_context()
    match = [u for u in users.list_users(ctx) if u.name == name]
    if not match:
        return render_template("error.html", status=404, title="No such user",
                               message=f"There is no user called {name}."), 404
    user = match[0]
    form = RolesForm(data={"roles": sorted(user.roles)})
    if form.validate_on_submit():
        try:
            users.set_roles(ctx, name, list(form.roles.data or []))
        except FormsServiceError as exc:
            form.roles.errors = [exc.message]
        else:
            flash(f"Roles of {name} saved.", "success")
            return redirect(url_for("admin.user_list"))
    status = 200 if not form.errors else 400
    return render_template("admin/user_edit.html", user=user, form=form, password_form=ResetPasswordForm(),
                           tokens=[t for t in users.list_tokens(ctx) if t.user == name],
                           is_self=(user.id == current_user.id)), status


@bp.post("/users/<name>/password")
@roles_required("administrator")
def user_password(name: str) -> Any:
    """An administrator gives someone a new password, which they must replace at their next sign-in."""
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash("Enter a new password.", "error")
        return redirect(url_for("admin.user_edit", name=name))
    try:
        users.set_password(service_context(), name, form.password.data or "", generated=True)
    except FormsServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"New password set for {name}: they choose their own at their next sign-in.", "success")
    return redirect(url_for("admin.user_edit", name=name))


def _fresh() -> bool:
    """The posted form's CSRF token holds; otherwise say the page was out of date."""
    if FlaskForm().validate_on_submit():
        return True
    flash("This page was out of date; it has been shown again.", "error")
    return False


@bp.post("/users/<name>/active")
@roles_required("administrator")
def user_active(name: str) -> Any:
    if not _fresh():
        return redirect(url_for("admin.user_edit", name=name))
    active = request.form.get("active") == "1"
    try:
        users.set_active(service_context(), name, active)
    except FormsServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{name} {'enabled' if active else 'disabled: they cannot sign in or use their API tokens'}.",
              "success")
    return redirect(url_for("admin.user_edit", name=name))


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("administrator")
def token_revoke(token_id: int) -> Any:
    if not _fresh():
        return redirect(url_for("admin.user_list"))
    try:
        info = users.revoke_token(service_context(), token_id)
    except FormsServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.user_list"))
    flash(f"API token {info.id} of {info.user} revoked: it stops working at once.", "success")
    return redirect(url_for("admin.user_edit", name=info.user))
