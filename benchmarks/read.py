"""Benchmark of the whole reading pipeline, from scan files to export records.

For each variant and degradation preset: print copies with the project's own
renderer, fill them as people do (forms_lab.synth), scan them as a scanner,
photocopier or phone would, ingest the files through the service (a fresh
home and database, the same job code the worker runs), export, and compare
every record with the truth.

Prints, per variant and preset:
  automation   share of choice fields accepted without a person
  auto error   share of auto-accepted choice fields whose value is wrong
  blank lost   written answers auto-accepted as blank (must be 0)
  text auto    written answers auto-accepted (handwriting; 0 unless proven safe)
  OCR CER      mean character error rate of the OCR suggestion on written answers
  pages/s      pages read per second by the ingest job (OCR suggestions included)
then, pooled over the variants, what was left for a person (what the respondent
did to the field, and with which pen), and every wrong auto-accepted choice
field: what the respondent did, what was read at which confidence, and the truth.

Usage (from the repository root):
  .venv/bin/python benchmarks/read.py                       # 4 copies x 3 variants x 5 presets
  .venv/bin/python benchmarks/read.py --copies 20 --variants standard --presets office phone
  .venv/bin/python benchmarks/read.py --population stress   # every hard case over-represented
  .venv/bin/python benchmarks/read.py --files tiff          # grey scans as lossless TIFF, not JPEG in PDF
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from forms_lab.degrade import PRESETS
from forms_lab.measures import edit_distance, upper_bound
from forms_lab.synth import POPULATIONS
from forms_lab.synth.batch import synth_sheets, write_scan_files
from forms_service.config import Config
from forms_service.context import ServiceContext
from forms_service.questionnaire import load_definition
from forms_service.services import export, ingest, jobs
from forms_service.services.questionnaires import sync_definitions
from forms_service.services.verify import UNDECIDED
from forms_service.sheets import new_sheet_id
from forms_service.store.models import FieldReading, Response

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "layouts" / "big-leeds-conversation" / "2026-11"  # the committed layout files
DEFINITION = REPO / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"


def cer(suggestion: str, truth: str) -> float:
    """Character error rate: edit distance / length of the truth (case and spacing folded)."""
    a, b = " ".join(suggestion.lower().split()), " ".join(truth.lower().split())
    if not b:
        return 0.0 if not a else 1.0
    return min(1.0, edit_distance(a, b) / len(b))


GRID_COLUMNS = 4
"""Tiles a row of a grid screen holds at 1200 px (the browser test's window)."""
GRID_SIZE = 50


def _set_keys(kind: str, shown: Any, truth: Any) -> int:
    """Keys that turn what a screen shows into the truth: a number key, or toggles for several answers."""
    if shown == truth:
        return 0
    if kind == "multi_choice":
        flips = len(set(shown or []) ^ set(truth or []))
        return min(flips, 1 + len(truth or []))  # or 0 (none), then a key per ticked option
    return 1


def queued_fields(records: list[dict[str, Any]], sheets: dict[str, Any], kinds: dict[str, str],
                  paper: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """What this batch left for a person, with the truth: tick-box fields as [field, type,
    confidence, shown, truth, paper] (pooled over runs by ``keystrokes``, as a real queue pools
    batches; ``paper``: a 1-bit scan shows no mark, so only the paper form can settle it), and the
    keys its written answers take with the OCR suggestion and from nothing."""
    paper = paper or set()
    out: dict[str, Any] = {"choice": [], "text_fields": 0, "text_keys": 0, "text_keys_unaided": 0}
    for rec in records:
        truth = sheets[rec["sheet"]].truth
        for fid, answer in rec["answers"].items():
            if answer["state"] != "queued" or answer["confidence"] == 0.0 and answer["value"] in (None, [], ""):
                continue  # settled, or on a page never scanned
            if kinds[fid] == "text":
                out["text_fields"] += 1
                out["text_keys"] += edit_distance(answer["value"], truth[fid] or "") + 1
                out["text_keys_unaided"] += len(truth[fid] or "") + 1
            else:
                out["choice"].append([fid, kinds[fid], answer["confidence"], answer["value"], truth[fid],
                                      (rec["sheet"], fid) in paper])
    return out


def keystrokes(fields: list[list[Any]], question_of: dict[str, str] | None = None) -> dict[str, int]:
    """A person clearing a queue of tick-box fields, knowing the truth: keys on grid screens (a
    screen per question, 50 tiles, least certain first: Enter, plus arrows to each wrong tile and the
    keys that correct it) and on single-field screens (the corrections, then Enter). A rating
    question's rows are one question (``question_of``: field id -> question id, as the service's
    grid groups them; the shipped definition's by default).

    A field the machine could not decide (confidence at most ``verify.UNDECIDED``) arrives on the
    grid marked "cannot tell", costs it nothing and is cleared on its single-field screen
    (``undecided``, ``undecided_keys``); so is a field only the paper can settle (a 1-bit scan
    showing no mark), counted apart (``paper``, and ``paper_marked`` when the respondent had ticked
    something the scan lost, ``paper_keys`` with the paper in hand). ``fields`` are those a picture
    can settle, ``grid_fields`` those of them a grid confirms; ``single_keys`` clears all
    ``fields`` on single-field screens."""
    if question_of is None:
        question_of = {f.id: f.question for f in load_definition(DEFINITION).questionnaire.fields()}
    by_field: dict[str, list[list[Any]]] = {}
    for f in fields:
        by_field.setdefault(question_of.get(f[0], f[0]), []).append(f)
    out = {"fields": 0, "grid_fields": 0, "grid_keys": 0, "single_keys": 0, "shown_wrong": 0, "screens": 0,
           "undecided": 0, "undecided_keys": 0, "paper": 0, "paper_marked": 0, "paper_keys": 0}
    for group in by_field.values():
        for f in group:
            if len(f) > 5 and f[5]:
                out["paper"] += 1
                out["paper_marked"] += f[4] not in (None, [])
                out["paper_keys"] += _set_keys(f[1], f[3], f[4]) + 1
            elif f[2] <= UNDECIDED:
                out["undecided"] += 1
                out["undecided_keys"] += _set_keys(f[1], f[3], f[4]) + 1
        settled = [f for f in group if not (len(f) > 5 and f[5])]
        out["fields"] += len(settled)
        out["single_keys"] += sum(_set_keys(f[1], f[3], f[4]) + 1 for f in settled)
        on_grid = sorted((f for f in settled if f[2] > UNDECIDED), key=lambda f: f[2])
        for start in range(0, len(on_grid), GRID_SIZE):
            screen = on_grid[start:start + GRID_SIZE]
            keys, at = 1, 0  # Enter confirms the screen; the cursor starts on the first tile
            for i, (_fid, kind, _conf, shown, truth, *_paper) in enumerate(screen):
                fix = _set_keys(kind, shown, truth)
                if fix:
                    keys += abs(i // GRID_COLUMNS - at // GRID_COLUMNS) + abs(i % GRID_COLUMNS - at % GRID_COLUMNS)
                    keys += fix
                    at = i
                    out["shown_wrong"] += 1
            out["grid_keys"] += keys
            out["grid_fields"] += len(screen)
            out["screens"] += 1
    return out


def run(variant: str, preset: str, copies: int, seed: int, population: str = "typical",
        flat_files: str = "pdf") -> dict[str, Any]:
    q = load_definition(DEFINITION).questionnaire
    rng = np.random.default_rng(seed)
    # sheet ids from their own seeded generator: the same seed prints the same page codes (and
    # the fills draw from rng as before)
    ids = np.random.default_rng([seed, 1])
    sheets = {s.sheet: s for s in synth_sheets(q, variant, [new_sheet_id(ids) for _ in range(copies)], rng,
                                                preset=preset, population=population)}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        layouts = root / "layouts" / q.id / q.version
        layouts.mkdir(parents=True)
        for f in SHIPPED.iterdir():
            shutil.copy(f, layouts / f.name)
        pages = [p for s in sheets.values() for p in s.pages]
        kind = {"phone": "jpeg", "bilevel-200": "tiff"}.get(preset, flat_files)
        files = write_scan_files(pages, root / "in", kind, f"{variant}-{preset}")
        config = Config(home=root / "home", layouts=root / "layouts",
                        database_url=f"sqlite:///{root / 'home' / 'db.sqlite'}", secret_key="bench",
                        worker="off")
        config.home.mkdir()
        ctx = ServiceContext.from_config(config)
        ctx.db.upgrade()
        sync_definitions(ctx)
        batch = ingest.accept_paths(ctx, files)
        started = time.perf_counter()
        jobs.run_now(ctx, batch.job_id)
        seconds = time.perf_counter() - started
        records = list(export.iter_records(ctx))
        with ctx.db.session() as s:
            paper = {(sheet, fid) for sheet, fid, details in s.execute(
                select(Response.sheet_id, FieldReading.field_id, FieldReading.details)
                .join(Response, Response.id == FieldReading.response_id)) if (details or {}).get("paper")}
        ctx.close()
    text_ids = {f.id for f in q.fields() if f.type.value == "text"}
    critical = q.critical_fields()
    crit = crit_auto = crit_wrong = 0
    choice = auto = wrong = written = blank_lost = text_auto = 0
    mistakes: list[str] = []
    held: Counter[str] = Counter()
    cers: list[float] = []
    for rec in records:
        truth = sheets[rec["sheet"]].truth
        for fid, answer in rec["answers"].items():
            expected = truth[fid]
            if fid in text_ids:
                if expected:
                    written += 1
                    cers.append(cer(answer["value"], expected))
                    if answer["state"] == "auto":
                        text_auto += 1
                        blank_lost += answer["value"] == ""
                continue
            choice += 1
            if fid in critical:
                crit += 1
                crit_auto += answer["state"] == "auto"
                crit_wrong += answer["state"] == "auto" and answer["value"] != expected
            if answer["state"] != "auto":
                held[f"{sheets[rec['sheet']].cases.get(fid, '?')} ({sheets[rec['sheet']].pen})"] += 1
            else:
                auto += 1
                if answer["value"] != expected:
                    wrong += 1
                    mistakes.append(f"{variant} {preset}: {fid} ({sheets[rec['sheet']].cases.get(fid, '?')}) "
                                    f"read {answer['value']!r} at {answer['confidence']:.4f}, truth {expected!r}")
    return {
        "pages": len(pages), "choice": choice, "automation": auto / max(choice, 1),
        "auto_error": wrong / max(auto, 1), "auto_wrong": wrong, "written": written,
        "blank_lost": blank_lost, "text_auto": text_auto,
        "cer": float(np.mean(cers)) if cers else 0.0, "pages_per_s": len(pages) / seconds,
        "mistakes": mistakes, "held": dict(held), "critical": crit, "critical_auto": crit_auto,
        "critical_wrong": crit_wrong,
        "queued": queued_fields(records, sheets, {f.id: f.type.value for f in q.fields()}, paper),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--variants", nargs="+", default=["standard", "large-print", "easy-read"])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--population", choices=sorted(POPULATIONS), default="typical",
                        help="how the synthetic respondents fill forms (forms_lab.synth.POPULATIONS)")
    parser.add_argument("--files", choices=["pdf", "tiff"], default="pdf",
                        help="how the grey scans (office, photocopy) are saved: one PDF of JPEG pages "
                             "(Pillow's quality 75), or one lossless TIFF (deflate)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    print(f"{'variant':12} {'preset':12} {'pages':>5} {'choice':>6} {'automation':>10} {'auto error':>10} "
          f"{'blank lost':>10} {'text auto':>9} {'OCR CER':>7} {'pages/s':>7}")
    results = []
    for variant in args.variants:
        for preset in args.presets:
            r = run(variant, preset, args.copies, args.seed, args.population, args.files)
            results.append({"variant": variant, "preset": preset, **r})
            print(f"{variant:12} {preset:12} {r['pages']:5d} {r['choice']:6d} {r['automation']:10.1%} "
                  f"{r['auto_error']:10.2%} {r['blank_lost']:10d} {r['text_auto']:9d} {r['cer']:7.1%} "
                  f"{r['pages_per_s']:7.2f}", flush=True)
    print()
    print(f"population: {args.population}; pooled over the variants:")
    for preset in args.presets:
        rows = [r for r in results if r["preset"] == preset]
        choice = sum(r["choice"] for r in rows)
        auto = sum(round(r["automation"] * r["choice"]) for r in rows)
        wrong = sum(r["auto_wrong"] for r in rows)
        pages = sum(r["pages"] for r in rows)
        print(f"  {preset:12} {choice:6d} choice fields, automation {auto / max(choice, 1):.1%}, "
              f"{wrong} wrong of {auto} auto-accepted ({wrong / max(auto, 1):.2%}; 95 % bound "
              f"{upper_bound(wrong, auto):.2%}), {pages} pages")
        crit, crit_auto = sum(r.get("critical", 0) for r in rows), sum(r.get("critical_auto", 0) for r in rows)
        crit_wrong = sum(r.get("critical_wrong", 0) for r in rows)
        if crit:
            print(f"    critical fields (the routing question): {crit_auto} of {crit} accepted alone "
                  f"({crit_auto / crit:.1%}), {crit_wrong} of them wrong (95 % bound "
                  f"{upper_bound(crit_wrong, crit_auto):.2%})")
        held: Counter[str] = Counter()
        for r in rows:
            held.update(r["held"])
        if held:
            print("    left for a person: " + ", ".join(f"{n} {case}" for case, n in held.most_common()))
    print("verifying what was left (a person who knows the truth; one queue per group of presets, "
          "pooled over the variants):")
    groups = {"grey scans and phone photos": [p for p in args.presets if p != "bilevel-200"],
              "1-bit scans": [p for p in args.presets if p == "bilevel-200"]}
    for name, presets in groups.items():
        pool = [f for r in results if r["preset"] in presets for f in r["queued"]["choice"]]
        if not pool:
            continue
        k = keystrokes(pool)
        fields, grid = max(k["fields"], 1), max(k["grid_fields"], 1)
        print(f"  {name}: {k['fields']} tick-box fields a picture can settle; "
              f"{k['grid_fields']} confirmed on {k['screens']} grid screens ({k['shown_wrong']} shown wrong): "
              f"{k['grid_keys'] / grid:.3f} keys a field ({k['screens'] / grid:.3f} of them confirming); "
              f"{k['undecided']} the machine could not decide, left for their single-field screens "
              f"({k['undecided_keys'] / max(k['undecided'], 1):.2f} keys a field); "
              f"all {k['fields']} on single-field screens: {k['single_keys'] / fields:.2f} keys a field")
        if k["paper"]:
            print(f"    and {k['paper']} only the paper can settle (a 1-bit scan shows no mark; "
                  f"{k['paper_marked']} of them were ticked): {k['paper_keys'] / k['paper']:.2f} keys a field "
                  f"with the paper in hand")
    written = {k: sum(r["queued"][k] for r in results) for k in ("text_fields", "text_keys", "text_keys_unaided")}
    if written["text_fields"]:
        print(f"  {written['text_fields']} written answers: {written['text_keys']} keys with the OCR suggestion, "
              f"{written['text_keys_unaided']} typing them from nothing "
              f"({written['text_keys'] / max(written['text_keys_unaided'], 1):.0%})")
    mistakes = [m for r in results for m in r["mistakes"]]
    if mistakes:
        print("wrong among auto-accepted (synthetic truth):")
        for m in mistakes:
            print(f"  {m}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
