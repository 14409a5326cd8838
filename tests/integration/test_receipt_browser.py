"""A respondent looks up the code on their slip in Chromium, with the keyboard alone, after the
service printed, read, verified, moderated and delivered their form to a (fake) Discourse forum;
axe-core finds nothing on the page, and it reads at 400 % zoom."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from forms_lab.fake_discourse import API_KEY, Forum, running_forum
from forms_service import receipts
from forms_service.config import load_config
from forms_service.context import ServiceContext
from tests.integration.conftest import LiveServer, serve
from tests.integration.test_verify_browser import no_violations
from tests.receipts.conftest import Delivered, deliver_one_copy

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def after_delivery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Forum, Delivered]]:
    with running_forum() as forum:
        settings = {"FORMS_SERVICE_CONVERSATION": "discourse", "DISCOURSE_URL": forum.url,
                    "DISCOURSE_API_KEY": API_KEY, "DISCOURSE_API_USERNAME": "paper-responses",
                    "DISCOURSE_CATEGORIES": "staff=5,student=6,postgraduate-researcher=7", "DISCOURSE_RATE": "6000",
                    "FORMS_SERVICE_AUTO_ACCEPT": "off", "FORMS_SERVICE_SPOT_CHECK": "0",
                    "FORMS_SERVICE_RECEIPT_URL": "https://consult.example.ac.uk/receipt"}
        for server in serve(tmp_path_factory.mktemp("receipt"), **settings):
            ctx = ServiceContext.from_config(load_config(server.env))
            try:
                done = deliver_one_copy(ctx)
            finally:
                ctx.close()
            yield server, forum, done


def test_a_respondent_looks_up_their_slip_with_the_keyboard(after_delivery, page) -> None:  # type: ignore[no-untyped-def]
    server, forum, done = after_delivery
    assert len(forum.topics) == 2  # the clean answer, and the redacted one
    assert not any(done.sheet in str(t) for t in forum.topics.values())
    page.goto(server.url + "/receipt/")  # no sign-in
    no_violations(page)
    page.keyboard.type(done.code.lower())  # the box has the focus; small letters are fine
    with page.expect_navigation():
        page.keyboard.press("Enter")
    questions = page.locator(".receipt-answers .question").all_inner_texts()
    assert questions[0] == "Which values should guide the university in future?"
    states = page.locator(".receipt-answers .state").all_inner_texts()
    assert states[0].startswith("Posted in the area for your group.")
    assert states[1].startswith("Posted in the area for your group, after a moderator removed a name")
    assert states[2:] == ["Not posted: it was abusive.", "Nothing to post: this question was left blank."]
    links = page.locator(".receipt-answers a").evaluate_all("els => els.map(e => e.href)")
    assert len(links) == 2 and all(link.startswith(forum.url + "/t/") for link in links)
    no_violations(page)
    page.set_viewport_size({"width": 320, "height": 256})  # 1280 x 1024 at 400 % zoom
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.set_viewport_size({"width": 1200, "height": 900})
    bare = done.code.replace("-", "")
    for typed, words in ((bare[:-1] + ("2" if bare[-1] != "2" else "3"), "Check the code"),
                         (receipts.new_code(), "Code not found")):
        page.locator("#code").fill("")
        page.locator("#code").focus()
        page.keyboard.type(typed)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert words in page.inner_text("main")
        no_violations(page)


def test_the_desk_lookup_prints_in_large_print(after_delivery, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import PASSWORD
    from tests.integration.test_verify_browser import sign_in

    server, _forum, done = after_delivery
    added = server.cli("user", "add", "ali", "--role", "accessibility-coordinator", "--password-stdin",
                       input=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    sign_in(page, server, "ali")
    page.goto(server.url + "/receipt/desk")
    page.locator("#code").fill(done.code)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Not posted: it was abusive." in page.inner_text("main")
    no_violations(page)
    page.emulate_media(media="print")
    assert not page.locator(".receipt-form").is_visible()  # only the result is printed
