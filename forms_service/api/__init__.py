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

from flask import Blueprint, g, jsonify, request, send_file

from ..errors import Conflict, FormsServiceError, InvalidInput
from ..http import service_context, wake_worker
from ..services import (
    delivery,
    demographics,
    export,
    ingest,
    jobs,
    moderation,
    printing,
    questionnaires,
    users,
    verify,
)
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
        "pdf_url": f"/api/v1/print-runs/{run.id}/pdf" if run.pdf_ready else None,
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


@bp.get("/print-runs/<int:run_id>/pdf")
@token_required("facilities-manager")
def print_run_pdf(run_id: int) -> Any:
    """The run's print-ready PDF, for a script holding a token (the web page has its own link)."""
    ctx = service_context()
    info = printing.get_print_run(ctx, run_id)
    if not info.pdf_ready:
        raise Conflict(f"Print run {run_id} has no PDF yet ({info.state}): ask again when it is done.")
    return send_file(printing.pdf_path(ctx, run_id), mimetype="application/pdf", as_attachment=True,
                     download_name=info.filename)


@bp.post("/scans")
@token_required("verifier")
def scans_upload() -> Any:
    files = request.files.getlist("files") or [f for _, f in request.files.items(multi=True)]
    if not files:
        raise InvalidInput("Send one or more scan files as multipart/form-data in the field 'files'.")
    batch = ingest.accept_files(service_context(), ((f.filename or "unnamed file", f.read()) for f in files))
    wake_worker()
    return jsonify({
        "job": batch.job_id,
        "job_url": f"/api/v1/jobs/{batch.job_id}",
        "files": [{"file": o.filename, "state": o.state, "reason": o.reason} for o in batch.files],
        "rejected": [{"file": o.filename, "reason": o.reason} for o in batch.rejected],
    }), 202


@bp.get("/jobs/<int:job_id>")
@token_required("verifier")
def job_get(job_id: int) -> Any:
    ctx = service_context()
    job = jobs.get_job(ctx, job_id)
    body: dict[str, Any] = {
        "id": job.id, "kind": job.kind, "state": job.state,
        "pages": {"done": job.done, "total": job.total}, "message": job.message,
        "rejected": job.payload.get("rejected", []),
    }
    if job.kind == "read_scans":
        summary = ingest.job_summary(ctx, job_id)
        body["rejected"] = [{"file": f["file"], "reason": f["reason"]} for f in summary.rejected_files] + [
            {"file": p["file"], "page": p["page"], "reason": p["reason"]} for p in summary.pages_rejected]
        body["files"] = summary.files
        body["summary"] = {
            "pages_read": summary.pages_read, "pages_seen_before": summary.pages_duplicate,
            "responses": summary.responses, "fields_queued": summary.fields_queued,
            "unidentified": summary.pages_unidentified, "set_aside": summary.pages_set_aside,
            "not_ours": summary.pages_not_ours,
            "notes": summary.notes,
        }
    return jsonify(body)


@bp.get("/responses")
@token_required("analyst")
def responses_list() -> Any:
    """Export records, paged; an analyst's carry no "about you" answer (``"withheld": true``)."""
    try:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 100))
    except ValueError:
        raise InvalidInput("'offset' and 'limit' must be whole numbers.") from None
    if offset < 0 or not 1 <= limit <= 1000:
        raise InvalidInput("'offset' must be 0 or more and 'limit' between 1 and 1000.")
    ctx = service_context()
    total = export.count_responses(ctx)
    items = list(export.iter_records(ctx, offset=offset, limit=limit,
                                     withhold_about_you="administrator" not in g.api_user.roles))
    following = offset + len(items)
    return jsonify({
        "items": items, "total": total, "offset": offset, "limit": limit,
        "next": f"/api/v1/responses?offset={following}&limit={limit}" if following < total else None,
    })


# -- the verification queue -----------------------------------------------------------------------


def _task_json(t: verify.FieldTask) -> dict[str, Any]:
    return {
        "id": t.id, "kind": t.kind.value, "response": t.response, "field": t.field, "type": t.type,
        "question": t.question, "options": [{"value": o.value, "label": o.label} for o in t.options],
        "value": t.value, "suggestion": t.suggestion, "confidence": t.confidence,
        "image_url": f"/api/v1/queue/{t.id}/image" if t.has_image else None,
        "blind": t.blind, "paper": t.paper,
    }


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name!r} must be a whole number.") from None


@bp.get("/queue")
@token_required("verifier")
def queue_next() -> Any:
    kind = request.args.get("kind")
    if kind is not None and kind not in {k.value for k in verify.TaskKind}:
        raise InvalidInput(f"'kind' is one of {', '.join(k.value for k in verify.TaskKind)}.")
    tasks = verify.next_fields(service_context(), g.api_user.id, limit=_int_arg("limit", 1) or 0,
                               kind=verify.TaskKind(kind) if kind else None,
                               print_run=_int_arg("print_run", None))
    return jsonify({"items": [_task_json(t) for t in tasks], "lease_seconds": int(verify.LEASE.total_seconds())})


@bp.post("/queue/<int:reading_id>")
@token_required("verifier")
def queue_answer(reading_id: int) -> Any:
    body = _json_body()
    unknown = set(body) - {"value", "illegible", "flag"}
    if unknown:
        raise InvalidInput(f"Unknown key(s) {', '.join(sorted(unknown))}: send 'value' or 'illegible', "
                           f"and optionally 'flag' with a note for the moderators.")
    if "illegible" in body and body["illegible"] is not True:
        raise InvalidInput("'illegible' is true or left out.")
    flag = body.get("flag")
    if flag is not None and not isinstance(flag, str):
        raise InvalidInput("'flag' is a note for the moderators, as text.")
    args: dict[str, Any] = {"illegible": bool(body.get("illegible")), "flag": flag}
    if "value" in body:
        args["value"] = body["value"]
    task = verify.answer(service_context(), g.api_user.id, reading_id, **args)
    # under double-blind keying a first typing leaves the field queued for a second person
    return jsonify({"id": task.id, "state": task.state.value, "value": task.value if task.state == "verified" else None})


@bp.post("/queue/renew")
@token_required("verifier")
def queue_renew() -> Any:
    ids = _json_body().get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInput("Send the ids of the fields you hold as {\"ids\": [1, 2, ...]}.")
    return jsonify({"held": verify.renew(service_context(), g.api_user.id, ids)})


@bp.post("/queue/<int:reading_id>/release")
@token_required("verifier")
def queue_release(reading_id: int) -> Any:
    verify.release(service_context(), g.api_user.id, reading_id)
    return jsonify({"id": reading_id, "released": True})


@bp.get("/queue/<int:reading_id>/image")
@token_required("verifier")
def queue_image(reading_id: int) -> Any:
    from flask import Response as FlaskResponse

    png = verify.image(service_context(), g.api_user.id, reading_id)
    return FlaskResponse(png, mimetype="image/png", headers={"Cache-Control": "private, no-store"})


# -- moderation ------------------------------------------------------------------------------------


def _item_json(i: moderation.Item) -> dict[str, Any]:
    return {"id": i.id, "area": i.area, "question": i.question, "text": i.text, "state": i.state,
            "spot_check": i.spot_check, "areas": list(i.areas),
            "findings": [{"kind": f["kind"], "start": f["start"], "end": f["end"], "reason": f["reason"],
                          "score": f.get("score")} for f in i.findings]}


@bp.get("/moderation")
@token_required("moderator")
def moderation_next() -> Any:
    items = moderation.next_items(service_context(), g.api_user.id, limit=_int_arg("limit", 1) or 0)
    return jsonify({"items": [_item_json(i) for i in items],
                    "lease_seconds": int(moderation.LEASE.total_seconds())})


@bp.post("/moderation/<int:contribution_id>")
@token_required("moderator")
def moderation_act(contribution_id: int) -> Any:
    body = _json_body()
    action = body.get("action")
    allowed = {"release": {"text"}, "edit": {"text"}, "redact": {"spans"}, "split": {"texts"},
               "move": {"area"}, "withhold": {"reason"}}
    if action not in allowed:
        raise InvalidInput(f"'action' is one of {', '.join(allowed)}.")
    unknown = set(body) - {"action"} - allowed[action]
    if unknown:
        raise InvalidInput(f"Unknown key(s) {', '.join(sorted(unknown))} for {action!r}.")
    for key, kind in (("text", str), ("area", str), ("reason", str)):
        if key in body and not isinstance(body[key], kind):
            raise InvalidInput(f"{key!r} is text.")
    if "texts" in body and not (isinstance(body["texts"], list) and all(isinstance(t, str) for t in body["texts"])):
        raise InvalidInput("'texts' is a list of the parts' texts.")
    if "spans" in body and not (isinstance(body["spans"], list) and all(
            isinstance(sp, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in sp)
            for sp in body["spans"])):
        raise InvalidInput("'spans' is a list of [start, end] character offsets.")
    left = moderation.act(service_context(), g.api_user.id, contribution_id, action, text=body.get("text"),
                          spans=body.get("spans"), texts=body.get("texts"), area=body.get("area"),
                          reason=body.get("reason"))
    return jsonify({"items": [_item_json(i) for i in left]})


# -- delivery --------------------------------------------------------------------------------------


@bp.post("/delivery/run")
@token_required("administrator")
def delivery_run() -> Any:
    """Deliver what is ready now (the same as ``forms-service deliver``)."""
    result = delivery.deliver(service_context())
    return jsonify({"delivered": result.delivered, "waiting_to_retry": result.retrying,
                    "dead_letters": result.dead, "found_delivered": result.already})


@bp.get("/demographics")
@token_required("analyst")
def demographics_report() -> Any:
    """The "about you" counts, by group, small cells suppressed (the same as ``forms-service export-demographics``)."""
    return jsonify({"items": demographics.report(service_context())})
