"""Receipt codes: random, easy to type, and a mistyped one is told apart from one never printed."""

from __future__ import annotations

import re

from forms_service import receipts


def test_a_code_is_grouped_random_and_of_the_easy_alphabet() -> None:
    codes = {receipts.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:200]:
        assert re.fullmatch(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}", code)
        assert not set(code) & set("01ILO")
    assert receipts.DATA_SYMBOLS * 4.95 >= 60  # log2(31) = 4.95 bits a symbol: at least 60 bits


def test_typing_slips_are_forgiven_and_mistakes_caught() -> None:
    code = receipts.new_code()
    bare = code.replace("-", "")
    assert receipts.normalise(code.lower()) == bare
    assert receipts.normalise(f"  {code[:5]} {code[6:11]}–{code[12:]} ") == bare
    for i in range(len(bare)):  # every single wrong symbol
        for other in receipts.ALPHABET:
            if other != bare[i]:
                assert receipts.normalise(bare[:i] + other + bare[i + 1:]) is None
    for i in range(len(bare) - 1):  # every swap of neighbours
        swapped = bare[:i] + bare[i + 1] + bare[i] + bare[i + 2:]
        assert swapped == bare or receipts.normalise(swapped) is None
    assert receipts.normalise(bare[:-1]) is None and receipts.normalise(bare + "2") is None
    assert receipts.normalise(bare.replace(bare[0], "O", 1)) is None  # a letter no code has


def test_only_a_keyed_hash_is_kept() -> None:
    bare = receipts.normalise(receipts.new_code())
    assert bare is not None
    digest = receipts.code_hash("secret", bare)
    assert len(digest) == 64 and bare not in digest
    assert digest != receipts.code_hash("another secret", bare)
