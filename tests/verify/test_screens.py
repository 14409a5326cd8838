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
