"""Signing in, CSRF on every form, role checks on every page, and error pages."""

from __future__ import annotations

import pytest

from forms_service.app import create_app
from forms_service.config import Config
from tests.conftest import PASSWORD, csrf_token, sign_in

# Every page, and the roles that may see it (administrators may see everything).
PAGES = {
    "/print/": {"facilities-manager"},
    "/print/preview/big-leeds-conversation/2026-11/standard": {"facilities-manager", "accessibility-coordinator"},
    "/admin/users": {"administrator"},
    "/scans/": {"verifier"},
    "/scans/unidentified": {"verifier"},
    "/admin/users/someone": {"administrator"},
}
SIGNED_IN_PAGES = ["/", "/questionnaires/", "/questionnaires/big-leeds-conversation/2026-11", "/account/password"]
ROLES = ["facilities-manager", "accessibility-coordinator", "verifier", "moderator", "analyst"]


def test_sign_in_and_out(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("fran", "facilities-manager")
    assert client.get("/").status_code == 302
    response = sign_in(client, "fran")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Hello, fran" in home and "Print questionnaires" in home
    token = csrf_token(home)
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_says_so_without_saying_which_part(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("fran", "facilities-manager")
    response = sign_in(client, "fran", "not the password")
    assert response.status_code == 400
    assert "do not match an active account" in response.get_data(as_text=True)
    response = sign_in(client, "nobody", PASSWORD)
    assert "do not match an active account" in response.get_data(as_text=True)


def test_next_parameter_never_leaves_the_site(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("fran", "facilities-manager")
    page = client.get("/sign-in?next=https://evil.example/")
    response = client.post("/sign-in?next=https://evil.example/", data={
        "name": "fran", "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("role", ROLES)
def test_each_page_refuses_a_user_without_its_role(client, make_user, role: str) -> None:  # type: ignore[no-untyped-def]
    make_user("someone", role)
    sign_in(client, "someone")
    for path, allowed in PAGES.items():
        status = client.get(path).status_code
        if role in allowed:
            assert status == 200, (path, role, status)
        else:
            assert status == 403, (path, role, status)
    for path in SIGNED_IN_PAGES:
        assert client.get(path).status_code == 200, path


def test_administrator_sees_every_page(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("someone", "administrator")
    sign_in(client, "someone")
    for path in [*PAGES, *SIGNED_IN_PAGES]:
        assert client.get(path).status_code == 200, path


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:  # type: ignore[no-untyped-def]
    for path in [*PAGES, *SIGNED_IN_PAGES]:
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path


def test_forms_without_a_csrf_token_are_refused(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "administrator")
    response = client.post("/sign-in", data={"name": "ada", "password": PASSWORD})
    assert response.status_code == 400
    assert "This form was out of date" in response.get_data(as_text=True)
    sign_in(client, "ada")
    for path, data in [
        ("/admin/users", {"name": "eve", "password": PASSWORD, "roles": "verifier"}),
        ("/print/", {"questionnaire": "big-leeds-conversation@2026-11", "variant": "standard", "copies": "1"}),
        ("/account/password", {"current": PASSWORD, "new": "x" * 12, "repeat": "x" * 12}),
        ("/sign-out", {}),
    ]:
        response = client.post(path, data=data)
        assert response.status_code == 400, path
        assert "This form was out of date" in response.get_data(as_text=True)


def test_administrator_adds_a_user_and_changes_roles(client, make_user, ctx) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import users

    make_user("ada", "administrator")
    sign_in(client, "ada")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post("/admin/users", data={
        "name": "vic", "password": "short", "roles": ["verifier"], "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert "at least 10 characters" in response.get_data(as_text=True)
    response = client.post("/admin/users", data={
        "name": "vic", "password": PASSWORD, "roles": ["verifier", "moderator"], "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert {u.name: u.roles for u in users.list_users(ctx)}["vic"] == {"verifier", "moderator"}
    page = client.get("/admin/users/vic").get_data(as_text=True)
    client.post("/admin/users/vic", data={"roles": ["analyst"], "csrf_token": csrf_token(page)})
    assert {u.name: u.roles for u in users.list_users(ctx)}["vic"] == {"analyst"}


def test_the_last_administrator_cannot_lose_the_role(client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ada", "administrator")
    sign_in(client, "ada")
    page = client.get("/admin/users/ada").get_data(as_text=True)
    response = client.post("/admin/users/ada", data={"roles": ["analyst"], "csrf_token": csrf_token(page)})
    assert response.status_code == 400
    assert "only administrator" in response.get_data(as_text=True)


def test_change_password(client, make_user, ctx) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import users

    make_user("fran", "facilities-manager")
    sign_in(client, "fran")
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post("/account/password", data={
        "current": "wrong one!!", "new": "a new long password", "repeat": "a new long password",
        "csrf_token": csrf_token(page)})
    assert "That is not your current password" in response.get_data(as_text=True)
    response = client.post("/account/password", data={
        "current": PASSWORD, "new": "a new long password", "repeat": "a new long password",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert users.authenticate(ctx, "fran", "a new long password") is not None


def test_error_pages_never_show_a_traceback(ctx, make_user) -> None:  # type: ignore[no-untyped-def]
    app = create_app(ctx.config)

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internals")

    client = app.test_client()
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in body
    assert "Traceback" not in body and "secret internals" not in body
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "There is no page at this address" in missing.get_data(as_text=True)


def test_health(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/health")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_health_reports_an_unreachable_database(config: Config) -> None:
    app = create_app(config.with_(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/health")
    assert response.status_code == 503 and response.get_json() == {"status": "unavailable"}


def test_repeated_failures_lock_sign_in_for_a_while_and_are_logged(client, make_user, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    caplog.set_level(logging.INFO)
    make_user("dana", "verifier")
    make_user("erin", "verifier")
    page = client.get("/sign-in").get_data(as_text=True)
    for _ in range(5):  # FORMS_SERVICE_SIGN_IN_RATE: 5 per 5 minutes
        wrong = client.post("/sign-in", data={"csrf_token": csrf_token(page), "name": "dana", "password": "guess"})
        assert wrong.status_code == 400
    locked = client.post("/sign-in", data={"csrf_token": csrf_token(page), "name": "dana", "password": PASSWORD})
    assert locked.status_code == 429  # even the right password waits: guessing gets nowhere
    assert "Too many failed sign-ins for this account or from this address" in locked.get_data(as_text=True)
    other = client.post("/sign-in", data={"csrf_token": csrf_token(page), "name": "erin", "password": PASSWORD})
    assert other.status_code == 302  # another account from the same office is not locked out
    assert caplog.text.count("sign-in failed") == 5 and "sign-in refused" in caplog.text and "signed in" in caplog.text
    assert "guess" not in caplog.text and PASSWORD not in caplog.text


def test_administrator_resets_a_password_disables_and_revokes_on_the_users_page(client, make_user, ctx) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import users

    make_user("ada", "administrator")
    make_user("vic", "verifier")
    token = users.create_token(ctx, "vic")
    sign_in(client, "ada")
    page = client.get("/admin/users/vic").get_data(as_text=True)
    assert "Set a new password" in page and "Disable vic" in page and "working" in page
    assert '="None"' not in page
    done = client.post("/admin/users/vic/password", data={"csrf_token": csrf_token(page),
                                                          "password": "a temporary password"}, follow_redirects=True)
    assert "they choose their own at their next sign-in" in done.get_data(as_text=True)
    assert users.authenticate(ctx, "vic", "a temporary password").must_change_password  # type: ignore[union-attr]
    client.post("/admin/users/vic/active", data={"csrf_token": csrf_token(page), "active": "0"})
    assert users.authenticate(ctx, "vic", "a temporary password") is None
    assert users.user_for_token(ctx, token) is None
    client.post("/admin/users/vic/active", data={"csrf_token": csrf_token(page), "active": "1"})
    [listed] = users.list_tokens(ctx)
    client.post(f"/admin/tokens/{listed.id}/revoke", data={"csrf_token": csrf_token(page)})
    assert users.list_tokens(ctx)[0].revoked and users.user_for_token(ctx, token) is None
    refused = client.post("/admin/users/ada/active", data={"csrf_token": csrf_token(page), "active": "0"},
                          follow_redirects=True)
    assert "only active administrator" in refused.get_data(as_text=True)

    client.post("/sign-out", data={"csrf_token": csrf_token(page)})
    first = sign_in(client, "vic", "a temporary password")
    assert first.status_code == 302
    assert client.get("/verify/").headers["Location"].endswith("/account/password")  # their own password first
