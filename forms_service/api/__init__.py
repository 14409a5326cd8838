"""The JSON API, version 1 (docs/api.md; OpenAPI document at /api/v1/openapi.json).

Every endpoint but the OpenAPI document needs ``Authorization: Bearer <token>``
and checks the token's user's roles. Errors are
``{"error": {"code": ..., "message": ...}}``.

Must never: return or log answer text to a caller without the role for it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, g, jsonify, request

from ..errors import FormsServiceError, InvalidInput, NotFound
from ..services import printing, questionnaires, users
from ..web import service_context, wake_worker
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

F = TypeVar("F", bound=Callable[..., Any])


class Unauthorized(FormsServiceError):
    http_status = 401
    code = "unauthorized"


class Forbidden(FormsServiceError):
    http_status = 403
    code = "forbidden"


def token_required(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise Unauthorized(
                    "Send an API token as 'Authorization: Bearer <token>' "
                    "(make one with 'forms-service token create USER')."
                )
            user = users.user_for_token(service_context(), value.strip())
            if user is None:
                raise Unauthorized("This API token is not valid (it may have been revoked).")
            if not user.has(*roles):
                raise Forbidden(f"This token's user needs one of the roles: {', '.join(roles)}.")
            g.api_user = user
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object in the request body (Content-Type: application/json).")
    return body


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@bp.get("/questionnaires")
@token_required("facilities-manager", "verifier", "analyst", "accessibility-coordinator")
def questionnaire_list() -> Any:
    ctx = service_context()
    return jsonify({"items": [
        {"questionnaire": v.questionnaire, "version": v.version, "title": v.title, "printed": v.frozen}
        for v in questionnaires.list_versions(ctx)
    ]})


def _run_json(run: printing.PrintRunInfo) -> dict[str, Any]:
    return {
        "id": run.id, "questionnaire": run.questionnaire, "version": run.version,
        "variant": run.variant, "copies": run.copies, "batch": run.batch, "state": run.state,
        "copies_done": run.copies_done, "pages_per_copy": run.pages_per_copy, "error": run.error,
        "sheets_returned": run.sheets_returned,
        "pdf_url": f"/print/runs/{run.id}/pdf" if run.pdf_ready else None,
    }


@bp.post("/print-runs")
@token_required("facilities-manager")
def print_run_create() -> Any:
    body = _json_body()
    copies = body.get("copies", 1)
    if not isinstance(copies, int) or isinstance(copies, bool):
        raise InvalidInput("'copies' must be a whole number.")
    for key in ("questionnaire", "variant"):
        if not isinstance(body.get(key), str):
            raise InvalidInput(f"Give {key!r} as a string.")
    run = printing.queue_print_run(
        service_context(), questionnaire=body["questionnaire"], variant=body["variant"],
        copies=copies, batch=body.get("batch"), version=body.get("version"),
        ordered_by=g.api_user.id,
    )
    wake_worker()
    return jsonify(_run_json(run)), 202


@bp.get("/print-runs")
@token_required("facilities-manager")
def print_run_list() -> Any:
    return jsonify({"items": [_run_json(r) for r in printing.list_print_runs(service_context())]})


@bp.get("/print-runs/<int:run_id>")
@token_required("facilities-manager")
def print_run_get(run_id: int) -> Any:
    return jsonify(_run_json(printing.get_print_run(service_context(), run_id)))


@bp.get("/jobs/<int:job_id>")
@token_required("verifier")
def job_get(job_id: int) -> Any:
    from ..jobs import get_job

    job = get_job(service_context(), job_id)
    if job is None:
        raise NotFound(f"There is no job {job_id}.")
    return jsonify({
        "id": job.id, "kind": job.kind, "state": job.state,
        "pages": {"done": job.done, "total": job.total}, "message": job.message,
        "rejected": job.payload.get("rejected", []),
    })
