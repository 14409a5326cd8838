"""Blind entry and double-blind keying of written answers: two people type, a third settles a mismatch."""

from __future__ import annotations

from forms_service.context import ServiceContext
from forms_service.services import export, questionnaires, verify
from tests.conftest import csrf_token, sign_in

Q, V = "big-leeds-conversation", "2026-11"


def text_fields(ctx: ServiceContext, user_id: int, n: int) -> list[verify.FieldTask]:
    return verify.next_fields(ctx, user_id, kind=verify.TaskKind.TEXT, limit=n)


def test_two_agreeing_typings_settle_an_answer_and_a_mismatch_goes_to_a_third(
        queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    verify.set_keying(queued, Q, V, blind_entry=False, double_keying=True)
    alice, _ = verifier("alice")
    bob, _ = verifier("bob")
    carol, _ = verifier("carol")
    first, second = text_fields(queued, alice, 2)
    assert first.blind and first.suggestion is None and first.value == ""  # typed blind, from the picture
    assert verify.answer(queued, alice, first.id, "Respect").state == "queued"
    assert verify.answer(queued, alice, second.id, "Kind").state == "queued"
    assert {t.id for t in text_fields(queued, alice, 10)}.isdisjoint({first.id, second.id})  # not hers again
    for_bob = {t.id: t for t in text_fields(queued, bob, 10)}
    assert for_bob[first.id].keying == 1 and for_bob[first.id].value == ""  # blind to alice's typing
    assert verify.answer(queued, bob, first.id, "  Respect ").state == "verified"
    assert verify.answer(queued, bob, second.id, "Kindness").state == "queued"  # they disagree
    for task in for_bob.values():
        if task.id not in (first.id, second.id):
            verify.release(queued, bob, task.id)
    assert second.id not in {t.id for t in text_fields(queued, bob, 10)}
    for_carol = {t.id: t for t in text_fields(queued, carol, 10)}
    assert for_carol[second.id].keying == 2
    assert verify.answer(queued, carol, second.id, "Kindness").state == "verified"
    answers = next(iter(export.iter_records(queued)))["answers"]
    assert answers[first.field]["value"] == "Respect" and answers[second.field]["value"] == "Kindness"
    rates = {a["name"]: (a["typed"], a["agreed"]) for a in verify.keying_agreement(queued)}
    assert rates == {"alice": (2, 1), "bob": (2, 2), "carol": (1, 1)}


def test_blind_entry_hides_the_suggestion_and_one_typing_settles_it(queued: ServiceContext, verifier) -> None:  # type: ignore[no-untyped-def]
    verify.set_keying(queued, Q, V, blind_entry=True, double_keying=False)
    alice, _ = verifier("alice")
    [task] = text_fields(queued, alice, 1)
    assert task.blind and task.suggestion is None
    assert verify.answer(queued, alice, task.id, "Trust").state == "verified"
    [choice] = verify.next_fields(queued, alice, kind=verify.TaskKind.CHOICE)
    assert not choice.blind  # tick boxes are always shown with the machine's reading


def test_only_an_administrator_sets_how_answers_are_verified(queued: ServiceContext, client, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("vera", "verifier")
    make_user("ada", "administrator")
    url = f"/questionnaires/{Q}/{V}"
    sign_in(client, "vera")
    page = client.get(url).get_data(as_text=True)
    assert "double_keying" not in page
    assert client.post(url + "/verification", data={"double_keying": "y", "csrf_token": csrf_token(page)}
                       ).status_code == 403
    admin = client.application.test_client()
    sign_in(admin, "ada")
    token = csrf_token(admin.get(url).get_data(as_text=True))
    admin.post(url + "/verification", data={"double_keying": "y", "csrf_token": token})
    info = questionnaires.get_version(queued, Q, V)
    assert info.double_keying and not info.blind_entry
    assert "Double-blind keying: two people" in admin.get(url).get_data(as_text=True)
