"""The rules that group read pages into responses, on real page readings (pure: no database, no files)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from forms_service.context import ServiceContext
from forms_service.responses import (
    CONFLICT_REASON,
    DUPLICATE_REASON,
    FieldValue,
    KnownResponse,
    PageReading,
    Placement,
    blank_value,
    export_value,
    merge_field,
    missing_pages,
    place_page,
    response_status,
    verify_field,
)
from forms_service.scan import PageImage
from forms_service.scan.pipeline import PageRead
from forms_service.services.reading import PageReader
from forms_service.states import FieldState, ResponseStatus
from tests.responses.conftest import Returned, first_sheet


def read(ctx: ServiceContext, returned: Returned, variant: str, page: int, *, sheet: int = 0) -> PageRead:
    """A page of the synthetic batch as the service's reader reads it."""
    sheets = [s for s in returned.sheets.values() if s.variant == variant]
    scanned = sheets[sheet].pages[page - 1]
    outcome = PageReader(ctx).read(PageImage(page - 1, scanned.image, scanned.dpi, scanned.bilevel, False, "png"))
    assert isinstance(outcome, PageRead), outcome
    return outcome


def known(key: int, *readings: PageReading) -> KnownResponse:
    return KnownResponse(key, {r.page: r.fingerprint for r in readings})


def test_pages_of_a_sheet_join_its_response_and_a_rescan_is_a_duplicate(ctx: ServiceContext,
                                                                         returned: Returned) -> None:
    one = PageReading.from_read(read(ctx, returned, "standard", 2))
    two = PageReading.from_read(read(ctx, returned, "standard", 3))
    assert one.sheet == two.sheet == first_sheet(returned, "standard").sheet
    assert place_page([], one.page, one.fingerprint).placement is Placement.NEW
    assert place_page([known(7, one)], two.page, two.fingerprint).placement is Placement.JOIN
    again = place_page([known(7, one, two)], one.page, one.fingerprint)
    assert (again.placement, again.response, again.reason) == (Placement.DUPLICATE, 7, DUPLICATE_REASON)


def test_the_same_sheet_id_with_other_answers_is_kept_apart(ctx: ServiceContext, returned: Returned) -> None:
    ours = PageReading.from_read(read(ctx, returned, "standard", 2))
    # another respondent's page 2, under our sheet id: a photocopy of a blank form, filled twice
    theirs = replace(PageReading.from_read(read(ctx, returned, "standard", 2, sheet=1)), sheet=ours.sheet)
    assert theirs.fingerprint != ours.fingerprint
    where = place_page([known(7, ours)], theirs.page, theirs.fingerprint)
    assert (where.placement, where.response, where.reason) == (Placement.CONFLICT, 7, CONFLICT_REASON)
    # the photocopy's next page joins the conflict response, not the first one
    following = place_page([known(7, ours), KnownResponse(8, {2: theirs.fingerprint}, conflict_of=7)], 2,
                           "a third copy")
    assert following.placement is Placement.CONFLICT
    assert place_page([known(7, ours), KnownResponse(8, {}, 7)], 2, theirs.fingerprint).response == 8


def test_a_verified_value_is_never_overwritten_by_a_later_reading(ctx: ServiceContext,
                                                                  returned: Returned) -> None:
    page = read(ctx, returned, "standard", 2)
    choice = next(f for f in page.fields if f.type == "single_choice")
    first = merge_field(None, choice, 2)
    assert first.value == choice.value and first.state in (FieldState.AUTO, FieldState.QUEUED)
    person = verify_field(first, "a value a person typed")
    assert merge_field(person, choice, 2) is person
    # an unverified reading is replaced by the newer one
    newer = replace(choice, value="something else", confidence=0.5, auto=False)
    assert merge_field(first, newer, 2).value == "something else"
    assert merge_field(first, newer, 2).state is FieldState.QUEUED


def test_a_text_field_over_several_areas_is_one_value_in_order(ctx: ServiceContext, returned: Returned) -> None:
    page = read(ctx, returned, "standard", 3)
    text = next(f for f in page.fields if f.type == "text")
    second = replace(text, part=2, value="and more", written=True, auto=False, confidence=0.3)
    first = replace(text, part=1, value="first words", written=True, auto=True, confidence=0.9)
    merged = merge_field(merge_field(None, second, 4, "scans/x/crops/p4.png"), first, 3, "scans/x/crops/p3.png")
    assert merged.value == "first words\nand more" and merged.suggestion == merged.value
    assert (merged.page, merged.crop, merged.confidence) == (3, "scans/x/crops/p3.png", 0.3)
    assert merged.state is FieldState.QUEUED  # one part needs a person: the field does
    assert sorted(merged.details["parts"]) == ["1", "2"]
    whole = merge_field(merged, replace(second, auto=True, confidence=0.95), 4)
    assert whole.state is FieldState.AUTO and whole.crop == "scans/x/crops/p3.png"


def test_a_response_is_complete_only_with_every_page_and_every_field_settled(ctx: ServiceContext,
                                                                              returned: Returned) -> None:
    page = read(ctx, returned, "standard", 2)
    with_fields = {p.page for p in page.layout.pages if p.fields}
    fields = [merge_field(None, f, 2) for f in page.fields]
    states = [f.state for f in fields]
    assert response_status(with_fields, [2], states) is ResponseStatus.INCOMPLETE
    assert missing_pages(with_fields, [2]) == sorted(with_fields - {2})
    settled = [FieldState.VERIFIED if s is FieldState.QUEUED else s for s in states]
    assert response_status(with_fields, with_fields, settled) is ResponseStatus.COMPLETE
    assert response_status(with_fields, with_fields, settled, conflict=True) is ResponseStatus.NEEDS_VERIFICATION
    assert response_status(with_fields, with_fields, [*settled, "queued"]) is ResponseStatus.NEEDS_VERIFICATION


@pytest.mark.parametrize("kind, stored, exported", [
    ("single_choice", None, None), ("multi_choice", None, []), ("multi_choice", ["b", "a"], ["a", "b"]),
    ("text", None, ""), ("text", "Yes!", "Yes!"),
])
def test_values_take_the_export_form(kind: str, stored: object, exported: object) -> None:
    assert export_value(kind, stored) == exported
    assert blank_value(kind) == export_value(kind, None)


def test_field_values_keep_their_state_type() -> None:
    value = FieldValue("group", "single_choice", "staff", 0.99, FieldState.AUTO)
    assert verify_field(value, "student").state.final and not value.state.final


def test_pages_a_person_said_were_never_returned_do_not_hold_a_response_back() -> None:
    states = [FieldState.AUTO, FieldState.VERIFIED]
    assert response_status({2, 3, 5}, {2, 3}, states) is ResponseStatus.INCOMPLETE
    assert response_status({2, 3, 5}, {2, 3}, states, not_returned={5}) is ResponseStatus.COMPLETE
