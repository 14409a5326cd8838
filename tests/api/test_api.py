"""The JSON API: tokens, roles, JSON errors, and an OpenAPI document that lists every route."""

from __future__ import annotations

import re

import pytest

from forms_service.services import users


@pytest.fixture
def token(ctx, make_user):  # type: ignore[no-untyped-def]
    def make(name: str, *roles: str) -> dict[str, str]:
        make_user(name, *roles)
        return {"Authorization": f"Bearer {users.create_token(ctx, name)}"}

    return make


def test_openapi_document_lists_every_api_route(app, client) -> None:  # type: ignore[no-untyped-def]
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/health":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == documented


def test_no_token_wrong_token_and_missing_role(client, token) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/print-runs")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    response = client.get("/api/v1/print-runs", headers={"Authorization": "Bearer fst_nonsense"})
    assert response.status_code == 401 and "not valid" in response.get_json()["error"]["message"]
    verifier = token("vera", "verifier")
    response = client.get("/api/v1/print-runs", headers=verifier)
    assert response.status_code == 403
    assert response.get_json() == {"error": {"code": "forbidden",
                                             "message": "This token's user needs one of the roles: facilities-manager."}}


def test_questionnaires_and_unknown_job(client, token) -> None:  # type: ignore[no-untyped-def]
    headers = token("vera", "verifier")
    items = client.get("/api/v1/questionnaires", headers=headers).get_json()["items"]
    assert sorted(items, key=lambda i: i["version"]) == [
        {"questionnaire": "big-leeds-conversation", "version": v, "title": "The Big Leeds Conversation",
         "printed": False} for v in ("2026-11", "2026-12")]
    response = client.get("/api/v1/jobs/999", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_print_run_bad_inputs(client, token) -> None:  # type: ignore[no-untyped-def]
    headers = token("fran", "facilities-manager")
    cases = [
        ({"questionnaire": "big-leeds-conversation", "variant": "tiny-print"}, 400, "'tiny-print' is not a printed variant"),
        ({"questionnaire": "big-leeds-conversation", "variant": "standard", "copies": 0}, 400, "at least one copy"),
        ({"questionnaire": "big-leeds-conversation", "variant": "standard", "copies": 10**6}, 400, "at most 200 copies"),
        ({"questionnaire": "nope", "variant": "standard"}, 404, "no questionnaire called 'nope'"),
        ({"questionnaire": "big-leeds-conversation", "variant": "standard", "copies": "3"}, 400, "whole number"),
    ]
    for body, status, message in cases:
        response = client.post("/api/v1/print-runs", json=body, headers=headers)
        assert response.status_code == status, body
        assert message in response.get_json()["error"]["message"], body
    response = client.post("/api/v1/print-runs", data="not json", headers=headers)
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]["message"]


def test_unknown_api_path_answers_in_json(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
