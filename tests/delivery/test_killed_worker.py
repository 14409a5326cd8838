"""A delivery run killed mid-run (SIGKILL) and started again: nothing lost, nothing posted twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import update

from forms_lab.fake_discourse import API_KEY, running_forum
from forms_service.context import ServiceContext
from forms_service.services import delivery, moderation
from forms_service.states import OutboxState
from forms_service.store.models import OutboxEntry, utcnow


def test_a_killed_delivery_run_loses_nothing_and_posts_nothing_twice(screened: ServiceContext, moderator) -> None:  # type: ignore[no-untyped-def]
    alice, _ = moderator("alice")
    for item in moderation.next_items(screened, alice, limit=5):  # four ready in all
        moderation.act(screened, alice, item.id, "release")
    with running_forum() as forum:
        forum.slow_seconds = 30.0
        forum.faults = ["slow-after"] * 4  # each topic is made, then its answer takes 30 s
        env = {**os.environ, "FORMS_SERVICE_HOME": str(screened.config.home),
               "FORMS_SERVICE_LAYOUTS": str(screened.config.layouts), "DATABASE_URL": screened.config.database_url,
               "FORMS_SERVICE_SECRET_KEY": screened.config.secret_key, "FORMS_SERVICE_CONVERSATION": "discourse",
               "DISCOURSE_URL": forum.url, "DISCOURSE_API_KEY": API_KEY, "DISCOURSE_API_USERNAME": "paper-responses",
               "DISCOURSE_CATEGORIES": "staff=5", "DISCOURSE_TIMEOUT": "60"}
        exe = Path(sys.executable).with_name("forms-service")
        proc = subprocess.Popen([str(exe), "deliver"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not forum.topics and time.monotonic() < deadline:
            time.sleep(0.05)
        assert forum.topics, "the first topic never arrived"
        os.kill(proc.pid, signal.SIGKILL)  # the topic is made; its answer never reaches the service
        proc.wait(timeout=30)
        assert delivery.counts(screened)["sent"] == 0
        with screened.db.session() as s:  # five minutes later the killed run's claim has run out
            s.execute(update(OutboxEntry).where(OutboxEntry.state == OutboxState.PENDING)
                      .values(next_attempt_at=utcnow()))
        forum.faults = []
        screened.config = screened.config.with_(conversation="discourse", discourse=load_discourse(env))
        result = delivery.deliver(screened)
        assert (result.already, result.delivered) == (1, 3)
        assert sorted(t["external_id"] for t in forum.topics.values()) == sorted(
            delivery.idempotency_key(screened, cid) for cid, _a, _t in moderation.ready(screened))
        assert delivery.counts(screened)["sent"] == 4


def load_discourse(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from forms_service.config import load_config

    return load_config(env, ensure_home=False).discourse
