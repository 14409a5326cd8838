"""A moderator clears held answers in Chromium with the keyboard alone; axe-core finds nothing on the screens."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_service.config import load_config
from forms_service.context import ServiceContext
from forms_service.services import moderation
from forms_service.states import ContributionState
from forms_service.store.models import Contribution, Response, utcnow
from tests.conftest import PASSWORD
from tests.integration.conftest import LiveServer, serve
from tests.integration.test_verify_browser import no_violations, sign_in

pytestmark = pytest.mark.browser

HELD = ["ring me on 07700 900123 about the bins", "the head porter in Estates is a <i>total</i> idiot"]


@pytest.fixture(scope="module")
def held_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("moderate")
    for server in serve(root):
        ctx = ServiceContext.from_config(load_config(server.env))
        with ctx.db.session() as s:  # two answers of one response, as the screen leaves them
            r = Response(public_id=uuid.uuid4().hex[:16], sheet_id="M0000001", questionnaire="big-leeds-conversation",
                         version="2026-11", variant="standard", pages_expected=6, created_at=utcnow())
            s.add(r)
            s.flush()
            for n, text in enumerate(HELD):
                found = [f.as_dict() for f in moderation.screener().screen(text)]
                assert found
                s.add(Contribution(response_id=r.id, field_id=f"values-{n}", part=0, area="staff", text=text,
                                   findings=found, state=ContributionState.HELD, spot_check=False))
        ctx.close()
        added = server.cli("user", "add", "mo", "--role", "moderator", "--password-stdin", input=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        yield server


def test_moderate_with_the_keyboard_alone(held_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, held_server, "mo")
    assert "2 written answers held" in page.inner_text("main")
    page.goto(held_server.url + "/moderate/")
    no_violations(page)
    page.screenshot(path=str(tmp_path / "moderate.png"), full_page=True)
    assert page.locator("mark.finding").count() >= 1
    with page.expect_navigation():
        page.keyboard.press("x")  # redact what is ticked (the phone number)
    assert "[contact details removed]" in page.inner_text("blockquote.answer")
    with page.expect_navigation():
        page.keyboard.press("r")  # release it
    assert "Released" in page.inner_text(".flash-success")
    # the next: markup shown as text; withhold it with a reason
    assert "<i>total</i>" in page.inner_text("blockquote.answer")
    no_violations(page)
    page.keyboard.press("w")
    page.keyboard.type("insults the head porter")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Nothing to moderate" in page.inner_text("h1")
    no_violations(page)
    ctx = ServiceContext.from_config(load_config(held_server.env))
    try:
        assert moderation.counts(ctx)["released"] == 1 and moderation.counts(ctx)["withheld"] == 1
        assert [t for _i, _a, t in moderation.ready(ctx)] == ["ring me on [contact details removed] about the bins"]
    finally:
        ctx.close()


def test_the_delivery_page_for_administrators(held_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, held_server, held_server.admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Delivery").click()
    assert "Contributions per area" in page.inner_text("main")
    no_violations(page)
    page.get_by_role("button", name="Deliver what is ready now").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "delivered" in page.inner_text(".flash")
    no_violations(page)


def test_the_retention_page_for_administrators(held_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, held_server, held_server.admin)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Retention").click()
    assert "scans received more than 30 days ago" in page.inner_text("main")
    no_violations(page)
    page.get_by_role("button", name="Delete now").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Nothing to delete" in page.inner_text(".flash")
    no_violations(page)
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_about_you_page_for_analysts(held_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    added = held_server.cli("user", "add", "ann", "--role", "analyst", "--password-stdin", input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    sign_in(page, held_server, "ann")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="About you").click()
    assert "counted together" in page.inner_text("main")
    no_violations(page)
