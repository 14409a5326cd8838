"""The Flask application: web pages for people (``web``) and the JSON API for scripts (``api``).

``create_app`` builds the app from a :class:`~forms_service.config.Config`; the
views are thin adapters over ``forms_service.services``. The ``forms-service``
commands are also available as ``flask --app forms_service.wsgi ...``.

Must never: show a traceback to a user, or log answer text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from .api import bp as api_bp
from .config import Config, load_config
from .context import ServiceContext
from .errors import FormsServiceError
from .logs import configure_logging
from .services import jobs
from .web import (
    admin,
    auth,
    delivery,
    demographics,
    home,
    moderate,
    printing,
    questionnaires,
    receipt,
    responses,
    retention,
    scans,
    verify,
)

log = logging.getLogger(__name__)
csrf = CSRFProtect()

#: every response: no script or style but the service's own files, no plug-ins, never in a frame
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS (HttpOnly and SameSite always)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))


def _templates_dir() -> str:
    here = Path(__file__).resolve().parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return str(candidate)
    raise RuntimeError("the templates folder is missing from this installation")


def create_app(config: Config | None = None, *, start_worker: bool = False) -> Flask:
    config = config or load_config()
    configure_logging(config.log_level)
    app = Flask(
        __name__,
        template_folder=_templates_dir(),
        static_folder=str(Path(__file__).resolve().parent / "web" / "static"),
        static_url_path="/static",
    )
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1024 * 1024 * 1024,
        TESTING=config.testing,
        PROPAGATE_EXCEPTIONS=False,
    )
    app.session_interface = _SessionInterface()
    ctx = ServiceContext.from_config(config)
    app.extensions["forms_service"] = ctx
    csrf.init_app(app)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    auth.init_app(app)
    receipt.init_app(app)
    for bp in (auth.bp, home.bp, admin.bp, questionnaires.bp, printing.bp, scans.bp, verify.bp, moderate.bp,
               delivery.bp, retention.bp, demographics.bp, receipt.bp, responses.bp):
        app.register_blueprint(bp)

    csrf.exempt(api_bp)
    app.register_blueprint(api_bp)
    _error_pages(app)

    @app.get("/health")
    def health() -> Any:
        try:
            ctx.db.check()
        except FormsServiceError:
            return jsonify({"status": "unavailable"}), 503
        return jsonify({"status": "ok"})

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"service_name": "forms-service"}

    if start_worker and config.worker == "embedded":
        app.extensions["forms_service_worker"] = jobs.start_worker(ctx)

    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error_pages(app: Flask) -> None:
    def page(status: int, title: str, message: str) -> Any:
        if _wants_json():
            code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                    405: "method_not_allowed", 413: "too_large"}.get(status, "error")
            return jsonify({"error": {"code": code, "message": message}}), status
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError) -> Any:
        return page(400, "Form expired", "This form was out of date or came from elsewhere. "
                    "Go back, reload the page and try again.")

    @app.errorhandler(FormsServiceError)
    def service_error(exc: FormsServiceError) -> Any:
        if _wants_json():
            return jsonify({"error": {"code": exc.code, "message": exc.message}}), exc.http_status
        return page(exc.http_status, "That did not work", exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        titles = {404: "Page not found", 403: "Not allowed", 405: "Not allowed",
                  413: "Upload too large", 401: "Please sign in"}
        messages = {
            404: "There is no page at this address. Check the address or go back to the start page.",
            403: "Your account does not have the role this page needs. Ask an administrator.",
            405: "This page cannot be used that way.",
            413: "The upload is larger than this service accepts at once; send fewer files at a time.",
        }
        status = exc.code or 500
        return page(status, titles.get(status, "Something went wrong"),
                    messages.get(status, exc.description or "The request could not be handled."))

    @app.errorhandler(Exception)
    def internal_error(exc: Exception) -> Any:
        g.error_logged = True
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return page(500, "Something went wrong",
                    "The service hit an internal error. Nothing you sent was lost; try again, and "
                    "tell an administrator if it keeps happening.")
