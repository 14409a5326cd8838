"""Synthetic respondents and scans: the labelled test material of the scan reader.

:mod:`.fill` fills a rendered page the way people do (ticks, crosses, circles,
corrections, pencil, felt tip, handwriting past the edge) and returns the
truth; :mod:`.scan` turns a filled page into what the reader receives (a
degraded scan warped back into layout coordinates with a small alignment
error). Tests and ``benchmarks/calibrate.py`` use both.

Must never: be used on, or mixed with, real respondents' forms; it only makes
synthetic material. It writes no files and logs nothing.
"""

from __future__ import annotations

from .fill import (
    CHOICE_CASES,
    MARK_STYLES,
    PEN_KINDS,
    POPULATIONS,
    TEXT_CASES,
    FilledPage,
    Pen,
    Population,
    Respondent,
    draw_mark,
    fill_page,
    handwriting_fonts,
    random_pen,
    random_respondent,
    scatter_dust,
    write_text,
)
from .scan import SimulatedScan, simulate_scan

__all__ = [
    "CHOICE_CASES",
    "MARK_STYLES",
    "PEN_KINDS",
    "POPULATIONS",
    "TEXT_CASES",
    "FilledPage",
    "Pen",
    "Population",
    "Respondent",
    "SimulatedScan",
    "draw_mark",
    "fill_page",
    "handwriting_fonts",
    "random_pen",
    "random_respondent",
    "scatter_dust",
    "simulate_scan",
    "write_text",
]
