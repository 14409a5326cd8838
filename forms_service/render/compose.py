"""Composition: a questionnaire and a variant in, positioned pages and their layout out.

This is the one source of geometry. Each part of the form (title, key, opening,
section headings, questions, closing) is laid out here as a :class:`Chunk` of
display-list items; :mod:`.flow` stacks the chunks onto pages; the page
furniture (registration marks, page number) is added from the page frame of
:mod:`forms_service.layout.frame`; and the layout file is read off the very
items that :mod:`.draw` will draw, with the frame they were drawn from. ``build_layout`` and
``render_pdf`` both call :func:`compose`, so there is no second set of numbers.

Standard and large print use the definition's normal wording; easy read uses
the ``easy_read`` wording and pictograms (falling back to the normal wording
where a definition gives none).

Must never: draw, write files, or hold anything about a respondent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import RenderError
from ..layout import Box, Layout, LayoutField, LayoutPage, Rect
from ..layout.frame import BOLD, REGULAR, page_number_text
from ..questionnaire.model import (
    EasyRead,
    Option,
    Question,
    Questionnaire,
    QuestionType,
    Section,
    split_sentences,
)
from ..sheets import PageCode
from .flow import Chunk, PageContent, paginate
from .geometry import MM, PageFrame, page_frame
from .items import Disc, Frame, Item, Line, MarkBox, Picture, Text, Tick, WritingArea
from .pictograms import CREDIT, pictogram_exists
from .qr import SAMPLE_PAGE, SAMPLE_SHEET_ID, modules_with_quiet_zone, qr_version
from .text import Align, Run, TextBlock, block, ensure_fonts, width
from .variants import VariantStyle, style_for

KEY_TITLE = "How to fill in this form"
KEY_MARK = "This is how to mark a box"
KEY_CHANGE = "To change an answer, fill the box completely"
BLANK_PAGE = "There are no questions on this page."
RECEIPT_TITLE = "Your receipt code:"
RECEIPT_KEEP = "Keep this slip: cut or tear it off along the dashed line."
RECEIPT_HOW = ("To see what happened to your answers, enter the code at {url}, or show this slip at a "
               "reception desk. Nobody else can use it to find out who you are.")
RECEIPT_EASY_READ = ("Keep this piece of paper. It has your code on it.",
                     "To find out what happened to your answers, type the code at {url}. "
                     "Or show this paper at a reception desk.")
RECEIPT_SAMPLE = "XXXXX-XXXXX-XXXXX"
"""What page previews show where each copy's own code is printed."""
MULTI_CHOICE_HINT = "Mark every box that applies."

EASY_READ_HINTS = {
    QuestionType.SINGLE_CHOICE: "Tick 1 box.",
    QuestionType.MULTI_CHOICE: "Tick all the boxes that are true for you.",
    QuestionType.RATING: "Tick 1 box for each one.",
    QuestionType.TEXT: "Write your answer in the box.",
}

RULE_HEAVY = 2.0
RULE_SECTION = 1.25
RULE_LIGHT = 0.5
RULE_LIGHT_GRAY = 0.55
PANEL_LINE = 1.0
WRITING_BORDER = 0.75


@dataclass(frozen=True)
class Receipt:
    """The spot on the slip where a copy's own receipt code goes: page, baseline, font and size."""

    page: int
    x: float
    y: float
    font: str
    size: float


@dataclass(frozen=True)
class PagePlan:
    """One page of one copy, without what differs between copies (page code and sheet id)."""

    number: int
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Composition:
    questionnaire: str
    version: str
    style: VariantStyle
    frame: PageFrame
    pages: tuple[PagePlan, ...]
    layout: Layout
    qr_version: int
    """The QR version of every page code of this variant (fixed, so all have one size)."""
    receipt: Receipt | None = None
    """Where each copy's receipt code is printed (its last page), when the questionnaire has a slip."""

    @property
    def variant(self) -> str:
        return self.style.variant

    def page_code(self, page: int, sheet_id: str) -> str:
        """The text of the QR on ``page`` of the copy ``sheet_id``."""
        return PageCode(self.questionnaire, self.version, self.variant, page, sheet_id).encode()


def compose(q: Questionnaire, variant: str, receipt_url: str = "the consultation's receipt page") -> Composition:
    """Lay out every page of one copy of ``q`` in ``variant``, and the layout that describes it.

    A questionnaire with ``receipt: true`` gets a tear-off slip at the foot of its last page,
    naming ``receipt_url``; each copy's code is drawn on it by the renderer (:class:`Receipt`).
    """
    style = style_for(variant)
    metrics = ensure_fonts()
    version = qr_version(
        [PageCode(q.id, q.version, variant, SAMPLE_PAGE, SAMPLE_SHEET_ID).encode()]
    )
    frame = page_frame(
        style.footer, metrics.ascent, metrics.descent, style.leading, modules_with_quiet_zone(version)
    )
    if style.easy_read:
        missing = sorted(n for n in q.pictograms() if not pictogram_exists(n))
        if missing:
            raise RenderError(
                f"The easy-read pictogram(s) {', '.join(missing)} do not exist: use Tabler icon names."
            )
    composer = _Composer(q, style, frame)
    contents = paginate(composer.chunks(), frame.content[1], frame.content[3], variant)
    contents = composer.finish(contents)
    receipt: Receipt | None = None
    if q.receipt:
        contents, receipt = composer.slip(contents, receipt_url)
    total = len(contents)
    plans: list[PagePlan] = []
    layout_pages: list[LayoutPage] = []
    for number, content in enumerate(contents, start=1):
        items = [*composer.furniture(number, total), *content.items]
        plans.append(PagePlan(number, tuple(items)))
        printed = frame.printed
        layout_pages.append(
            LayoutPage(
                page=number,
                width=printed.width,
                height=printed.height,
                fiducials=list(printed.fiducials),
                page_code=printed.page_code,
                fields=layout_fields(items),
                fiducial_diameter=printed.fiducial_diameter,
                footer=printed.footer,
            )
        )
    layout = Layout(q.id, q.version, variant, layout_pages)
    return Composition(q.id, q.version, style, frame, tuple(plans), layout, version, receipt)


def layout_fields(items: list[Item]) -> list[LayoutField]:
    """The layout fields of a page, read off its tick boxes and writing areas in drawing order."""
    out: list[LayoutField] = []
    choice: dict[str, LayoutField] = {}
    for item in items:
        if isinstance(item, MarkBox):
            f = choice.get(item.field)
            if f is None:
                f = choice[item.field] = LayoutField(item.field, item.kind)
                out.append(f)
            f.boxes.append(Box(item.value, item.rect))
        elif isinstance(item, WritingArea):
            out.append(LayoutField(item.field, "text", rect=item.rect, part=item.part))
    return out


@dataclass
class _Stack:
    """Builds one chunk top-down: items are placed at ``y`` and ``y`` moves down."""

    items: list[Item] = field(default_factory=list)
    y: float = 0.0

    def text(self, tb: TextBlock, x: float) -> None:
        self.items.extend(tb.items(x, self.y))
        self.y += tb.height

    def gap(self, h: float) -> None:
        self.y += h

    def chunk(
        self, *, what: str, space_before: float = 0.0, keep_with_next: bool = False
    ) -> Chunk:
        return Chunk(
            self.y, self.items, space_before=space_before, keep_with_next=keep_with_next, what=what
        )


class _Composer:
    def __init__(self, q: Questionnaire, style: VariantStyle, frame: PageFrame) -> None:
        self.q = q
        self.s = style
        self.frame = frame
        self.x0, _, self.x1, _ = frame.content
        self.width = self.x1 - self.x0

    # -- text helpers ----------------------------------------------------

    def para(
        self,
        text: str | list[Run],
        w: float,
        size: float | None = None,
        font: str = REGULAR,
        align: Align = "left",
        leading: float | None = None,
    ) -> TextBlock:
        return block(
            text,
            size or self.s.body,
            leading or self.s.leading,
            w,
            font=font,
            align=align,
        )

    def key_words(self, text: str) -> list[Run]:
        """Easy read: the first sentence bold when there are several, so the key idea stands out."""
        sentences = split_sentences(text)
        if len(sentences) < 2:
            return [(text, REGULAR)]
        return [(sentences[0], BOLD), (" ".join(sentences[1:]), REGULAR)]

    # -- the flow ----------------------------------------------------------

    def chunks(self) -> list[Chunk]:
        out = [self.title(), self.key(), *self.opening()]
        opening_height = sum(c.height + c.space_before for c in out[1:]) + out[0].height
        for index, section in enumerate(self.q.sections):
            heading = self.section_heading(section)
            # The opening has a page of its own, unless it is longer than a page anyway.
            heading.new_page = index == 0 and opening_height <= self.frame.content_height
            out.append(heading)
            for i, question in enumerate(section.questions):
                chunks = self.question(question)
                if i == 0:
                    chunks[0].space_before = self.s.gap_paragraph  # close to its heading
                out.extend(chunks)
        out.extend(self.closing())
        return out

    def title(self) -> Chunk:
        s = _Stack()
        s.text(self.para(self.q.title, self.width, self.s.title, BOLD, leading=1.15), self.x0)
        if self.s.label:
            s.gap(1 * MM)
            s.text(self.para(self.s.label, self.width, self.s.body, BOLD), self.x0)
        s.gap(3 * MM)
        s.items.append(Line(self.x0, s.y, self.x1, s.y, RULE_HEAVY))
        s.gap(RULE_HEAVY / 2)
        return s.chunk(what="title")

    def key(self) -> Chunk:
        """The drawn key: how to mark a box and how to change an answer (never layout fields)."""
        pad = 4 * MM
        box = self.s.box
        text_x = self.x0 + pad + box + 4 * MM
        text_w = self.x1 - pad - text_x
        s = _Stack()
        s.gap(pad)
        s.text(self.para(KEY_TITLE, self.width - 2 * pad, font=BOLD), self.x0 + pad)
        for i, (words, filled) in enumerate(((KEY_MARK, False), (KEY_CHANGE, True))):
            s.gap(self.s.gap_option if i else 3 * MM)
            tb = self.para(words, text_w)
            items, rect, h = self.box_row(self.x0 + pad, text_x, tb)
            s.items.extend(item.moved(s.y) for item in items)
            rect = _down(rect, s.y)
            if filled:
                s.items.append(Frame(rect, self.s.box_line, filled=True))
            else:
                s.items.append(Frame(rect, self.s.box_line))
                s.items.append(Tick(rect, max(1.5, box * 0.09)))
            s.gap(h)
        s.gap(pad)
        s.items.insert(0, Frame((self.x0, 0.0, self.x1, s.y), PANEL_LINE))
        return s.chunk(space_before=self.s.gap_section * 0.8, what="key to marking boxes")

    def opening(self) -> list[Chunk]:
        page = self.q.opening
        out = [self.heading(page.title)]
        if self.s.easy_read and page.easy_read:
            out.extend(self.picture_item(er) for er in page.easy_read)
        else:
            out.extend(self.paragraph(p) for p in page.paragraphs)
        return out

    def closing(self) -> list[Chunk]:
        """The closing words, kept together on one page when they fit on one."""
        page = self.q.closing
        out = [self.heading(page.title, rule=True)]
        if self.s.easy_read and page.easy_read:
            out.extend(self.picture_item(er) for er in page.easy_read)
        else:
            out.extend(self.paragraph(p) for p in page.paragraphs)
        if sum(c.space_before + c.height for c in out) <= self.frame.content_height:
            for c in out[:-1]:
                c.keep_with_next = True
        return out

    def heading(self, title: str, *, rule: bool = False) -> Chunk:
        s = _Stack()
        if rule:
            s.items.append(Line(self.x0, 0.0, self.x1, 0.0, RULE_SECTION))
            s.gap(3 * MM)
        s.text(self.para(title, self.width, self.s.heading, BOLD, leading=1.2), self.x0)
        return s.chunk(space_before=self.s.gap_section, keep_with_next=True, what="heading")

    def paragraph(self, text: str) -> Chunk:
        s = _Stack()
        s.text(self.para(text, self.width), self.x0)
        return s.chunk(space_before=self.s.gap_paragraph, what="opening or closing text")

    def picture_item(self, er: EasyRead) -> Chunk:
        """Easy read: a picture on the left, the words on the right."""
        pic = self.s.item_picture
        text_x = self.x0 + pic + 6 * MM
        tb = self.para(self.key_words(er.text), self.x1 - text_x)
        h = max(pic, tb.height)
        items: list[Item] = []
        if er.pictogram:
            top = (h - pic) / 2
            items.append(Picture(er.pictogram, (self.x0, top, self.x0 + pic, top + pic)))
        items.extend(tb.items(text_x, (h - tb.height) / 2))
        return Chunk(h, items, space_before=self.s.gap_paragraph, what="easy-read text")

    def section_heading(self, section: Section) -> Chunk:
        s = _Stack()
        s.items.append(Line(self.x0, 0.0, self.x1, 0.0, RULE_SECTION))
        s.gap(3 * MM)
        s.text(self.para(section.title, self.width, self.s.heading, BOLD, leading=1.2), self.x0)
        if self.s.easy_read and section.easy_read is not None:
            s.gap(self.s.gap_paragraph)
            item = self.picture_item(section.easy_read)
            s.items.extend(i.moved(s.y) for i in item.items)
            s.gap(item.height)
        elif section.intro and not self.s.easy_read:
            s.gap(2 * MM)
            s.text(self.para(section.intro, self.width), self.x0)
        return s.chunk(
            space_before=self.s.gap_section, keep_with_next=True, what=f"section {section.id!r}"
        )

    # -- questions -----------------------------------------------------------

    def number(self, question: Question) -> int:
        return [q.id for q in self.q.questions()].index(question.id) + 1

    def question(self, question: Question) -> list[Chunk]:
        if question.type is QuestionType.TEXT:
            return [self.writing(question)]
        if question.type is QuestionType.RATING:
            if self.s.grid == "pictures":
                return self.grid_pictures(question)
            if self.s.grid == "columns":
                table = self.grid_columns(question)
                if table is not None:
                    return [table]
            return [self.grid_cells(question)]
        return [self.choice(question)]

    def header(self, question: Question) -> _Stack:
        """The question's words (and help), above its boxes or writing area."""
        s = _Stack()
        if self.s.easy_read:
            pic = self.s.question_picture
            text_x = self.x0 + pic + 6 * MM
            words = question.easy_read.text if question.easy_read else question.text
            qt = self.para(words, self.x1 - text_x, self.s.question, BOLD)
            hint = self.para(EASY_READ_HINTS[question.type], self.x1 - text_x)
            text_h = qt.height + 1.5 * MM + hint.height
            h = max(pic, text_h)
            if question.easy_read and question.easy_read.pictogram:
                s.items.append(Picture(question.easy_read.pictogram, (self.x0, 0.0, self.x0 + pic, pic)))
            top = (h - text_h) / 2
            s.items.extend(qt.items(text_x, top))
            s.items.extend(hint.items(text_x, top + qt.height + 1.5 * MM))
            s.gap(h + 4 * MM)
            return s
        gutter = self.s.number_gutter
        qt = self.para(question.text, self.width - gutter, self.s.question, BOLD)
        if gutter:
            s.items.append(
                Text(self.x0, qt.baseline(0), f"{self.number(question)}.", BOLD, self.s.question)
            )
        s.text(qt, self.x0 + gutter)
        help_text = question.help
        if help_text is None and question.type is QuestionType.MULTI_CHOICE:
            help_text = MULTI_CHOICE_HINT
        if help_text:
            s.gap(1 * MM)
            s.text(self.para(help_text, self.width - gutter), self.x0 + gutter)
        s.gap(3.5 * MM)
        return s

    def box_row(self, box_x: float, text_x: float, tb: TextBlock) -> tuple[list[Item], Rect, float]:
        """A box beside text, the box centred on the capitals of the first line; returns items, box, height."""
        box = self.s.box
        middle = tb.cap_middle()
        text_top = max(0.0, box / 2 - middle)
        box_top = text_top + middle - box / 2
        height = max(text_top + tb.height, box_top + box)
        items: list[Item] = list(tb.items(text_x, text_top))
        return items, (box_x, box_top, box_x + box, box_top + box), height

    def choice(self, question: Question) -> Chunk:
        s = self.header(question)
        kind = question.type.value
        if self.s.easy_read:
            self.picture_options(s, question, question.options, kind)
        else:
            box_x = self.x0 + self.s.number_gutter
            text_x = box_x + self.s.box + 3.5 * MM
            for i, option in enumerate(question.options):
                if i:
                    s.gap(self.s.gap_option)
                items, rect, h = self.box_row(box_x, text_x, self.para(option.label, self.x1 - text_x))
                s.items.extend(item.moved(s.y) for item in items)
                s.items.append(MarkBox(_down(rect, s.y), question.id, kind, option.value, self.s.box_line))
                s.gap(h)
        return s.chunk(space_before=self.s.gap_question, what=f"question {question.id!r}")

    def picture_options(self, s: _Stack, question: Question, options: list[Option], kind: str) -> None:
        """Easy read: each option as box, picture, words; indented under the question's words."""
        box = self.s.box
        pic = self.s.option_picture
        box_x = self.x0 + self.s.question_picture + 6 * MM
        pic_x = box_x + box + 4 * MM
        text_x = pic_x + pic + 4 * MM
        for i, option in enumerate(options):
            if i:
                s.gap(self.s.gap_option)
            er = option.easy_read
            tb = self.para(er.text if er else option.label, self.x1 - text_x)
            h = max(box, pic, tb.height)
            top = s.y
            if er and er.pictogram:
                py = top + (h - pic) / 2
                s.items.append(Picture(er.pictogram, (pic_x, py, pic_x + pic, py + pic)))
            s.items.extend(tb.items(text_x, top + (h - tb.height) / 2))
            by = top + (h - box) / 2
            s.items.append(
                MarkBox((box_x, by, box_x + box, by + box), question.id, kind, option.value, self.s.box_line)
            )
            s.gap(h)

    def grid_columns(self, question: Question) -> Chunk | None:
        """A classic rating table: row labels on the left, one column per scale point.

        None when the columns leave too little room for the row labels.
        """
        box = self.s.box
        widest = max(
            width(word, REGULAR, self.s.body) for o in question.scale for word in o.label.split()
        )
        col = max(widest + 2 * MM, box + 4 * MM)
        longest_word = max(
            width(word, REGULAR, self.s.body) for r in question.rows for word in r.label.split()
        )
        # Indent the table under the question's words if there is room, else use the full width.
        for left in (self.x0 + self.s.number_gutter, self.x0):
            label_w = (self.x1 - left) - col * len(question.scale)
            if label_w >= max(25 * MM, longest_word + 3 * MM):
                break
        else:
            return None
        s = self.header(question)
        # Wrap the headings as narrow as the longest word, so neighbouring headings never touch.
        head_w = widest + 0.5
        heads = [self.para(o.label, head_w, align="center") for o in question.scale]
        head_h = max(h.height for h in heads)
        cols_x = left + label_w
        for i, head in enumerate(heads):
            x = cols_x + i * col + (col - head_w) / 2
            s.items.extend(head.items(x, s.y + head_h - head.height))
        s.gap(head_h + 1.5 * MM)
        s.items.append(Line(left, s.y, self.x1, s.y, 0.75))
        pad = 2.2 * MM
        for r, row in enumerate(question.rows):
            tb = self.para(row.label, label_w - 3 * MM)
            h = max(tb.height, box) + 2 * pad
            top = s.y
            s.items.extend(tb.items(left, top + (h - tb.height) / 2))
            by = top + (h - box) / 2
            for i, option in enumerate(question.scale):
                bx = cols_x + i * col + (col - box) / 2
                s.items.append(
                    MarkBox(
                        (bx, by, bx + box, by + box),
                        f"{question.id}.{row.id}",
                        "single_choice",
                        option.value,
                        self.s.box_line,
                    )
                )
            s.gap(h)
            if r < len(question.rows) - 1:
                s.items.append(Line(left, s.y, self.x1, s.y, RULE_LIGHT, RULE_LIGHT_GRAY))
        s.items.append(Line(left, s.y, self.x1, s.y, 0.75))
        s.gap(0.5)
        return s.chunk(space_before=self.s.gap_question, what=f"question {question.id!r}")

    def grid_cells(self, question: Question) -> Chunk:
        """A rating grid as one block per row: the row's label, then its boxes in a grid of cells."""
        box = self.s.box
        left = self.x0 + self.s.number_gutter
        area = self.x1 - left
        need = box + 3 * MM + max(width(o.label, REGULAR, self.s.body) for o in question.scale) + 4 * MM
        per_line = max(1, min(len(question.scale), int(area // need)))
        cell = area / per_line
        s = self.header(question)
        for r, row in enumerate(question.rows):
            if r:
                s.gap(2.5 * MM)
                s.items.append(Line(left, s.y, self.x1, s.y, RULE_LIGHT, RULE_LIGHT_GRAY))
                s.gap(3.5 * MM)
            s.text(self.para(row.label, area, font=BOLD), left)
            s.gap(2 * MM)
            line_h = 0.0
            for i, option in enumerate(question.scale):
                col = i % per_line
                if col == 0 and i:
                    s.gap(line_h + self.s.gap_option)
                    line_h = 0.0
                bx = left + col * cell
                text_x = bx + box + 3 * MM
                items, rect, h = self.box_row(bx, text_x, self.para(option.label, cell - box - 5 * MM))
                s.items.extend(item.moved(s.y) for item in items)
                s.items.append(
                    MarkBox(
                        _down(rect, s.y),
                        f"{question.id}.{row.id}",
                        "single_choice",
                        option.value,
                        self.s.box_line,
                    )
                )
                line_h = max(line_h, h)
            s.gap(line_h)
        return s.chunk(space_before=self.s.gap_question, what=f"question {question.id!r}")

    def grid_pictures(self, question: Question) -> list[Chunk]:
        """Easy read: one block per row (its picture and words, then a face, a word and a box for
        every point of the scale), under the question. When the rows do not fit on one page they
        are shared out evenly over several chunks, each under a repeat of the question."""
        what = f"question {question.id!r}"
        head = self.header(question)
        rows = [self.picture_row(question, i) for i in range(len(question.rows))]
        budget = self.frame.content_height - 30 * MM  # room left for a section heading above
        groups = len(rows)
        for n in range(1, len(rows) + 1):
            size = math.ceil(len(rows) / n)
            parts = [rows[i : i + size] for i in range(0, len(rows), size)]
            if all(head.y + sum(r.height for r in part) <= budget for part in parts):
                groups = n
                break
        size = math.ceil(len(rows) / groups)
        out = []
        for start in range(0, len(rows), size):
            s = _Stack(items=list(head.items), y=head.y)
            for row in rows[start : start + size]:
                s.items.extend(item.moved(s.y) for item in row.items)
                s.gap(row.height)
            out.append(s.chunk(space_before=self.s.gap_question, what=what))
        return out

    def picture_row(self, question: Question, index: int) -> Chunk:
        """One row of an easy-read rating: picture and words, then the faces, words and boxes."""
        row = question.rows[index]
        box, face, pic = self.s.box, self.s.face, self.s.option_picture
        cell = self.width / len(question.scale)
        pad = 3.5 * MM
        s = _Stack()
        s.items.append(Line(self.x0, 0.0, self.x1, 0.0, RULE_LIGHT, RULE_LIGHT_GRAY))
        s.gap(pad)
        er = row.easy_read
        text_x = self.x0 + pic + 4 * MM
        tb = self.para(er.text if er else row.label, self.x1 - text_x, font=BOLD)
        h = max(pic, tb.height)
        if er and er.pictogram:
            top = s.y + (h - pic) / 2
            s.items.append(Picture(er.pictogram, (self.x0, top, self.x0 + pic, top + pic)))
        s.items.extend(tb.items(text_x, s.y + (h - tb.height) / 2))
        s.gap(h + 2 * MM)
        words = [
            self.para(o.easy_read.text if o.easy_read else o.label, cell - 1 * MM, align="center")
            for o in question.scale
        ]
        words_h = max(w.height for w in words)
        for i, option in enumerate(question.scale):
            cx = self.x0 + i * cell
            middle = cx + cell / 2
            y = s.y
            if option.easy_read and option.easy_read.pictogram:
                s.items.append(
                    Picture(option.easy_read.pictogram, (middle - face / 2, y, middle + face / 2, y + face))
                )
            y += face + 1 * MM
            s.items.extend(words[i].items(cx + 0.5 * MM, y))
            y += words_h + 0.5 * MM
            s.items.append(
                MarkBox(
                    (middle - box / 2, y, middle + box / 2, y + box),
                    f"{question.id}.{row.id}",
                    "single_choice",
                    option.value,
                    self.s.box_line,
                )
            )
        s.gap(face + 1 * MM + words_h + 0.5 * MM + box + pad)
        return s.chunk(what=f"question {question.id!r}")

    def writing(self, question: Question) -> Chunk:
        header = self.header(question)
        left = self.x0 if self.s.easy_read else self.x0 + self.s.number_gutter
        return self.writing_chunk(question, header.items, header.y, left, question.writing_lines, 1)

    def writing_chunk(
        self, question: Question, head: list[Item], head_h: float, left: float, lines: int, part: int
    ) -> Chunk:
        """Words above a writing area of ``lines`` lines; may split into a continuation part."""
        spacing = self.s.writing_spacing

        def build(n: int) -> Chunk:
            rect = (left, head_h, self.x1, head_h + n * spacing)
            items = [*head, WritingArea(rect, question.id, part, spacing, WRITING_BORDER)]
            return Chunk(
                head_h + n * spacing,
                items,
                space_before=self.s.gap_question if part == 1 else 0.0,
                what=f"question {question.id!r}",
            )

        chunk = build(lines)
        if not self.s.split_writing:
            return chunk

        def split(available: float) -> tuple[Chunk, Chunk] | None:
            fit = math.floor((available - head_h + 0.01) / spacing)
            if fit < 2 or fit >= lines:
                return None
            first = build(fit)
            s = _Stack()
            words = (
                "More space for your answer."
                if self.s.easy_read
                else f"Question {self.number(question)} continued"
            )
            s.text(self.para(words, self.width, font=BOLD), self.x0)
            s.gap(2 * MM)
            rest = self.writing_chunk(question, s.items, s.y, left, lines - fit, part + 1)
            return first, rest

        chunk.split = split
        chunk.min_height = head_h + 2 * spacing
        return chunk

    # -- after pagination --------------------------------------------------------

    def finish(self, pages: list[PageContent]) -> list[PageContent]:
        """Pad to an even number of pages and, for easy read, credit the pictograms on the back page."""
        bottom = self.frame.content[3]
        credit = self.para(CREDIT, self.width) if self.s.easy_read else None
        pages = list(pages)
        if len(pages) % 2:
            pages.append(self.blank_page())
        if credit is not None:
            last = pages[-1]
            if last.bottom + self.s.gap_section + credit.height > bottom:
                pages.extend([self.blank_page(), self.blank_page()])
                last = pages[-1]
            last.items.extend(credit.items(self.x0, bottom - credit.height))
            last.bottom = bottom
        return pages

    def slip(self, pages: list[PageContent], url: str) -> tuple[list[PageContent], Receipt]:
        """The tear-off receipt at the foot of the last page (above the easy-read credit).

        Cutting it off takes the foot of the last sheet, both sides (the page code and sheet id
        of its back page too), so neither page of the last sheet may hold a field: when one does,
        or the slip does not fit, two more pages are added (the count stays even). A response is
        complete without the pages that hold no field, so a last sheet kept or cut costs nothing.
        """
        s = _Stack()
        s.items.append(Line(self.x0, 0.0, self.x1, 0.0, 1.0, dash=(6.0, 4.0)))
        scissors = self.s.body * 1.4
        s.items.append(Picture("scissors", (self.x0, -scissors / 2, self.x0 + scissors, scissors / 2)))
        s.gap(scissors / 2 + 3 * MM)
        metrics = ensure_fonts()
        title = self.para(RECEIPT_TITLE, self.width, font=BOLD)
        code_size = self.s.body * 1.5
        code_x = self.x0 + width(RECEIPT_TITLE, BOLD, self.s.body) + 3 * MM
        if code_x + width(RECEIPT_SAMPLE, BOLD, code_size) <= self.x1:  # beside its title
            s.gap((code_size - self.s.body) * metrics.ascent)  # room for the taller code on the line
            code_baseline = s.y + title.baseline(0)
            s.text(title, self.x0)
        else:  # below it (large print)
            s.text(title, self.x0)
            code_x = self.x0
            s.gap(1 * MM)
            code_baseline = s.y + code_size * metrics.ascent
            s.gap(code_size * (metrics.ascent + metrics.descent))
        s.gap(2 * MM)
        if self.s.easy_read:
            for sentence in RECEIPT_EASY_READ:
                s.text(self.para(sentence.format(url=url), self.width), self.x0)
        else:
            s.text(self.para(f"{RECEIPT_KEEP} {RECEIPT_HOW.format(url=url)}", self.width), self.x0)
        bottom = self.frame.content[3]
        credit = self.para(CREDIT, self.width).height + self.s.gap_section if self.s.easy_read else 0.0
        gap = self.s.gap_section * 1.5  # well clear of what is above it
        last = pages[-1]
        fields = any(isinstance(i, (MarkBox, WritingArea)) for page in pages[-2:] for i in page.items)
        if fields or last.bottom + gap + s.y + credit > bottom:
            pages = [*pages, self.blank_page(), self.blank_page()]
            last, credit = pages[-1], 0.0  # the credit stays where it was
        top = bottom - credit - s.y
        last.items.extend(item.moved(top) for item in s.items)
        last.bottom = max(last.bottom, bottom - credit)
        return pages, Receipt(len(pages), code_x, top + code_baseline, BOLD, code_size)

    def blank_page(self) -> PageContent:
        tb = self.para(BLANK_PAGE, self.width)
        top = self.frame.content[1]
        return PageContent(items=list(tb.items(self.x0, top)), bottom=top + tb.height)

    def furniture(self, number: int, total: int) -> list[Item]:
        """What every page carries besides its content: registration marks and the page number."""
        f = self.frame.printed
        items: list[Item] = [Disc(x, y, f.fiducial_diameter / 2) for x, y in f.fiducials]
        line = f.footer.page_number
        x, y = line.baseline
        items.append(Text(x, y, page_number_text(number, total), line.font, line.size))
        return items


def _down(rect: Rect, dy: float) -> Rect:
    x0, y0, x1, y1 = rect
    return (x0, y0 + dy, x1, y1 + dy)

