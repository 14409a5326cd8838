"""Print runs through the service, the web pages, the API and the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pypdfium2
import pytest
from sqlalchemy import select

from forms_service.errors import FrozenVersionError, InvalidInput, NotFound
from forms_service.jobs import run_pending
from forms_service.layout import dumps_layout, layout_path, load_layout
from forms_service.render import build_layout
from forms_service.services import printing, questionnaires, users
from forms_service.sheets import is_sheet_id
from forms_service.store.models import Sheet
from tests.conftest import add_version, csrf_token, sign_in

Q = "big-leeds-conversation"


def test_order_and_draw_records_sheets_and_freezes_the_version(ctx) -> None:  # type: ignore[no-untyped-def]
    run = printing.queue_print_run(ctx, questionnaire=Q, variant="standard", copies=3, batch="Estates")
    assert run.state == "pending" and run.batch == "Estates"
    assert questionnaires.get_version(ctx, Q).frozen
    assert run_pending(ctx) == 1
    done = printing.get_print_run(ctx, run.id)
    # the latest shipped version (2026-12) adds a last sheet with the receipt slip
    assert (done.state, done.copies_done, done.pages_per_copy, done.pdf_ready) == ("done", 3, 8, True)
    pdf = pypdfium2.PdfDocument(str(printing.pdf_path(ctx, run.id)))
    assert len(pdf) == 24
    pdf.close()
    record = printing.manifest(ctx, run.id)
    assert [len(s["pdf_pages"]) for s in record["sheets"]] == [8, 8, 8]
    assert record["sheets"][1]["pdf_pages"] == list(range(9, 17))
    assert all(is_sheet_id(s["sheet"]) for s in record["sheets"])
    assert "receipt" not in json.dumps(record)  # the codes are on the slips only
    with ctx.db.session() as s:
        hashes = list(s.scalars(select(Sheet.receipt_hash).where(Sheet.print_run_id == run.id)))
    assert len(set(hashes)) == 3 and all(h and len(h) == 64 for h in hashes)
    layout = load_layout(record["layout"])
    assert layout.variant == "standard" and layout.field_ids()[0] == "group"


def test_changing_a_printed_definition_is_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    path = add_version(ctx.config.layouts, "2027-01")
    questionnaires.sync_definitions(ctx)
    printing.order_print_run(ctx, Q, "standard", 1, version="2027-01")
    path.write_text(path.read_text().replace("Which group are you in?", "Which group are you part of?"))
    with pytest.raises(FrozenVersionError, match=re.escape(f"{path}: version 2027-01 of {Q} has been printed, so it cannot change")):
        questionnaires.sync_definitions(ctx)


def test_a_printed_layout_never_moves(ctx) -> None:  # type: ignore[no-untyped-def]
    first = printing.order_print_run(ctx, Q, "large-print", 1, version="2026-11")
    printing.draw_print_run(ctx, first.id)
    path = layout_path(ctx.config.layouts, Q, "2026-11", "large-print")
    doc = json.loads(path.read_text())
    doc["pages"][1]["fields"][0]["boxes"][0]["rect"][0] += 5  # as if the renderer had changed
    path.write_text(json.dumps(doc))
    second = printing.order_print_run(ctx, Q, "large-print", 1, version="2026-11")
    with pytest.raises(FrozenVersionError, match="already been printed"):
        printing.draw_print_run(ctx, second.id)
    assert printing.get_print_run(ctx, second.id).state == "failed"


def test_a_layout_file_of_an_earlier_release_does_not_stop_printing(ctx) -> None:  # type: ignore[no-untyped-def]
    """A variant printed before the layout recorded its frame prints again, and its file gains the frame."""
    first = printing.order_print_run(ctx, Q, "standard", 1, version="2026-11")
    printing.draw_print_run(ctx, first.id)
    path = layout_path(ctx.config.layouts, Q, "2026-11", "standard")
    doc = json.loads(path.read_text())
    for page in doc["pages"]:
        del page["fiducial_diameter"], page["footer"]
    path.write_text(json.dumps(doc, indent=2))
    second = printing.order_print_run(ctx, Q, "standard", 1, version="2026-11")
    assert printing.draw_print_run(ctx, second.id).state == "done"
    assert "footer" in json.loads(path.read_text())["pages"][0]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"variant": "tiny"}, InvalidInput, "'tiny' is not a printed variant; choose one of standard, large-print, easy-read"),
        ({"copies": 0}, InvalidInput, "Order at least one copy."),
        ({"copies": 201}, InvalidInput, "at most 200 copies"),
        ({"batch": "<script>"}, InvalidInput, "A batch label has up to 80 letters"),
        ({"questionnaire": "other"}, NotFound, "no questionnaire called 'other'"),
        ({"version": "1999"}, NotFound, "has no version '1999'"),
    ],
)
def test_bad_orders(ctx, kwargs, error, message) -> None:  # type: ignore[no-untyped-def]
    order = {"questionnaire": Q, "variant": "standard", "copies": 2, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        printing.order_print_run(ctx, **order)


def test_previews(ctx) -> None:  # type: ignore[no-untyped-def]
    assert printing.preview_page_count(ctx, Q, "2026-11", "easy-read") == 12
    png = printing.preview_png(ctx, Q, "2026-11", "easy-read", 1)
    assert png.startswith(b"\x89PNG")
    with pytest.raises(NotFound, match="there is no page 13"):
        printing.preview_png(ctx, Q, "2026-11", "easy-read", 13)


def test_facilities_manager_orders_watches_and_downloads(client, make_user, ctx) -> None:  # type: ignore[no-untyped-def]
    make_user("fran", "facilities-manager")
    sign_in(client, "fran")
    page = client.get("/print/").get_data(as_text=True)
    assert "No print runs yet" in page
    response = client.post("/print/", data={
        "questionnaire": f"{Q}@2026-11", "variant": "easy-read", "copies": "0", "batch": "",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 400 and "Order at least one copy" in response.get_data(as_text=True)
    response = client.post("/print/", data={
        "questionnaire": f"{Q}@2026-11", "variant": "easy-read", "copies": "2", "batch": "Catering",
        "csrf_token": csrf_token(page)})
    assert response.status_code == 302
    run_url = response.headers["Location"]
    assert client.get(run_url + ".json").get_json()["state"] == "pending"
    run_pending(ctx)  # the embedded worker's job, run here
    status = client.get(run_url + ".json").get_json()
    assert status == {"state": "done", "copies": 2, "copies_done": 2, "error": None, "pdf_ready": True}
    download = client.get(run_url + "/pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "Catering" in client.get("/print/").get_data(as_text=True)
    preview = client.get(f"/print/preview/{Q}/2026-11/standard/1.png")
    assert preview.status_code == 200 and preview.mimetype == "image/png"


def test_api_print_run(client, make_user, ctx) -> None:  # type: ignore[no-untyped-def]
    make_user("fran", "facilities-manager")
    headers = {"Authorization": f"Bearer {users.create_token(ctx, 'fran')}"}
    response = client.post("/api/v1/print-runs", json={"questionnaire": Q, "variant": "standard", "copies": 2},
                           headers=headers)
    assert response.status_code == 202
    run_id = response.get_json()["id"]
    early = client.get(f"/api/v1/print-runs/{run_id}/pdf", headers=headers)
    assert early.status_code == 409 and "no PDF yet" in early.get_json()["error"]["message"]
    run_pending(ctx)
    body = client.get(f"/api/v1/print-runs/{run_id}", headers=headers).get_json()
    assert body["state"] == "done" and body["pdf_url"] == f"/api/v1/print-runs/{run_id}/pdf"
    assert body["sheets_returned"] == 0
    pdf = client.get(body["pdf_url"], headers=headers)  # a script downloads it with its token
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get(body["pdf_url"]).status_code == 401


def test_cli_render_writes_pdf_layout_and_manifest(cli, tmp_path: Path, layouts: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out" / "forms.pdf"
    out.parent.mkdir()
    manifest = tmp_path / "out" / "manifest.json"
    result = cli("render", Q, "--variant", "large-print", "--output", str(out), "--copies", "2",
                 "--batch", "Porters", "--manifest", str(manifest))
    assert result.exit_code == 0, result.output
    assert "Wrote" in result.output and "2 copies x 12 pages" in result.output
    record = json.loads(manifest.read_text())
    assert set(record) == {"questionnaire", "version", "variant", "batch", "layout", "sheets"}
    assert (record["questionnaire"], record["version"], record["variant"], record["batch"]) == (
        Q, "2026-12", "large-print", "Porters")
    assert record["layout"] == str(layouts / Q / "2026-12" / "large-print.json")
    assert [s["pdf_pages"][0] for s in record["sheets"]] == [1, 13]
    assert Path(record["layout"]).exists()
    listing = cli("questionnaire", "list")
    assert "\tprinted\t" in listing.output


def test_cli_render_bad_inputs_leave_no_files(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "forms.pdf"
    for args, message in [
        (["--variant", "huge-print"], "'huge-print' is not a printed variant"),
        (["--variant", "standard", "--copies", "0"], "Order at least one copy."),
        (["--variant", "standard", "--copies", "100000"], "at most 5000 copies"),
    ]:
        result = cli("render", Q, "--output", str(out), *args)
        assert result.exit_code == 2 and message in result.output, result.output
    result = cli("render", "nope", "--variant", "standard", "--output", str(out))
    assert result.exit_code == 2 and "There is no questionnaire called 'nope'" in result.output
    result = cli("render", Q, "--variant", "standard", "--output", str(tmp_path))
    assert result.exit_code == 2 and "is a folder" in result.output
    assert not out.exists()


def test_committed_layouts_match_the_renderer() -> None:
    from forms_service.questionnaire import load_definition
    from tests.conftest import REPO, SHIPPED

    q = load_definition(SHIPPED).questionnaire
    for variant in ("standard", "large-print", "easy-read"):
        committed = (REPO / "layouts" / Q / "2026-11" / f"{variant}.json").read_text()
        assert committed == dumps_layout(build_layout(q, variant)), variant
