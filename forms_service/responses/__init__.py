"""Pages grouped into responses, and what a response's fields say: the rules, pure.

A *response* is one returned copy of a questionnaire: the pages read with one
sheet id. The rules, in one place:

* a page joins the first response of its sheet id that lacks that page;
* the same page of the same sheet id with the same content (a rescan) is a
  duplicate: noted, never read twice into the response;
* the same page of the same sheet id with different content (a photocopied blank
  form, filled twice) starts a second response, flagged as a conflict of the
  first, never merged into it;
* a field a person has verified is never overwritten by a later reading;
* a text field printed over several writing areas (parts, maybe on several pages)
  is one value: its parts joined in order;
* a response is ``incomplete`` while a page with fields is missing,
  ``needs_verification`` while a field is queued or it is a conflict, and
  ``complete`` when every field is auto-accepted or verified.

Pure: dataclasses in, dataclasses out; no Flask, no SQL, no files (a crop is
named by its storage key, stored by the caller). Must never: hold or log anything
about who a respondent is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..states import FieldState, ResponseStatus

if TYPE_CHECKING:
    from ..scan.pipeline import FieldResult, PageRead

DUPLICATE_REASON = "This page was already read (the same page scanned twice); ignored."
CONFLICT_REASON = ("Another copy of this sheet id with different answers was already read "
                   "(a photocopied form?): kept apart for a person to check.")
CONFLICT_FLAG = "sheet_seen_twice_with_different_answers"


# -- pages into responses ----------------------------------------------------------------


@dataclass(frozen=True)
class PageReading:
    """One page as the machine read it: which page of which sheet, what it showed, its fields."""

    sheet: str
    page: int
    fingerprint: str
    fields: tuple[FieldResult, ...] = ()

    @classmethod
    def from_read(cls, read: PageRead) -> PageReading:
        return cls(read.page_code.sheet, read.page_code.page, read.fingerprint, tuple(read.fields))


@dataclass(frozen=True)
class KnownResponse:
    """A response already recorded for a sheet id: its key and the fingerprints of its read pages."""

    key: int
    pages: Mapping[int, str]
    conflict_of: int | None = None


class Placement(StrEnum):
    JOIN = "join"  # the page joins an existing response
    NEW = "new"  # the first page of its sheet id: a new response
    DUPLICATE = "duplicate"  # read before with the same content
    CONFLICT = "conflict"  # read before with different content: a new response, flagged


@dataclass(frozen=True)
class Where:
    """Where a page goes: the placement, the response concerned and the reason for a person."""

    placement: Placement
    response: int | None = None  # joined, or seen before (duplicate); for a conflict, the response it conflicts with
    reason: str | None = None


def place_page(known: Sequence[KnownResponse], page: int, fingerprint: str) -> Where:
    """Where a read page of a sheet goes, given the responses of that sheet id in the order recorded."""
    for response in known:
        seen = response.pages.get(page)
        if seen is None:
            return Where(Placement.JOIN, response.key)
        if seen == fingerprint:
            return Where(Placement.DUPLICATE, response.key, DUPLICATE_REASON)
    if known:
        return Where(Placement.CONFLICT, known[0].key, CONFLICT_REASON)
    return Where(Placement.NEW)


# -- field readings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldValue:
    """The current reading of one field of one response, as stored."""

    field_id: str
    type: str  # single_choice, multi_choice, text
    value: Any
    confidence: float
    state: FieldState
    page: int | None = None
    suggestion: str | None = None  # text: the OCR suggestion shown to the person
    crop: str | None = None  # the storage key of the picture a person sees (a text field's first part with one)
    details: dict[str, Any] = field(default_factory=dict)


def merge_field(current: FieldValue | None, result: FieldResult, page: int,
                crop: str | None = None) -> FieldValue:
    """The field's reading once ``result`` (read on ``page``) is taken in.

    ``crop`` is the storage key of the picture kept for a person: a choice field's boxes, or
    a writing area (None: none kept).
    A verified field comes back unchanged: the machine never overwrites a person.
    """
    if current is not None and current.state.final:
        return current
    if result.type != "text":
        return FieldValue(result.field_id, result.type, result.value, round(float(result.confidence), 4),
                          FieldState.AUTO if result.auto else FieldState.QUEUED, page, crop=crop,
                          details=dict(result.details))
    parts = dict((current.details if current is not None else {}).get("parts", {}))
    parts[str(result.part or 1)] = {
        "page": page, "written": bool(result.written), "text": result.value,
        "confidence": round(float(result.confidence), 4), "auto": bool(result.auto),
        "crop": crop, "words": [[w, round(c, 1)] for w, c in result.word_confidences],
    }
    ordered = [parts[k] for k in sorted(parts, key=int)]
    text = "\n".join(p["text"] for p in ordered if p["text"])
    return FieldValue(
        result.field_id, "text", text, min(p["confidence"] for p in ordered),
        FieldState.AUTO if all(p["auto"] for p in ordered) else FieldState.QUEUED,
        ordered[0]["page"], suggestion=text or None,
        crop=next((p["crop"] for p in ordered if p["crop"]), None), details={"parts": parts},
    )


def verify_field(current: FieldValue, value: Any) -> FieldValue:
    """The field as a person answered it: their value, final."""
    return replace(current, value=value, state=FieldState.VERIFIED)


def blank_value(kind: str) -> Any:
    """The value of a field nobody answered: null, [] or ""."""
    return [] if kind == "multi_choice" else ("" if kind == "text" else None)


def export_value(kind: str, value: Any) -> Any:
    """A stored value in the export record's form (multi choices sorted, text never null)."""
    if kind == "multi_choice":
        return sorted(value or [])
    if kind == "text":
        return value or ""
    return value


# -- a response as a whole -------------------------------------------------------------------


def missing_pages(expected: Iterable[int], received: Iterable[int]) -> list[int]:
    """The pages (of those that carry fields) not read yet."""
    return sorted(set(expected) - set(received))


def response_status(pages_with_fields: Iterable[int], received: Iterable[int],
                    states: Iterable[FieldState | str], *, conflict: bool = False,
                    not_returned: Iterable[int] = ()) -> ResponseStatus:
    """``incomplete`` / ``needs_verification`` / ``complete``; a field never read counts as queued.

    ``not_returned``: pages a person said were never returned (their fields count as blank).
    """
    if missing_pages(pages_with_fields, {*received, *not_returned}):
        return ResponseStatus.INCOMPLETE
    if conflict or any(FieldState(s) is FieldState.QUEUED for s in states):
        return ResponseStatus.NEEDS_VERIFICATION
    return ResponseStatus.COMPLETE
