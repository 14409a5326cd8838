"""Data-entry staff upload scans in the browser's form, watch the job, and identify a stray page."""

from __future__ import annotations

import io
from pathlib import Path

from forms_lab.synth.batch import write_scan_files
from forms_service.jobs import run_pending
from forms_service.services import users
from tests.conftest import csrf_token, sign_in
from tests.ingest.conftest import Returned, first_sheet


def test_upload_watch_and_identify(client, make_user, ctx, returned: Returned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_user("dee", "verifier")
    sign_in(client, "dee")
    page = client.get("/scans/").get_data(as_text=True)
    assert "Nothing uploaded yet" in page
    empty = client.post("/scans/", data={"csrf_token": csrf_token(page)}, content_type="multipart/form-data")
    assert empty.status_code == 400 and "Choose one or more scan files" in empty.get_data(as_text=True)
    sheet = first_sheet(returned, "easy-read")
    [pdf] = write_scan_files(sheet.pages[:3], tmp_path, "pdf", "er")
    blank_photo = io.BytesIO()
    from PIL import Image

    Image.new("L", (800, 1100), 240).save(blank_photo, format="JPEG")
    response = client.post("/scans/", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(page),
        "files": [(io.BytesIO(pdf.read_bytes()), "er.pdf"), (io.BytesIO(blank_photo.getvalue()), "wall.jpg"),
                  (io.BytesIO(b"just words"), "readme.txt")]})
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert client.get(job_url + ".json").get_json()["state"] == "pending"
    run_pending(ctx)
    status = client.get(job_url + ".json").get_json()
    assert status["state"] == "done" and status["done"] == status["total"] == 4
    job_page = client.get(job_url).get_data(as_text=True)
    assert "3 pages read into 1 response" in job_page
    assert "readme.txt" in job_page and "Pages for a person to identify" in job_page
    waiting = client.get("/scans/unidentified").get_data(as_text=True)
    assert "wall.jpg" in waiting and "No page code could be read" in waiting
    import re

    link = re.search(r'href="(/scans/unidentified/\d+)"', waiting)
    assert link
    form_page = client.get(link.group(1)).get_data(as_text=True)
    assert client.get(link.group(1) + ".png").mimetype == "image/png"
    bad = client.post(link.group(1), data={
        "csrf_token": csrf_token(form_page), "form": "big-leeds-conversation@2026-11@standard",
        "page": "2", "sheet": "0000-1111-OOO", "rotation": "0"})
    assert bad.status_code == 400 and "never contains" in bad.get_data(as_text=True)
    wrong = client.post(link.group(1), data={
        "csrf_token": csrf_token(form_page), "form": "big-leeds-conversation@2026-11@standard",
        "page": "2", "sheet": sheet.sheet, "rotation": "0"})
    assert wrong.status_code == 400 and "could not be lined up" in wrong.get_data(as_text=True)
    # a photo of a wall is not one of our forms: the person says so (an expired form changes nothing)
    assert "Set aside for a new scan" in form_page and "Not one of our forms" in form_page
    for action in ("set-aside", "not-ours"):
        expired = client.post(link.group(1) + "/" + action, data={"csrf_token": "stale"})
        assert expired.status_code == 400 and "Form expired" in expired.get_data(as_text=True)
    assert "wall.jpg" in client.get("/scans/unidentified").get_data(as_text=True)
    done = client.post(link.group(1) + "/not-ours", data={"csrf_token": csrf_token(form_page)})
    assert done.status_code == 302
    assert "No page is waiting" in client.get("/scans/unidentified").get_data(as_text=True)
    job_page = client.get(job_url).get_data(as_text=True)
    assert "Pages that are not one of our forms" in job_page and "wall.jpg, page 1" in job_page
    assert client.get(link.group(1)).status_code == 404
    assert client.post(link.group(1) + "/not-ours", data={"csrf_token": csrf_token(form_page)}).status_code == 404
    token = {"Authorization": f"Bearer {users.create_token(ctx, 'dee')}"}
    api = client.get("/api/v1/jobs/" + job_url.rsplit("/", 1)[1], headers=token).get_json()["summary"]
    assert api["unidentified"] == [] and api["set_aside"] == [] and [p["file"] for p in api["not_ours"]] == [
        "wall.jpg"]
