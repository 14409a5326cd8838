"""Sheet ids and page codes: what every printed page says about itself, and nothing more.

A *sheet id* names one printed copy of a questionnaire. It is random (50 bits
from the operating system's generator), never sequential, written in an
alphabet without the look-alike characters 0/O and 1/I, and ends in a check
character so a mistyped id is caught. It is never stored against a person.

A *page code* is the text in the QR code on every page:
``FS1|<questionnaire>|<version>|<variant>|<page>|<sheet id>``.

Pure domain code: no Flask, no SQL, no files.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidInput

if TYPE_CHECKING:
    import numpy as np

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0, O, 1 or I
RANDOM_CHARS = 10  # 10 x 5 bits = 50 random bits
PAGE_CODE_PREFIX = "FS1"


def new_sheet_id(rng: np.random.Generator | None = None) -> str:
    """A fresh random sheet id such as ``K7MQ-9XHT-P4R`` (10 random characters + check).

    ``rng``: for synthetic test material only, a seeded generator that makes the same ids
    again (so a benchmark run can be repeated page for page). A printed sheet's id always
    comes from the operating system's generator.
    """
    if rng is None:
        body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    else:
        body = "".join(ALPHABET[int(i)] for i in rng.integers(len(ALPHABET), size=RANDOM_CHARS))
    return _format(body + _check_char(body))


def normalise_sheet_id(typed: str) -> str:
    """Turn what a person typed into the canonical id, or say why it cannot be one."""
    cleaned = "".join(ch for ch in typed.upper() if ch not in " -_")
    if len(cleaned) != RANDOM_CHARS + 1:
        raise InvalidInput(
            f"A sheet id has {RANDOM_CHARS + 1} letters and digits (like K7MQ-9XHT-P4R); "
            f"{typed.strip()!r} has {len(cleaned)}."
        )
    bad = sorted({ch for ch in cleaned if ch not in ALPHABET})
    if bad:
        raise InvalidInput(
            f"A sheet id never contains {', '.join(repr(c) for c in bad)}: check the id printed "
            f"at the foot of the page (it has no 0, O, 1 or I)."
        )
    if _check_char(cleaned[:-1]) != cleaned[-1]:
        raise InvalidInput("That sheet id has a typing mistake: check it against the page.")
    return _format(cleaned)


def is_sheet_id(text: str) -> bool:
    try:
        return normalise_sheet_id(text) == text
    except InvalidInput:
        return False


def _check_char(body: str) -> str:
    total = sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def _format(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


@dataclass(frozen=True)
class PageCode:
    questionnaire: str
    version: str
    variant: str
    page: int
    sheet: str

    def encode(self) -> str:
        return "|".join(
            [PAGE_CODE_PREFIX, self.questionnaire, self.version, self.variant, str(self.page), self.sheet]
        )

    @classmethod
    def decode(cls, text: str) -> PageCode:
        parts = text.strip().split("|")
        if len(parts) != 6 or parts[0] != PAGE_CODE_PREFIX:
            raise InvalidInput("This code is not a forms-service page code.")
        _, questionnaire, version, variant, page, sheet = parts
        if not page.isdigit() or int(page) < 1:
            raise InvalidInput("This page code names no valid page number.")
        return cls(questionnaire, version, variant, int(page), normalise_sheet_id(sheet))
