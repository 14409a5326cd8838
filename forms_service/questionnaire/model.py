"""The questionnaire definition: what is asked, in which words, and where answers go.

Pure domain code: imports neither Flask nor SQLAlchemy, reads no files. A
definition is validated here (pydantic) and turned into the flat list of
*fields* that layouts, readings and exports are keyed by.

Must never: hold an answer, a sheet id or anything about a respondent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

FORMAT = "forms-service.questionnaire/1"

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
PICTOGRAM_PATTERN = r"^[a-z0-9][a-z0-9-]*$"

Ident = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=64)]
Value = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Pictogram = Annotated[str, StringConstraints(pattern=PICTOGRAM_PATTERN, max_length=64)]


class Variant(StrEnum):
    STANDARD = "standard"
    LARGE_PRINT = "large-print"
    EASY_READ = "easy-read"


class QuestionType(StrEnum):
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    RATING = "rating"
    TEXT = "text"


class FieldType(StrEnum):
    """The type of one field in a layout and an export (a rating row is a single choice)."""

    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    TEXT = "text"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EasyRead(_Strict):
    """Easy-read wording: short sentences, one idea each, with a picture."""

    text: Text
    pictogram: Pictogram | None = None

    @field_validator("text")
    @classmethod
    def _short_sentences(cls, text: str) -> str:
        for sentence in split_sentences(text):
            words = len(sentence.split())
            if words > 15:
                raise ValueError(
                    f"easy-read sentences have at most 15 words; this one has {words}: "
                    f"{sentence[:60]!r}"
                )
        return text


class Option(_Strict):
    value: Value
    label: Text
    easy_read: EasyRead | None = None


class Row(_Strict):
    """One row of a rating grid; becomes the single-choice field ``<question>.<row>``."""

    id: Ident
    label: Text
    easy_read: EasyRead | None = None


class Question(_Strict):
    id: Ident
    type: QuestionType
    text: Text
    help: Text | None = None
    required: bool = False
    easy_read: EasyRead | None = None
    options: list[Option] = Field(default_factory=list)
    rows: list[Row] = Field(default_factory=list)
    scale: list[Option] = Field(default_factory=list)
    lines: int | None = Field(default=None, ge=1, le=30)
    feeds: str | None = None
    # a question whose wrong reading does harm (the routing question is so always): the machine
    # accepts its answer alone only at a stricter confidence, and never a blank
    critical: bool = False

    @model_validator(mode="after")
    def _shape(self) -> Question:
        kind = self.type
        if kind in (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE):
            if len(self.options) < 2:
                raise ValueError(f"a {kind.value} question needs at least two options")
            if self.rows or self.scale:
                raise ValueError(f"a {kind.value} question has options, not rows or a scale")
            _unique("option value", [o.value for o in self.options])
        elif kind is QuestionType.RATING:
            if not self.rows:
                raise ValueError("a rating question needs rows (the things being rated)")
            if len(self.scale) < 2:
                raise ValueError("a rating question needs a scale of at least two points")
            if self.options:
                raise ValueError("a rating question has rows and a scale, not options")
            _unique("row id", [r.id for r in self.rows])
            _unique("scale value", [o.value for o in self.scale])
        else:
            if self.options or self.rows or self.scale:
                raise ValueError("a text question has no options, rows or scale")
        if kind is not QuestionType.TEXT:
            if self.lines is not None:
                raise ValueError("only a text question has writing lines")
            if self.feeds is not None:
                raise ValueError("only a text question feeds the conversation")
        elif self.critical:
            raise ValueError("a text question cannot be critical: a person reads every written answer")
        return self

    @property
    def writing_lines(self) -> int:
        return self.lines or 5


class Section(_Strict):
    id: Ident
    title: Text
    intro: Text | None = None
    easy_read: EasyRead | None = None
    about_you: bool = False
    questions: list[Question] = Field(min_length=1)


class Page(_Strict):
    """An information page (the opening and the closing page)."""

    title: Text
    paragraphs: list[Text] = Field(min_length=1)
    easy_read: list[EasyRead] = Field(default_factory=list)


class Routing(_Strict):
    """Which question chooses the conversation area, and the area each answer leads to."""

    question: Ident
    areas: dict[Value, Ident]


class Questionnaire(_Strict):
    format: Literal["forms-service.questionnaire/1"]
    id: Ident
    version: Annotated[str, StringConstraints(pattern=VERSION_PATTERN, max_length=32)]
    title: Text
    languages: list[Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")]] = Field(
        min_length=1
    )
    opening: Page
    closing: Page
    routing: Routing
    sections: list[Section] = Field(min_length=1)
    receipt: bool = False
    """Every printed copy carries a tear-off receipt slip with its own code (docs/receipts.md)."""

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        ids = [q.id for s in self.sections for q in s.questions]
        _unique("question id", ids)
        _unique("section id", [s.id for s in self.sections])
        by_id = {q.id: q for s in self.sections for q in s.questions}
        router = by_id.get(self.routing.question)
        if router is None:
            raise ValueError(f"routing names question {self.routing.question!r}, which is not defined")
        if router.type is not QuestionType.SINGLE_CHOICE:
            raise ValueError(f"the routing question {router.id!r} must be a single_choice question")
        values = {o.value for o in router.options}
        missing = sorted(values - set(self.routing.areas))
        if missing:
            raise ValueError(f"routing gives no area for the answer(s) {', '.join(missing)}")
        extra = sorted(set(self.routing.areas) - values)
        if extra:
            raise ValueError(f"routing names answers the question {router.id!r} does not offer: {', '.join(extra)}")
        areas = set(self.routing.areas.values())
        for section in self.sections:
            for q in section.questions:
                if q.feeds is None:
                    continue
                if section.about_you:
                    raise ValueError(
                        f"question {q.id!r} is an 'about you' question and cannot feed the conversation"
                    )
                if q.feeds != "routed" and q.feeds not in areas:
                    raise ValueError(
                        f"question {q.id!r} feeds {q.feeds!r}, which is not one of the areas "
                        f"({', '.join(sorted(areas))}); use 'routed' to follow the answer to {router.id!r}"
                    )
        return self

    # -- derived views -------------------------------------------------

    @property
    def key(self) -> tuple[str, str]:
        return (self.id, self.version)

    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]

    def question(self, question_id: str) -> Question:
        for q in self.questions():
            if q.id == question_id:
                return q
        raise KeyError(question_id)

    def section_of(self, question_id: str) -> Section:
        for s in self.sections:
            if any(q.id == question_id for q in s.questions):
                return s
        raise KeyError(question_id)

    def fields(self) -> list[FieldSpec]:
        """Every field, in reading order, as layouts and exports know them."""
        out: list[FieldSpec] = []
        for section in self.sections:
            for q in section.questions:
                if q.type is QuestionType.RATING:
                    for row in q.rows:
                        out.append(
                            FieldSpec(
                                id=f"{q.id}.{row.id}",
                                type=FieldType.SINGLE_CHOICE,
                                question=q.id,
                                label=f"{q.text} {row.label}",
                                values=tuple(o.value for o in q.scale),
                                about_you=section.about_you,
                                feeds=None,
                            )
                        )
                elif q.type is QuestionType.TEXT:
                    out.append(
                        FieldSpec(
                            id=q.id,
                            type=FieldType.TEXT,
                            question=q.id,
                            label=q.text,
                            values=(),
                            about_you=section.about_you,
                            feeds=q.feeds,
                        )
                    )
                else:
                    out.append(
                        FieldSpec(
                            id=q.id,
                            type=FieldType(q.type.value),
                            question=q.id,
                            label=q.text,
                            values=tuple(o.value for o in q.options),
                            about_you=section.about_you,
                            feeds=None,
                        )
                    )
        return out

    def critical_fields(self) -> frozenset[str]:
        """The fields the machine may accept alone only at a stricter confidence, never blank: those
        of the routing question (a wrong area puts someone's words among another group's) and of
        every question marked ``critical``."""
        return frozenset(f.id for f in self.fields()
                         if f.question == self.routing.question or self.question(f.question).critical)

    def area_for(self, answers: dict[str, object], question_id: str) -> str | None:
        """The conversation area a text answer goes to, or None if it goes nowhere."""
        q = self.question(question_id)
        if q.feeds is None:
            return None
        if q.feeds != "routed":
            return q.feeds
        chosen = answers.get(self.routing.question)
        if isinstance(chosen, str):
            return self.routing.areas.get(chosen)
        return None

    def pictograms(self) -> set[str]:
        names: set[str] = set()

        def add(er: EasyRead | None) -> None:
            if er is not None and er.pictogram:
                names.add(er.pictogram)

        for page in (self.opening, self.closing):
            for er in page.easy_read:
                add(er)
        for s in self.sections:
            add(s.easy_read)
            for q in s.questions:
                add(q.easy_read)
                for o in [*q.options, *q.scale]:
                    add(o.easy_read)
                for r in q.rows:
                    add(r.easy_read)
        return names


@dataclass(frozen=True)
class FieldSpec:
    """One field as a layout, a reading and an export know it."""

    id: str
    type: FieldType
    question: str
    label: str
    values: tuple[str, ...]
    about_you: bool
    feeds: str | None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def _unique(what: str, items: list[str]) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"the {what} {item!r} is used twice")
        seen.add(item)
