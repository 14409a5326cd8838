"""The moderator's screen with the test client: findings marked, markup shown as text, each action a form."""

from __future__ import annotations

import re

from forms_service.context import ServiceContext
from forms_service.services import moderation
from tests.conftest import csrf_token, sign_in


def test_a_moderator_redacts_and_releases_and_sees_markup_as_text(
        screened: ServiceContext, client, moderator, make_user) -> None:  # type: ignore[no-untyped-def]
    moderator("mo")
    sign_in(client, "mo")
    page = client.get("/moderate/").get_data(as_text=True)
    assert "call me on <mark" in page and "phone" in page  # the first held answer, its phone number marked
    item = int(re.search(r'id="moderate" data-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
    renewed = client.post("/moderate/renew", data={"csrf_token": csrf_token(page), "ids": [str(item), "999999"]})
    assert renewed.get_json() == {"held": [item]}  # the page keeps its answer held; not someone else's
    done = client.post(f"/moderate/{item}", data={"csrf_token": csrf_token(page), "action": "redact",
                                                  "finding": "1"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert "Redacted" in page and "call me on [contact details removed] if you want" in page
    page = client.post(f"/moderate/{item}", data={"csrf_token": csrf_token(page), "action": "release"},
                       follow_redirects=True).get_data(as_text=True)
    assert "Released" in page
    # the next: the typist's flag and the singling-out description; its markup is text, never HTML
    assert "&lt;b&gt;ever&lt;/b&gt;" in page and "<b>ever</b>" not in page
    assert "flagged by the person who typed it: names a porter" in page
    nxt = int(re.search(r'id="moderate" data-id="(\d+)"', page).group(1))  # type: ignore[union-attr]
    refused = client.post(f"/moderate/{nxt}", data={"csrf_token": csrf_token(page), "action": "withhold",
                                                    "reason": " "}, follow_redirects=True)
    assert "Say why it is withheld" in refused.get_data(as_text=True)
    page = refused.get_data(as_text=True)
    gone = client.post(f"/moderate/{nxt}", data={"csrf_token": csrf_token(page), "action": "withhold",
                                                 "reason": "names the head porter"}, follow_redirects=True)
    assert "Nothing to moderate" in gone.get_data(as_text=True)
    assert moderation.counts(screened) == {"held": 0, "passed": 2, "released": 1, "withheld": 1, "split": 0}
    # roles: a verifier sees no moderation, an administrator reads the log
    make_user("vic", "verifier")
    other = client.application.test_client()
    sign_in(other, "vic")
    assert other.get("/moderate/").status_code == 403
    assert other.get("/moderate/audit").status_code == 403
    make_user("ada", "administrator")
    admin = client.application.test_client()
    sign_in(admin, "ada")
    log = admin.get("/moderate/audit").get_data(as_text=True)
    assert "names the head porter" in log and "mo" in log
