"""The OpenAPI 3.1 document of the JSON API; a test checks it lists every route."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _op(summary: str, roles: list[str], ok: int = 200, body: dict[str, Any] | None = None,
        params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {', '.join(roles)} (administrators may do everything).",
        "security": [{"bearer": []}],
        "responses": {
            str(ok): {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "Bad input", "content": {"application/json": {"schema": ERROR}}},
            "401": {"description": "No or bad token", "content": {"application/json": {"schema": ERROR}}},
            "403": {"description": "Role missing", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "forms-service API", "version": "1"},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"],
                                             "properties": {"code": {"type": "string"},
                                                            "message": {"type": "string"}}}},
                }
            },
        },
        "paths": {
            "/health": {"get": {"summary": "Liveness: the database answers", "security": [],
                                "responses": {"200": {"description": "ok"}, "503": {"description": "down"}}}},
            "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                             "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/api/v1/questionnaires": {"get": _op("Loaded questionnaire versions",
                                                  ["facilities-manager", "verifier", "analyst",
                                                   "accessibility-coordinator"])},
            "/api/v1/print-runs": {
                "get": _op("Print runs, newest first, with sheets returned per batch", ["facilities-manager"]),
                "post": _op("Order a print run (drawn in the background)", ["facilities-manager"], ok=202,
                            body={"type": "object", "required": ["questionnaire", "variant"],
                                  "properties": {"questionnaire": {"type": "string"},
                                                 "version": {"type": "string"},
                                                 "variant": {"enum": ["standard", "large-print", "easy-read"]},
                                                 "copies": {"type": "integer", "minimum": 1},
                                                 "batch": {"type": ["string", "null"]}}}),
            },
            "/api/v1/print-runs/{run_id}": {"get": _op("One print run and its progress", ["facilities-manager"],
                                                       params=[_id("run_id")])},
            "/api/v1/print-runs/{run_id}/pdf": {"get": _op(
                "The print run's PDF (application/pdf), once drawn; 409 before", ["facilities-manager"],
                params=[_id("run_id")])},
            "/api/v1/jobs/{job_id}": {"get": _op("Progress of a background job: pages done / total, "
                                                 "rejected files and pages with the reason", ["verifier"],
                                                 params=[_id("job_id")])},
            "/api/v1/scans": {"post": {
                **_op("Upload scan files (multipart field 'files', repeatable); 202 with the job that "
                      "reads them; files that cannot be read are named with the reason", ["verifier"], ok=202),
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"files": {"type": "array", "items": {
                        "type": "string", "contentMediaType": "application/octet-stream"}}}}}}},
            }},
            "/api/v1/queue": {"get": _op(
                "The next fields waiting for a person, least certain first, each leased to the caller "
                "(the same fields again while the caller holds them)", ["verifier"],
                params=[{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                        {"name": "kind", "in": "query", "schema": {"enum": ["choice", "text"]}},
                        {"name": "print_run", "in": "query", "schema": {"type": "integer"}}])},
            "/api/v1/queue/{reading_id}": {"post": {
                **_op("A person's answer to a field they hold: its value in the export's form, or "
                      "illegible (written answers); 'flag' adds a note for the moderators. 409 when the "
                      "field was answered already or the lease ran out; nothing is changed then",
                      ["verifier"], params=[_id("reading_id")],
                      body={"type": "object", "properties": {
                          "value": {}, "illegible": {"const": True}, "flag": {"type": "string"}}}),
            }},
            "/api/v1/queue/renew": {"post": _op(
                "Renew the caller's leases on the fields they are working on; answers which they still hold",
                ["verifier"], body={"type": "object", "required": ["ids"],
                                    "properties": {"ids": {"type": "array", "items": {"type": "integer"}}}})},
            "/api/v1/queue/{reading_id}/release": {"post": _op(
                "Give a held field back to the queue (skip it)", ["verifier"], params=[_id("reading_id")])},
            "/api/v1/queue/{reading_id}/image": {"get": {
                **_op("The picture of a field (PNG), to the person who holds it and nobody else", ["verifier"],
                      params=[_id("reading_id")]),
                "responses": {"200": {"description": "PNG", "content": {"image/png": {}}},
                              "404": {"description": "Not held by the caller",
                                      "content": {"application/json": {"schema": ERROR}}}},
            }},
            "/api/v1/moderation": {"get": _op(
                "Written answers held before delivery, each leased to the caller, with what the screen "
                "found (kind, character offsets, reason)", ["moderator"],
                params=[{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                    "maximum": 100}}])},
            "/api/v1/moderation/{contribution_id}": {"post": _op(
                "A moderator's action on an answer they hold: release (optionally edited), edit, redact "
                "spans, split into parts, move to another area, or withhold with a reason. 409 when it "
                "was dealt with already or the lease ran out; nothing is changed then",
                ["moderator"], params=[_id("contribution_id")],
                body={"type": "object", "required": ["action"], "properties": {
                    "action": {"enum": ["release", "edit", "redact", "split", "move", "withhold"]},
                    "text": {"type": "string"}, "area": {"type": "string"}, "reason": {"type": "string"},
                    "texts": {"type": "array", "items": {"type": "string"}},
                    "spans": {"type": "array", "items": {"type": "array", "items": {"type": "integer"},
                                                         "minItems": 2, "maxItems": 2}}}})},
            "/api/v1/demographics": {"get": _op(
                "The \"about you\" answers of complete responses, counted by group (and configured crossings): "
                "counts 1-9 suppressed (null), the rest rounded to 5, with secondary suppression",
                ["analyst"])},
            "/api/v1/delivery/run": {"post": _op(
                "Deliver the contributions that are ready now (the same as forms-service deliver): "
                "counts delivered, waiting to retry, dead letters, and found delivered already",
                ["administrator"])},
            "/api/v1/responses": {"get": _op(
                "Export records (docs/export.md), in pages", ["administrator"],
                params=[{"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                    "maximum": 1000}}])},
        },
    }
