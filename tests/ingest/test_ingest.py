"""Returned forms end to end: ingest (CLI, API, web, watch folder) -> responses -> export."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from forms_lab.synth.batch import write_scan_files
from forms_service.errors import NotFound
from forms_service.jobs import run_pending
from forms_service.jobs.queue import run_job
from forms_service.schemas import __file__ as schemas_init
from forms_service.services import export, identify, ingest, users
from forms_service.store.models import ScanPage
from tests.ingest.conftest import Returned, first_sheet, shuffled_pages

SCHEMA = json.loads((Path(schemas_init).parent / "export-record.schema.json").read_text())


def check_against_truth(records: list[dict], returned: Returned) -> None:  # type: ignore[type-arg]
    """Every record valid; every auto-accepted choice right; no written answer auto-accepted as blank."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for rec in records:
        validator.validate(rec)
        truth = returned.sheets[rec["sheet"]].truth
        assert set(rec["answers"]) == set(truth), rec["sheet"]
        for fid, answer in rec["answers"].items():
            expected = truth[fid]
            if answer["state"] != "auto":
                continue
            if fid.startswith("q_"):  # writing: blank or not is what may be auto-accepted
                assert not (expected and answer["value"] == ""), (fid, "written answer accepted as blank")
            else:
                assert answer["value"] == expected, (rec["variant"], fid, answer, expected)


def test_cli_ingest_of_a_mixed_batch_and_export(cli, cli_env, returned: Returned, scan_dir: Path) -> None:  # type: ignore[no-untyped-def]
    write_scan_files(shuffled_pages(returned, "standard"), scan_dir, "pdf", "standard")
    write_scan_files(shuffled_pages(returned, "large-print"), scan_dir, "tiff", "large")
    write_scan_files(shuffled_pages(returned, "easy-read"), scan_dir / "phone", "jpeg", "easy")
    result = cli("ingest", str(scan_dir))
    assert result.exit_code == 0, result.output
    pages = sum(len(s.pages) for s in returned.sheets.values())
    assert f"{pages} pages read, 4 responses touched" in result.output
    out = Path(cli_env["FORMS_SERVICE_HOME"]) / "export.jsonl"
    assert cli("export", "--output", str(out)).exit_code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["sheet"] for r in records) == sorted(returned.sheets)
    assert all(r["pages"]["received"] == list(range(1, r["pages"]["expected"] + 1)) for r in records)
    assert all(r["status"] in ("complete", "needs_verification") for r in records)
    check_against_truth(records, returned)
    csv_out = cli("export", "--format", "csv")
    assert csv_out.output.splitlines()[0].startswith("response,sheet,questionnaire,version,variant,batch")
    import csv

    rows = list(csv.reader(io.StringIO(csv_out.output)))
    assert len(rows) == 5 and {r[1] for r in rows[1:]} == set(returned.sheets)
    assert rows[0][9:12] == ["group", "group.state", "group.confidence"]
    again = cli("ingest", str(scan_dir))
    assert again.exit_code == 0 and "was already received" in again.output
    assert [json.loads(line) for line in cli("export").output.splitlines()] == records


def test_bad_files_are_named_and_the_rest_is_read(cli, returned: Returned, scan_dir: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = first_sheet(returned, "standard")
    write_scan_files(sheet.pages, scan_dir, "png", "good")
    (scan_dir / "empty.pdf").write_bytes(b"")
    import zipfile

    with zipfile.ZipFile(scan_dir / "notes.docx", "w") as docx:
        docx.writestr("[Content_Types].xml", "<Types/>")
        docx.writestr("word/document.xml", "<document/>")
    good = (scan_dir / "good-1.png").read_bytes()
    (scan_dir / "cut.png").write_bytes(good[: len(good) // 3])
    (scan_dir / "truncated.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog")
    result = cli("ingest", str(scan_dir))
    assert result.exit_code == 1
    assert "empty.pdf is empty (0 bytes)" in result.output
    assert "notes.docx is a Word document" in result.output
    assert "truncated.pdf" in result.output and "cut.png" in result.output
    assert f"{len(sheet.pages)} pages read, 1 response touched" in result.output
    assert "Traceback" not in result.output
    # a file rejected once stays rejected, with its reason, every time: a retrying script sees it
    again = cli("ingest", str(scan_dir / "truncated.pdf"))
    assert again.exit_code == 1 and "truncated.pdf" in again.output and "already received" not in again.output


def test_a_path_that_does_not_exist_is_named_as_missing(cli, scan_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = cli("ingest", str(tmp_path / "nope.pdf"), str(tmp_path / "no-such-folder"))
    assert missing.exit_code == 1
    assert f"{tmp_path / 'nope.pdf'} does not exist: check the name and the folder." in missing.output
    assert f"{tmp_path / 'no-such-folder'} does not exist" in missing.output and "0 bytes" not in missing.output
    empty = cli("ingest", str(scan_dir))
    assert empty.exit_code == 1 and "is a folder with no scan files in it" in empty.output


def test_a_page_without_a_readable_code_waits_for_a_person(ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = first_sheet(returned, "standard")
    page = sheet.pages[1]
    image = page.image.copy()
    k = page.dpi / 72.0
    image[int(730 * k):, int(440 * k):] = 255  # the page code torn off
    image[int(770 * k):int(815 * k), int(60 * k):int(440 * k)] = 255  # ... and the footer with the sheet id
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
    batch = ingest.accept_files(ctx, [("torn.png", buf.getvalue())])
    run_job(ctx, batch.job_id)
    waiting = identify.unidentified_pages(ctx)
    assert len(waiting) == 1 and "No page code could be read" in waiting[0]["reason"]
    # the printed layout was recognised, but with no sheet id nothing is guessed
    assert "looks like page 2 of" in waiting[0]["reason"]
    assert ctx.storage.exists(waiting[0]["image_key"])
    identify.identify_page(ctx, waiting[0]["id"], "big-leeds-conversation", "2026-11", "standard", 2,
                        sheet.sheet.lower(), 0)
    assert identify.unidentified_pages(ctx) == []
    record = next(iter(export.iter_records(ctx)))
    assert record["sheet"] == sheet.sheet and record["pages"]["received"] == [2]
    assert record["status"] == "incomplete"


def test_a_file_that_states_the_wrong_resolution_is_still_read(ctx, returned: Returned) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    sheet = first_sheet(returned, "standard")
    page = sheet.pages[1]
    buf = io.BytesIO()
    wrong = round(page.dpi * 1.5)  # as a scanning app that stamps one resolution on every page
    Image.fromarray(page.image).save(buf, format="PNG", dpi=(wrong, wrong))
    batch = ingest.accept_files(ctx, [("stamped.png", buf.getvalue())])
    run_job(ctx, batch.job_id)
    assert identify.unidentified_pages(ctx) == []
    summary = ingest.job_summary(ctx, batch.job_id)
    assert summary.pages_read == 1
    assert summary.notes == ["Some pages were saved with a resolution (dpi) that does not match the page: "
                             "the scale was measured from each page instead."]
    record = next(iter(export.iter_records(ctx)))
    assert record["sheet"] == sheet.sheet and record["pages"]["received"] == [2]


def test_phone_photos_stamped_with_a_resolution_are_read(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from forms_lab.synth.batch import synth_sheets
    from forms_service.questionnaire import load_definition
    from forms_service.sheets import new_sheet_id
    from tests.conftest import SHIPPED

    q = load_definition(SHIPPED).questionnaire
    rng = np.random.default_rng(11)
    sheet = synth_sheets(q, "standard", [new_sheet_id(np.random.default_rng([11, 1]))], rng, preset="phone")[0]
    # a camera app writes a dpi into each JPEG; on a photo it means nothing
    files = write_scan_files(sheet.pages, tmp_path / "phone", "jpeg", "photo")
    batch = ingest.accept_paths(ctx, files)
    run_job(ctx, batch.job_id)
    assert identify.unidentified_pages(ctx) == []
    record = next(iter(export.iter_records(ctx)))
    assert record["pages"]["received"] == list(range(1, len(sheet.pages) + 1))


def test_duplicates_and_photocopies(ctx, returned: Returned) -> None:  # type: ignore[no-untyped-def]
    import numpy as np
    from PIL import Image

    from forms_lab.synth.batch import synth_sheets
    from forms_service.questionnaire import load_definition
    from tests.conftest import SHIPPED

    def png(page, level: int) -> bytes:  # type: ignore[no-untyped-def]
        buf = io.BytesIO()
        Image.fromarray(page.image).save(buf, format="PNG", dpi=(page.dpi, page.dpi), compress_level=level)
        return buf.getvalue()

    a = first_sheet(returned, "standard")
    run_job(ctx, ingest.accept_files(ctx, [("a2.png", png(a.pages[1], 1))]).job_id)
    # the same page again in another file: noted and ignored
    run_job(ctx, ingest.accept_files(ctx, [("a2-again.png", png(a.pages[1], 9))]).job_id)
    with ctx.db.session() as s:
        duplicates = list(s.scalars(select(ScanPage).where(ScanPage.state == "duplicate")))
    assert len(duplicates) == 1 and "already read" in (duplicates[0].reason or "")
    # a photocopy of the blank form: the same sheet id, other answers
    q = load_definition(SHIPPED).questionnaire
    copy = synth_sheets(q, "standard", [a.sheet], np.random.default_rng(99))[0]
    run_job(ctx, ingest.accept_files(ctx, [("copy2.png", png(copy.pages[1], 1))]).job_id)
    records = list(export.iter_records(ctx))
    assert [r["sheet"] for r in records] == [a.sheet, a.sheet]
    assert "flags" not in records[0]
    assert records[1]["flags"] == ["sheet_seen_twice_with_different_answers"]
    assert records[1]["status"] != "complete"


def test_api_upload_progress_and_responses(client, make_user, ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_user("station", "verifier")
    make_user("ada", "administrator")
    verifier = {"Authorization": f"Bearer {users.create_token(ctx, 'station')}"}
    admin = {"Authorization": f"Bearer {users.create_token(ctx, 'ada')}"}
    sheet = first_sheet(returned, "large-print")
    [pdf] = write_scan_files(sheet.pages, tmp_path / "api", "pdf", "lp")
    response = client.post("/api/v1/scans", headers=verifier, content_type="multipart/form-data", data={
        "files": [(io.BytesIO(pdf.read_bytes()), "lp.pdf"), (io.BytesIO(b""), "blank.pdf"),
                  (io.BytesIO(b"hello"), "hello.txt")]})
    assert response.status_code == 202
    body = response.get_json()
    assert [f["state"] for f in body["files"]] == ["accepted", "rejected", "rejected"]
    assert {r["file"] for r in body["rejected"]} == {"blank.pdf", "hello.txt"}
    run_pending(ctx)
    job = client.get(body["job_url"], headers=verifier).get_json()
    assert job["state"] == "done" and job["pages"] == {"done": len(sheet.pages), "total": len(sheet.pages)}
    assert len(job["rejected"]) == 2 and job["summary"]["responses"] == 1
    assert client.get("/api/v1/responses", headers=verifier).status_code == 403
    listing = client.get("/api/v1/responses?limit=1", headers=admin).get_json()
    assert listing["total"] == 1 and listing["items"][0]["sheet"] == sheet.sheet and listing["next"] is None
    assert client.get("/api/v1/responses?limit=0", headers=admin).status_code == 400


def test_a_crash_mid_batch_loses_nothing(ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = first_sheet(returned, "standard")
    [pdf] = write_scan_files(sheet.pages, tmp_path / "crash", "pdf", "c")
    batch = ingest.accept_files(ctx, [("c.pdf", pdf.read_bytes())])
    calls = {"n": 0}

    def die_after_two_pages(done: int, total: int) -> None:
        calls["n"] += 1
        if done == 2:
            raise KeyboardInterrupt  # the worker process is killed
    with pytest.raises(KeyboardInterrupt):
        run_job(ctx, batch.job_id, listener=die_after_two_pages)
    with ctx.db.session() as s:
        first = {p.source_index: p.read_at for p in s.scalars(select(ScanPage))}
    assert len(first) == 2
    from datetime import timedelta

    from sqlalchemy import update

    from forms_service.store.models import Job, utcnow

    with ctx.db.session() as s:  # the dead worker's lease runs out
        s.execute(update(Job).where(Job.id == batch.job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    job = run_job(ctx, batch.job_id)
    assert job.state == "done"
    with ctx.db.session() as s:
        after = {p.source_index: p.read_at for p in s.scalars(select(ScanPage))}
    assert len(after) == len(sheet.pages)
    assert all(after[i] == first[i] for i in first)  # finished pages were not read again


def test_watch_folder(ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    watch = tmp_path / "watch"
    ctx.config = ctx.config.with_(watch=watch)
    write_scan_files(first_sheet(returned, "easy-read").pages[:2], watch, "pdf", "dropped")
    (watch / "letter.txt").write_text("not a scan")
    batch = ingest.ingest_watch_folder(ctx, settle_seconds=0)
    assert batch is not None and [f.state for f in batch.files] == ["accepted", "rejected"]
    assert sorted(p.name for p in watch.rglob("*") if p.is_file()) == ["letter.txt", "letter.txt.txt"]
    assert "letter.txt" in (watch / "rejected" / "letter.txt.txt").read_text()
    run_pending(ctx)
    assert ingest.job_summary(ctx, batch.job_id).pages_read == 2


def test_with_auto_accept_off_a_person_verifies_every_field(tmp_path: Path, layouts: Path, sqlite_url: str,
                                                             returned: Returned) -> None:
    from forms_service.context import ServiceContext
    from forms_service.services.questionnaires import sync_definitions
    from tests.conftest import make_config

    sheet = first_sheet(returned, "standard")
    scan_dir = tmp_path / "in"
    write_scan_files(sheet.pages, scan_dir, "png", "sheet")
    context = ServiceContext.from_config(make_config(tmp_path, layouts, sqlite_url, auto_accept_min=math.inf))
    try:
        context.db.upgrade()
        sync_definitions(context)
        batch = ingest.accept_files(context, [(p.name, p.read_bytes()) for p in sorted(scan_dir.iterdir())])
        run_job(context, batch.job_id)
        record = next(iter(export.iter_records(context)))
        summary = ingest.job_summary(context, batch.job_id)
    finally:
        context.close()
    assert record["sheet"] == sheet.sheet and record["status"] == "needs_verification"
    states = {a["state"] for a in record["answers"].values()}
    assert states == {"queued"}, states
    # the job says why nothing was accepted
    assert "Auto-acceptance is off (FORMS_SERVICE_AUTO_ACCEPT=off): a person verifies every field." in summary.notes
    assert summary.fields_queued == len(record["answers"])


def test_a_page_that_cannot_be_lined_up_is_kept_upright_for_the_person(ctx, returned: Returned) -> None:  # type: ignore[no-untyped-def]
    """The page code says the page lies upside down; the person sees it upright, and their turn counts from there."""
    from PIL import Image

    from forms_service.errors import InvalidInput

    sheet = first_sheet(returned, "standard")
    page = sheet.pages[1]
    upright = page.image.copy()
    k = page.dpi / 72.0
    for x, y in ((42.5, 42.5), (552.8, 42.5), (42.5, 799.4)):  # three of the four registration marks covered
        upright[max(0, int((y - 40) * k)):int((y + 40) * k), max(0, int((x - 40) * k)):int((x + 40) * k)] = 255
    buf = io.BytesIO()
    Image.fromarray(upright[::-1, ::-1].copy()).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
    batch = ingest.accept_files(ctx, [("upside-down.png", buf.getvalue())])
    run_job(ctx, batch.job_id)
    [waiting] = identify.unidentified_pages(ctx)
    assert waiting["reason"].startswith("The page could not be lined up")
    assert waiting["reason"].endswith("identifying it by hand will not help: scan it again, flat, "
                                      "with the whole page in view.")
    with ctx.db.session() as s:
        row = s.get(ScanPage, waiting["id"])
        assert row is not None and row.details["turned"] == 180
    shown = np.asarray(Image.open(ctx.storage.path(waiting["image_key"])).convert("L"), dtype=np.float32)
    small = np.asarray(Image.fromarray(upright).resize((shown.shape[1], shown.shape[0])), dtype=np.float32)
    assert np.abs(shown - small).mean() < np.abs(shown - small[::-1, ::-1]).mean()
    # what they see is the right way up: the service turns the scan by 180 degrees, and still cannot line it up
    with pytest.raises(InvalidInput, match="could not be lined up"):
        identify.identify_page(ctx, waiting["id"], "big-leeds-conversation", "2026-11", "standard", 2, sheet.sheet, 0)
    assert len(identify.unidentified_pages(ctx)) == 1
    # so the person sets it aside for a new scan: it leaves the queue and the job says so
    assert waiting["needs_new_scan"]
    identify.set_aside_page(ctx, waiting["id"])
    assert identify.unidentified_pages(ctx) == []
    summary = ingest.job_summary(ctx, batch.job_id)
    assert [(p["file"], p["page"]) for p in summary.pages_set_aside] == [("upside-down.png", 1)]
    assert summary.pages_unidentified == [] and "1 page(s) set aside for a new scan" in ingest.summary_text(summary)
    with pytest.raises(NotFound, match="not waiting to be identified"):
        identify.set_aside_page(ctx, waiting["id"])


def test_a_variant_without_a_layout_file_is_read_with_its_layout_drawn_again(ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A sample copy or a form printed elsewhere comes back before any print run wrote its layout."""
    from forms_service.layout import layout_path
    from forms_service.services.questionnaires import get_version

    sheet = first_sheet(returned, "large-print")
    path = layout_path(ctx.config.layouts, "big-leeds-conversation", "2026-11", "large-print")
    printed = path.read_text(encoding="utf-8")
    path.unlink()
    assert not get_version(ctx, "big-leeds-conversation", "2026-11").frozen
    files = write_scan_files(sheet.pages, tmp_path / "files", "pdf")
    run_job(ctx, ingest.accept_files(ctx, [(f.name, f.read_bytes()) for f in files]).job_id)
    assert identify.unidentified_pages(ctx) == []
    records = list(export.iter_records(ctx))
    assert [r["sheet"] for r in records] == [sheet.sheet]
    assert records[0]["pages"]["received"] == list(range(1, len(sheet.pages) + 1))
    check_against_truth(records, returned)
    # the layout drawn is the one that was printed; it is kept, and the version frozen, as printing does
    assert path.read_text(encoding="utf-8") == printed
    assert get_version(ctx, "big-leeds-conversation", "2026-11").frozen


def test_uploads_are_numbered_among_uploads_with_their_date(ctx, returned: Returned) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import printing

    printing.queue_print_run(ctx, questionnaire="big-leeds-conversation", variant="standard", copies=1)  # job 1
    sheet = first_sheet(returned, "standard")
    first = ingest.accept_files(ctx, [("a.png", _png(sheet.pages[1]))])
    second = ingest.accept_files(ctx, [("b.png", _png(sheet.pages[2])), ("b-again.png", _png(sheet.pages[2]))])
    nothing = ingest.accept_files(ctx, [])  # a command that named no file
    assert (first.job_id, second.job_id) == (2, 3)
    assert [ingest.upload_number(ctx, j) for j in (first.job_id, second.job_id)] == [1, 2]
    recent = ingest.recent_jobs(ctx)
    assert [(j["number"], j["files"]) for j in recent] == [(2, 2), (1, 1)]  # the empty one left out
    assert all(j["created_at"] is not None for j in recent) and nothing.job_id not in [j["id"] for j in recent]


def _png(page) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
    return buf.getvalue()
