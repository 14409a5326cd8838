"""Receipt codes: what a paper respondent keeps to find out what became of their answers.

A receipt code is printed once, on the tear-off slip of one copy, and nowhere else: not in the
page code, not in the layout file, not in a log. The service keeps only a keyed hash of it
(:func:`code_hash`) beside the sheet id, so the database alone cannot print a slip again.

The code: 14 random symbols and a check symbol, in three groups of five (``K7MQ9-XHTP4-R2ABC``),
from 31 symbols that are hard to confuse when handwritten or read aloud: the digits 2 to 9 and
the letters without I, L and O (no 0/O, 1/I/L). 14 symbols of 31 are 69 bits: guessing a code
is hopeless. The check symbol makes the weighted sum of the symbols' values (weights 1 to 15)
a multiple of 31; 31 being prime, every single wrong symbol and every swap of two neighbours
is caught, so a mistyped code is told apart from one that was never printed.

Must never: log a code, or keep one anywhere but on paper.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
assert len(ALPHABET) == 31
DATA_SYMBOLS = 14
GROUP = 5
LENGTH = DATA_SYMBOLS + 1
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_SEPARATORS = re.compile(r"[\s\-–—_.·/]+")


def _check_symbol(data: str) -> str:
    """The symbol that makes sum(weight * value) a multiple of 31 (weights 1.., check last)."""
    total = sum((i + 1) * _VALUE[c] for i, c in enumerate(data))
    weight = len(data) + 1
    # find v with total + weight * v = 0 (mod 31): weight is invertible mod the prime 31
    v = (-total * pow(weight, -1, 31)) % 31
    return ALPHABET[v]


def new_code() -> str:
    """A fresh receipt code, grouped for printing."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
    return grouped(data + _check_symbol(data))


def grouped(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def valid(code: str) -> bool:
    """A code of the right length, of the alphabet, whose check symbol agrees."""
    if len(code) != LENGTH or any(c not in _VALUE for c in code):
        return False
    return sum((i + 1) * _VALUE[c] for i, c in enumerate(code)) % 31 == 0


def normalise(typed: str) -> str | None:
    """What a person typed as a bare code (upper case, separators dropped), or None when it
    cannot be a receipt code: a wrong length, a symbol no code has, or a failed check."""
    bare = _SEPARATORS.sub("", typed or "").upper()
    return bare if valid(bare) else None


def code_hash(secret: str, code: str) -> str:
    """The keyed hash the service keeps of a (normalised) code: HMAC-SHA256 under the secret key."""
    return hmac.new(secret.encode("utf-8"), f"receipt:{code}".encode(), hashlib.sha256).hexdigest()
