"""Delivery to the export target: each ready contribution lands in its area's files exactly once;
nothing held or withheld ever does, whichever path runs delivery (service, CLI, API, worker task)."""

from __future__ import annotations

import json

from sqlalchemy import select, update

from forms_service.context import ServiceContext
from forms_service.services import delivery, moderation
from forms_service.store.models import OutboxEntry, utcnow
from tests.delivery.conftest import WRITTEN


def exported(ctx: ServiceContext) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for key in ctx.storage.keys("outbox/"):
        if key.endswith(".jsonl"):
            lines += [json.loads(x) for x in ctx.storage.read(key).decode("utf-8").splitlines() if x]
    return lines


def test_ready_contributions_are_exported_once_and_held_ones_never(screened: ServiceContext, moderator) -> None:  # type: ignore[no-untyped-def]
    first = delivery.deliver(screened)
    assert (first.delivered, first.dead, first.retrying) == (2, 0, 0)
    lines = exported(screened)
    assert sorted(x["text"] for x in lines) == sorted([WRITTEN[0], WRITTEN[3]])
    assert all(set(x) == {"key", "area", "text", "submitted"} and x["area"] == "staff" for x in lines)
    assert all(str(x["key"]).startswith("paper-") and len(str(x["key"])) <= 50 for x in lines)
    csv_text = screened.storage.read("outbox/staff.csv").decode("utf-8")
    assert csv_text.splitlines()[0] == "key,area,text,submitted" and len(csv_text.splitlines()) == 3
    # nothing twice: a second run sends nothing
    assert delivery.deliver(screened).delivered == 0 and len(exported(screened)) == 2
    # a moderator releases one held answer (redacted) and withholds the other
    alice, _ = moderator("alice")
    held = {i.text: i for i in moderation.next_items(screened, alice, limit=5)}
    phone = held[WRITTEN[1]]
    moderation.act(screened, alice, phone.id, "redact", spans=[[f["start"], f["end"]] for f in phone.findings])
    moderation.act(screened, alice, phone.id, "release")
    moderation.act(screened, alice, held[WRITTEN[2]].id, "withhold", reason="singles out the head porter")
    assert delivery.deliver(screened).delivered == 1
    texts = [x["text"] for x in exported(screened)]
    assert "call me on [contact details removed] if you want to talk about it" in texts
    assert not any("07700" in str(t) or "porter" in str(t) for t in texts)
    assert len(texts) == len(set(texts)) == 3


def test_an_answer_lost_after_the_file_was_written_is_not_sent_again(screened: ServiceContext) -> None:
    target = delivery.ExportTarget(screened.storage)
    with screened.db.session() as s:
        entry = s.scalars(select(OutboxEntry)).first()
        assert entry is not None
        key, contribution_id = entry.key, entry.contribution_id
    [(_, area, text)] = [r for r in moderation.ready(screened) if r[0] == contribution_id]
    assert delivery._claim(screened, entry.id, utcnow()) == 0  # a run takes it (its first attempt) ...
    target.send(delivery.Post(key, area, text))  # ... writes it, and dies before marking it sent
    with screened.db.session() as s:  # five minutes on, the dead run's claim has run out
        s.execute(update(OutboxEntry).values(next_attempt_at=utcnow()))
    result = delivery.deliver(screened)
    assert (result.already, result.delivered) == (1, 1)
    assert [x["key"] for x in exported(screened)].count(key) == 1


def test_the_cli_and_the_api_run_delivery_and_say_what_happened(screened: ServiceContext, client, make_user) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import users

    make_user("ada", "administrator")
    token = {"Authorization": f"Bearer {users.create_token(screened, 'ada')}"}
    answer = client.post("/api/v1/delivery/run", headers=token)
    assert answer.status_code == 200
    assert answer.get_json() == {"delivered": 2, "waiting_to_retry": 0, "dead_letters": 0, "found_delivered": 0}
    make_user("mo", "moderator")
    other = {"Authorization": f"Bearer {users.create_token(screened, 'mo')}"}
    assert client.post("/api/v1/delivery/run", headers=other).status_code == 403


def test_forms_service_deliver(screened: ServiceContext) -> None:
    from click.testing import CliRunner

    from forms_service.cli import main

    env = {"FORMS_SERVICE_HOME": str(screened.config.home), "FORMS_SERVICE_LAYOUTS": str(screened.config.layouts),
           "DATABASE_URL": screened.config.database_url, "FORMS_SERVICE_SECRET_KEY": screened.config.secret_key}
    first = CliRunner().invoke(main, ["deliver"], env=env, catch_exceptions=False)
    assert first.exit_code == 0 and first.output.strip() == "2 contributions delivered."
    again = CliRunner().invoke(main, ["deliver"], env=env, catch_exceptions=False)
    assert again.exit_code == 0 and again.output.strip() == "0 contributions delivered."
    assert len(exported(screened)) == 2


def test_two_runs_at_once_never_send_an_entry_twice(screened: ServiceContext) -> None:
    """Two workers (the embedded one and Celery, say) run delivery at the same moment: each entry is
    claimed by one of them (a conditional update), and the other passes it by."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _n: delivery.deliver(screened), range(2)))
    assert sum(r.delivered for r in results) == 2
    keys = [x["key"] for x in exported(screened)]
    assert len(keys) == len(set(keys)) == 2


def test_a_held_answer_reaches_no_target_by_any_path(screened: ServiceContext, client, make_user) -> None:  # type: ignore[no-untyped-def]
    """Held answers stay out whichever way delivery runs: the service, the API, the CLI, a worker's job,
    the workers' sweep; even an outbox entry forged for a held answer is passed by."""
    from click.testing import CliRunner

    from forms_service.cli import main
    from forms_service.jobs import queue
    from forms_service.registry import PERIODIC
    from forms_service.services import jobs, users
    from forms_service.states import OutboxState
    from forms_service.store.models import Contribution, utcnow

    with screened.db.session() as s:
        held = [c for c in s.scalars(select(Contribution)) if c.state == "held"]
        assert len(held) == 2
        for c in held:  # as if a bug had queued them
            s.add(OutboxEntry(contribution_id=c.id, key=delivery.idempotency_key(screened, c.id), target="export",
                              state=OutboxState.PENDING, attempts=0, next_attempt_at=utcnow(), created_at=utcnow()))
    make_user("ada", "administrator")
    token = {"Authorization": f"Bearer {users.create_token(screened, 'ada')}"}
    env = {"FORMS_SERVICE_HOME": str(screened.config.home), "FORMS_SERVICE_LAYOUTS": str(screened.config.layouts),
           "DATABASE_URL": screened.config.database_url, "FORMS_SERVICE_SECRET_KEY": screened.config.secret_key}
    delivery.deliver(screened)
    assert client.post("/api/v1/delivery/run", headers=token).status_code == 200
    assert CliRunner().invoke(main, ["deliver"], env=env, catch_exceptions=False).exit_code == 0
    job = queue.enqueue(screened, "deliver", {})
    assert jobs.run_now(screened, job).state == "done"
    PERIODIC["deliver"].fn(screened)
    texts = [str(x["text"]) for x in exported(screened)]
    assert sorted(texts) == sorted([WRITTEN[0], WRITTEN[3]])
    assert not any(t in texts for t in (WRITTEN[1], WRITTEN[2]))
