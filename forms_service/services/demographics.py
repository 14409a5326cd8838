""""About you" answers, only ever in aggregate: counts by group, with small cells suppressed.

The questionnaire's "about you" questions (its section with ``about_you: true``) are never
attached to a contribution and never delivered. Analysts see them here only as tables of counts:
each attribute by the group question's answer (staff, student, postgraduate researcher), and
the crossings the deployment configures (``FORMS_SERVICE_DEMOGRAPHIC_CROSSINGS``, such as
``age:gender``), counting complete responses (every field settled) only.

Disclosure control (:func:`protect`), on every table with its row and column totals:

* a count from 1 to 9 is suppressed (shown as ``null``, "fewer than 10"); 0 is shown;
* the other counts, totals included, are rounded to the nearest 5;
* secondary suppression: wherever a row or column (totals included) holds exactly one suppressed
  count, the smallest other count of that line is suppressed too, until no line has one alone,
  so that no suppressed count can be worked out from a total and the counts beside it.

Must never: return a count of one response's answers, or any answer beside a sheet, response or text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..context import ServiceContext
from ..questionnaire.model import Questionnaire
from . import export, questionnaires

SUPPRESS_BELOW = 10
ROUND_TO = 5
NO_ANSWER = ("", "No answer")

Cell = tuple[Any, ...]  # (row, column), ("row", i), ("col", j) or ("all",)


@dataclass(frozen=True)
class Table:
    """One published table: counts (``None``: suppressed) with row and column totals."""

    title: str  # the rows' question
    by: str  # the columns': the group question, or the other question of a crossing
    rows: tuple[tuple[str, str], ...]  # (value, label); value "" is "no answer"
    columns: tuple[tuple[str, str], ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...]
    total: int | None

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "by": self.by,
                "rows": [{"value": v or None, "label": label} for v, label in self.rows],
                "columns": [{"value": v or None, "label": label} for v, label in self.columns],
                "cells": [list(r) for r in self.cells], "row_totals": list(self.row_totals),
                "column_totals": list(self.column_totals), "total": self.total}


def round_to(n: int, step: int = ROUND_TO) -> int:
    """``n`` to the nearest multiple of ``step``, halves up (12 -> 10, 13 -> 15)."""
    return step * ((n + step // 2) // step)


def protect(counts: Sequence[Sequence[int]]) -> tuple[list[list[int | None]], list[int | None], list[int | None],
                                                       int | None]:
    """The published cells, row totals, column totals and grand total of a table of counts."""
    nrows, ncols = len(counts), len(counts[0]) if counts else 0
    value: dict[Cell, int] = {(i, j): int(counts[i][j]) for i in range(nrows) for j in range(ncols)}
    for i in range(nrows):
        value[("row", i)] = sum(counts[i])
    for j in range(ncols):
        value[("col", j)] = sum(counts[i][j] for i in range(nrows))
    value[("all",)] = sum(value[("row", i)] for i in range(nrows))
    hidden = {k for k, n in value.items() if 0 < n < SUPPRESS_BELOW}
    lines: list[list[Cell]] = [[(i, j) for j in range(ncols)] + [("row", i)] for i in range(nrows)]
    lines += [[(i, j) for i in range(nrows)] + [("col", j)] for j in range(ncols)]
    totals_by_row: list[Cell] = [("row", i) for i in range(nrows)]
    totals_by_col: list[Cell] = [("col", j) for j in range(ncols)]
    lines += [[*totals_by_row, ("all",)], [*totals_by_col, ("all",)]]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(k in hidden for k in line) != 1:
                continue
            # hide the smallest other count (a cell before a total; a zero cannot hide anything)
            others = sorted((k for k in line if k not in hidden and value[k] > 0),
                            key=lambda k: (isinstance(k[0], str), value[k]))
            if others:
                hidden.add(others[0])
                changed = True

    def publish(k: Cell) -> int | None:
        return None if k in hidden else round_to(value[k])

    return ([[publish((i, j)) for j in range(ncols)] for i in range(nrows)],
            [publish(("row", i)) for i in range(nrows)], [publish(("col", j)) for j in range(ncols)],
            publish(("all",)))


def table(title: str, by: str, rows: Sequence[tuple[str, str]], columns: Sequence[tuple[str, str]],
          pairs: Iterable[tuple[str, str]]) -> Table:
    """A protected table of how often each (row value, column value) pair occurs."""
    seen = Counter(pairs)
    counts = [[seen[(r, c)] for c, _ in columns] for r, _ in rows]
    cells, row_totals, column_totals, total = protect(counts)
    return Table(title, by, tuple(rows), tuple(columns), tuple(tuple(r) for r in cells), tuple(row_totals),
                 tuple(column_totals), total)


def _options(q: Questionnaire, question_id: str) -> list[tuple[str, str]]:
    return [(o.value, o.label) for o in q.question(question_id).options] + [NO_ANSWER]


def _value(answer: dict[str, Any] | None) -> str:
    v = (answer or {}).get("value")
    return v if isinstance(v, str) else ""


def report(ctx: ServiceContext) -> list[dict[str, Any]]:
    """Per questionnaire version with complete responses: its tables, and how many responses
    were counted and how many are not yet (still being checked, or pages missing)."""
    by_version: dict[tuple[str, str], list[dict[str, Any]]] = {}
    waiting: Counter[tuple[str, str]] = Counter()
    for rec in export.iter_records(ctx):
        key = (rec["questionnaire"], rec["version"])
        if rec["status"] != "complete":
            waiting[key] += 1
            continue
        by_version.setdefault(key, []).append({fid: _value(a) for fid, a in rec["answers"].items()})
    out: list[dict[str, Any]] = []
    for key in sorted(set(by_version) | set(waiting)):
        q = questionnaires.get_questionnaire(ctx, *key)
        answers = by_version.get(key, [])
        group = q.routing.question
        about = [f.id for f in q.fields() if f.about_you and f.type.value == "single_choice"]
        groups = _options(q, group)
        tables = [table(q.question(fid).text, q.question(group).text, _options(q, fid), groups,
                        ((a.get(fid, ""), a.get(group, "")) for a in answers))
                  for fid in about]
        notes: list[str] = []
        for first, second in ctx.config.demographic_crossings:
            if first in about and second in about:
                tables.append(table(q.question(first).text, q.question(second).text,
                                    _options(q, first), _options(q, second),
                                    ((a.get(first, ""), a.get(second, "")) for a in answers)))
            else:
                notes.append(f"The crossing {first}:{second} names a question that is not one of this "
                             f"questionnaire's \"about you\" questions ({', '.join(about)}).")
        out.append({"questionnaire": key[0], "version": key[1], "title": q.title,
                    # rounded like the tables, so that no exact total sits beside them
                    "counted": round_to(len(answers)), "not_yet_counted": round_to(waiting[key]),
                    "suppressed_below": SUPPRESS_BELOW, "rounded_to": ROUND_TO,
                    "tables": [t.as_dict() for t in tables], "notes": notes})
    return out
