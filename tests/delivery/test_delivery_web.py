"""The administrators' delivery page: per-area counts, a run on demand, dead letters retried or withheld."""

from __future__ import annotations

from forms_service.context import ServiceContext
from forms_service.conversation import Post
from forms_service.conversation.discourse import title_for
from forms_service.services import delivery, moderation
from tests.conftest import csrf_token, sign_in
from tests.delivery.test_discourse import forum, to_forum  # noqa: F401  (the misbehaving forum)


def test_dead_letters_are_listed_retried_or_withheld(to_forum: ServiceContext, forum, client, make_user) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for cid, area, text in moderation.ready(to_forum):  # the forum already holds both titles: both refused
        key = delivery.idempotency_key(to_forum, cid)
        forum.topics[len(forum.topics) + 100] = {"id": 0, "title": title_for(Post(key, area, text)),
                                                 "raw": "x" * 30, "category": 5, "external_id": f"other-{cid}"}
    make_user("ada", "administrator")
    make_user("mo", "moderator")
    sign_in(client, "ada")
    page = client.get("/delivery/").get_data(as_text=True)
    assert "Target: <strong>discourse</strong>" in page and "None: nothing the target refused" in page
    assert "<h2>Not tried yet</h2>" in page
    page = client.post("/delivery/run", data={"csrf_token": csrf_token(page)}, follow_redirects=True).get_data(
        as_text=True)
    assert "2 dead letters" in page and page.split('class="dead-letters"')[1].count("Title has already been used") == 2
    assert "<h2>Working, with refusals</h2>" in page and "refused 2 contributions" in page
    assert "Not tried yet" not in page and "<svg" in page  # the forum's health, and the chart of areas
    [first, second] = delivery.dead_letters(to_forum)
    refused = client.post(f"/delivery/dead/{first.id}", data={"csrf_token": csrf_token(page), "action": "withhold",
                                                              "reason": ""}, follow_redirects=True)
    assert "Say why it is withheld" in refused.get_data(as_text=True)
    client.post(f"/delivery/dead/{first.id}", data={"csrf_token": csrf_token(page), "action": "withhold",
                                                    "reason": "a duplicate of a post online"})
    forum.topics = {k: v for k, v in forum.topics.items() if k < 100}  # the forum's clash is cleared
    page = client.post(f"/delivery/dead/{second.id}", data={"csrf_token": csrf_token(page), "action": "retry"},
                       follow_redirects=True).get_data(as_text=True)
    assert "sent again on the next run" in page
    assert delivery.deliver(to_forum).delivered == 1 and delivery.dead_letters(to_forum) == []
    assert {c[0] for c in moderation.ready(to_forum)} == {second_contribution(to_forum, second.id)}
    other = client.application.test_client()
    sign_in(other, "mo")
    assert other.get("/delivery/").status_code == 403


def second_contribution(ctx: ServiceContext, entry_id: int) -> int:
    from forms_service.store.models import OutboxEntry

    with ctx.db.session() as s:
        entry = s.get(OutboxEntry, entry_id)
        assert entry is not None
        return entry.contribution_id
