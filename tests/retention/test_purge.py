"""The retention purge forgets scan images on schedule, keeps what a person still needs unless an
administrator says otherwise, logs what it deleted, and leaves every answer in place."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from forms_service.context import ServiceContext
from forms_service.errors import NotFound
from forms_service.registry import PERIODIC
from forms_service.services import export, retention, verify
from forms_service.states import ScanFileState
from forms_service.store.models import FieldReading, ScanFile
from tests.conftest import csrf_token, sign_in


def records(ctx: ServiceContext) -> list[dict]:  # type: ignore[type-arg]
    return sorted(export.iter_records(ctx), key=lambda r: r["response"])


def test_waiting_scans_are_kept_until_an_administrator_includes_them(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    before = records(queued)
    crops = [k for k in queued.storage.keys("scans") if "/crops/" in k]
    assert crops

    kept = retention.purge(queued, trigger="cli", older_than_days=0)
    assert (kept.files, kept.kept_waiting) == (0, 3)  # every field still waits for a person
    assert kept.blanks >= 1 and queued.storage.keys("blanks") == []  # blank forms go by age (made again on need)
    assert "kept 3 scan files a person still needs" in kept.sentence()
    assert [k for k in queued.storage.keys("scans") if "/crops/" in k] == crops

    gone = retention.purge(queued, trigger="web", older_than_days=0, include_waiting=True)
    assert (gone.files, gone.crops, gone.kept_waiting) == (3, len(crops), 0)
    assert queued.storage.keys("scans") == []
    with queued.db.session() as s:
        assert set(s.scalars(select(ScanFile.state))) == {ScanFileState.PURGED}
        assert not any(s.scalars(select(FieldReading.crop_key)))
    assert records(queued) == before  # the answers stay, and still export

    log = retention.log_entries(queued)
    assert [(e["trigger"], e["files"], e["kept_waiting"]) for e in log] == [("web", 3, 0), ("cli", 0, 3)]
    again = retention.purge(queued, trigger="schedule", older_than_days=0)
    assert again.sentence().startswith("Nothing to delete") and len(retention.log_entries(queued)) == 2

    # a verifier still answers a field whose picture is gone; the whole-page view says why it cannot
    vera, _ = verifier("vera")
    [task] = verify.next_fields(queued, vera, limit=1)
    assert not task.has_image
    with pytest.raises(NotFound, match="deleted by the retention purge"):
        verify.context_picture(queued, vera, task.id)


def test_what_is_due_follows_the_closing_date_or_the_age(queued: ServiceContext) -> None:
    now = datetime(2027, 5, 1, 12, tzinfo=UTC)
    by_age = retention.rule(queued, now)
    assert by_age.before == now - timedelta(days=30) and by_age.rule == "scans received more than 30 days ago"
    closing = ServiceContext.from_config(queued.config.with_(closing_date=date(2027, 4, 10)))
    try:
        early = retention.rule(closing, now)
        assert early.before is None and early.rule == "nothing before 10 May 2027, 30 days after the consultation closes"
        assert retention.purge(closing, trigger="schedule", now=now).files == 0
        late = retention.rule(closing, now + timedelta(days=9))
        assert late.everything and "closed on 10 April 2027" in late.rule
        done = retention.purge(closing, trigger="schedule", now=now + timedelta(days=9), include_waiting=True)
        assert done.files == 3 and done.blanks >= 1  # the blank forms the reader compared with, too
        assert closing.storage.keys("blanks") == []
    finally:
        closing.close()
    assert "purge" in PERIODIC


def test_purge_from_the_command_line_and_the_retention_page(queued: ServiceContext, client, make_user) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from forms_service.cli import main

    env = {"FORMS_SERVICE_HOME": str(queued.config.home), "FORMS_SERVICE_LAYOUTS": str(queued.config.layouts),
           "DATABASE_URL": queued.config.database_url, "FORMS_SERVICE_SECRET_KEY": queued.config.secret_key}
    both = CliRunner().invoke(main, ["purge", "--older-than", "0", "--all"], env=env)
    assert both.exit_code == 2 and "Give --older-than DAYS or --all, not both." in both.output
    unasked = CliRunner().invoke(main, ["purge", "--all", "--include-waiting"], env=env)
    assert unasked.exit_code == 2 and "add --yes to go ahead" in unasked.output
    kept = CliRunner().invoke(main, ["purge", "--all", "--yes"], env=env)
    assert kept.exit_code == 0 and "kept 3 scan files a person still needs" in kept.output

    make_user("vera", "verifier")
    sign_in(client, "vera")
    assert client.get("/retention/").status_code == 403
    client.post("/sign-out", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    make_user("ada", "administrator")
    sign_in(client, "ada")
    page = client.get("/retention/").get_data(as_text=True)
    assert "scans received more than 30 days ago" in page and "Purge log" in page
    refused = client.post("/retention/purge", data={"csrf_token": csrf_token(page), "scope": "all",
                                                    "include_waiting": "1"}, follow_redirects=True)
    assert "type delete in the box: nothing was deleted" in refused.get_data(as_text=True)
    assert queued.storage.keys("scans")
    done = client.post("/retention/purge", data={"csrf_token": csrf_token(page), "scope": "all",
                                                 "include_waiting": "1", "confirm": "delete"}, follow_redirects=True)
    assert "Deleted 3 scan files" in done.get_data(as_text=True)
    assert queued.storage.keys("scans") == []
    assert retention.log_entries(queued)[0]["by"] == "ada"
