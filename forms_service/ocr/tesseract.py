"""Tesseract, behind one module: version probe and language check.

Must never: log the text tesseract reads.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from ..errors import SystemDependencyError

INSTALL_HINT = (
    "install it with 'sudo apt-get install tesseract-ocr tesseract-ocr-eng' "
    "(make run does this for you)"
)


@lru_cache(maxsize=1)
def tesseract_version(binary: str = "tesseract") -> str:
    """Return tesseract's version, or raise SystemDependencyError saying how to install it."""
    path = shutil.which(binary)
    if path is None:
        raise SystemDependencyError(f"tesseract (the OCR program) is not installed: {INSTALL_HINT}.")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=True)
        langs = subprocess.run([path, "--list-langs"], capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SystemDependencyError(f"tesseract is installed but does not run ({exc}); {INSTALL_HINT}.") from None
    if "eng" not in langs.stdout.split():
        raise SystemDependencyError(
            "tesseract has no English language data: install it with "
            "'sudo apt-get install tesseract-ocr-eng'."
        )
    first = (out.stdout or out.stderr).strip().splitlines()[0]
    return first.removeprefix("tesseract ").strip()
