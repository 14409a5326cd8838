"""Build the list of abusive words and phrases the screener ships (forms_service/screening/data/).

Run by a developer when the source changes, never by the service:

    python -m forms_lab.tools.abuse_words PROFANITY_REPO

The source is Surge AI's ``profanity_en.csv`` (github.com/surge-ai/profanity, MIT licence):
1,598 English profanities, slurs and insults with their canonical forms, categories and a
severity. Kept:

* single words that are no ordinary English word (SCOWL's British list, shipped beside it) and
  no first name or surname of the name lists ("abbie", "mong", "wang" are people too), written
  in letters alone (disguises with digits and symbols are the screener's own rules);
* phrases of several words, but for those with an everyday sense ("nut butter", "pussy cat",
  "beat off" the competition, "taking the piss", "harry palms").

Words that are also ordinary English words ("cock", "tart", "spook", "fags": cigarettes) are left
to the screener's hand-made lists, which take most of them only when aimed at someone. Terms this
list drops are listed in ``DROPPED`` with the reason.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import shutil
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parents[3] / "forms_service" / "screening" / "data"

DROPPED = {
    # an everyday sense, or a thing rather than a person
    "beat off": "beat off the competition", "nut butter": "food", "pussy cat": "a cat", "mushroom tip": "food",
    "taking the piss": "mild, and common for teasing", "harry palms": "a name", "double pen": "a pen",
    "wet back": "literal", "coot coot": "a bird", "zip in the wire": "unclear", "axe wound": "an injury",
    "man meat": "food", "pancake face": "food", "fucking a": "'fucking' is held on its own",
    "nicker": "a pound (money)", "scut": "a rabbit's tail", "bastinado": "a historical punishment",
}


def build(repo: Path) -> tuple[list[str], list[str]]:
    text = subprocess.run(["git", "-C", str(repo), "show", "HEAD:profanity_en.csv"], check=True,
                          capture_output=True, text=True).stdout
    words = set(gzip.decompress((OUT / "english-words.txt.gz").read_bytes()).decode().split())
    names = set()
    for name in ("first-names.tsv", "surnames.tsv"):
        for line in (OUT / name).read_text().splitlines():
            if line and not line.startswith("#"):
                names.add(line.split("\t")[0].lower())
    singles, phrases = set(), set()
    for row in csv.DictReader(io.StringIO(text)):
        term = " ".join(row["text"].lower().split())
        if term in DROPPED or re.search(r"[^a-z' -]", term):
            continue
        if " " in term:
            phrases.add(term)
        elif term not in words and term not in names:
            singles.add(term)
    return sorted(singles), sorted(phrases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", type=Path, help="a clone of github.com/surge-ai/profanity")
    args = parser.parse_args()
    singles, phrases = build(args.repo)
    head = ("# Abusive words and phrases, one a line (lower case). Built by lab/forms_lab/tools/abuse_words.py\n"
            "# from Surge AI's profanity_en.csv (github.com/surge-ai/profanity, MIT licence: abusive-words.LICENSE).\n")
    (OUT / "abusive-words.txt").write_text(head + "\n".join(singles + phrases) + "\n")
    license_text = subprocess.run(["git", "-C", str(args.repo), "show", "HEAD:LICENSE"], check=True,
                                  capture_output=True, text=True).stdout
    (OUT / "abusive-words.LICENSE").write_text(license_text)
    print(f"{len(singles)} words and {len(phrases)} phrases written to {OUT / 'abusive-words.txt'}")


if __name__ == "__main__":
    shutil.which("git") or SystemExit("git is needed")
    main()
