"""axe-core (WCAG 2.2 AA) on every screen of the app that a signed-in person reaches without
choosing anything first, signed in with each role; found from the app's own routes, so that every
later screen is checked too. (Screens that need a thing to show, a print run, a field, a held
answer, are checked by the browser tests of their own workflow.)"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.app import create_app
from forms_service.store.models import ROLES
from tests.conftest import PASSWORD, make_config
from tests.integration.conftest import LiveServer, serve
from tests.integration.test_verify_browser import no_violations, sign_in

pytestmark = pytest.mark.browser

NOT_SCREENS = (".json", ".png", ".pdf", "/health", "/sign-in")


def screens() -> list[tuple[str, str]]:
    """(path, endpoint) of every page reached by GET with no argument, but downloads and health."""
    root = Path(tempfile.mkdtemp())
    app = create_app(make_config(root, root, f"sqlite:///{root / 'db.sqlite'}"))
    try:
        return sorted((r.rule, r.endpoint) for r in app.url_map.iter_rules()
                      if "GET" in (r.methods or ()) and not r.arguments
                      and not r.rule.startswith(("/api/", "/static/")) and not r.rule.endswith(NOT_SCREENS))
    finally:
        app.extensions["forms_service"].close()


@pytest.fixture(scope="module")
def every_role(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    for server in serve(tmp_path_factory.mktemp("screens")):
        for role in ROLES:
            if role != "administrator":
                added = server.cli("user", "add", role, "--role", role, "--password-stdin", input=PASSWORD + "\n")
                assert added.returncode == 0, added.stderr
        yield server


def test_there_are_screens_to_check() -> None:
    found = [path for path, _ in screens()]
    assert {"/", "/verify/", "/moderate/", "/receipt/", "/retention/", "/about-you/"} <= set(found)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "administrator"] + ["administrator"])
def test_every_screen_a_role_may_see_has_no_accessibility_violation(every_role: LiveServer, browser, role: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, every_role, every_role.admin if role == "administrator" else role)
        seen = 0
        for path, _endpoint in screens():
            response = page.goto(every_role.url + path)
            assert response is not None
            if response.status == 403:
                continue  # not this role's screen (the role walk in tests/web checks who may see what)
            assert response.status == 200, (path, response.status)
            no_violations(page)
            seen += 1
        assert seen >= 3, role
    finally:
        context.close()
