"""Screening of complete responses, and the moderators' queue through the service and the JSON API."""

from __future__ import annotations

from sqlalchemy import select

from forms_service.context import ServiceContext
from forms_service.services import moderation
from forms_service.store.models import Contribution, ModerationAction


def contributions(ctx: ServiceContext) -> dict[str, Contribution]:
    with ctx.db.session() as s:
        return {c.text: c for c in s.scalars(select(Contribution))}


def test_a_complete_response_is_screened_once_and_what_is_found_is_held(screened: ServiceContext) -> None:
    made = contributions(screened)
    assert set(made) == {"Respect for each other, always", "call me on 07700 900123 if you want to talk about it",
                         "the head porter in Estates never answers, <b>ever</b>", "Kindness and honesty"}
    assert {c.area for c in made.values()} == {"staff"}  # routed by the group answer
    clean = made["Respect for each other, always"]
    assert clean.state == "passed" and clean.findings == []
    phone = made["call me on 07700 900123 if you want to talk about it"]
    assert phone.state == "held" and [f["kind"] for f in phone.findings] == ["phone"]
    porter = made["the head porter in Estates never answers, <b>ever</b>"]
    assert porter.state == "held" and {f["kind"] for f in porter.findings} == {"singling-out", "flagged"}
    assert moderation.screen_ready(screened) == 0  # once only
    # the gate: only what passed (or a moderator released) is ever handed to delivery
    assert {t for _i, _a, t in moderation.ready(screened)} == {"Respect for each other, always",
                                                                "Kindness and honesty"}


def test_two_moderators_never_hold_the_same_answer(screened: ServiceContext, moderator) -> None:  # type: ignore[no-untyped-def]
    alice, _ = moderator("alice")
    bob, _ = moderator("bob")
    [a] = moderation.next_items(screened, alice)
    [b] = moderation.next_items(screened, bob)
    assert a.id != b.id and moderation.next_items(screened, alice)[0].id == a.id  # a reload: the same one
    assert moderation.next_items(screened, bob, limit=5) == [b]  # nothing else is free


def test_redact_release_withhold_move_and_split(screened: ServiceContext, moderator) -> None:  # type: ignore[no-untyped-def]
    alice, _ = moderator("alice")
    items = {i.text: i for i in moderation.next_items(screened, alice, limit=5)}
    phone = items["call me on 07700 900123 if you want to talk about it"]
    [f] = phone.findings
    [redacted] = moderation.act(screened, alice, phone.id, "redact", spans=[[f["start"], f["end"]]])
    assert redacted.text == "call me on [contact details removed] if you want to talk about it"
    assert redacted.findings == () and redacted.state == "held"  # screened again; still the moderator's
    [released] = moderation.act(screened, alice, phone.id, "release")
    assert released.state == "released"
    porter = items["the head porter in Estates never answers, <b>ever</b>"]
    for bad in ({"area": "nowhere"}, ):
        try:
            moderation.act(screened, alice, porter.id, "move", **bad)
        except Exception as exc:  # noqa: BLE001
            assert "one of the areas" in str(exc)
        else:
            raise AssertionError("moved to an area that does not exist")
    [moved] = moderation.act(screened, alice, porter.id, "move", area="student")
    assert moved.area == "student"
    parts = moderation.act(screened, alice, porter.id, "split",
                           texts=["the porters never answer", "the head porter in Estates is rude"])
    assert [p.text for p in parts] == ["the porters never answer", "the head porter in Estates is rude"]
    assert parts[0].findings == () and parts[1].findings[0]["kind"] == "singling-out"
    [gone] = moderation.act(screened, alice, parts[1].id, "withhold", reason="singles out the head porter")
    assert gone.state == "withheld"
    moderation.act(screened, alice, parts[0].id, "release")
    ready = {t: a for _i, a, t in moderation.ready(screened)}
    assert ready["the porters never answer"] == "student"
    assert "the head porter in Estates is rude" not in ready
    assert "call me on [contact details removed] if you want to talk about it" in ready
    log = moderation.audit_log(screened)
    assert [e["action"] for e in log][:3] == ["release", "withhold", "split"] and log[0]["user"] == "alice"
    with screened.db.session() as s:
        assert len(list(s.scalars(select(ModerationAction)))) == 6


def test_the_api_answers_in_the_contract_and_refuses_in_one_sentence(
        screened: ServiceContext, client, moderator) -> None:  # type: ignore[no-untyped-def]
    _a, alice = moderator("alice")
    _b, bob = moderator("bob")
    got = client.get("/api/v1/moderation?limit=5", headers=alice)
    assert got.status_code == 200
    items = got.get_json()["items"]
    assert len(items) == 2 and all(set(i) >= {"id", "area", "text", "findings"} for i in items)
    assert all(set(f) >= {"kind", "start", "end", "reason"} for i in items for f in i["findings"])
    first = items[0]["id"]
    url = f"/api/v1/moderation/{first}"
    for body, status, words in (
            ({"action": "withhold"}, 400, "Say why"),
            ({"action": "shout"}, 400, "'action' is one of"),
            ({"action": "redact", "spans": [[5, 99999]]}, 400, "A span is"),
            ({"action": "split", "texts": ["only one"]}, 400, "at least two parts"),
            ({"action": "release", "colour": "red"}, 400, "Unknown key")):
        answer = client.post(url, json=body, headers=alice)
        assert answer.status_code == status and words in answer.get_json()["error"]["message"], answer.get_json()
    assert client.post(url, json={"action": "release"}, headers=bob).status_code == 409  # alice holds it
    done = client.post(url, json={"action": "release"}, headers=alice)
    assert done.status_code == 200 and done.get_json()["items"][0]["state"] == "released"
    assert client.post(url, json={"action": "release"}, headers=alice).status_code == 409  # dealt with already
    assert client.get("/api/v1/moderation", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_spot_check_holds_what_the_screen_passed(screened: ServiceContext) -> None:
    from sqlalchemy import delete

    with screened.db.session() as s:
        s.execute(delete(Contribution))
    screened.config = screened.config.with_(spot_check_rate=1.0)
    assert moderation.screen_ready(screened) == 4
    made = contributions(screened)
    clean = made["Respect for each other, always"]
    assert clean.state == "held" and clean.spot_check and clean.findings == []
    assert moderation.ready(screened) == []


def test_the_deployments_word_lists_reach_the_screen(ctx: ServiceContext, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from forms_service.errors import InvalidInput

    names = tmp_path / "directory.csv"
    names.write_text("name,department\n# a staff directory export\nPat Wibberley,Estates\n", encoding="utf-8")
    allow = tmp_path / "allow.txt"
    allow.write_text("priya\n", encoding="utf-8")
    ctx.config = ctx.config.with_(deny_names=names, allow_words=allow)
    found = moderation.screener(ctx).screen("ask wibberley, or thank priya")
    assert [(f.kind, "ask wibberley, or thank priya"[f.start:f.end]) for f in found] == [("name", "wibberley")]
    # a list that is configured but not there stops screening (nothing is passed without it) in one sentence
    ctx.config = ctx.config.with_(deny_names=tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="missing.csv cannot be read"):
        moderation.screener(ctx)
