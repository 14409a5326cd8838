"""Responses settled as a whole: pages never returned count as blank; a photocopied form's two copies both stand."""

from __future__ import annotations

from sqlalchemy import select, update

from forms_service.context import ServiceContext
from forms_service.services import export, ingest, jobs, verify
from forms_service.store.models import FieldChange, Response
from tests.conftest import csrf_token, sign_in
from tests.verify.conftest import first_sheet, png


def test_pages_never_returned_count_as_blank_and_the_response_completes(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    alice, _ = verifier("alice")
    [task] = verify.response_tasks(queued)["incomplete"]
    assert task.missing == [5, 6] and task.received == [2, 3, 4]
    assert verify.close_incomplete(queued, alice, task.public_id) == 5
    assert verify.response_tasks(queued)["incomplete"] == []
    while fields := verify.next_fields(queued, alice, limit=5):
        for f in fields:
            verify.answer(queued, alice, f.id, f.value)
    record = next(iter(export.iter_records(queued)))
    assert record["status"] == "complete"
    assert record["answers"]["age"] == {"value": None, "state": "verified", "confidence": 0.0}
    with queued.db.session() as s:
        assert len(list(s.scalars(select(FieldChange).where(FieldChange.action == "not_returned")))) == 5


def test_two_copies_of_one_sheet_both_stand_once_a_person_says_so(queued: ServiceContext, verifier, client,
                                                                   returned) -> None:  # type: ignore[no-untyped-def]
    alice, _ = verifier("alice")
    other = [s for s in returned.sheets.values() if s.variant == "standard"][1]
    jobs.run_now(queued, ingest.accept_files(queued, [("other.png", png(other.pages[1]))]).job_id)
    with queued.db.session() as s:
        first, second = list(s.scalars(select(Response).order_by(Response.id)))
        s.execute(update(Response).where(Response.id == second.id).values(conflict_of=first.id))  # as a photocopy
        second_id = second.public_id
    [task] = verify.response_tasks(queued)["conflicts"]
    assert task.public_id == second_id
    sign_in(client, "alice")
    page = client.get("/verify/responses").get_data(as_text=True)
    assert "Two people: keep both" in page
    done = client.post(f"/verify/responses/{second_id}", data={"action": "keep_both", "csrf_token": csrf_token(page)},
                       follow_redirects=True)
    assert "Both copies stand" in done.get_data(as_text=True)
    assert verify.response_tasks(queued)["conflicts"] == []
    assert all("flags" not in r for r in export.iter_records(queued))
    again = client.post(f"/verify/responses/{second_id}", data={"action": "keep_both", "csrf_token": csrf_token(page)},
                        follow_redirects=True)
    assert "nothing was changed" in again.get_data(as_text=True)
    assert first_sheet(returned, "standard").sheet != other.sheet
    del alice
