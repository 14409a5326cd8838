"""Layout geometry: where every box and writing area sits on every printed page.

This is the public layout file format ``forms-service.layout/1`` (see
docs/layout-format.md). The renderer fills a :class:`Layout` while it draws and
writes it with :func:`dump_layout`; the scan reader loads it with
:func:`load_layout` and uses nothing else to find fields. The furniture every
page carries (registration marks, page code, footer) is the page frame of
:mod:`.frame`, recorded on every page.

Units are PDF points, origin top-left, y downwards; rectangles are
``(x0, y0, x1, y1)`` with ``x0 < x1`` and ``y0 < y1``.

Pure domain code: no Flask, no SQL. Must never hold anything about a respondent.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import FormsServiceError
from .frame import FIDUCIAL_DIAMETER, SHEET_ID_FONT, Footer, Point, Rect, default_footer_band

FORMAT = "forms-service.layout/1"

__all__ = [
    "FORMAT",
    "Box",
    "Footer",
    "Layout",
    "LayoutError",
    "LayoutField",
    "LayoutPage",
    "Point",
    "Rect",
    "dump_layout",
    "dumps_layout",
    "layout_from_json",
    "layout_path",
    "layout_schema",
    "load_layout",
    "same_printed_positions",
    "validate_layout_json",
]


class LayoutError(FormsServiceError):
    code = "invalid_layout"


@dataclass(frozen=True)
class Box:
    value: str
    rect: Rect


@dataclass
class LayoutField:
    """One field on one page: a choice field with boxes, or one part of a text field."""

    id: str
    type: str
    boxes: list[Box] = field(default_factory=list)
    rect: Rect | None = None
    part: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "text":
            assert self.rect is not None
            out["part"] = self.part or 1
            out["rect"] = _r(self.rect)
        else:
            out["boxes"] = [{"value": b.value, "rect": _r(b.rect)} for b in self.boxes]
        return out


@dataclass
class LayoutPage:
    page: int
    width: float
    height: float
    fiducials: list[Point]
    page_code: Rect
    fields: list[LayoutField] = field(default_factory=list)
    fiducial_diameter: float = FIDUCIAL_DIAMETER
    """Registration marks are solid discs this wide (a layout file without the key: 6 mm)."""
    footer: Footer | None = None
    """The footer's lines (None: a layout file written before the footer was recorded)."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "page": self.page,
            "width": round(self.width, 3),
            "height": round(self.height, 3),
            "fiducials": [[round(x, 3), round(y, 3)] for x, y in self.fiducials],
            "fiducial_diameter": round(self.fiducial_diameter, 3),
            "page_code": _r(self.page_code),
        }
        if self.footer is not None:
            out["footer"] = self.footer.to_json()
        out["fields"] = [f.to_json() for f in self.fields]
        return out

    def footer_band(self) -> Rect:
        """Where the footer is printed: the room of its lines, or, when the layout file does not
        record them, the band left of the page code and level with it."""
        if self.footer is not None:
            return self.footer.band
        return default_footer_band(self.page_code)

    @property
    def sheet_id_font(self) -> str:
        """The typeface the sheet id is printed in (see :func:`.frame.font_file`)."""
        return self.footer.sheet_id.font if self.footer is not None else SHEET_ID_FONT


@dataclass
class Layout:
    questionnaire: str
    version: str
    variant: str
    pages: list[LayoutPage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "questionnaire": self.questionnaire,
            "version": self.version,
            "variant": self.variant,
            "pages": [p.to_json() for p in self.pages],
        }

    def field_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for page in self.pages:
            for f in page.fields:
                seen.setdefault(f.id, None)
        return list(seen)

    def page(self, number: int) -> LayoutPage:
        for p in self.pages:
            if p.page == number:
                return p
        raise KeyError(number)


def layout_path(root: str | Path, questionnaire: str, version: str, variant: str) -> Path:
    return Path(root) / questionnaire / version / f"{variant}.json"


def dumps_layout(layout: Layout) -> str:
    doc = layout.to_json()
    validate_layout_json(doc)
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def dump_layout(layout: Layout, path: str | Path) -> Path:
    """Write a layout file atomically (never a half-written file on disk)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        tmp.write_text(dumps_layout(layout), encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_layout(path: str | Path) -> Layout:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LayoutError(f"{path}: no such layout file.") from None
    except ValueError as exc:
        raise LayoutError(f"{path}: not a JSON layout file ({exc}).") from None
    try:
        validate_layout_json(doc)
    except LayoutError as exc:
        raise LayoutError(f"{path}: {exc}") from None
    return layout_from_json(doc)


def layout_from_json(doc: dict[str, Any]) -> Layout:
    pages = []
    for p in doc["pages"]:
        fields = []
        for f in p["fields"]:
            if f["type"] == "text":
                fields.append(LayoutField(f["id"], "text", rect=_t(f["rect"]), part=f.get("part", 1)))
            else:
                fields.append(
                    LayoutField(
                        f["id"], f["type"], boxes=[Box(b["value"], _t(b["rect"])) for b in f["boxes"]]
                    )
                )
        pages.append(
            LayoutPage(
                page=p["page"],
                width=p["width"],
                height=p["height"],
                fiducials=[(float(x), float(y)) for x, y in p["fiducials"]],
                page_code=_t(p["page_code"]),
                fields=fields,
                fiducial_diameter=float(p.get("fiducial_diameter", FIDUCIAL_DIAMETER)),
                footer=Footer.from_json(p["footer"]) if "footer" in p else None,
            )
        )
    return Layout(doc["questionnaire"], doc["version"], doc["variant"], pages)


def same_printed_positions(printed: Layout, drawn: Layout) -> bool:
    """Would paper printed with ``printed`` be read right with ``drawn``?

    Every position ``printed`` records must be the same in ``drawn``; what an
    older layout file does not record (the footer) is not compared.
    """
    old, new = printed.to_json(), drawn.to_json()
    for before, after in zip(old["pages"], new["pages"], strict=False):
        if "footer" not in before:
            after.pop("footer", None)
    return bool(old == new)


@lru_cache(maxsize=1)
def layout_schema() -> dict[str, Any]:
    text = resources.files("forms_service.schemas").joinpath("layout.schema.json").read_text()
    return json.loads(text)


def validate_layout_json(doc: Any) -> None:
    """Check a layout document against the published schema and the prose rules."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(layout_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "top level"
        raise LayoutError(f"not a valid {FORMAT} document at {where}: {err.message}")
    if doc["format"] != FORMAT:
        raise LayoutError(f"format must be {FORMAT!r}")
    for p in doc["pages"]:
        rects = [p["page_code"]]
        if "footer" in p:
            rects.extend(p["footer"][line]["rect"] for line in ("page_number", "sheet_id"))
        for f in p["fields"]:
            rects.extend([b["rect"] for b in f.get("boxes", [])] or [f["rect"]])
        for r in rects:
            x0, y0, x1, y1 = r
            if not (x0 < x1 and y0 < y1 and x1 <= p["width"] + 0.01 and y1 <= p["height"] + 0.01):
                raise LayoutError(
                    f"page {p['page']}: rectangle {r} is empty or outside the page"
                )


def _r(rect: Rect) -> list[float]:
    return [round(v, 3) for v in rect]


def _t(values: Any) -> Rect:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (x0, y0, x1, y1)
