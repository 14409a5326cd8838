"""The verification queue through the JSON API and the service: leases, answers, the audit log, the export."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from forms_service.context import ServiceContext
from forms_service.services import export, verify
from forms_service.store.models import FieldChange, FieldReading, Lease, utcnow


def test_two_verifiers_never_get_the_same_field_and_a_reload_gives_the_same_ones(
        queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    _a, alice = verifier("alice")
    _b, bob = verifier("bob")
    first = client.get("/api/v1/queue?limit=5", headers=alice).get_json()["items"]
    second = client.get("/api/v1/queue?limit=10", headers=bob).get_json()["items"]
    assert len(first) == len(second) == 5  # ten fields in all: bob gets the five alice does not hold
    assert not {i["id"] for i in first} & {i["id"] for i in second}
    again = client.get("/api/v1/queue?limit=5", headers=alice).get_json()["items"]
    assert [i["id"] for i in again] == [i["id"] for i in first]
    # least certain first
    confidences = [i["confidence"] for i in first]
    assert confidences == sorted(confidences)
    item = first[0]
    assert set(item) >= {"id", "response", "field", "type", "question", "options", "suggestion", "image_url"}


def test_the_picture_goes_to_the_holder_only(queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    _a, alice = verifier("alice")
    _b, bob = verifier("bob")
    [item] = client.get("/api/v1/queue?kind=choice", headers=alice).get_json()["items"]
    assert item["type"] != "text" and item["options"] and item["image_url"]
    got = client.get(item["image_url"], headers=alice)
    assert got.status_code == 200 and got.mimetype == "image/png" and got.data[:4] == b"\x89PNG"
    assert client.get(item["image_url"], headers=bob).status_code == 404


def test_an_answer_is_checked_recorded_once_and_audited(queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    alice_id, alice = verifier("alice")
    _b, bob = verifier("bob")
    [item] = client.get("/api/v1/queue?kind=choice", headers=alice).get_json()["items"]
    url = f"/api/v1/queue/{item['id']}"
    wrong = client.post(url, json={"value": "not-an-option"}, headers=alice)
    assert wrong.status_code == 400 and "is not an option" in wrong.get_json()["error"]["message"]
    assert client.post(url, json={"value": item["options"][0]["value"]}, headers=bob).status_code == 409
    with queued.db.session() as s:
        assert s.get(FieldReading, item["id"]).state == "queued"  # type: ignore[union-attr]
    choice = item["options"][-1]["value"] if item["type"] == "single_choice" else [item["options"][-1]["value"]]
    done = client.post(url, json={"value": choice}, headers=alice)
    assert done.status_code == 200 and done.get_json() == {"id": item["id"], "state": "verified", "value": choice}
    twice = client.post(url, json={"value": choice}, headers=alice)
    assert twice.status_code == 409 and "answered already" in twice.get_json()["error"]["message"]
    record = next(iter(export.iter_records(queued)))
    assert record["answers"][item["field"]] == {"value": choice, "state": "verified",
                                                "confidence": item["confidence"]}
    with queued.db.session() as s:
        [change] = list(s.scalars(select(FieldChange)))
        assert (change.user_id, change.field_id, change.action, change.new_value, change.old_state) == (
            alice_id, item["field"], "verified", {"v": choice}, "queued")
        assert s.scalar(select(Lease)) is None  # the answered field's lease is gone with it
    log = verify.audit_log(queued)
    assert log[0]["user"] == "alice" and log[0]["new"] == choice


def test_a_lease_that_ran_out_frees_the_field_and_the_late_answer_changes_nothing(
        queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    _a, alice = verifier("alice")
    _b, bob = verifier("bob")
    [item] = client.get("/api/v1/queue", headers=alice).get_json()["items"]
    with queued.db.session() as s:
        s.execute(update(Lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    [taken] = client.get("/api/v1/queue", headers=bob).get_json()["items"]
    assert taken["id"] == item["id"]  # the least certain field, free again
    late = client.post(f"/api/v1/queue/{item['id']}", json={"value": item["value"]}, headers=alice)
    assert late.status_code == 409 and "do not hold this field" in late.get_json()["error"]["message"]
    assert client.post("/api/v1/queue/renew", json={"ids": [item["id"]]}, headers=alice).get_json() == {"held": []}
    assert client.post("/api/v1/queue/renew", json={"ids": [item["id"]]}, headers=bob).get_json() == {
        "held": [item["id"]]}


def test_written_answers_typed_illegible_or_flagged(queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    _a, alice = verifier("alice")
    items = client.get("/api/v1/queue?kind=text&limit=3", headers=alice).get_json()["items"]
    assert len(items) == 3 and all(i["type"] == "text" and i["options"] == [] for i in items)
    typed, unreadable, flagged = items
    assert client.post(f"/api/v1/queue/{typed['id']}", json={"value": "  Respect\r\nfor each other "},
                       headers=alice).get_json()["value"] == "Respect\nfor each other"
    assert client.post(f"/api/v1/queue/{unreadable['id']}", json={"illegible": True, "value": "x"},
                       headers=alice).status_code == 400
    assert client.post(f"/api/v1/queue/{unreadable['id']}", json={"illegible": True},
                       headers=alice).get_json()["value"] == ""
    assert client.post(f"/api/v1/queue/{flagged['id']}", json={"value": "Ask Dr Smith", "flag": "names a person"},
                       headers=alice).status_code == 200
    with queued.db.session() as s:
        assert s.get(FieldReading, unreadable["id"]).details["illegible"] is True  # type: ignore[union-attr]
        assert s.get(FieldReading, flagged["id"]).details["flagged"] == {"note": "names a person"}  # type: ignore[union-attr]
        actions = sorted(c.action for c in s.scalars(select(FieldChange)))
    assert actions == ["flagged", "illegible", "verified"]
    [choice] = client.get("/api/v1/queue?kind=choice", headers=alice).get_json()["items"]
    bad = client.post(f"/api/v1/queue/{choice['id']}", json={"illegible": True}, headers=alice)
    assert bad.status_code == 400 and "Only a written answer" in bad.get_json()["error"]["message"]


def test_a_response_is_complete_once_its_last_field_is_verified(queued: ServiceContext, verifier,
                                                                returned) -> None:  # type: ignore[no-untyped-def]
    from forms_service.services import ingest, jobs
    from tests.verify.conftest import first_sheet, png

    alice_id, _ = verifier("alice")

    def clear() -> int:
        answered = 0
        while tasks := verify.next_fields(queued, alice_id, limit=4):
            for t in tasks:
                verify.answer(queued, alice_id, t.id, t.value)
                answered += 1
        return answered

    assert clear() == 10 and verify.counts(queued) == {"choice": 0, "text": 0, "identify": 0}
    record = next(iter(export.iter_records(queued)))
    assert record["status"] == "incomplete"  # every field read is verified, but pages 5 and 6 are missing
    sheet = first_sheet(returned, "standard")
    batch = ingest.accept_files(queued, [(f"late{p.page}.png", png(p)) for p in sheet.pages[4:6]])
    jobs.run_now(queued, batch.job_id)
    assert next(iter(export.iter_records(queued)))["status"] == "needs_verification"
    assert clear() == 5
    record = next(iter(export.iter_records(queued)))
    assert record["status"] == "complete"
    assert {a["state"] for a in record["answers"].values()} == {"verified"}


def test_bad_requests_get_one_sentence(queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    _a, alice = verifier("alice")
    assert client.get("/api/v1/queue?limit=0", headers=alice).status_code == 400
    assert client.get("/api/v1/queue?kind=photos", headers=alice).status_code == 400
    assert client.post("/api/v1/queue/1", json={"colour": "red"}, headers=alice).status_code == 400
    assert client.post("/api/v1/queue/999999", json={"value": None}, headers=alice).status_code == 404
    assert client.get("/api/v1/queue").status_code == 401


def test_the_audit_log_and_the_pace_are_for_the_right_people(queued: ServiceContext, client, verifier,
                                                             make_user) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import sign_in

    alice_id, _ = verifier("alice")
    [task] = verify.next_fields(queued, alice_id, kind=verify.TaskKind.TEXT)
    verify.answer(queued, alice_id, task.id, "Kindness")
    sign_in(client, "alice")
    page = client.get("/verify/")
    assert page.status_code == 200 and "Fields answered per hour" in page.get_data(as_text=True)
    assert "alice" not in page.get_data(as_text=True).split("Pace")[1]  # per-person figures: administrators only
    assert client.get("/verify/audit").status_code == 403
    make_user("ada", "administrator")
    admin = client.application.test_client()
    sign_in(admin, "ada")
    log = admin.get("/verify/audit").get_data(as_text=True)
    assert "alice" in log and "Kindness" in log and task.field in log
    dashboard = admin.get("/verify/").get_data(as_text=True)
    assert "alice 1" in dashboard.split('id="people-title">')[1].split("</title>")[0]  # the chart per person
    assert verify.pace(queued)["per_hour"][-1] == 1
    # per print run: the three pages read (printed elsewhere), the fields, the time left at this pace
    [run] = verify.counts_by_print_run(queued)
    assert (run["print_run"], run["pages"], run["verified"]) == (None, 3, 1) and run["queued"] == 9
    assert "about 9.0 hours" in dashboard


def test_a_person_takes_back_their_own_last_answer_only(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    alice_id, _ = verifier("alice")
    bob_id, _ = verifier("bob")
    assert verify.reopen_last(queued, alice_id) is None
    [first] = verify.next_fields(queued, alice_id, kind=verify.TaskKind.TEXT)
    verify.answer(queued, alice_id, first.id, "Kindness")
    assert verify.reopen_last(queued, bob_id) is None  # not bob's answer
    assert verify.reopen_last(queued, alice_id) == first.id
    again = verify.field_task(queued, first.id)
    assert again.value == "Kindness" and verify.renew(queued, alice_id, [first.id]) == [first.id]
    assert verify.next_fields(queued, bob_id, limit=10) and first.id not in {
        t.id for t in verify.next_fields(queued, bob_id, limit=10)}
    verify.answer(queued, alice_id, first.id, "Kindness to all")
    with queued.db.session() as s:
        actions = [c.action for c in s.scalars(select(FieldChange).order_by(FieldChange.id))]
    assert actions == ["verified", "reopened", "verified"]
    assert next(iter(export.iter_records(queued)))["answers"][first.field]["value"] == "Kindness to all"


def test_the_whole_page_is_drawn_for_the_holder_on_request(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    import io

    import pytest
    from PIL import Image

    from forms_service.errors import NotFound

    alice_id, _ = verifier("alice")
    bob_id, _ = verifier("bob")
    [task] = verify.next_fields(queued, alice_id, kind=verify.TaskKind.CHOICE)
    picture = Image.open(io.BytesIO(verify.context_picture(queued, alice_id, task.id)))
    assert picture.format == "PNG" and picture.width > 500 and picture.height > picture.width  # a portrait page
    import numpy as np

    rgb = np.asarray(picture.convert("RGB"))
    assert (rgb == (29, 78, 216)).all(axis=2).any()  # the field is framed
    with pytest.raises(NotFound):
        verify.context_picture(queued, bob_id, task.id)


def test_a_grid_screen_is_taken_whole_but_for_the_fields_it_cannot_take(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    alice, _ = verifier("alice")
    screen = verify.grid(queued, alice)
    assert screen is not None and screen.type == "single_choice" and len(screen.tasks) == 1
    # the one question of this copy: flip it, and name a field not on the screen with a value it cannot have
    [task] = screen.tasks
    flipped = next(o.value for o in screen.options if o.value != task.value)
    verified, problems = verify.confirm_grid(queued, alice, {task.id: flipped, 999999: "x"})
    assert verified == 1 and problems == ["Field 999999: There is no field 999999."]
    assert verify.field_task(queued, task.id).state == "verified"
    assert verify.field_task(queued, task.id).value == flipped
    again, problems = verify.confirm_grid(queued, alice, {task.id: flipped})
    assert again == 0 and "answered already" in problems[0]
    with queued.db.session() as s:
        [change] = list(s.scalars(select(FieldChange)))
    assert (change.action, change.new_value, change.user_id) == ("verified", {"v": flipped}, alice)
    # a field the person could not tell stays theirs, for the single-field screen
    nxt = verify.grid(queued, alice)
    assert nxt is not None
    held = nxt.tasks[0].id
    assert verify.confirm_grid(queued, alice, {held: nxt.tasks[0].value}, cannot_tell=[held]) == (0, [])
    assert verify.next_fields(queued, alice)[0].id == held


def test_the_grid_can_be_kept_to_one_print_run(queued: ServiceContext, client, verifier) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import sign_in

    verifier("alice")
    sign_in(client, "alice")
    # the synthetic copies were printed elsewhere: print run 1 has nothing to check, the whole queue has
    assert "No tick boxes to check in print run 1" in client.get("/verify/grid?print_run=1").get_data(as_text=True)
    assert 'class="tile"' in client.get("/verify/grid").get_data(as_text=True)
    assert client.get("/verify/grid?print_run=first").status_code == 400
    # and so can the single-field screens
    assert "of print run 1 is waiting" in client.get("/verify/field?kind=text&print_run=1").get_data(as_text=True)
    assert 'id="field"' in client.get("/verify/field?kind=text").get_data(as_text=True)
    assert client.get("/verify/field?print_run=first").status_code == 400


def test_a_rating_question_is_one_grid_screen_across_rows_and_versions(ctx: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    """The rows of "how well do our values describe us" share a scale, so they share a screen, each tile
    naming its row; copies of the older version that ask it with the same options join them; another
    question, even one the machine was less sure of, waits for its own screen."""
    from sqlalchemy import insert

    from forms_service.store.models import Response

    alice, _ = verifier("alice")
    now = utcnow()
    with ctx.db.engine.begin() as conn:
        for n, version in enumerate(["2026-12", "2026-11", "2026-12"]):
            conn.execute(insert(Response).values(public_id=f"r{n}", sheet_id=f"S{n:07d}",
                                                 questionnaire="big-leeds-conversation", version=version,
                                                 variant="standard", pages_expected=6, created_at=now))
        ids = list(conn.scalars(select(Response.id).order_by(Response.id)))
        rows = [{"response_id": r, "field_id": f"values.{row}", "type": "single_choice", "value": {"v": "3"},
                 "confidence": 0.5 + 0.01 * i, "state": "queued", "page": 2, "details": {}, "updated_at": now}
                for i, (r, row) in enumerate((r, row) for r in ids for row in ("integrity", "community"))]
        rows.append({"response_id": ids[0], "field_id": "gender", "type": "single_choice", "value": {"v": "woman"},
                     "confidence": 0.55, "state": "queued", "page": 5, "details": {}, "updated_at": now})
        conn.execute(insert(FieldReading), rows)
    screen = verify.grid(ctx, alice)
    assert screen is not None
    assert screen.question == "How well do our current values describe the university today?"
    assert [t.field for t in screen.tasks] == ["values.integrity", "values.community"] * 3  # least certain first
    assert screen.rows == ("Integrity", "Community") * 3
    assert [t.response for t in screen.tasks][2:4] == ["r1", "r1"]  # the 2026-11 copy
    verify.confirm_grid(ctx, alice, {t.id: t.value for t in screen.tasks})
    nxt = verify.grid(ctx, alice)
    assert nxt is not None and [t.field for t in nxt.tasks] == ["gender"] and nxt.rows == ("",)
