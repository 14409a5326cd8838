"""Scan files to page images: the first stage of the scan reader.

A returned questionnaire arrives as a PDF, a TIFF (often multi-page, often
1-bit CCITT G4 from an office scanner), a PNG or a JPEG (often a phone photo).
This module tells the type from the file's *content* (never its name), and
turns every page into a :class:`PageImage`: an 8-bit greyscale array at the
page's native resolution, upright as the file says (EXIF/TIFF orientation
applied), with its resolution and whether the source was 1-bit or colour.

* A PDF page that is one scanned image covering the page is read at that
  image's own resolution (the image is extracted, not re-rendered); any other
  PDF page is rendered in greyscale (at 300 dpi for drawn pages, at the
  resolution of its main image for mixed pages).
* A whole file that cannot be read raises a :class:`ScanFileError` subclass
  with one sentence naming the file and saying what to do. A single bad page
  of a good file is yielded as :class:`PageRejected` and the following pages
  still come through.
* Every page is checked against a pixel budget (:class:`ScanLimits`) *before*
  its raster is decoded, so a small file that claims to be a huge image (a
  "decompression bomb") costs nothing.

Pure code: takes bytes or a path, returns arrays and dataclasses. Must never:
write files, keep images anywhere, log or print anything about a page's
content. PDFium is not thread-safe, so every call into it holds one
module-wide lock.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from numpy.typing import NDArray
from PIL import Image, JpegImagePlugin, PngImagePlugin, TiffImagePlugin

from ..pdfium import PDFIUM_LOCK
from .errors import (
    DamagedScanFile,
    EmptyScanFile,
    ProtectedScanFile,
    ScanFileError,
    ScanPageTooLarge,
    UnsupportedScanFile,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "PageImage",
    "PageRejected",
    "PageResult",
    "ScanKind",
    "ScanLimits",
    "content_sha256",
    "detect_kind",
    "iter_pages",
    "load_pages",
]

ScanKind = Literal["pdf", "tiff", "png", "jpeg"]
Origin = Literal["pdf-image", "pdf-render", "tiff", "png", "jpeg"]

#: 100 megapixels: an A3 page at 600 dpi (70 MP) or A4 up to about 1000 dpi
#: passes; A4 at 1200 dpi (139 MP) does not. As 8-bit grey that is 100 MB per
#: page (300 MB while a colour page is converted).
DEFAULT_MAX_PIXELS = 100_000_000

A4_LONG_SIDE_IN = 297 / 25.4
_SUPPORTED = "PDF, TIFF, PNG or JPEG"
_PDFIUM_LOCK = PDFIUM_LOCK


@dataclass(frozen=True)
class ScanLimits:
    """How far the reader goes for one page; read once from configuration by the caller."""

    #: a page whose raster would have more pixels than this is rejected unread
    max_pixels: int = DEFAULT_MAX_PIXELS
    #: resolution for PDF pages that are drawn rather than scanned
    render_dpi: float = 300.0
    #: the highest resolution a mixed PDF page is rendered at
    max_render_dpi: float = 600.0


@dataclass(frozen=True, eq=False)
class PageImage:
    """One page of a scan file as an upright 8-bit greyscale image."""

    source_index: int  # 0-based page (or TIFF frame) in the file
    image: NDArray[np.uint8]  # H x W, 0 = black, 255 = white
    dpi: float  # pixels per inch of ``image``
    bilevel: bool  # the source was black and white only (1-bit)
    colour: bool  # the source had colour channels
    origin: Origin  # how the page was obtained
    dpi_known: bool = True  # False: ``dpi`` is a guess (no or implausible metadata)

    @property
    def page_number(self) -> int:
        return self.source_index + 1

    @property
    def size_inches(self) -> tuple[float, float]:
        h, w = self.image.shape
        return w / self.dpi, h / self.dpi


@dataclass(frozen=True)
class PageRejected:
    """One page of a file that could not be read; the file's other pages go on."""

    source_index: int
    reason: str  # one sentence naming the file and the page, saying what to do
    code: Literal["too_large", "damaged", "unsupported"]

    @property
    def page_number(self) -> int:
        return self.source_index + 1


PageResult = PageImage | PageRejected


def content_sha256(data: bytes) -> str:
    """The hex SHA-256 of a file's bytes: its content address (same bytes, same scan)."""
    return hashlib.sha256(data).hexdigest()


def iter_pages(path: str | Path, limits: ScanLimits | None = None) -> Iterator[PageResult]:
    """Read the file at ``path``; see :func:`load_pages`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScanFileError(f"{path.name} does not exist.", filename=path.name) from None
    except IsADirectoryError:
        raise ScanFileError(
            f"{path.name} is a folder, not a scan file.", filename=path.name
        ) from None
    return load_pages(data, path.name, limits)


def load_pages(
    data: bytes, filename: str, limits: ScanLimits | None = None
) -> Iterator[PageResult]:
    """The pages of one scan file, in file order, each a :class:`PageImage` or :class:`PageRejected`.

    Problems with the file as a whole (empty, not a scan, damaged, protected by
    a password; for a PNG or JPEG also too large) raise a
    :class:`~forms_service.scan.errors.ScanFileError` here, before the first
    page; ``filename`` is used only to name the file in messages.
    """
    limits = limits or ScanLimits()
    name = Path(filename).name or "The file"
    kind = detect_kind(data, name)
    if kind == "pdf":
        return _pdf_pages(data, name, limits)
    if kind == "tiff":
        return _tiff_pages(data, name, limits)
    return iter([_single_image_page(data, name, kind, limits)])


# --------------------------------------------------------------------------- type detection


def detect_kind(data: bytes, filename: str = "The file") -> ScanKind:
    """Tell a scan's type from its first bytes, or say in one sentence what the file is instead."""
    name = Path(filename).name or "The file"
    if not data:
        raise EmptyScanFile(f"{name} is empty (0 bytes); upload the scan again.", filename=name)
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    what, advice = _describe_other(data)
    raise UnsupportedScanFile(f"{name} is {what}; {advice}", filename=name)


_SCAN_ADVICE = f"scan the paper form to {_SUPPORTED}."
_CONVERT_ADVICE = f"save the scan as {_SUPPORTED} and upload it again."
_NOT_A_SCAN = ", not a scan"
_NOT_ACCEPTED = ", which the scan reader does not accept"


def _describe_other(data: bytes) -> tuple[str, str]:
    head = data[:64]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _describe_zip(data)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an older Microsoft Office file (.doc, .xls or .ppt)" + _NOT_A_SCAN, _SCAN_ADVICE
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "a GIF image" + _NOT_ACCEPTED, _CONVERT_ADVICE
    if head.startswith(b"BM"):
        return "a BMP image" + _NOT_ACCEPTED, _CONVERT_ADVICE
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "a WebP image" + _NOT_ACCEPTED, _CONVERT_ADVICE
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
            return (
                "a HEIC/AVIF photo (the iPhone's own format)" + _NOT_ACCEPTED,
                "set the phone camera to 'Most Compatible', or export the photo as JPEG, "
                "and upload it again.",
            )
        return "a video" + _NOT_A_SCAN, "photograph or scan each page instead."
    if head.startswith(b"\x00\x00\x00\x0cjP  ") or head.startswith(b"\xff\x4f\xff\x51"):
        return "a JPEG 2000 image" + _NOT_ACCEPTED, _CONVERT_ADVICE
    if head.startswith(b"{\\rtf"):
        return "a Rich Text document (.rtf)" + _NOT_A_SCAN, _SCAN_ADVICE
    if head.startswith(b"%!PS"):
        return "a PostScript file" + _NOT_A_SCAN, f"print it to PDF, or {_SCAN_ADVICE}"
    lowered = data[:2048].lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "a web page (HTML)" + _NOT_A_SCAN, _SCAN_ADVICE
    if lowered.startswith(b"<svg") or (lowered.startswith(b"<?xml") and b"<svg" in lowered):
        return "an SVG drawing" + _NOT_A_SCAN, _SCAN_ADVICE
    if b"\x00" not in data[:4096]:
        try:
            data[:4096].decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return "a text file" + _NOT_A_SCAN, _SCAN_ADVICE
    return f"not a {_SUPPORTED} file", _SCAN_ADVICE


def _describe_zip(data: bytes) -> tuple[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            mimetype = (
                archive.read("mimetype")[:100].decode("ascii", "replace")
                if "mimetype" in names
                else ""
            )
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError):
        return "a damaged ZIP archive" + _NOT_A_SCAN, _SCAN_ADVICE
    if any(n.startswith("word/") for n in names):
        return "a Word document (.docx)" + _NOT_A_SCAN, _SCAN_ADVICE
    if any(n.startswith("xl/") for n in names):
        return "an Excel spreadsheet (.xlsx)" + _NOT_A_SCAN, _SCAN_ADVICE
    if any(n.startswith("ppt/") for n in names):
        return "a PowerPoint presentation (.pptx)" + _NOT_A_SCAN, _SCAN_ADVICE
    if mimetype.startswith("application/vnd.oasis.opendocument"):
        return "an OpenDocument file (.odt, .ods or .odp)" + _NOT_A_SCAN, _SCAN_ADVICE
    return "a ZIP archive" + _NOT_A_SCAN, "unzip it and upload the scans inside."


# --------------------------------------------------------------------------- PNG, JPEG, TIFF


_PIL_OPENERS: dict[str, Any] = {
    "png": PngImagePlugin.PngImageFile,
    "jpeg": JpegImagePlugin.JpegImageFile,
    "tiff": TiffImagePlugin.TiffImageFile,
}
_KIND_NAMES = {"png": "PNG image", "jpeg": "JPEG image", "tiff": "TIFF file", "pdf": "PDF"}


def _open_pil(data: bytes, name: str, kind: str) -> Image.Image:
    # The plugin classes are used directly: Image.open would apply Pillow's
    # process-wide decompression-bomb limit before we can apply our own, page by page.
    try:
        image: Image.Image = _PIL_OPENERS[kind](io.BytesIO(data))
    except Exception as exc:  # Pillow raises SyntaxError, OSError, struct.error, ...
        raise DamagedScanFile(
            f"{name} is a damaged {_KIND_NAMES[kind]} that cannot be opened; "
            "scan the form again or save the file again.",
            filename=name,
            detail=repr(exc),
        ) from None
    return image


def _single_image_page(
    data: bytes, name: str, kind: Literal["png", "jpeg"], limits: ScanLimits
) -> PageImage:
    image = _open_pil(data, name, kind)
    width, height = image.size
    if width * height > limits.max_pixels:
        raise ScanPageTooLarge(
            _too_large_sentence(name, None, width, height, limits), filename=name
        )
    try:
        return _decode_pil_frame(image, 0, kind)
    except _FrameError as exc:
        cls = UnsupportedScanFile if exc.code == "unsupported" else DamagedScanFile
        raise cls(exc.sentence(name, None), filename=name, detail=exc.detail) from None


def _tiff_pages(data: bytes, name: str, limits: ScanLimits) -> Iterator[PageResult]:
    image = _open_pil(data, name, "tiff")
    try:
        count = getattr(image, "n_frames", 1)
    except Exception:  # a broken chain of pages: read what we can, reject the rest
        count = None
    return _tiff_frames(image, count, name, limits)


def _tiff_frames(
    image: Image.Image, count: int | None, name: str, limits: ScanLimits
) -> Iterator[PageResult]:
    index = 0
    while count is None or index < count:
        try:
            image.seek(index)
        except EOFError:
            if count is not None:
                yield PageRejected(index, _damaged_sentence(name, index), "damaged")
            return
        except Exception:
            yield PageRejected(index, _damaged_sentence(name, index), "damaged")
            return
        tags = getattr(image, "tag_v2", {})
        if int(tags.get(254, 0) or 0) & 1:  # a reduced-resolution copy (thumbnail), not a page
            index += 1
            continue
        width, height = image.size
        if width * height > limits.max_pixels:
            yield PageRejected(
                index, _too_large_sentence(name, index, width, height, limits), "too_large"
            )
        else:
            try:
                yield _decode_pil_frame(image, index, "tiff")
            except _FrameError as exc:
                yield PageRejected(index, exc.sentence(name, index), exc.code)
        index += 1


class _FrameError(Exception):
    def __init__(self, code: Literal["damaged", "unsupported"], detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def sentence(self, name: str, index: int | None) -> str:
        if self.code == "unsupported":
            where = name if index is None else f"Page {index + 1} of {name}"
            return (
                f"{where} uses a kind of picture the reader cannot convert ({self.detail}); "
                f"save the scan again as greyscale or colour {_SUPPORTED}."
            )
        if index is None:
            return (
                f"{name} is damaged or incomplete (the picture is cut short); "
                "upload it again or scan the form again."
            )
        return _damaged_sentence(name, index)


def _decode_pil_frame(
    image: Image.Image, index: int, origin: Literal["tiff", "png", "jpeg"]
) -> PageImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
        grey, colour, one_bit = _pil_to_grey(image)
    except _FrameError:
        raise
    except Exception as exc:  # truncated or corrupt data
        raise _FrameError("damaged", repr(exc)) from None
    orientation = _orientation_tag(image)
    dpi_x, dpi_y, known = _pil_dpi(image, grey.shape)
    if orientation in (5, 6, 7, 8):
        dpi_x, dpi_y = dpi_y, dpi_x
    grey = _apply_orientation(grey, orientation)
    grey, dpi = _square_pixels(grey, dpi_x, dpi_y, one_bit)
    grey, bilevel = _as_bilevel(grey, one_bit)
    return PageImage(index, grey, dpi, bilevel, colour, origin, known)


def _pil_to_grey(image: Image.Image) -> tuple[NDArray[np.uint8], bool, bool]:
    """(grey array, source had colour, source was 1-bit)."""
    mode = image.mode
    if mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8).copy(), False, True
    if mode == "L":
        return np.array(image, dtype=np.uint8), False, False
    if mode.startswith("I;16") or mode == "I":
        values = np.asarray(image).astype(np.float64)
        top = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        return np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), False, False
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        top = 1.0 if values.max(initial=0) <= 1.0 else 255.0
        return np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8), False, False
    if mode == "P":
        palette = image.getpalette() or []
        greyish = all(
            palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3)
        )
        rgba = image.convert("RGBA")
        return _flatten_alpha(rgba), not greyish, False
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        return _flatten_alpha(rgba), mode not in ("LA", "La"), False
    if mode in ("RGB", "RGBX", "CMYK", "YCbCr", "LAB", "HSV"):
        rgb = image if mode == "RGB" else image.convert("RGB")
        return np.array(rgb.convert("L"), dtype=np.uint8), True, False
    raise _FrameError("unsupported", f"pixel format {mode}")


def _flatten_alpha(rgba: Image.Image) -> NDArray[np.uint8]:
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.array(Image.alpha_composite(white, rgba).convert("L"), dtype=np.uint8)


def _orientation_tag(image: Image.Image) -> int:
    try:
        value = image.getexif().get(0x0112, 1)
        orientation = int(value)
    except Exception:
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _apply_orientation(grey: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Turn the stored raster the way the EXIF/TIFF orientation tag says it is displayed."""
    out: NDArray[np.uint8]
    if orientation == 2:
        out = grey[:, ::-1]
    elif orientation == 3:
        out = grey[::-1, ::-1]
    elif orientation == 4:
        out = grey[::-1, :]
    elif orientation == 5:
        out = grey.T
    elif orientation == 6:
        out = np.rot90(grey, -1)
    elif orientation == 7:
        out = np.rot90(grey, 2).T
    elif orientation == 8:
        out = np.rot90(grey, 1)
    else:
        return grey
    return np.ascontiguousarray(out)


def _pil_dpi(image: Image.Image, shape: tuple[int, ...]) -> tuple[float, float, bool]:
    """The stored resolution, or a guess (the image shows about one A4 page) when absent or absurd."""
    raw = image.info.get("dpi")
    long_side = max(shape[0], shape[1])
    if raw is not None:
        try:
            dpi_x, dpi_y = float(raw[0]), float(raw[1])
        except (TypeError, ValueError, IndexError):
            dpi_x = dpi_y = 0.0
        if _plausible_dpi(dpi_x, long_side) and _plausible_dpi(dpi_y, long_side):
            return dpi_x, dpi_y, True
    guess = long_side / A4_LONG_SIDE_IN
    return guess, guess, False


def _plausible_dpi(dpi: float, long_side_px: int) -> bool:
    # 72 or 96 "dpi" on a phone photo would make the page a metre tall.
    return 50.0 <= dpi <= 4800.0 and 3.0 <= long_side_px / dpi <= 24.0


def _square_pixels(
    grey: NDArray[np.uint8], dpi_x: float, dpi_y: float, bilevel: bool
) -> tuple[NDArray[np.uint8], float]:
    """Resample so both axes have the same resolution (fax-style 204 x 98 dpi, ...)."""
    if abs(dpi_x - dpi_y) <= 0.02 * max(dpi_x, dpi_y):
        return grey, round((dpi_x + dpi_y) / 2, 2)
    dpi = max(dpi_x, dpi_y)
    h, w = grey.shape
    size = (round(w * dpi / dpi_x), round(h * dpi / dpi_y))
    interpolation = cv2.INTER_NEAREST if bilevel else cv2.INTER_LINEAR
    resized = np.asarray(cv2.resize(grey, size, interpolation=interpolation), dtype=np.uint8)
    return resized, round(dpi, 2)


THRESHOLDED_MID = 0.005
"""A page with fewer mid-tone pixels (60–195) than this share was thresholded by its scanner."""
THRESHOLDED_DARK = 0.75
"""... when at least this share of its dark pixels are black (within 24 of 0): a grey scan's ink is
not (2–43 % on the lab's grey presets, against 93 % and more on thresholded pages saved as JPEG)."""


def thresholded(grey: NDArray[np.uint8]) -> bool:
    """Was this page thresholded to black and white by its scanner, whatever container it came in?

    A 1-bit scan saved as a JPEG (its edges ringing), as a grey or colour PNG, or as a grey image
    inside a PDF has next to no mid-tones and black ink, where a grey scan's printed edges and paper
    give a few per cent of mid-tones and its ink is dark grey. Measured on every page of the lab's
    scan presets, as saved and as JPEG at quality 50 to 85 (tests/scan/test_thresholded.py).
    """
    sample = grey[::2, ::2]
    counts = np.bincount(sample.ravel(), minlength=256)
    if counts[1:255].sum() == 0:
        return True  # only black and white: a 1-bit page as it was
    dark = counts[:128].sum()
    if dark == 0:
        return False  # a blank page: nothing says how it was scanned
    mid = counts[61:195].sum() / sample.size
    return bool(mid < THRESHOLDED_MID and counts[:25].sum() / dark >= THRESHOLDED_DARK)


def _as_bilevel(grey: NDArray[np.uint8], one_bit: bool) -> tuple[NDArray[np.uint8], bool]:
    """The page and whether it is 1-bit: a thresholded page in a grey container is made black and
    white again (so its JPEG ringing is not read as faint ink), and read by the 1-bit rules."""
    if one_bit:
        return grey, True
    if not thresholded(grey):
        return grey, False
    return np.where(grey < 128, 0, 255).astype(np.uint8), True


# --------------------------------------------------------------------------- PDF

_MIN_COVER = 0.85  # a "scanned page" image covers at least this share of the page


def _pdf_pages(data: bytes, name: str, limits: ScanLimits) -> Iterator[PageResult]:
    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise ProtectedScanFile(
                    f"{name} is protected by a password; save it without a password "
                    "and upload it again.",
                    filename=name,
                ) from None
            raise DamagedScanFile(
                f"{name} is a damaged PDF that cannot be opened; scan the form again "
                "or save the file again.",
                filename=name,
                detail=str(exc),
            ) from None
        count = len(pdf)
    if count == 0:
        with _PDFIUM_LOCK:
            pdf.close()
        raise DamagedScanFile(
            f"{name} is a PDF with no pages; upload the scan again.", filename=name
        )
    return _pdf_page_iter(pdf, count, name, limits)


def _pdf_page_iter(
    pdf: pdfium.PdfDocument, count: int, name: str, limits: ScanLimits
) -> Iterator[PageResult]:
    try:
        for index in range(count):
            with _PDFIUM_LOCK:
                try:
                    result = _pdf_page(pdf, index, name, limits)
                except Exception:  # PDFium's errors on one damaged page
                    result = PageRejected(index, _damaged_sentence(name, index), "damaged")
            yield result
    finally:
        with _PDFIUM_LOCK:
            pdf.close()


@dataclass
class _PageContent:
    main_image: Any | None  # the image covering the page, if any
    cover: float
    only_image: bool  # nothing else visible on the page (text is an invisible OCR layer)
    largest_pixels: int  # pixels of the largest image object on the page


def _pdf_page(pdf: pdfium.PdfDocument, index: int, name: str, limits: ScanLimits) -> PageResult:
    page = pdf[index]
    try:
        width_pt, height_pt = page.get_size()
        content = _page_content(page)
        if content.largest_pixels > limits.max_pixels:
            return PageRejected(
                index, _too_large_sentence(name, index, *_largest_size(page), limits), "too_large"
            )
        main = content.main_image
        if main is not None:
            dpi_x, dpi_y = _image_dpi(main)
            if content.only_image:
                extracted = _extract_scan_image(page, main, dpi_x, dpi_y, index)
                if extracted is not None:
                    return extracted
            metadata = _image_metadata(main)
            dpi = min(math.sqrt(dpi_x * dpi_y), limits.max_render_dpi)
            return _render_page(
                page,
                index,
                name,
                dpi,
                width_pt,
                height_pt,
                limits,
                bilevel=metadata[0] == 1,
                colour=metadata[1] not in (0, 1),
            )
        return _render_page(
            page,
            index,
            name,
            limits.render_dpi,
            width_pt,
            height_pt,
            limits,
            bilevel=False,
            colour=False,
        )
    finally:
        page.close()


def _page_content(page: pdfium.PdfPage) -> _PageContent:
    left, bottom, right, top = page.get_cropbox()
    page_area = max((right - left) * (top - bottom), 1e-6)
    main: Any | None = None
    cover = 0.0
    images = 0
    other_marks = 0
    largest = 0
    for obj in page.get_objects():
        kind = obj.type
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            images += 1
            try:
                w, h = obj.get_px_size()
            except pdfium.PdfiumError:
                w = h = 0
            largest = max(largest, w * h)
            if getattr(obj, "level", 0) > 0:
                continue  # inside a form XObject: its matrix is not in page space
            x0, y0, x1, y1 = obj.get_bounds()
            ix = max(0.0, min(x1, right) - max(x0, left))
            iy = max(0.0, min(y1, top) - max(y0, bottom))
            share = ix * iy / page_area
            if share > cover:
                main, cover = obj, share
        elif kind in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_SHADING):
            other_marks += 1
    annotations = pdfium_c.FPDFPage_GetAnnotCount(page.raw)
    if cover < _MIN_COVER:
        main = None
    only = main is not None and images == 1 and other_marks == 0 and annotations == 0
    return _PageContent(main, cover, only, largest)


def _largest_size(page: pdfium.PdfPage) -> tuple[int, int]:
    best = (0, 0)
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,)):
        try:
            w, h = obj.get_px_size()
        except pdfium.PdfiumError:
            continue
        if w * h > best[0] * best[1]:
            best = (w, h)
    return best


def _image_dpi(image: Any) -> tuple[float, float]:
    a, b, c, d, _, _ = image.get_matrix().get()
    px_w, px_h = image.get_px_size()
    width_in = math.hypot(a, b) / 72.0
    height_in = math.hypot(c, d) / 72.0
    return px_w / max(width_in, 1e-6), px_h / max(height_in, 1e-6)


def _image_metadata(image: Any) -> tuple[int, int]:
    """(bits per pixel, PDFium colour space code) or (0, 0) when unknown."""
    try:
        meta = image.get_metadata()
        return int(meta.bits_per_pixel), int(meta.colorspace)
    except Exception:
        return 0, 0


def _extract_scan_image(
    page: pdfium.PdfPage, image: Any, dpi_x: float, dpi_y: float, index: int
) -> PageImage | None:
    """The page's one scanned image at its own resolution, or None to render instead."""
    turn = _display_turn(image, page.get_rotation())
    if turn is None:
        return None
    try:
        grey, colour = _bitmap_to_grey(image.get_bitmap(render=False))
    except Exception:
        return None
    transpose, flip_x, flip_y = turn
    if transpose:
        grey = grey.T
        dpi_x, dpi_y = dpi_y, dpi_x
    if flip_x:
        grey = grey[:, ::-1]
    if flip_y:
        grey = grey[::-1, :]
    grey = np.ascontiguousarray(grey)
    if not _matches_render(page, grey):
        return None
    bits, _ = _image_metadata(image)
    one_bit = bits == 1
    grey, dpi = _square_pixels(grey, dpi_x, dpi_y, one_bit)
    grey, bilevel = _as_bilevel(grey, one_bit)
    return PageImage(index, grey, dpi, bilevel, colour, "pdf-image", True)


def _display_turn(image: Any, page_rotation: int) -> tuple[bool, bool, bool] | None:
    """How to turn the stored image so it looks as the page shows it: (transpose, flip x, flip y).

    None when the image is drawn at an angle that is not a multiple of 90 degrees.
    """
    a, b, c, d, _, _ = image.get_matrix().get()
    # Directions, on the displayed page (y down), of the image's rows (x) and columns (y).
    ex = np.array([a, -b], dtype=float)
    ey = np.array([-c, d], dtype=float)
    for _ in range((page_rotation // 90) % 4):  # /Rotate turns the page clockwise
        ex = np.array([-ex[1], ex[0]])
        ey = np.array([-ey[1], ey[0]])
    ex /= max(float(np.hypot(*ex)), 1e-9)
    ey /= max(float(np.hypot(*ey)), 1e-9)
    transpose = abs(ex[1]) > abs(ex[0])
    if transpose:
        ex, ey = ey, ex
    if abs(ex[0]) < 0.999 or abs(ey[1]) < 0.999:
        return None
    return transpose, bool(ex[0] < 0), bool(ey[1] < 0)


def _bitmap_to_grey(bitmap: Any) -> tuple[NDArray[np.uint8], bool]:
    array = np.asarray(bitmap.to_numpy())
    mode = str(getattr(bitmap, "mode", ""))
    if array.ndim == 2:
        return array.astype(np.uint8, copy=True), False
    if array.shape[2] == 1:
        return np.ascontiguousarray(array[:, :, 0]).astype(np.uint8), False
    channels = np.ascontiguousarray(array[:, :, :3])
    code = cv2.COLOR_RGB2GRAY if mode.startswith("RGB") else cv2.COLOR_BGR2GRAY
    return np.asarray(cv2.cvtColor(channels, code), dtype=np.uint8), True


def _matches_render(page: pdfium.PdfPage, grey: NDArray[np.uint8]) -> bool:
    """Check the extracted image against a thumbnail of the page as PDFium draws it.

    Guards against images whose stored pixels differ from what is shown
    (inverted decode arrays, masks, unusual colour spaces): then we render.
    """
    width_pt, height_pt = page.get_size()
    scale = 160.0 / max(width_pt, height_pt)
    thumb = page.render(scale=scale, grayscale=True, fill_color=(255, 255, 255, 255))
    reference = np.array(thumb.to_numpy(), dtype=np.float32)
    if reference.ndim == 3:
        reference = reference[:, :, 0]
    if reference.shape[0] < 8 or reference.shape[1] < 8:
        return True
    small = cv2.resize(grey, (reference.shape[1], reference.shape[0]), interpolation=cv2.INTER_AREA)
    difference = float(np.mean(np.abs(small.astype(np.float32) - reference)))
    return difference < 40.0


def _render_page(
    page: pdfium.PdfPage,
    index: int,
    name: str,
    dpi: float,
    width_pt: float,
    height_pt: float,
    limits: ScanLimits,
    *,
    bilevel: bool,
    colour: bool,
) -> PageResult:
    scale = dpi / 72.0
    width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
    if width * height > limits.max_pixels:
        return PageRejected(
            index, _too_large_sentence(name, index, width, height, limits), "too_large"
        )
    bitmap = page.render(scale=scale, grayscale=True, fill_color=(255, 255, 255, 255))
    grey, _ = _bitmap_to_grey(bitmap)
    return PageImage(index, grey, round(dpi, 2), bilevel, colour, "pdf-render", True)


# --------------------------------------------------------------------------- messages


def _too_large_sentence(
    name: str, index: int | None, width: int, height: int, limits: ScanLimits
) -> str:
    where = name if index is None else f"Page {index + 1} of {name}"
    return (
        f"{where} is too large to read ({width} x {height} pixels, "
        f"{width * height / 1e6:.0f} megapixels; the limit is "
        f"{limits.max_pixels / 1e6:.0f}): scan it again at 600 dpi or less."
    )


def _damaged_sentence(name: str, index: int) -> str:
    return (
        f"Page {index + 1} of {name} is damaged and cannot be read; scan that page again "
        "(the other pages were read)."
    )
