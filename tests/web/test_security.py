"""Security headers on every response, no inline script anywhere, the session cookie's flags, and
form fields that tell screen readers the truth."""

from __future__ import annotations

import re

from tests.conftest import REPO, csrf_token


def test_every_response_sends_the_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/sign-in", "/receipt/", "/no-such-page", "/health", "/api/v1/questionnaires"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS promise
    assert "Strict-Transport-Security" in client.get("/sign-in", base_url="https://localhost").headers


def test_no_template_has_inline_script_or_style() -> None:
    for template in (REPO / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template  # the CSP allows none
        assert not re.search(r"\son[a-z]+=\"", text), template  # no inline event handlers
        assert ' style="' not in text, template


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(app) -> None:  # type: ignore[no-untyped-def]
    page = app.test_client().get("/sign-in", base_url="https://localhost")
    cookie = page.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = app.test_client().get("/sign-in").headers.get("Set-Cookie", "")
    assert "HttpOnly" in plain and "Secure" not in plain


def test_form_fields_never_say_none_to_a_screen_reader(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/sign-in").get_data(as_text=True)
    assert '="None"' not in page and "aria-invalid" not in page
    refused = client.post("/sign-in", data={"csrf_token": csrf_token(page), "name": "", "password": ""})
    html = refused.get_data(as_text=True)
    assert '="None"' not in html and 'aria-invalid="true"' in html

