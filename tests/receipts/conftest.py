"""A copy of the receipt version printed by the service, filled, scanned, verified, moderated and
delivered: its receipt code is read off the printed PDF, as a respondent would read it."""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from PIL import Image

from forms_lab.degrade import degrade
from forms_lab.synth import fill_page, random_respondent
from forms_service.config import Config
from forms_service.context import ServiceContext
from forms_service.pdfium import PDFIUM_LOCK
from forms_service.services import (
    delivery,
    ingest,
    jobs,
    moderation,
    printing,
    users,
    verify,
)
from forms_service.services.layouts import find_layout
from tests.conftest import PASSWORD, make_config
from tests.verify.conftest import ctx  # noqa: F401  (made with the config below)

#: what the verifier reads in each writing area (the filler's own handwriting is random)
WRITTEN = {
    "q_values": "Kindness, and listening to each other",
    "q_behaviours": "call me on 07700 900123 about the bins",
    "q_barriers": "the managers here are f*cking useless idiots",
    "q_anything_else": "",
}
CODE = re.compile(r"\b[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}\b")


@dataclass
class Delivered:
    ctx: ServiceContext
    code: str  # read off the printed slip
    sheet: str
    pdf: Path


def slip_code(pdf: Path) -> str:
    """The receipt code printed on the last page, as text (what a respondent reads)."""
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        text = doc.pages[-1].extract_text() or ""
    [code] = CODE.findall(text)
    return code


@pytest.fixture
def config(tmp_path: Path, layouts: Path) -> Config:
    """Every field for a person (auto-acceptance off), no spot checks, the export target."""
    return make_config(tmp_path, layouts, f"sqlite:///{tmp_path / 'home' / 'forms-service.db'}",
                       auto_accept_min=math.inf, spot_check_rate=0.0,
                       receipt_url="https://consult.example.ac.uk/receipt")


@pytest.fixture
def delivered(ctx: ServiceContext) -> Delivered:  # noqa: F811 (the fixture imported above)
    return deliver_one_copy(ctx)


def deliver_one_copy(ctx: ServiceContext) -> Delivered:  # noqa: F811
    """Print one standard copy of 2026-12, fill it, scan it, verify every field as :data:`WRITTEN`
    says, redact the phone number, withhold the abusive answer, and deliver (auto-acceptance off,
    no spot checks: the context's configuration must say so)."""
    run = printing.order_print_run(ctx, "big-leeds-conversation", "standard", 1, version="2026-12")
    printing.draw_print_run(ctx, run.id)
    from forms_service import storage

    pdf = ctx.storage.path(storage.print_run_pdf_key(run.id))
    code = slip_code(pdf)
    layout = find_layout(ctx, "big-leeds-conversation", "2026-12", "standard")
    assert layout is not None
    rng = np.random.default_rng(7)
    person = random_respondent(rng, population="typical")
    files = []
    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(str(pdf))
        pages = [np.array(doc[i].render(scale=300 / 72, grayscale=True).to_pil().convert("L"))
                 for i in range(len(doc))]
        doc.close()
    for n, raster in enumerate(pages, start=1):
        if not layout.page(n).fields:
            continue  # the last sheet, with the slip, stays with the respondent
        filled = fill_page(raster, layout.page(n), 300 / 72, rng, respondent=person)
        scanned = degrade(filled.image, rng, "office")
        buf = io.BytesIO()
        Image.fromarray(scanned.image).save(buf, format="PNG", dpi=(scanned.params.dpi, scanned.params.dpi))
        files.append((f"page-{n}.png", buf.getvalue()))
    batch = ingest.accept_files(ctx, files)
    jobs.run_now(ctx, batch.job_id)

    vera = users.add_user(ctx, "vera", ["verifier"], PASSWORD).id
    while tasks := verify.next_fields(ctx, vera, limit=50):
        for t in tasks:
            if t.type == "text":
                verify.answer(ctx, vera, t.id, WRITTEN[t.field])
            else:
                verify.answer(ctx, vera, t.id, "staff" if t.field == "group" else t.value)
    mo = users.add_user(ctx, "mo", ["moderator"], PASSWORD).id
    held = {i.text: i for i in moderation.next_items(ctx, mo, limit=10)}
    assert set(held) == {WRITTEN["q_behaviours"], WRITTEN["q_barriers"]}
    phone = held[WRITTEN["q_behaviours"]]
    moderation.act(ctx, mo, phone.id, "redact", spans=[[f["start"], f["end"]] for f in phone.findings
                                                       if f["kind"] == "phone"])
    moderation.act(ctx, mo, phone.id, "release")
    moderation.act(ctx, mo, held[WRITTEN["q_barriers"]].id, "withhold", reason="abusive")
    assert delivery.deliver(ctx).delivered == 2
    sheet = next(iter(printing.manifest(ctx, run.id)["sheets"]))["sheet"]
    return Delivered(ctx, code, sheet, pdf)
