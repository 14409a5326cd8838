"""Benchmark of the Responses page with many responses: counts by print run and status, a page of them.

Usage: python benchmarks/responses.py [--responses 50000] [--repeat 20] [--database URL]

Builds a fresh database (SQLite in a temporary folder, or a schema of its own in the PostgreSQL at
``--database``) holding ``--responses`` responses of the shipped questionnaire over 20 print runs:
most complete, some with a field waiting for a person, some missing a page (so with fewer fields),
every field a reading, and times, through the real Flask app signed in as an analyst:

* the Responses page (counts by print run and status, the chart, the newest 50);
* the same filtered to one print run and one status, on its last page.

Prints the median and 95th percentile in milliseconds. Target (issue 25): fast with 50,000 responses
(the page within a second).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
import uuid

from sqlalchemy import insert, select, text

from forms_lab.benchdb import fresh_service
from forms_lab.measures import percentile
from forms_service.app import create_app
from forms_service.context import ServiceContext
from forms_service.services import questionnaires, users
from forms_service.store.models import (
    FieldReading,
    PrintRun,
    QuestionnaireVersion,
    Response,
    Sheet,
    utcnow,
)

PASSWORD = "an analyst's long password"


def build(ctx: ServiceContext, responses: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    q = questionnaires.get_questionnaire(ctx, "big-leeds-conversation")
    specs = q.fields()
    now = utcnow()
    with ctx.db.engine.begin() as conn:
        version = conn.execute(select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.questionnaire == q.id, QuestionnaireVersion.version == q.version)).scalar_one()
        conn.execute(insert(PrintRun), [{"questionnaire_version_id": version, "variant": "standard",
                                         "copies": responses // 20 + 1, "batch": f"run {n + 1}", "created_at": now}
                                        for n in range(20)])
        runs = [r for (r,) in conn.execute(text("SELECT id FROM print_runs ORDER BY id"))]
        sheets = [f"S{i:07d}" for i in range(responses)]
        conn.execute(insert(Sheet), [{"sheet_id": s, "print_run_id": runs[i % 20], "copy": i // 20 + 1}
                                     for i, s in enumerate(sheets)])
        conn.execute(insert(Response), [
            {"public_id": uuid.uuid4().hex[:16], "sheet_id": s, "questionnaire": q.id, "version": q.version,
             "variant": "standard", "pages_expected": 6, "created_at": now} for s in sheets])
        ids = [r for (r,) in conn.execute(text("SELECT id FROM responses ORDER BY id"))]
        rows = []
        for rid in ids:
            fate = rng.random()
            fields = specs[:-3] if fate < 0.05 else specs  # 5 % missing the last page
            queued = rng.randrange(len(fields)) if 0.05 <= fate < 0.25 else -1  # 20 % with a field waiting
            for n, spec in enumerate(fields):
                kind = spec.type.value
                rows.append({"response_id": rid, "field_id": spec.id, "type": kind,
                             "value": {"v": "" if kind == "text" else None}, "confidence": 0.99,
                             "state": "queued" if n == queued else "auto", "page": 2, "details": {},
                             "updated_at": now})
            if len(rows) >= 20000:
                conn.execute(insert(FieldReading), rows)
                rows = []
        if rows:
            conn.execute(insert(FieldReading), rows)
    with ctx.db.engine.begin() as conn:  # the statistics a live database keeps
        conn.execute(text("ANALYZE"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    with fresh_service(args.database) as (config, ctx):
        started = time.perf_counter()
        build(ctx, args.responses)
        built = time.perf_counter() - started
        users.add_user(ctx, "ann", ["analyst"], PASSWORD)
        client = create_app(config).test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        client.post("/sign-in", data={"name": "ann", "password": PASSWORD, "csrf_token": token.group(1)})
        timings: dict[str, list[float]] = {"/responses/": [],
                                           "/responses/?print_run=7&status=needs_verification&page=10": []}
        for _ in range(args.repeat):
            for url, times in timings.items():
                start = time.perf_counter()
                got = client.get(url)
                times.append((time.perf_counter() - start) * 1000)
                assert got.status_code == 200, got.get_data(as_text=True)[:300]
        assert f"{args.responses} responses" in client.get("/responses/").get_data(as_text=True)
    where = "PostgreSQL" if args.database else "SQLite"
    print(f"{where}, {args.responses} responses ({args.responses * 15} field readings, built in {built:.0f} s):")
    for url, times in timings.items():
        print(f"  {url}: median {statistics.median(times):.0f} ms, 95th percentile "
              f"{percentile(times, 0.95):.0f} ms ({len(times)} requests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
