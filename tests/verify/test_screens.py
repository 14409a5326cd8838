"""The single-field screen as the browser's script drives it: the next screen fetched ahead, answers
sent in the background with a JSON reply (the keys themselves are tested in Chromium)."""

from __future__ import annotations

import re

from forms_service.context import ServiceContext
from forms_service.services import verify
from tests.conftest import csrf_token, sign_in

FETCH = {"X-Requested-With": "fetch"}


def field_id(html: str) -> int:
    found = re.search(r'id="field"[^>]*data-id="(\d+)"', html)
    assert found, html[:400]
    return int(found.group(1))


def test_the_next_screen_is_fetched_ahead_and_the_answer_goes_in_the_background(
        queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    vera, _ = verifier("vera")
    sign_in(client, "vera")
    screen = client.get("/verify/field?kind=choice").get_data(as_text=True)
    now = field_id(screen)
    assert 'src="data:image/png;base64,' in screen  # the picture comes with the screen
    ahead_url = re.search(r'data-next-url="([^"]+)"', screen).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    ahead = client.get(ahead_url).get_data(as_text=True)
    following = field_id(ahead)
    assert following != now
    assert set(verify.renew(queued, vera, [now, following])) == {now, following}  # both held by vera

    task = verify.field_task(queued, now)
    value = task.options[0].value
    data = {"csrf_token": csrf_token(screen), "type": task.type, "kind": "choice", "action": "save",
            "value": value}
    saved = client.post(f"/verify/field/{now}", data=data, headers=FETCH)
    assert saved.status_code == 200 and saved.get_json() == {"saved": True, "message": "Saved."}
    assert verify.field_task(queued, now).state == "verified"
    again = client.post(f"/verify/field/{now}", data=data, headers=FETCH)
    assert again.status_code == 409 and "answered already" in again.get_json()["message"]
    wrong = client.post(f"/verify/field/{following}", data={**data, "value": "not-an-option"}, headers=FETCH)
    assert wrong.status_code == 400 and wrong.get_json()["saved"] is False
    assert verify.field_task(queued, following).state == "queued"
    # the screen after the one fetched ahead is yet another field
    assert field_id(client.get(f"/verify/field?kind=choice&after={following}").get_data(as_text=True)) not in (
        now, following)


def test_a_1_bit_scan_showing_no_mark_is_left_for_the_paper(ctx: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    """A black-and-white scan turns a pencil tick white: a field with no ink in any box is never
    settled as "none ticked" from the picture; its grid tile arrives as "cannot tell" with a note,
    and its single-field screen and the API say to look at the paper."""
    import io
    import tempfile
    from pathlib import Path

    import pypdfium2

    from forms_service.pdfium import PDFIUM_LOCK
    from forms_service.questionnaire import load_definition
    from forms_service.render import render_pdf
    from forms_service.services import ingest, jobs
    from tests.conftest import SHIPPED

    q = load_definition(SHIPPED).questionnaire
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "blank.pdf"
        render_pdf(q, "standard", pdf, copies=1)
        with PDFIUM_LOCK:
            doc = pypdfium2.PdfDocument(str(pdf))
            grey = doc[1].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
            doc.close()
    buf = io.BytesIO()
    grey.point(lambda v: 255 if v > 128 else 0).convert("1").save(buf, format="PNG", dpi=(200, 200))
    batch = ingest.accept_files(ctx, [("blank-1bit.png", buf.getvalue())])
    jobs.run_now(ctx, batch.job_id)

    vera, headers = verifier("vera")
    items = client.get("/api/v1/queue?limit=20&kind=choice", headers=headers).get_json()["items"]
    assert items and all(i["paper"] for i in items)  # every box blank on a 1-bit page
    for i in items:
        client.post(f"/api/v1/queue/{i['id']}/release", headers=headers)

    sign_in(client, "vera")
    grid = client.get("/verify/grid").get_data(as_text=True)
    assert "No mark shows on this black-and-white scan" in grid
    tiles = re.findall(r'name="cannot-(\d+)" value="1" tabindex="-1"( checked)?', grid)
    assert tiles and all(checked for _id, checked in tiles)  # Enter leaves them for a closer look
    data = {"csrf_token": csrf_token(grid), "type": "single_choice", "action": "confirm",
            "ids": [i for i, _ in tiles], **{f"cannot-{i}": "1" for i, _ in tiles}}
    client.post("/verify/grid", data=data)
    single = client.get("/verify/field?kind=choice").get_data(as_text=True)
    assert "Look at the paper form" in single
    assert verify.field_task(ctx, field_id(single)).paper


def test_a_field_the_machine_could_not_decide_is_not_pre_marked_with_a_guess(
        queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    """A tick-box reading no better than even odds arrives on the grid as "cannot tell", with a note:
    Enter alone never confirms a coin's guess; the field waits for its single-field screen."""
    from sqlalchemy import select, update

    from forms_service.store.models import FieldReading

    with queued.db.session() as s:
        rows = list(s.execute(select(FieldReading.id, FieldReading.field_id).where(
            FieldReading.field_id.like("values.%")).order_by(FieldReading.id)))
        unsure = rows[0][0]
        s.execute(update(FieldReading).where(FieldReading.id == unsure).values(confidence=0.4943))
    verifier("vera")
    sign_in(client, "vera")
    grid = client.get("/verify/grid").get_data(as_text=True)
    if "could not decide" not in grid:  # the group question came first: confirm it, the rating is next
        tiles = re.findall(r'name="ids" value="(\d+)"', grid)
        client.post("/verify/grid", data={"csrf_token": csrf_token(grid), "type": "single_choice",
                                          "action": "confirm", "ids": tiles})
        grid = client.get("/verify/grid").get_data(as_text=True)
    assert grid.count("The machine could not decide this one") == 1
    tiles = re.findall(r'name="cannot-(\d+)" value="1" tabindex="-1"( checked)?', grid)
    assert [int(i) for i, checked in tiles if checked] == [unsure]
    assert verify.field_task(queued, unsure).undecided
    data = {"csrf_token": csrf_token(grid), "type": "single_choice", "action": "confirm",
            "ids": [i for i, _ in tiles], f"cannot-{unsure}": "1"}
    client.post("/verify/grid", data=data)
    assert verify.field_task(queued, unsure).state == "queued"
    assert field_id(client.get("/verify/field?kind=choice").get_data(as_text=True)) == unsure
