"""Benchmark of the verification screens: how long the next screen takes after a save, with a big queue.

Usage: python benchmarks/verify.py [--tasks 10000] [--saves 300] [--database URL]

Builds a fresh database (SQLite in a temporary folder, or the PostgreSQL at
``--database``, in a schema of its own that is dropped afterwards) holding
``--tasks`` queued fields (tick boxes and written answers of synthetic responses,
with a crop each), signs a verifier in, and times, through the real Flask app:

* a single-field save followed by the next field's screen (POST, redirect, GET),
  ``--saves`` times;
* a grid screen confirmed with one key (POST of 50 fields, redirect, the next grid).

Prints the median and 95th percentile in milliseconds. Targets (issue 27): next
screen after a save, median <= 100 ms, 95th percentile <= 250 ms, with 10,000
tasks, on SQLite and on PostgreSQL.

Must never: touch a database it did not make (the PostgreSQL schema is its own).
"""

from __future__ import annotations

import argparse
import io
import random
import re
import statistics
import time
import uuid

from PIL import Image
from sqlalchemy import insert, text

from forms_lab.benchdb import fresh_service
from forms_lab.measures import percentile
from forms_service.app import create_app
from forms_service.context import ServiceContext
from forms_service.services import questionnaires, users
from forms_service.store.models import FieldReading, Response, utcnow

PASSWORD = "a verifier's long password"


def build(ctx: ServiceContext, tasks: int, seed: int = 7) -> None:
    """``tasks`` queued fields over synthetic responses of the shipped questionnaire."""
    rng = random.Random(seed)
    q = questionnaires.get_questionnaire(ctx, "big-leeds-conversation")
    specs = [f for f in q.fields()]
    buf = io.BytesIO()
    Image.new("L", (120, 60), 235).save(buf, format="PNG")
    crop = ctx.storage.write("scans/bench/crops/p1-field-1.png", buf.getvalue())
    now = utcnow()
    per = len(specs)
    responses = (tasks + per - 1) // per
    with ctx.db.engine.begin() as conn:
        conn.execute(insert(Response), [
            {"public_id": uuid.uuid4().hex[:16], "sheet_id": f"B{i:07d}", "questionnaire": q.id, "version": q.version,
             "variant": "standard", "pages_expected": 6, "created_at": now} for i in range(responses)])
        ids = [r for (r,) in conn.execute(text("SELECT id FROM responses ORDER BY id"))]
        rows = []
        for n in range(tasks):
            spec = specs[n % per]
            kind = spec.type.value
            value = "" if kind == "text" else ([] if kind == "multi_choice" else rng.choice(spec.values))
            rows.append({"response_id": ids[n // per], "field_id": spec.id, "type": kind, "value": {"v": value},
                         "confidence": round(rng.random(), 4), "state": "queued", "page": 2,
                         "suggestion": "words" if kind == "text" else None, "crop_key": crop,
                         "details": {}, "updated_at": now})
        for i in range(0, len(rows), 2000):
            conn.execute(insert(FieldReading), rows[i:i + 2000])
    with ctx.db.engine.begin() as conn:  # the statistics a live database keeps (autovacuum, on PostgreSQL)
        conn.execute(text("ANALYZE"))


def run(database: str | None, tasks: int, saves: int) -> dict[str, float]:
    with fresh_service(database) as (config, ctx):
        build(ctx, tasks)
        users.add_user(ctx, "vera", ["verifier"], PASSWORD)
        app = create_app(config)
        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token
        client.post("/sign-in", data={"name": "vera", "password": PASSWORD, "csrf_token": token.group(1)})
        single: list[float] = []
        screen = client.get("/verify/field").get_data(as_text=True)
        for _ in range(saves):
            reading = re.search(r'data-id="(\d+)"', screen)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', screen)
            assert reading and csrf, screen[:500]
            typed = 'name="value" value="' not in screen
            of_type = re.search(r'name="type" value="([a-z_]+)"', screen)
            data = {"csrf_token": csrf.group(1), "action": "save", "kind": "",
                    "type": of_type.group(1) if of_type else ""}
            if typed:
                data["value"] = "words"
            else:
                data["value"] = re.findall(r'name="value" value="([^"]*)"', screen)[0]
            start = time.perf_counter()
            answer = client.post(f"/verify/field/{reading.group(1)}", data=data, follow_redirects=True)
            single.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200
            screen = answer.get_data(as_text=True)
        grids: list[float] = []
        screen = client.get("/verify/grid").get_data(as_text=True)
        for _ in range(max(10, saves // 10)):
            ids = re.findall(r'name="ids" value="(\d+)"', screen)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', screen)
            assert ids and csrf
            kind = re.search(r'name="type" value="([a-z_]+)"', screen)
            form: dict[str, object] = {"csrf_token": csrf.group(1), "ids": ids,
                                       "type": kind.group(1) if kind else "single_choice"}
            for i in ids:  # confirm as the machine read it: what the page pre-marked
                form[f"v-{i}"] = re.findall(rf'name="v-{i}" value="([^"]*)"[^>]*checked', screen)
            start = time.perf_counter()
            answer = client.post("/verify/grid", data=form, follow_redirects=True)
            grids.append((time.perf_counter() - start) * 1000)
            screen = answer.get_data(as_text=True)
    return {"single_median_ms": statistics.median(single), "single_p95_ms": percentile(single, 0.95),
            "grid_median_ms": statistics.median(grids), "grid_p95_ms": percentile(grids, 0.95),
            "saves": len(single), "grid_screens": len(grids)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite in a temporary folder)")
    args = parser.parse_args(argv)
    result = run(args.database, args.tasks, args.saves)
    where = "PostgreSQL" if args.database else "SQLite"
    print(f"{where}, {args.tasks} queued fields: next field after a save median {result['single_median_ms']:.0f} ms, "
          f"95th percentile {result['single_p95_ms']:.0f} ms ({result['saves']:.0f} saves); grid screen of 50 "
          f"confirmed with one key, next grid shown: median {result['grid_median_ms']:.0f} ms, 95th percentile "
          f"{result['grid_p95_ms']:.0f} ms ({result['grid_screens']:.0f} screens)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
