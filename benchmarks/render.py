"""Benchmark of the PDF renderer: N copies of one variant of the shipped questionnaire.

Usage: python benchmarks/render.py [VARIANT ...] [--copies N] [--definition PATH]

Prints, per variant: seconds, copies per second, PDF bytes per copy (the size
beyond a one-copy PDF, divided by the extra copies) and peak resident memory.
Each variant runs in a fresh child process so peak memory is its own.

Must never: keep the PDFs it writes (they go to a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "forms_service/questionnaire/shipped/big-leeds-conversation/2026-11/questionnaire.yaml"


def measure(variant: str, copies: int, definition: Path) -> dict[str, float]:
    """Render once with 1 copy and once with ``copies``; runs inside the child process."""
    from forms_service.questionnaire import load_definition
    from forms_service.render import render_pdf

    q = load_definition(definition).questionnaire
    with tempfile.TemporaryDirectory() as folder:
        one = Path(folder) / "one.pdf"
        many = Path(folder) / "many.pdf"
        render_pdf(q, variant, one, copies=1)
        start = time.perf_counter()
        result = render_pdf(q, variant, many, copies=copies)
        seconds = time.perf_counter() - start
        size_one, size_many = one.stat().st_size, many.stat().st_size
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "copies": copies,
        "pages_per_copy": result.pages_per_copy,
        "seconds": seconds,
        "copies_per_second": copies / seconds,
        "bytes_per_copy": (size_many - size_one) / max(1, copies - 1),
        "pdf_bytes": size_many,
        "peak_rss_mb": peak_kb / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", default=["standard", "large-print", "easy-read"])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--definition", type=Path, default=DEFINITION)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.variants[0], args.copies, args.definition)))
        return 0
    print(f"{'variant':<12} {'copies':>6} {'pages':>5} {'seconds':>8} {'copies/s':>9} "
          f"{'bytes/copy':>10} {'PDF MB':>7} {'peak RSS MB':>11}")
    for variant in args.variants:
        out = subprocess.run(
            [sys.executable, __file__, variant, "--child", "--copies", str(args.copies),
             "--definition", str(args.definition)],
            check=True, capture_output=True, text=True, cwd=ROOT,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{variant:<12} {r['copies']:>6} {r['pages_per_copy']:>5} {r['seconds']:>8.2f} "
              f"{r['copies_per_second']:>9.1f} {r['bytes_per_copy']:>10.0f} "
              f"{r['pdf_bytes'] / 1e6:>7.1f} {r['peak_rss_mb']:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
