"""Verifiers clear a mixed queue in Chromium with the keyboard alone; axe-core finds nothing on any screen.

A real `forms-service serve` with auto-acceptance off (every field waits for a person)
reads pages 2 to 4 of two returned standard copies: 12 tick-box fields on grid screens
of one question each, and 8 written answers.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PASSWORD
from tests.ingest.conftest import Returned, returned  # noqa: F401  (the synthetic batch)
from tests.integration.conftest import LiveServer, serve

pytestmark = pytest.mark.browser

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
        "resultTypes": ["violations"]}


@pytest.fixture(scope="module")
def queue_server(tmp_path_factory: pytest.TempPathFactory, returned: Returned) -> Iterator[LiveServer]:  # noqa: F811
    root = tmp_path_factory.mktemp("verify")
    for server in serve(root, FORMS_SERVICE_AUTO_ACCEPT="off"):
        incoming = root / "incoming"
        incoming.mkdir()
        copies = [s for s in returned.sheets.values() if s.variant == "standard"]
        for n, sheet in enumerate(copies):
            for page in sheet.pages[1:4]:
                buf = io.BytesIO()
                Image.fromarray(page.image).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
                (incoming / f"copy{n}-page{page.page}.png").write_bytes(buf.getvalue())
        ingest = server.cli("ingest", str(incoming))
        assert ingest.returncode == 0, ingest.stderr
        for name in ("vera", "victor"):
            added = server.cli("user", "add", name, "--role", "verifier", "--password-stdin", input=PASSWORD + "\n")
            assert added.returncode == 0, added.stderr
        yield server


def sign_in(page, server: LiveServer, name: str) -> None:  # type: ignore[no-untyped-def]
    """Sign ``name`` in (the administrator with the server's password, anyone else with PASSWORD)."""
    page.goto(server.url + "/sign-in")
    page.fill("#name", name)
    page.fill("#password", server.password if name == server.admin else PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server.url + "/")


def wait_until(page, function: str, arg: object = None, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Poll ``function`` (JavaScript, called with ``arg``) until it returns something true.

    Playwright's ``wait_for_function`` builds its poller with ``new Function``, which the app's
    Content-Security-Policy forbids (no eval, rightly); ``evaluate`` goes through the DevTools
    protocol, which the policy does not govern."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(function, arg):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {function}")
        page.wait_for_timeout(50)


def next_field(page, key: str) -> None:  # type: ignore[no-untyped-def]
    """Press ``key`` on a single-field screen and wait for the next one (shown without a page load:
    the page fetched it ahead and sends the answer in the background)."""
    before = page.get_attribute("#field", "data-id")
    page.keyboard.press(key)
    wait_until(page, "id => { const f = document.getElementById('field'); return !f || f.dataset.id !== id; }",
               before)


def no_violations(page) -> None:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_snapshot()


def test_two_verifiers_never_get_the_same_task(queue_server: LiveServer, browser) -> None:  # type: ignore[no-untyped-def]
    pages = []
    for name in ("vera", "victor"):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        sign_in(page, queue_server, name)
        pages.append(page)
    for page in pages:
        page.goto(queue_server.url + "/verify/field?kind=text")
    held = [page.get_attribute("#field", "data-id") for page in pages]
    assert None not in held and held[0] != held[1]
    for page, skipped in zip(pages, held, strict=True):
        next_field(page, "Escape")  # skip: the field goes back to the queue, another one comes
        assert page.get_attribute("#field", "data-id") not in (skipped, None)
        with page.expect_navigation():
            page.click("button[value=stop]")  # and stop: that one goes back too
    for page in pages:
        page.goto(queue_server.url + "/verify/grid")
    tiles = [set(page.eval_on_selector_all(".tile", "ts => ts.map(t => t.dataset.id)")) for page in pages]
    assert tiles[0] and tiles[1] and not tiles[0] & tiles[1]
    for page in pages:
        with page.expect_navigation():
            page.keyboard.press("Enter")  # one key confirms a screen with nothing to change
        assert "confirmed" in page.inner_text(".flash-success")
        page.context.close()


def test_clear_a_mixed_queue_with_the_keyboard_alone(queue_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, queue_server, "vera")
    page.goto(queue_server.url + "/verify/")
    assert "tick-box fields waiting" in page.inner_text("main")
    no_violations(page)
    # grid screens: Enter confirms each; on the first, the second person's reading is "cannot tell"
    page.goto(queue_server.url + "/verify/grid")
    no_violations(page)
    page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
    screens, cannot = 0, None
    while page.locator(".tile").count():
        if screens == 0 and page.locator(".tile").count() > 1:
            page.keyboard.press("ArrowRight")
            page.keyboard.press("c")
            assert page.locator(".tile.unsure").count() == 1
            page.keyboard.press("1")  # choosing an answer says the person can tell after all
            assert page.locator(".tile.unsure").count() == 0
            page.keyboard.press("c")
            cannot = page.get_attribute(".tile.unsure", "data-id")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        screens += 1
        assert screens < 20
    assert "No tick boxes to check" in page.inner_text("h1")
    # the field that could not be told on the grid, on its own screen: "1" ticks the first option
    page.goto(queue_server.url + "/verify/field?kind=choice")
    if cannot is not None:
        assert page.get_attribute("#field", "data-id") == cannot
        no_violations(page)
        page.keyboard.press("1")
        next_field(page, "Enter")
    # written answers: type one, mark one illegible, flag one, accept the machine's suggestion on the rest
    page.goto(queue_server.url + "/verify/field?kind=text")
    no_violations(page)
    page.screenshot(path=str(tmp_path / "written.png"), full_page=True)
    typed = 0
    while page.locator("#field").count():
        if typed == 0:
            page.keyboard.press("Control+A")
            page.keyboard.type("Respect for each other")
            next_field(page, "Enter")
            with page.expect_navigation():
                page.keyboard.press("Shift+Enter")  # back to that answer, to change it
            assert page.input_value("#value") == "Respect for each other"
            page.keyboard.press("Control+A")
            page.keyboard.type("Respect for everyone")
            key = "Enter"
        elif typed == 1:
            page.keyboard.press("Control+K")  # the whole page, for once
            wait_until(page, "() => document.querySelector('details.context img').naturalWidth > 0")
            no_violations(page)
            key = "Control+I"
        elif typed == 2:
            page.keyboard.press("Control+M")
            page.keyboard.type("names a porter")
            key = "Enter"
        else:
            key = "Enter"
        next_field(page, key)
        if typed == 2:  # the answer went in the background; the next screen says what became of it
            wait_until(page, "() => document.getElementById('verify-status').textContent.includes('flagged')")
        typed += 1
        assert typed < 20
    assert typed == 8 and "Nothing to check here" in page.inner_text("h1")
    no_violations(page)

    page.goto(queue_server.url + "/verify/responses")  # both copies lack pages 1, 5 and 6
    assert page.locator("button[value=not_returned]").count() == 2
    no_violations(page)

    exported = queue_server.cli("export")
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(records) == 2
    read_fields = [(r, f) for r in records for f, a in r["answers"].items() if a["confidence"] > 0
                   or a["state"] != "queued"]
    assert len(read_fields) == 20 and all(r["answers"][f]["state"] == "verified" for r, f in read_fields)
    values = sorted(a["value"] for r in records for a in r["answers"].values() if isinstance(a["value"], str))
    assert "Respect for everyone" in values and "Respect for each other" not in values


def test_the_responses_pages_have_no_accessibility_violation(queue_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, queue_server, "victor")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: the tables scroll in their regions
    page.goto(queue_server.url + "/responses/")
    assert "Responses by print run and status" in page.inner_text("main")
    no_violations(page)
    page.screenshot(path=str(tmp_path / "responses.png"), full_page=True)
    page.click("table >> nth=1 >> a")
    assert page.locator("img.crop").count() >= 1  # the verifier sees the fields as written
    no_violations(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
