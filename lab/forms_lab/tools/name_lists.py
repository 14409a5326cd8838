"""Build the name gazetteers the screener ships (forms_service/screening/data/).

Run by a developer when the sources change, never by the service:

    pip install rdata   # reads R's .rda files (not a dependency of either package)
    python -m forms_lab.tools.name_lists UKBABYNAMES_REPO NAMES_SDIST_DIR [--dict /usr/share/dict/british-english]

* First names: ``ukbabynames`` (CC0; Çetinkaya-Rundel, Leeper et al., CRAN), which binds the
  official baby-name counts of England and Wales (ONS), Scotland (NRS) and Northern Ireland
  (NISRA), 1974-2020, and the top-100 rankings of England and Wales 1904-1994. A name is kept
  when at least ``--min-births`` children were given it over those years, or it is in a
  top-100 ranking (older staff were born before 1974).
* Surnames: the US Census Bureau's 1990 surname list (public domain), as shipped in the
  ``names`` package's sdist (``dist.all.last``); the UK publishes no surname counts. The most
  frequent ``--surnames`` are kept.
* Each name is marked ``word`` when its lower-case form is an English word in the dictionary
  (Debian's ``wbritish``): "grant", "will", "may", "hope", "rose", "hall" are names only in
  context (a title or a first name before them), never on their own. The dictionary's
  lower-case words ship too (``english-words.txt.gz``, SCOWL's permissive licence copied beside
  it), so that a capitalised word that is no English word can be taken for a surname.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import warnings
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[3] / "forms_service" / "screening" / "data"


def _rda(repo: Path, path: str) -> object:
    import rdata

    blob = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{path}"], check=True, capture_output=True).stdout
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = OUT / ".tmp.rda"
    tmp.write_bytes(blob)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return rdata.read_rda(str(tmp))
    finally:
        tmp.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("ukbabynames", type=Path, help="a git clone of mine-cetinkaya-rundel/ukbabynames")
    parser.add_argument("names_sdist", type=Path, help="the unpacked names-0.3.0 sdist (holds names/dist.all.last)")
    parser.add_argument("--dict", type=Path, default=Path("/usr/share/dict/british-english"))
    parser.add_argument("--min-births", type=int, default=60)
    parser.add_argument("--surnames", type=int, default=20000)
    args = parser.parse_args()
    words = {w.strip() for w in args.dict.read_text(encoding="utf-8").splitlines() if w.strip().islower()}

    births: Counter[str] = Counter()
    table = _rda(args.ukbabynames, "data/ukbabynames.rda")["ukbabynames"]  # type: ignore[index]
    for name, n in zip(table["name"], table["n"], strict=True):
        births[str(name).lower()] += int(n)
    ranked = _rda(args.ukbabynames, "data/rankings.rda")["rankings"]  # type: ignore[index]
    top = {str(n).lower() for n in ranked["name"]}
    first = sorted((n for n in births if births[n] >= args.min_births and n.isalpha()), key=lambda n: -births[n])
    first += sorted(top - set(first))
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "first-names.tsv").open("w", encoding="utf-8") as f:
        f.write("# name\tbirths 1974-2020 (UK)\tword\n")
        for n in first:
            f.write(f"{n}\t{births.get(n, 0)}\t{int(n in words)}\n")

    last: list[tuple[str, float]] = []
    for line in (args.names_sdist / "names" / "dist.all.last").read_text().splitlines():
        name, freq, *_ = line.split()
        last.append((name.lower(), float(freq)))
    with (OUT / "surnames.tsv").open("w", encoding="utf-8") as f:
        f.write("# name\tper cent of the 1990 US population\tword\n")
        for name, freq in last[:args.surnames]:
            f.write(f"{name}\t{freq:g}\t{int(name in words)}\n")
    listed = "".join(w + "\n" for w in sorted(w for w in words if w.isalpha())).encode("utf-8")
    with (OUT / "english-words.txt.gz").open("wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(listed)
    shutil.copy(Path("/usr/share/doc/wbritish/copyright"), OUT / "english-words.COPYRIGHT")
    print(f"{len(first)} first names, {min(len(last), args.surnames)} surnames written to {OUT}")


if __name__ == "__main__":
    main()
