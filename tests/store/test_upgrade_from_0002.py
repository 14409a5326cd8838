"""A database and home made by the previous release (revision 0002) stay usable after the upgrade.

The previous release stored absolute paths and kept files by kind (``scans/ab/<sha>.pdf``,
``pages/<id>.png``, ``crops/<response>/...``, ``print-runs/run-N.pdf``, or a print run's PDF
outside the home). The test builds such a home from real scans read by the service, lays it
out as that release did, upgrades, and uses every scan, page, reading and print run again.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from alembic import command
from PIL import Image
from sqlalchemy import text

from forms_service.context import ServiceContext
from forms_service.services import export, identify, ingest, jobs, printing, questionnaires
from forms_service.services.reading import stored_file
from forms_service.states import JobState, PrintRunState, ScanFileState
from tests.conftest import make_config
from tests.ingest.conftest import Returned, first_sheet, returned  # noqa: F401  (the synthetic batch)

Q = "big-leeds-conversation"


def _png(page) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    Image.fromarray(page.image).save(buf, format="PNG", dpi=(page.dpi, page.dpi))
    return buf.getvalue()


def _as_previous_release(ctx: ServiceContext, outside: Path) -> dict[str, object]:
    """Downgrade to 0002 and move every file to where the previous release kept it."""
    home = ctx.config.home
    command.downgrade(ctx.db.alembic_config(), "0002")
    moved: dict[str, object] = {}
    with ctx.db.engine.begin() as conn:
        for rid, public, field_id, _crop, details in conn.execute(text(
                "SELECT r.id, s.public_id, r.field_id, r.crop_path, r.details FROM field_readings r "
                "JOIN responses s ON s.id = r.response_id WHERE r.crop_path IS NOT NULL")):
            parts = json.loads(details) if isinstance(details, str) else details
            for number, part in parts["parts"].items():
                if part.get("crop"):
                    old = home / "crops" / public / f"{field_id}-{number}.png"
                    old.parent.mkdir(parents=True, exist_ok=True)
                    source = home / part["crop"]
                    moved[str(old)] = source.read_bytes()
                    source.replace(old)
                    part["crop"] = str(old)
            first = next(p["crop"] for _, p in sorted(parts["parts"].items()) if p.get("crop"))
            conn.execute(text("UPDATE field_readings SET crop_path = :c, details = :d WHERE id = :i"),
                         {"c": first, "d": json.dumps(parts), "i": rid})
        (file_id,) = conn.execute(text("SELECT id FROM scan_files")).one()
        conn.execute(text("INSERT INTO scan_pages (scan_file_id, source_index, state, reason, bilevel, details, "
                          "image_path) VALUES (:f, 99, 'unidentified', 'No page code could be read.', :b, '{}', "
                          ":p)"), {"f": file_id, "b": False, "p": str(home / "pages" / "1.png")})
        (home / "pages").mkdir()
        picture = _png_bytes()
        (home / "pages" / "1.png").write_bytes(picture)
        moved["picture"] = picture
        for run_id, path in list(conn.execute(text("SELECT id, pdf_path FROM print_runs ORDER BY id"))):
            if run_id == 1:  # drawn by the worker into the home
                old = home / "print-runs" / f"run-{run_id}.pdf"
                Path(path).replace(old)
            else:  # drawn by `render --output`: the previous release kept only that file
                old = outside
                Path(path).replace(old)
            conn.execute(text("UPDATE print_runs SET pdf_path = :p WHERE id = :i"), {"p": str(old), "i": run_id})
            moved[f"run-{run_id}"] = old.read_bytes()
        conn.execute(text("INSERT INTO jobs (kind, payload, state, attempts, done, total, created_at) "
                          "VALUES ('read_scans', '{}', 'queued', 0, 0, 0, CURRENT_TIMESTAMP)"))
    return moved


def _png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (40, 60), 200).save(buf, format="PNG")
    return buf.getvalue()


def test_upgrading_a_previous_release_keeps_every_scan_page_reading_and_print_run_usable(
        db_url: str, tmp_path: Path, layouts: Path, returned: Returned) -> None:  # noqa: F811
    ctx = ServiceContext.from_config(make_config(tmp_path, layouts, db_url))
    ctx.db.upgrade()
    questionnaires.sync_definitions(ctx)
    in_home = printing.order_print_run(ctx, Q, "standard", 1)
    printing.draw_print_run(ctx, in_home.id)
    by_cli = printing.order_print_run(ctx, Q, "easy-read", 1)
    printing.draw_print_run(ctx, by_cli.id, output=tmp_path / "cli-output.pdf")
    sheet = first_sheet(returned, "standard")
    batch = ingest.accept_files(ctx, [("pages.png", _png(sheet.pages[2]))])  # a page of written answers
    jobs.run_now(ctx, batch.job_id)
    before = list(export.iter_records(ctx))
    assert any(a["value"] for a in before[0]["answers"].values() if isinstance(a["value"], str))

    outside = tmp_path / "printed-elsewhere.pdf"
    old = _as_previous_release(ctx, outside)
    assert ctx.db.current_revision() == "0002"
    ctx.db.upgrade()
    assert ctx.db.current_revision() == ctx.db.head_revision()

    # every reading, with its state, exactly as before
    assert list(export.iter_records(ctx)) == before
    with ctx.db.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text(
            "SELECT pdf_key FROM print_runs UNION ALL SELECT image_key FROM scan_pages "
            "UNION ALL SELECT crop_key FROM field_readings")) if k]
        states = set(conn.execute(text("SELECT state FROM jobs UNION SELECT state FROM print_runs")).scalars())
    assert keys and not [k for k in keys if k.startswith("/") or str(tmp_path) in k]
    assert "queued" not in states and JobState.PENDING in states
    # the crops, for the person who will transcribe them
    crops = [k for k in keys if "/crops/" in k]
    assert crops and all(ctx.storage.read(k) in old.values() for k in crops)
    # the page waiting to be identified, with its picture
    [waiting] = identify.unidentified_pages(ctx)
    assert identify.page_picture(ctx, waiting["id"]) == old["picture"]
    # the stored original, under its scan with everything cut from it
    f = stored_file(ctx, 1)
    assert f.state == ScanFileState.READ and ctx.storage.exists(f.key)
    assert set(ctx.storage.scan_keys(f.sha256)) >= {f.key, waiting["image_key"], *crops}
    again = ingest.accept_files(ctx, [("again.png", _png(sheet.pages[2]))])
    assert [o.state for o in again.files] == ["duplicate"]
    # both print runs' PDFs, the one printed outside the home copied in
    for run in (in_home, by_cli):
        info = printing.get_print_run(ctx, run.id)
        assert info.state == PrintRunState.DONE and info.pdf_ready
        assert printing.pdf_path(ctx, run.id).read_bytes() == old[f"run-{run.id}"]
    assert ctx.storage.print_run_keys(by_cli.id) == [f"print-runs/{by_cli.id}/run-{by_cli.id}.pdf"]
    ctx.close()


@pytest.mark.parametrize("home_known", [True, False])
def test_an_upgrade_stopped_half_way_can_run_again(tmp_path: Path, layouts: Path, sqlite_url: str,
                                                   home_known: bool) -> None:
    """Files already moved are found where they went; without a home only the rows are rewritten."""
    ctx = ServiceContext.from_config(make_config(tmp_path, layouts, sqlite_url))
    ctx.db.upgrade()
    questionnaires.sync_definitions(ctx)
    run = printing.order_print_run(ctx, Q, "standard", 1)
    printing.draw_print_run(ctx, run.id)
    pdf = printing.pdf_path(ctx, run.id).read_bytes()
    command.downgrade(ctx.db.alembic_config(), "0002")
    if not home_known:
        ctx.db.home = None
    ctx.db.upgrade()  # the file never moved back: the upgrade finds it at its key
    assert printing.pdf_path(ctx, run.id).read_bytes() == pdf
    ctx.close()
