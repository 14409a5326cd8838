"""The service as `make run` starts it: a real process on 127.0.0.1, driven by a real browser."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import SHIPPED
from tests.integration.conftest import LiveServer
from tests.integration.test_verify_browser import wait_until

pytestmark = pytest.mark.browser


def test_health_and_openapi_over_http(live_server: LiveServer) -> None:
    with urllib.request.urlopen(live_server.url + "/health") as response:
        assert json.load(response) == {"status": "ok"}
    with urllib.request.urlopen(live_server.url + "/api/v1/openapi.json") as response:
        assert json.load(response)["openapi"].startswith("3.1")


def test_api_token_made_by_the_cli_works_over_http(live_server: LiveServer) -> None:
    added = live_server.cli("user", "add", "station", "--role", "verifier", "--password-stdin",
                            input="a long station password\n")
    assert added.returncode == 0, added.stderr
    token = live_server.cli("token", "create", "station").stdout.strip().splitlines()[-1]
    request = urllib.request.Request(live_server.url + "/api/v1/questionnaires",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["items"][0]["questionnaire"] == "big-leeds-conversation"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(live_server.url + "/api/v1/print-runs")
    assert err.value.code == 401


def sign_in_with_keyboard(page, live_server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")
    assert page.url.endswith("/sign-in?next=%2F")
    for _ in range(3):  # the skip link, the site name, then the user name box
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"
    page.keyboard.type(live_server.admin)
    page.keyboard.press("Tab")
    page.keyboard.type(live_server.password)
    page.keyboard.press("Enter")
    page.wait_for_url(live_server.url + "/")


def test_sign_in_with_the_keyboard_alone(live_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    sign_in_with_keyboard(page, live_server)
    assert page.get_by_role("heading", level=1).inner_text() == "Hello, admin"
    page.screenshot(path=str(tmp_path / "home.png"))


def test_wrong_password_shows_an_error_summary(live_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/sign-in")
    page.fill("#name", "admin")
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    assert "There is a problem" in page.inner_text(".error-summary")
    assert page.get_attribute("#password", "aria-invalid") == "true"


def test_order_a_print_run_and_watch_it_in_the_browser(live_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sign_in_with_keyboard(page, live_server)
    page.get_by_role("link", name="Print", exact=True).click()
    page.select_option("#variant", "large-print")
    page.fill("#copies", "40")
    page.fill("#batch", "Estates night shift")
    page.get_by_role("button", name="Draw the PDF").click()
    page.wait_for_url("**/print/runs/*")
    page.get_by_text("Ready: 40 copies drawn.").wait_for(timeout=60_000)
    assert page.eval_on_selector("#bar", "b => b.value") == 40
    page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the PDF").click()
    saved = tmp_path / "run.pdf"
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert info.value.suggested_filename.endswith(".pdf")
    page.get_by_role("link", name="Back to print runs").click()
    row = page.locator("tbody tr").filter(has_text="Estates night shift")
    assert "large-print" in row.inner_text() and "done" in row.inner_text()
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: the table scrolls inside its region
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_previews_show_every_page(live_server: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    sign_in_with_keyboard(page, live_server)
    page.goto(live_server.url + "/print/preview/big-leeds-conversation/2026-11/easy-read")
    images = page.locator(".previews img")
    assert images.count() == 12
    images.first.scroll_into_view_if_needed()
    wait_until(page, "() => document.querySelector('.previews img').naturalWidth > 0")


def test_upload_scans_watch_them_read_and_set_a_page_aside(live_server: LiveServer, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Data-entry staff upload several files at once, see them read, and deal with a page that needs a new scan."""
    import io
    import shutil

    import numpy as np
    from PIL import Image

    from forms_lab.synth.batch import synth_sheets, write_scan_files
    from forms_service.questionnaire import load_definition
    from forms_service.sheets import new_sheet_id

    committed = Path(__file__).resolve().parents[2] / "layouts" / "big-leeds-conversation" / "2026-11"
    served = Path(live_server.env["FORMS_SERVICE_LAYOUTS"]) / "big-leeds-conversation" / "2026-11"
    served.mkdir(parents=True, exist_ok=True)
    shutil.copy(committed / "standard.json", served)  # the printed form's layout, as `make run` ships it
    q = load_definition(SHIPPED).questionnaire
    sid = new_sheet_id(np.random.default_rng([7, 1]))  # the same page codes on every run
    [sheet] = synth_sheets(q, "standard", [sid], np.random.default_rng(7), preset="office",
                           population="typical")
    [pdf] = write_scan_files(sheet.pages[:2], tmp_path / "in", "pdf", "first-two")
    # page 3 upside down on the glass with three of its four registration marks covered by a hand
    third = sheet.pages[2]
    covered = third.image.copy()
    k = third.dpi / 72.0
    for x, y in ((42.5, 42.5), (552.8, 42.5), (42.5, 799.4)):
        covered[max(0, int((y - 40) * k)):int((y + 40) * k), max(0, int((x - 40) * k)):int((x + 40) * k)] = 255
    buf = io.BytesIO()
    Image.fromarray(covered[::-1, ::-1].copy()).save(buf, format="PNG", dpi=(third.dpi, third.dpi))
    (tmp_path / "in" / "covered.png").write_bytes(buf.getvalue())

    sign_in_with_keyboard(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Scans").click()
    page.set_input_files("#files", [str(pdf), str(tmp_path / "in" / "covered.png")])
    page.get_by_role("button", name="Upload and read").click()
    page.wait_for_url("**/scans/jobs/*")
    page.get_by_text("Finished: 2 pages read.").wait_for(timeout=120_000)
    assert re.fullmatch(r"Upload \d+", page.locator("h1").inner_text())
    assert page.eval_on_selector("#bar", "b => b.value") == 3
    assert "Pages for a person to identify" in page.inner_text("main") and "read (1 page)" in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "job.png"), full_page=True)
    page.get_by_role("link", name="Identify them").click()
    page.get_by_role("link", name="Identify page 1 of covered.png").click()
    assert "identifying it by hand will not help" in page.inner_text("main")
    assert page.locator("#sheet").count() == 0  # nothing to type: only a new scan helps
    page.get_by_role("button", name="Set aside for a new scan").focus()
    page.screenshot(path=str(tmp_path / "identify.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url("**/scans/unidentified")
    assert "Page 1 of covered.png was set aside" in page.inner_text("main")
    assert "No page is waiting" in page.inner_text("main")


def test_the_first_administrator_chooses_their_own_password(tmp_path_factory, page) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.conftest import serve

    for server in serve(tmp_path_factory.mktemp("first"), generated_password=True):
        page.goto(server.url + "/sign-in")
        page.fill("#name", "admin")
        page.fill("#password", server.password)
        page.keyboard.press("Enter")
        page.wait_for_url(server.url + "/account/password")
        assert "Choose your own password first" in page.inner_text("main")
        page.goto(server.url + "/print/")  # nothing else until then
        assert page.url == server.url + "/account/password"
        page.fill("#current", server.password)
        page.fill("#new", "a password of my own choosing")
        page.fill("#repeat", "a password of my own choosing")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.goto(server.url + "/print/")
        assert page.url == server.url + "/print/"
