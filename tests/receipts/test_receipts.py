"""A paper respondent looks their receipt code up and sees what became of each written answer,
with no account; the code is nowhere but on the slip; the page resists guessing; the purge
forgets the codes with the scans."""

from __future__ import annotations

import json
import logging

import pytest

from forms_service import receipts as codes
from forms_service.app import create_app
from forms_service.context import ServiceContext
from forms_service.services import export, receipts, retention, users
from forms_service.sheets import PageCode
from tests.conftest import PASSWORD, csrf_token, sign_in
from tests.receipts.conftest import Delivered


def look_up(client, code: str, path: str = "/receipt/"):  # type: ignore[no-untyped-def]
    page = client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), "code": code})


def test_a_respondent_sees_what_became_of_each_written_answer(delivered: Delivered, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    ctx = delivered.ctx
    result = receipts.lookup(ctx, delivered.code.lower().replace("-", " "))
    assert result.outcome == "found" and result.returned
    states = {a.question: a.state for a in result.answers}
    assert list(states.values()) == ["posted", "posted_redacted", "withheld_abusive", "blank"]

    app = create_app(ctx.config)
    client = app.test_client()
    page = look_up(client, delivered.code)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Posted in the area for your group." in html
    assert "after a moderator removed a name or contact details" in html
    assert "Not posted: it was abusive." in html and "Nothing to post: this question was left blank." in html
    assert "f*cking" not in html and "07700" not in html  # never a text that was not posted
    assert "staff" not in html.lower().split("<main", 1)[1]  # nor a tick-box answer
    assert delivered.sheet not in html

    bare = delivered.code.replace("-", "")
    wrong = bare[:3] + ("2" if bare[3] != "2" else "3") + bare[4:]
    assert "Check the code" in look_up(client, wrong).get_data(as_text=True)
    assert "Code not found" in look_up(client, codes.new_code()).get_data(as_text=True)

    # the code is on the slip and nowhere else
    assert delivered.code not in caplog.text and bare not in caplog.text
    assert bare not in json.dumps(list(export.iter_records(ctx)))
    for f in (ctx.config.layouts / "big-leeds-conversation" / "2026-12").glob("*.json"):
        assert bare not in f.read_text() and delivered.code not in f.read_text()
    for n in range(1, 9):
        assert bare not in PageCode("big-leeds-conversation", "2026-12", "standard", n, delivered.sheet).encode()
    counted = receipts.counts(ctx)[0]
    assert (counted["found"], counted["mistyped"], counted["unknown"]) == (2, 1, 1)

    # at reception, for people who do not go online
    users.add_user(ctx, "ali", ["accessibility-coordinator"], PASSWORD)
    users.add_user(ctx, "vic", ["verifier"], PASSWORD)
    sign_in(client, "vic")
    assert client.get("/receipt/desk").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    sign_in(client, "ali")
    desk = look_up(client, delivered.code, "/receipt/desk").get_data(as_text=True)
    assert "receipt-print" in desk and "Not posted: it was abusive." in desk

    # once the consultation's records are deleted, the page says so
    done = retention.purge(ctx, trigger="cli", everything=True, include_waiting=True)
    assert done.files == 5  # the pages with fields (the opening page and the slip sheet hold none)
    after = look_up(app.test_client(), delivered.code).get_data(as_text=True)
    assert "records of paper answers were deleted on" in after


def test_lookups_are_throttled_and_take_the_same_time(delivered: Delivered) -> None:
    import time

    app = create_app(delivered.ctx.config.with_(receipt_rate="4 per minute"))
    client = app.test_client()
    timings = {}
    for label, code in (("known", delivered.code), ("unknown", codes.new_code()), ("mistyped", "ABCDE")):
        started = time.perf_counter()
        assert look_up(client, code).status_code == 200
        timings[label] = time.perf_counter() - started
    assert min(timings.values()) >= 0.3  # every answer waits as long as the slowest kind
    assert look_up(client, delivered.code).status_code == 200
    busy = look_up(client, delivered.code)
    assert busy.status_code == 429 and "Please wait a few minutes" in busy.get_data(as_text=True)
    assert look_up(create_app(delivered.ctx.config).test_client(), delivered.code).status_code == 200


@pytest.mark.parametrize("code", ["", "x" * 200, "<script>alert(1)</script>", "K7MQ9-XHTP4-R2AB\x00C"])
def test_bad_input_gets_one_sentence(ctx: ServiceContext, code: str) -> None:
    client = create_app(ctx.config).test_client()
    page = look_up(client, code)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "Check the code" in html or "Your receipt code" in html
