"""Benchmark of delivery to a Discourse-shaped forum on 127.0.0.1 (forms_lab.fake_discourse).

Usage: python benchmarks/deliver.py [--contributions 200] [--rate 600] [--faults 0.3] [--seed 5]

Builds a fresh SQLite home holding ``--contributions`` ready contributions (outbox entries
pending), then runs delivery until every one is delivered, the forum failing ``--faults`` of its
answers to new topics (500s, 429 with Retry-After, connections dropped before and after the
topic is made, in equal shares). Retries are made due at once between runs (the backoff's
waiting is not timed). Prints contributions delivered per minute of sending, against the
ceiling the client-side rate limit sets (``--rate`` requests a minute), and the forum requests
made per contribution; checks that every contribution is one topic.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from forms_lab.fake_discourse import API_KEY, running_forum
from forms_service.config import Config, DiscourseSettings
from forms_service.context import ServiceContext
from forms_service.services import delivery, questionnaires
from forms_service.states import ContributionState, OutboxState
from forms_service.store.models import Contribution, OutboxEntry, Response, utcnow

WORDS = ("respect", "kindness", "listening", "fair pay", "honesty", "time to think", "open doors", "curiosity",
         "patience", "trust", "less paperwork", "better buses", "quiet study space", "clear timetables")


def build(ctx: ServiceContext, n: int, rng: random.Random) -> None:
    with ctx.db.session() as s:
        r = Response(public_id=uuid.uuid4().hex[:16], sheet_id="B0000001", questionnaire="big-leeds-conversation",
                     version="2026-11", variant="standard", pages_expected=6, created_at=utcnow())
        s.add(r)
        s.flush()
        for i in range(n):
            text = f"We need more {rng.choice(WORDS)} and {rng.choice(WORDS)}, number {i}."
            c = Contribution(response_id=r.id, field_id=f"q{i}", part=0, area=rng.choice(["staff", "student"]),
                             text=text, findings=[], state=ContributionState.PASSED, spot_check=False)
            s.add(c)
            s.flush()
            delivery.enqueue(ctx, s, c)


def run(n: int, rate: float, faults: float, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder, running_forum() as forum:
        home = Path(folder) / "home"
        home.mkdir()
        config = Config(home=home, layouts=Path(folder) / "layouts", database_url=f"sqlite:///{home / 'db.sqlite'}",
                        secret_key="bench", worker="off", conversation="discourse", delivery_attempts=50,
                        discourse=DiscourseSettings(forum.url, API_KEY, "paper-responses", {"staff": 5, "student": 6},
                                                    rate_per_minute=rate, timeout=2.0))
        ctx = ServiceContext.from_config(config)
        ctx.db.upgrade()
        questionnaires.sync_definitions(ctx)
        build(ctx, n, rng)
        kinds = ["500", "429", "drop-before", "drop-after"]
        forum.faults = [rng.choice(kinds) if rng.random() < faults else "none" for _ in range(10 * n)]
        sending, runs, later = 0.0, 0, utcnow()
        while delivery.counts(ctx)["sent"] < n and runs < 200:
            start = time.perf_counter()
            delivery.deliver(ctx, now=later)
            sending += time.perf_counter() - start
            runs += 1
            later += timedelta(days=1)
        with ctx.db.session() as s:
            dead = sum(1 for e in s.query(OutboxEntry) if e.state == OutboxState.DEAD)
        topics = len(forum.topics)
        keys = {t["external_id"] for t in forum.topics.values()}
        ctx.close()
    assert topics == len(keys) == n and dead == 0, (topics, len(keys), dead)
    return {"per_minute": n / sending * 60, "requests": len(forum.requests) / n, "runs": runs, "seconds": sending}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contributions", type=int, default=200)
    parser.add_argument("--rate", type=float, default=600.0, help="the client's limit, requests a minute")
    parser.add_argument("--faults", type=float, default=0.3, help="share of new-topic answers that fail")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    for faults in (0.0, args.faults):
        r = run(args.contributions, args.rate, faults, args.seed)
        ceiling = args.rate / r["requests"]
        print(f"faults {faults:.0%}: {args.contributions} contributions, each one topic; "
              f"{r['per_minute']:.0f} a minute of sending ({r['per_minute'] / args.rate:.0%} of the rate limit's "
              f"{args.rate:.0f} requests a minute; {r['per_minute'] / ceiling:.0%} of the {ceiling:.0f} a minute "
              f"its requests allow), {r['requests']:.2f} forum requests a contribution, {r['runs']} runs")


if __name__ == "__main__":
    main()
