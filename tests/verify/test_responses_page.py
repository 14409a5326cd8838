"""The Responses page: counts by print run and status worked out in the database agree with the
export's own rule; one response's fields; what each role sees; the analysts' export."""

from __future__ import annotations

import csv
import io
import json

from forms_service.context import ServiceContext
from forms_service.services import export, ingest, jobs, users, verify
from forms_service.services import responses as responses_service
from tests.conftest import PASSWORD, sign_in
from tests.verify.conftest import Returned, png


def test_statuses_counts_and_what_each_role_sees(ctx: ServiceContext, returned: Returned, client) -> None:  # type: ignore[no-untyped-def]
    sheets = list(returned.sheets.values())
    a, b, c = sheets[0], sheets[1], sheets[2]  # two standard copies whole, a large-print one missing pages
    files = [(f"{s.sheet}-{p.page}.png", png(p)) for s, pages in ((a, a.pages), (b, b.pages), (c, c.pages[:3]))
             for p in pages]
    jobs.run_now(ctx, ingest.accept_files(ctx, files).job_id)
    vera = users.add_user(ctx, "vera", ["verifier"], PASSWORD).id
    users.add_user(ctx, "ann", ["analyst"], PASSWORD)
    users.add_user(ctx, "mo", ["moderator"], PASSWORD)
    records = {r["sheet"]: r for r in export.iter_records(ctx)}
    first = records[a.sheet]["response"]
    # every field of the first copy settled by a person: it is complete
    while True:
        mine = [t for t in verify.next_fields(ctx, vera, limit=100) if t.response == first]
        if not mine:
            break
        for t in mine:
            verify.answer(ctx, vera, t.id, t.value)
        for t in verify.next_fields(ctx, vera, limit=100):
            verify.release(ctx, vera, t.id)

    def agree() -> dict[str, str]:
        exported = {r["response"]: r["status"] for r in export.iter_records(ctx)}
        rows, total = responses_service.browse(ctx, limit=10)
        assert total == len(exported) == 3
        assert {r.public_id: r.status.value for r in rows} == exported
        return exported

    statuses = agree()
    assert sorted(statuses.values()) == ["complete", "incomplete", "needs_verification"]
    [counts] = responses_service.status_counts(ctx)  # the synthetic copies were printed elsewhere
    assert (counts["print_run"], counts["complete"], counts["needs_verification"], counts["incomplete"],
            counts["total"]) == (None, 1, 1, 1, 3)
    only, n = responses_service.browse(ctx, status=responses_service.ResponseStatus.INCOMPLETE)
    assert n == 1 and only[0].public_id == records[c.sheet]["response"]
    # the missing pages were never returned: still waiting for a person, by both rules
    verify.close_incomplete(ctx, vera, records[c.sheet]["response"])
    assert agree()[records[c.sheet]["response"]] == "needs_verification"

    # the page, for each role
    sign_in(client, "mo")
    assert client.get("/responses/").status_code == 403
    assert client.get(f"/responses/{first}").status_code == 403
    client.delete_cookie("session")
    sign_in(client, "ann")
    page = client.get("/responses/").get_data(as_text=True)
    assert "Responses by print run and status" in page and first in page and "are withheld" in page
    assert client.get("/responses/?status=done").status_code == 400
    one = client.get(f"/responses/{first}").get_data(as_text=True)
    assert "counted together only" in one and "<img" not in one  # no "about you" answer, no picture
    assert client.get(f"/responses/{first}/fields/q_values.png").status_code == 403
    lines = [json.loads(line) for line in client.get("/responses/export.jsonl").get_data(as_text=True).splitlines()]
    assert len(lines) == 3
    for rec in lines:
        for fid in ("age", "gender", "ethnicity", "disability", "faculty"):
            assert rec["answers"][fid]["withheld"] is True and rec["answers"][fid]["value"] is None
        assert "withheld" not in rec["answers"]["group"]
    rows = list(csv.reader(io.StringIO(client.get("/responses/export.csv").get_data(as_text=True))))
    assert len(rows) == 4 and rows[0][:2] == ["response", "sheet"]
    assert {row[rows[0].index("gender")] for row in rows[1:]} == {""}
    client.delete_cookie("session")
    sign_in(client, "vera")
    one = client.get(f"/responses/{first}").get_data(as_text=True)
    assert "counted together only" in one and '<img src="/responses/' in one
    assert client.get(f"/responses/{first}/fields/q_values.png").mimetype == "image/png"
    assert client.get(f"/responses/{first}/fields/gender.png").status_code == 404  # about you: not for them
    assert client.get("/responses/export.jsonl").status_code == 403  # the export is the analysts'
    assert client.get("/responses/nope").status_code == 404


def test_the_api_gives_analysts_records_without_about_you(ctx: ServiceContext, returned: Returned, client) -> None:  # type: ignore[no-untyped-def]
    sheet = next(iter(returned.sheets.values()))
    jobs.run_now(ctx, ingest.accept_files(ctx, [(f"p{p.page}.png", png(p)) for p in sheet.pages[4:6]]).job_id)
    for name, roles in (("ann", ["analyst"]), ("root", ["administrator"]), ("vera", ["verifier"])):
        users.add_user(ctx, name, roles, PASSWORD)
    tokens = {n: {"Authorization": f"Bearer {users.create_token(ctx, n)}"} for n in ("ann", "root", "vera")}
    [mine] = client.get("/api/v1/responses", headers=tokens["ann"]).get_json()["items"]
    [full] = client.get("/api/v1/responses", headers=tokens["root"]).get_json()["items"]
    assert mine["answers"]["age"]["withheld"] is True and mine["answers"]["age"]["value"] is None
    assert "withheld" not in full["answers"]["age"] and set(mine["answers"]) == set(full["answers"])
    assert client.get("/api/v1/responses", headers=tokens["vera"]).status_code == 403
