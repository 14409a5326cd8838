"""Delivery to a Discourse forum that misbehaves (a real HTTP server on 127.0.0.1): every ready
contribution ends up a topic in its area's category exactly once; nothing held, no sheet id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forms_lab.fake_discourse import API_KEY, Forum, running_forum
from forms_service.config import DiscourseSettings
from forms_service.context import ServiceContext
from forms_service.conversation import Post
from forms_service.conversation.discourse import DiscourseTarget, sentence_case, title_for
from forms_service.services import delivery, moderation
from forms_service.store.models import DeliveryRun, OutboxEntry, Response, utcnow
from tests.delivery.conftest import WRITTEN


@pytest.fixture
def forum() -> Iterator[Forum]:
    with running_forum() as f:
        yield f


@pytest.fixture
def to_forum(screened: ServiceContext, forum: Forum) -> ServiceContext:
    screened.config = screened.config.with_(conversation="discourse", delivery_attempts=8, discourse=DiscourseSettings(
        forum.url, API_KEY, "paper-responses", {"staff": 5, "student": 6}, rate_per_minute=6000, timeout=0.5))
    return screened


def run_until_settled(ctx: ServiceContext, runs: int = 12) -> None:
    later = utcnow()
    for _ in range(runs):
        later += timedelta(days=1)  # every retry due
        delivery.deliver(ctx, now=later)


def test_every_ready_answer_becomes_one_topic_whatever_the_forum_does(to_forum: ServiceContext, forum: Forum,
                                                                      moderator) -> None:  # type: ignore[no-untyped-def]
    alice, _ = moderator("alice")
    held = {i.text: i for i in moderation.next_items(to_forum, alice, limit=5)}
    moderation.act(to_forum, alice, held[WRITTEN[1]].id, "redact",
                   spans=[[f["start"], f["end"]] for f in held[WRITTEN[1]].findings])
    moderation.act(to_forum, alice, held[WRITTEN[1]].id, "release")  # three ready, one still held
    forum.faults = ["500", "429", "drop-after", "slow", "drop-before", "500"]
    assert delivery.health(to_forum)["state"] == "unknown"
    first = delivery.deliver(to_forum)
    assert first.retrying >= 1  # the forum's trouble is retried, not lost
    trouble = delivery.health(to_forum)
    assert trouble["state"] in ("failing", "slowed") and trouble["error"] and trouble["since"]
    run_until_settled(to_forum)
    assert delivery.health(to_forum)["state"] == "ok" and delivery.health(to_forum)["last_delivered_at"]
    texts = sorted(t["raw"].split("\n\n*This answer")[0] for t in forum.topics.values())
    assert texts == sorted([WRITTEN[0], WRITTEN[3], "call me on [contact details removed] if you want to talk about it"])
    assert {t["category"] for t in forum.topics.values()} == {5}
    assert len({t["title"] for t in forum.topics.values()}) == 3
    with to_forum.db.session() as s:
        sheets = [r.sheet_id for r in s.scalars(select(Response))]
        assert {e.state for e in s.scalars(select(OutboxEntry))} == {"sent"}
    assert not any(sheet in str(t) for sheet in sheets for t in forum.topics.values())
    assert all("submitted on paper" in t["raw"] for t in forum.topics.values())
    before = len(forum.requests)
    run_until_settled(to_forum, runs=2)  # nothing left to do: no request at all
    assert len(forum.requests) == before
    with to_forum.db.session() as s:  # an idle sweep writes nothing
        assert s.scalar(select(func.count()).select_from(DeliveryRun).where(DeliveryRun.tried == 0)) == 0


def test_a_refusal_is_a_dead_letter_with_the_forums_words(to_forum: ServiceContext, forum: Forum) -> None:
    target = DiscourseTarget(to_forum.config.discourse)
    with to_forum.db.session() as s:
        entries = list(s.scalars(select(OutboxEntry)))
    [(_, area, text)] = [r for r in moderation.ready(to_forum) if r[0] == entries[0].contribution_id]
    # another topic already holds this title (the forum refuses a repeated title)
    forum.topics[99] = {"id": 99, "title": title_for(Post(entries[0].key, area, text)), "raw": "x" * 30,
                        "category": 5, "external_id": "someone-else"}
    result = delivery.deliver(to_forum)
    assert result.dead == 1
    with to_forum.db.session() as s:
        dead = s.get(OutboxEntry, entries[0].id)
        assert dead is not None and dead.state == "dead" and "Title has already been used" in (dead.last_error or "")
    delivery.retry_dead(to_forum, entries[0].id)  # an administrator retries it (after changing the forum)
    del forum.topics[99]
    assert delivery.deliver(to_forum).delivered == 1
    assert target.exists(entries[0].key) is not None


def test_the_forums_rules_are_met_or_refused_clearly(forum: Forum) -> None:
    post = Post("paper-0123456789abcdef0123456789abcdef", "staff", "RESPECT")
    assert len(title_for(post)) >= 15 and title_for(post).endswith("(paper response abcdef)")
    assert sentence_case("PLEASE FIX THE HEATING. I AM COLD") == "Please fix the heating. I am cold"
    target = DiscourseTarget(DiscourseSettings(forum.url, API_KEY, "paper-responses", {"staff": 5},
                                               rate_per_minute=6000, timeout=0.5))
    assert target.send(post) == "1"
    assert forum.topics[1]["raw"].startswith("Respect")
    from forms_service.conversation import Refused

    with pytest.raises(Refused, match="No Discourse category is set for the area 'student'"):
        target.send(Post("paper-x", "student", "Kindness and honesty matter"))
    wrong = DiscourseTarget(DiscourseSettings(forum.url, "not-the-key", "paper-responses", {"staff": 5},
                                              rate_per_minute=6000, timeout=0.5))
    with pytest.raises(Refused, match="check DISCOURSE_API_KEY") as refused:
        wrong.send(Post("paper-y", "staff", "Kindness and honesty matter"))
    assert "not-the-key" not in str(refused.value)
