"""Tesseract, behind one module: version probe, language check and word recognition.

Nothing else in the service runs tesseract: :mod:`forms_service.ocr.engine`
wraps :func:`recognize_words` as the service's OCR engine.

Must never: log the text tesseract reads, or write the images it reads to disk.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from ..errors import FormsServiceError, SystemDependencyError

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


# --------------------------------------------------------------------------- recognition


class TesseractError(FormsServiceError):
    """Tesseract ran but failed on an image."""

    code = "ocr_failed"


@dataclass(frozen=True)
class TesseractWord:
    """One word tesseract read, with its confidence (0..100) and box in image pixels."""

    text: str
    confidence: float
    left: int
    top: int
    width: int
    height: int
    block: int
    paragraph: int
    line: int


def recognize_words(
    image: NDArray[np.uint8],
    *,
    psm: int = 6,
    language: str = "eng",
    dpi: int | None = None,
    timeout: float = 60.0,
    binary: str = "tesseract",
) -> list[TesseractWord]:
    """Run tesseract's LSTM engine (``--oem 1``) on a greyscale image; words in reading order.

    ``psm`` is tesseract's page-segmentation mode (6: one uniform block of
    text). The image goes to tesseract through a pipe and the words come back
    the same way: nothing is written to disk. Tesseract is limited to one
    thread (``OMP_THREAD_LIMIT=1``): the service parallelises across pages.
    """
    path = shutil.which(binary)
    if path is None:
        raise SystemDependencyError(f"tesseract (the OCR program) is not installed: {INSTALL_HINT}.")
    ok, png = cv2.imencode(".png", np.ascontiguousarray(image, dtype=np.uint8))
    if not ok:
        raise TesseractError("The image for OCR could not be encoded.")
    args = [path, "stdin", "stdout", "--oem", "1", "--psm", str(int(psm)), "-l", language]
    if dpi:
        args += ["--dpi", str(int(dpi))]
    args.append("tsv")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(args, input=png.tobytes(), capture_output=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise TesseractError(f"Tesseract took longer than {timeout:g} s on one writing area.") from None
    except OSError as exc:
        raise SystemDependencyError(f"tesseract is installed but does not run ({exc}); {INSTALL_HINT}.") from None
    if done.returncode != 0:
        first = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise TesseractError(f"Tesseract failed on a writing area (exit {done.returncode}: {' '.join(first)}).")
    return _parse_tsv(done.stdout.decode("utf-8", "replace"))


def _parse_tsv(text: str) -> list[TesseractWord]:
    words: list[TesseractWord] = []
    for row in text.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        try:
            block, par, line = int(cols[2]), int(cols[3]), int(cols[4])
            left, top, width, height = (int(c) for c in cols[6:10])
            conf = float(cols[10])
        except ValueError:
            continue
        words.append(TesseractWord(word, conf, left, top, width, height, block, par, line))
    return words
