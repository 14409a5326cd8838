"""The OCR engine the scan reader asks for: an image in, words with confidences out.

The reader never names tesseract: it calls :func:`default_engine` (or is
given an engine) and uses :meth:`OcrEngine.read`. :class:`TesseractEngine`
runs tesseract's LSTM engine through :mod:`forms_service.ocr.tesseract`
(the only module that runs it); :class:`NullEngine` reads nothing (for
tests, or a service set up without OCR: every written area then simply goes
to a person with no suggestion).

Must never: log or store the text it reads, or write images to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from . import tesseract

__all__ = ["NullEngine", "OcrEngine", "OcrResult", "OcrWord", "TesseractEngine", "default_engine"]


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float  # 0..1, the engine's own
    line: int  # line number within the image, in reading order


@dataclass(frozen=True)
class OcrResult:
    words: list[OcrWord]

    @property
    def text(self) -> str:
        """The words, one line of the image per line of text."""
        lines: dict[int, list[str]] = {}
        for w in self.words:
            lines.setdefault(w.line, []).append(w.text)
        return "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))


class OcrEngine(Protocol):
    def read(self, image: NDArray[np.uint8], *, dpi: float) -> OcrResult:
        """Read a block of text from a greyscale image (dark ink on white) at ``dpi``."""
        ...


class TesseractEngine:
    """Tesseract's LSTM engine, page segmentation for one block of text (psm 6)."""

    def __init__(self, language: str = "eng", psm: int = 6) -> None:
        self.language = language
        self.psm = psm

    def read(self, image: NDArray[np.uint8], *, dpi: float) -> OcrResult:
        found = tesseract.recognize_words(image, psm=self.psm, language=self.language, dpi=round(dpi))
        keys: dict[tuple[int, int, int], int] = {}
        words = []
        for w in found:
            line = keys.setdefault((w.block, w.paragraph, w.line), len(keys))
            words.append(OcrWord(w.text, max(0.0, min(1.0, w.confidence / 100.0)), line))
        return OcrResult(words)


class NullEngine:
    """Reads nothing."""

    def read(self, image: NDArray[np.uint8], *, dpi: float) -> OcrResult:
        return OcrResult([])


_DEFAULT: OcrEngine | None = None


def default_engine() -> OcrEngine:
    """The service's OCR engine (tesseract, English)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = TesseractEngine()
    return _DEFAULT
