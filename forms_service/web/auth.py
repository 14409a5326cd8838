"""Signing in and out, changing one's password, and the role checks every page uses."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..errors import InvalidInput
from ..http import service_context
from ..services import users
from ..services.users import MIN_PASSWORD, UserInfo
from .throttle import Throttle, storage_uri

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"

F = TypeVar("F", bound=Callable[..., Any])


class SignedInUser(UserMixin):
    def __init__(self, info: UserInfo) -> None:
        self.info = info
        self.id = info.id
        self.name = info.name

    def has(self, *roles: str) -> bool:
        return self.info.has(*roles)

    @property
    def roles(self) -> list[str]:
        return sorted(self.info.roles)


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.before_request(_own_password_first)
    cfg = app.extensions["forms_service"].config
    app.extensions["sign_in_throttle"] = Throttle(storage_uri(cfg), f"{cfg.celery_queue}:sign-in",
                                                  per_account=cfg.sign_in_rate, per_address=cfg.sign_in_rate_address)


def _own_password_first() -> Any:
    """Someone signed in with a generated password sees nothing but the page to replace it."""
    if (current_user.is_authenticated and current_user.info.must_change_password
            and request.endpoint not in ("auth.change_password", "auth.sign_out", "static")
            and not request.path.startswith("/api/")):
        flash("Choose your own password first: the one you signed in with was generated for you.", "info")
        return redirect(url_for("auth.change_password"))
    return None


@login_manager.user_loader
def _load(user_id: str) -> SignedInUser | None:
    info = users.get_user(service_context(), int(user_id))
    return SignedInUser(info) if info is not None else None


def roles_required(*roles: str) -> Callable[[F], F]:
    """Only signed-in users holding one of ``roles`` (or administrators) may see the page."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class SignInForm(FlaskForm):
    name = StringField("User name", validators=[DataRequired(message="Enter your user name.")],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(message="Enter your current password.")],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            Length(min=MIN_PASSWORD, message=f"A password needs at least {MIN_PASSWORD} characters."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(
        "New password again",
        validators=[EqualTo("new", message="The two new passwords are not the same.")],
        render_kw={"autocomplete": "new-password"},
    )


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """Sign in. Failed attempts are counted per account and per address; past the limit
    (``FORMS_SERVICE_SIGN_IN_RATE``) the page refuses to check passwords for a while."""
    form = SignInForm()
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        address = request.remote_addr or "-"
        checks = [("per_account", name.lower()[:100]), ("per_address", address)]
        throttle = current_app.extensions["sign_in_throttle"]
        if not throttle.allowed(checks):
            log.warning("sign-in refused: too many failures", extra={"user": name[:100], "address": address})
            form.password.errors = ["Too many failed sign-ins for this account or from this address: "
                                    "wait a few minutes and try again."]
            return render_template("auth/sign_in.html", form=form), 429
        info = users.authenticate(service_context(), name, form.password.data or "")
        if info is None:
            throttle.hit(checks)
            log.warning("sign-in failed", extra={"user": name[:100], "address": address})
            form.password.errors = ["That user name and password do not match an active account."]
        else:
            log.info("signed in", extra={"user": info.name, "address": address})
            login_user(SignedInUser(info))
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if not form.errors else 400
    return render_template("auth/sign_in.html", form=form), status


@bp.post("/sign-out")
@login_required
def sign_out() -> Any:
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        ctx = service_context()
        if users.authenticate(ctx, current_user.name, form.current.data or "") is None:
            form.current.errors = ["That is not your current password."]
        else:
            try:
                users.set_password(ctx, current_user.name, form.new.data or "")
            except InvalidInput as exc:
                form.new.errors = [exc.message]
            else:
                flash("Your password has been changed.", "success")
                return redirect(url_for("home.index"))
    status = 200 if not form.errors else 400
    return render_template("auth/password.html", form=form), status
