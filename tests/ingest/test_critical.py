"""The routing question is critical: the machine accepts its answer alone only at the stricter
confidence, and never a blank (a wrong area puts someone's words among another group's)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forms_service.context import ServiceContext
from forms_service.questionnaire import load_definition
from forms_service.questionnaire.model import Question
from forms_service.scan.pipeline import CRITICAL_MIN
from forms_service.services import ingest, jobs
from forms_service.store.models import FieldReading, Response
from tests.conftest import SHIPPED
from tests.ingest.conftest import Returned
from tests.verify.conftest import png


def test_the_routing_question_and_marked_questions_are_critical() -> None:
    q = load_definition(SHIPPED).questionnaire
    assert q.critical_fields() == {"group"}
    with pytest.raises(ValueError, match="cannot be critical"):
        Question(id="q", type="text", text="Anything else?", critical=True)
    rated = Question(id="r", type="rating", text="How well?", critical=True, rows=[{"id": "a", "label": "A"}],
                     scale=[{"value": "1", "label": "1"}, {"value": "2", "label": "2"}])
    assert rated.critical


def test_a_blank_or_less_than_sure_routing_answer_waits_for_a_person(ctx: ServiceContext, returned: Returned) -> None:
    files = [(f"{s.sheet}-{p.page}.png", png(p)) for s in returned.sheets.values() for p in s.pages[1:3]]
    jobs.run_now(ctx, ingest.accept_files(ctx, files).job_id)
    with ctx.db.session() as s:
        rows = s.execute(select(Response.sheet_id, FieldReading).join(
            Response, Response.id == FieldReading.response_id).where(FieldReading.field_id == "group")).all()
    assert len(rows) == len(returned.sheets)
    for sheet, fr in rows:
        truth = returned.sheets[sheet].truth["group"]
        if fr.state == "auto":
            assert fr.value["v"] == truth and fr.value["v"] is not None and fr.confidence >= CRITICAL_MIN - 5e-5
        else:
            assert fr.crop_key  # the person sees the boxes
    blank = [fr for sheet, fr in rows if returned.sheets[sheet].truth["group"] is None]
    assert blank and all(fr.state == "queued" and fr.details.get("critical") for fr in blank)
