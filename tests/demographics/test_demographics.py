""""About you" answers reach analysts only as protected counts: small cells suppressed, the rest
rounded, and no suppressed count recoverable from the totals beside it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

import numpy as np
import pytest

from forms_service.context import ServiceContext
from forms_service.services import demographics
from forms_service.services.layouts import find_layout
from forms_service.states import FieldState, ScanFileState, ScanPageState
from forms_service.store.models import FieldReading, Response, ScanFile, ScanPage, utcnow
from tests.conftest import PASSWORD, csrf_token, sign_in


def lines(nrows: int, ncols: int) -> list[list[tuple]]:  # type: ignore[type-arg]
    out = [[("c", i, j) for j in range(ncols)] + [("r", i)] for i in range(nrows)]
    out += [[("c", i, j) for i in range(nrows)] + [("k", j)] for j in range(ncols)]
    out += [[("r", i) for i in range(nrows)] + [("all",)], [("k", j) for j in range(ncols)] + [("all",)]]
    return out


def published(cells, rows, cols, total) -> dict:  # type: ignore[no-untyped-def,type-arg]
    out = {("c", i, j): n for i, r in enumerate(cells) for j, n in enumerate(r)}
    out.update({("r", i): n for i, n in enumerate(rows)})
    out.update({("k", j): n for j, n in enumerate(cols)})
    out[("all",)] = total
    return out


def true_values(counts: Sequence[Sequence[int]]) -> dict:  # type: ignore[type-arg]
    a = np.array(counts)
    return published(a.tolist(), a.sum(axis=1).tolist(), a.sum(axis=0).tolist(), int(a.sum()))


def test_small_counts_are_suppressed_and_the_rest_rounded() -> None:
    cells, rows, cols, total = demographics.protect([[40, 22, 0], [15, 31, 12]])
    assert cells == [[40, 20, 0], [15, 30, 10]] and rows == [60, 60] and cols == [55, 55, 10] and total == 120
    assert [demographics.round_to(n) for n in (10, 12, 13, 17, 18)] == [10, 10, 15, 15, 20]


def test_a_lone_suppressed_count_takes_another_with_it() -> None:
    # 3 alone in its row and column: the row total 43 and 40 beside it would give it away
    cells, rows, cols, total = demographics.protect([[40, 3], [20, 25]])
    assert cells[0][1] is None and cells[0][0] is None  # its row: hidden with its neighbour
    assert cells[1][1] is None  # its column too
    assert sum(n is None for r in cells for n in r) >= 3


@pytest.mark.parametrize("seed", range(40))
def test_no_line_ever_holds_exactly_one_suppressed_count(seed: int) -> None:
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 7)), int(rng.integers(1, 5)))
    counts = rng.choice([0, 0, 1, 2, 5, 9, 10, 14, 30, 80], size=shape).tolist()
    truth = true_values(counts)
    shown = published(*demographics.protect(counts))
    for key, n in truth.items():
        if 0 < n < demographics.SUPPRESS_BELOW:
            assert shown[key] is None, (counts, key)  # primary suppression
        if shown[key] is not None:
            assert shown[key] == demographics.round_to(n)
    for line in lines(*shape):
        hidden = [k for k in line if shown[k] is None]
        assert len(hidden) != 1, (counts, line)


def add_complete_responses(ctx: ServiceContext, answers: list[dict[str, str]]) -> None:
    """Complete responses, straight into the database: every field settled, every page read."""
    layout = find_layout(ctx, "big-leeds-conversation", "2026-11", "standard")
    assert layout is not None
    with ctx.db.session() as s:
        scan = ScanFile(sha256=uuid.uuid4().hex * 2, filename="batch.pdf", size=1, kind="pdf",
                        state=ScanFileState.READ, pages=0)
        s.add(scan)
        s.flush()
        index = 0
        for given in answers:
            r = Response(public_id=uuid.uuid4().hex[:16], sheet_id=uuid.uuid4().hex[:8].upper(),
                         questionnaire="big-leeds-conversation", version="2026-11", variant="standard",
                         pages_expected=len(layout.pages), created_at=utcnow())
            s.add(r)
            s.flush()
            for page in layout.pages:
                index += 1
                s.add(ScanPage(scan_file_id=scan.id, source_index=index, state=ScanPageState.READ,
                               questionnaire=r.questionnaire, version=r.version, variant=r.variant, page=page.page,
                               sheet_id=r.sheet_id, response_id=r.id))
                for f in page.fields:
                    if f.part and f.part > 1:
                        continue
                    blank = "" if f.type == "text" else ([] if f.type == "multi_choice" else None)
                    s.add(FieldReading(response_id=r.id, field_id=f.id, type=f.type,
                                       value={"v": given.get(f.id, blank)}, confidence=0.999,
                                       state=FieldState.AUTO, page=page.page))


def test_the_report_counts_complete_responses_by_group(ctx: ServiceContext, client, make_user) -> None:  # type: ignore[no-untyped-def]
    people = ([{"group": "staff", "age": "35-49", "gender": "woman"}] * 23
              + [{"group": "student", "age": "under-25", "gender": "man"}] * 31
              + [{"group": "student", "age": "under-25", "gender": "non-binary"}] * 2  # two: never shown
              + [{"group": "postgraduate-researcher", "age": "25-34"}] * 12)
    add_complete_responses(ctx, people)
    [block] = demographics.report(ctx)
    assert block["counted"] == 70 and block["not_yet_counted"] == 0  # 68, rounded
    age = next(t for t in block["tables"] if t["title"].startswith("How old are you?"))
    labels = [r["label"] for r in age["rows"]]
    groups = [c["value"] for c in age["columns"]]
    under_25, staff = labels.index("Under 25"), groups.index("staff")
    assert age["cells"][under_25][groups.index("student")] == 35  # 33, rounded to 5
    assert age["cells"][labels.index("35 to 49")][staff] == 25  # 23
    gender = next(t for t in block["tables"] if t["title"].startswith("What is your gender?"))
    glabels = [r["label"] for r in gender["rows"]]
    assert gender["row_totals"][glabels.index("Non-binary")] is None  # 2 people: suppressed
    assert all(n is None or n % 5 == 0 for r in gender["cells"] for n in r)
    text = json.dumps(block)
    assert "sheet" not in text and "response" not in text  # counts only

    make_user("ann", "analyst")
    sign_in(client, "ann")
    page = client.get("/about-you/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "not shown" in html and "How old are you?" in html and "<svg" in html
    assert client.get("/about-you/demographics.json").get_json()[0]["counted"] == 70
    client.post("/sign-out", data={"csrf_token": csrf_token(html)})
    make_user("vera", "verifier")
    sign_in(client, "vera")
    assert client.get("/about-you/").status_code == 403


def test_export_demographics_and_the_api(ctx: ServiceContext, client, make_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from forms_service.cli import main
    from forms_service.services import users

    add_complete_responses(ctx, [{"group": "staff", "disability": "no"}] * 15)
    env = {"FORMS_SERVICE_HOME": str(ctx.config.home), "FORMS_SERVICE_LAYOUTS": str(ctx.config.layouts),
           "DATABASE_URL": ctx.config.database_url, "FORMS_SERVICE_SECRET_KEY": ctx.config.secret_key,
           "FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS": "age:gender,age:shoe-size"}
    out = tmp_path / "about-you.json"
    done = CliRunner().invoke(main, ["export-demographics", "--output", str(out)], env=env, catch_exceptions=False)
    assert done.exit_code == 0 and "Wrote" in done.output
    [block] = json.loads(out.read_text())["items"]
    assert any((t["title"], t["by"]) == ("How old are you?", "What is your gender?") for t in block["tables"])
    assert any("age:shoe-size" in n for n in block["notes"])
    folder = CliRunner().invoke(main, ["export-demographics", "--output", str(tmp_path)], env=env)
    assert folder.exit_code == 2 and "is a folder" in folder.output

    make_user("ann", "analyst")
    make_user("vera", "verifier")
    ann = {"Authorization": f"Bearer {users.create_token(ctx, 'ann')}"}
    vera = {"Authorization": f"Bearer {users.create_token(ctx, 'vera')}"}
    [item] = client.get("/api/v1/demographics", headers=ann).get_json()["items"]
    assert item["counted"] == 15
    assert client.get("/api/v1/demographics", headers=vera).status_code == 403
    assert PASSWORD
