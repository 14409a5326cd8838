"""Scan files to page images: every accepted type, and every bad input with its sentence."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageOps, TiffImagePlugin
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from forms_service.scan.errors import (
    DamagedScanFile,
    EmptyScanFile,
    ProtectedScanFile,
    ScanFileError,
    ScanPageTooLarge,
    UnsupportedScanFile,
)
from forms_service.scan.files import (
    PageImage,
    PageRejected,
    ScanLimits,
    content_sha256,
    detect_kind,
    iter_pages,
    load_pages,
)


def a4_scan(dpi: float) -> np.ndarray:
    """A grey A4 'scan' at ``dpi`` with a black square in its top-left corner."""
    w, h = round(8.27 * dpi), round(11.69 * dpi)
    image = np.full((h, w), 235, np.uint8)
    image[h // 2 : h // 2 + 40, :] = 90
    image[20:80, 20:60] = 0  # tall: tells orientation apart
    return image


def pil_pdf(image: Image.Image, dpi: float) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=dpi)
    return buf.getvalue()


def tiff(frames: list[tuple[Image.Image, dict[str, object]]]) -> bytes:
    buf = io.BytesIO()
    with TiffImagePlugin.AppendingTiffWriter(buf, True) as tf:
        for image, options in frames:
            image.save(tf, format="TIFF", **options)
            tf.newFrame()
    return buf.getvalue()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def only_pages(results: list[PageImage | PageRejected]) -> list[PageImage]:
    assert all(isinstance(r, PageImage) for r in results), results
    return [r for r in results if isinstance(r, PageImage)]


def reportlab_pdf(sizes: list[tuple[float, float]], **options: object) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, **options)  # type: ignore[arg-type]
    for w, h in sizes:
        c.setPageSize((w, h))
        c.rect(50, 50, 100, 100, fill=1)
        c.drawString(60, h - 60, "page")
        c.showPage()
    c.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- PDF


def test_pdf_with_one_scanned_image_is_read_at_its_native_resolution() -> None:
    scan = a4_scan(200)
    (page,) = only_pages(list(load_pages(pil_pdf(Image.fromarray(scan), 200.0), "scan.pdf")))
    assert page.origin == "pdf-image"
    assert page.dpi == pytest.approx(200, abs=0.5)
    assert page.image.shape == scan.shape
    assert page.image.dtype == np.uint8
    assert not page.bilevel and not page.colour
    assert np.abs(page.image.astype(int) - scan).mean() < 3  # JPEG inside the PDF


def test_pdf_with_a_g4_bilevel_image_says_so() -> None:
    scan = a4_scan(200) > 128
    (page,) = only_pages(list(load_pages(pil_pdf(Image.fromarray(scan), 200.0), "g4.pdf")))
    assert page.origin == "pdf-image" and page.bilevel
    assert set(np.unique(page.image)) <= {0, 255}
    assert page.image[50, 40] == 0 and page.image[5, 5] == 255


def test_pdf_with_a_colour_scan_says_so() -> None:
    scan = np.dstack([a4_scan(150)] * 3)
    (page,) = only_pages(list(load_pages(pil_pdf(Image.fromarray(scan), 150.0), "c.pdf")))
    assert page.colour and page.image.ndim == 2 and page.dpi == pytest.approx(150, abs=0.5)


def test_pdf_page_turned_by_its_rotate_entry_comes_out_as_displayed() -> None:
    document = pdfium.PdfDocument(pil_pdf(Image.fromarray(a4_scan(100)), 100.0))
    document[0].set_rotation(90)
    buf = io.BytesIO()
    document.save(buf)
    (page,) = only_pages(list(load_pages(buf.getvalue(), "turned.pdf")))
    h, w = page.image.shape
    assert w > h  # landscape, as a viewer shows it
    # The tall square of the top-left corner is now in the top-right corner, lying down.
    assert page.image[20:60, w - 80 : w - 20].mean() < 20


def test_drawn_pdf_page_is_rendered_at_300_dpi() -> None:
    (page,) = only_pages(list(load_pages(reportlab_pdf([(595.276, 841.89)]), "form.pdf")))
    assert page.origin == "pdf-render" and page.dpi == 300
    assert page.image.shape in ((3508, 2480), (3508, 2481))


def test_pdf_scan_with_drawings_on_top_is_rendered_at_the_scan_resolution() -> None:
    document = pdfium.PdfDocument(pil_pdf(Image.fromarray(a4_scan(150)), 150.0))
    page_obj = document[0]
    path = pdfium.raw.FPDFPageObj_CreateNewRect(100, 100, 50, 50)
    pdfium.raw.FPDFPageObj_SetFillColor(path, 0, 0, 0, 255)
    pdfium.raw.FPDFPath_SetDrawMode(path, pdfium.raw.FPDF_FILLMODE_ALTERNATE, False)
    pdfium.raw.FPDFPage_InsertObject(page_obj.raw, path)
    pdfium.raw.FPDFPage_GenerateContent(page_obj.raw)
    buf = io.BytesIO()
    document.save(buf)
    (page,) = only_pages(list(load_pages(buf.getvalue(), "annotated.pdf")))
    assert page.origin == "pdf-render"
    assert page.dpi == pytest.approx(150, abs=1)


# --------------------------------------------------------------------------- TIFF, PNG, JPEG


def test_multi_page_tiff_with_a_g4_page() -> None:
    grey = a4_scan(100)
    data = tiff(
        [
            (Image.fromarray(grey).convert("1"), {"compression": "group4", "dpi": (200, 200)}),
            (Image.fromarray(grey), {"compression": "tiff_lzw", "dpi": (300, 300)}),
            (Image.fromarray(np.dstack([grey] * 3)), {"compression": "jpeg", "dpi": (150, 150)}),
        ]
    )
    pages = only_pages(list(load_pages(data, "batch.tif")))
    assert [p.source_index for p in pages] == [0, 1, 2]
    assert [p.bilevel for p in pages] == [True, False, False]
    assert [p.colour for p in pages] == [False, False, True]
    assert [p.dpi for p in pages] == [200, 300, 150]
    assert all(p.origin == "tiff" and p.image.shape == grey.shape for p in pages)


def test_fax_resolution_tiff_gets_square_pixels() -> None:
    grey = a4_scan(100)[::2]  # half as many rows: 100 x 50 dpi
    data = tiff([(Image.fromarray(grey), {"dpi": (100, 50)})])
    (page,) = only_pages(list(load_pages(data, "fax.tif")))
    assert page.dpi == 100 and page.image.shape == (grey.shape[0] * 2, grey.shape[1])


def test_png_keeps_its_resolution() -> None:
    data = encoded(Image.fromarray(a4_scan(120)), "PNG", dpi=(120, 120))
    (page,) = only_pages(list(load_pages(data, "scan.png")))
    assert page.origin == "png" and page.dpi == pytest.approx(120, abs=0.1) and page.dpi_known


def test_png_without_resolution_gets_an_a4_guess() -> None:
    data = encoded(Image.fromarray(a4_scan(120)), "PNG")
    (page,) = only_pages(list(load_pages(data, "scan.png")))
    assert not page.dpi_known and page.dpi == pytest.approx(120, rel=0.01)


def test_16_bit_and_transparent_pngs_become_8_bit_grey() -> None:
    deep = (a4_scan(50).astype(np.uint16) * 257).astype(np.uint16)
    (page,) = only_pages(list(load_pages(encoded(Image.fromarray(deep), "PNG"), "deep.png")))
    assert np.array_equal(page.image, a4_scan(50))
    rgba = np.zeros((100, 80, 4), np.uint8)  # fully transparent: white paper
    rgba[10:20, 10:20] = (0, 0, 0, 255)
    (page,) = only_pages(list(load_pages(encoded(Image.fromarray(rgba), "PNG"), "a.png")))
    assert page.image[0, 0] == 255 and page.image[15, 15] == 0 and page.colour


def test_phone_jpeg_is_turned_upright_by_its_exif_orientation() -> None:
    upright = a4_scan(260)  # a 12-megapixel phone photo
    stored = np.rot90(upright, 1)  # the camera stored it on its side ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... and says: turn 90 degrees clockwise to display
    data = encoded(Image.fromarray(stored), "JPEG", exif=exif, quality=95, dpi=(72, 72))
    (page,) = only_pages(list(load_pages(data, "IMG_0001.JPG")))
    assert page.origin == "jpeg"
    assert page.image.shape == upright.shape
    assert np.abs(page.image.astype(int) - upright).mean() < 3
    assert not page.dpi_known  # 72 "dpi" on a photo of a page is not a resolution


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillow(orientation: int) -> None:
    image = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7) * 3
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encoded(Image.fromarray(image), "PNG", exif=exif)
    (page,) = only_pages(list(load_pages(data, "o.png")))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert np.array_equal(page.image, expected)


def test_type_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "really-a-png.pdf"
    path.write_bytes(encoded(Image.fromarray(a4_scan(50)), "PNG"))
    (page,) = only_pages(list(iter_pages(path)))
    assert page.origin == "png"
    assert detect_kind(path.read_bytes()) == "png"


def test_content_address() -> None:
    assert content_sha256(b"scan") == hashlib.sha256(b"scan").hexdigest()


# --------------------------------------------------------------------------- bad input


def test_empty_file() -> None:
    with pytest.raises(
        EmptyScanFile, match=r"^empty\.pdf is empty \(0 bytes\); upload the scan again\.$"
    ):
        load_pages(b"", "empty.pdf")


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        (
            docx(),
            "answers.docx is a Word document (.docx), not a scan; scan the paper form to PDF, TIFF, PNG or JPEG.",
        ),
        (
            b"GIF89a" + bytes(20),
            "answers.docx is a GIF image, which the scan reader does not accept; save the scan as PDF, TIFF, PNG or JPEG and upload it again.",
        ),
        (
            bytes(4) + b"ftypheic" + bytes(20),
            "answers.docx is a HEIC/AVIF photo (the iPhone's own format), which the scan reader does not accept; set the phone camera to 'Most Compatible', or export the photo as JPEG, and upload it again.",
        ),
        (
            b"Dear team, my answers are ...",
            "answers.docx is a text file, not a scan; scan the paper form to PDF, TIFF, PNG or JPEG.",
        ),
        (
            bytes([0, 1, 2, 3]) * 10,
            "answers.docx is not a PDF, TIFF, PNG or JPEG file; scan the paper form to PDF, TIFF, PNG or JPEG.",
        ),
    ],
)
def test_files_that_are_not_scans_are_named_for_what_they_are(data: bytes, sentence: str) -> None:
    with pytest.raises(UnsupportedScanFile) as caught:
        load_pages(data, "uploads/answers.docx")
    assert str(caught.value) == sentence
    assert caught.value.filename == "answers.docx"


def test_damaged_and_truncated_pdfs() -> None:
    with pytest.raises(DamagedScanFile, match=r"^bad\.pdf is a damaged PDF that cannot be opened"):
        load_pages(b"%PDF-1.7\n" + b"\x00garbage" * 50, "bad.pdf")
    whole = pil_pdf(Image.fromarray(a4_scan(100)), 100.0)
    with pytest.raises(DamagedScanFile, match="cut.pdf is a damaged PDF"):
        load_pages(whole[: len(whole) // 2], "cut.pdf")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images(fmt: str) -> None:
    rng = np.random.default_rng(0)
    data = encoded(Image.fromarray(rng.integers(0, 255, (400, 300), dtype=np.uint8)), fmt)
    with pytest.raises(DamagedScanFile, match=r"^cut\.img is damaged or incomplete"):
        load_pages(data[: len(data) // 2], "cut.img")


def test_password_protected_pdf() -> None:
    data = reportlab_pdf([(595, 842)], encrypt=pdfencrypt.StandardEncryption("secret", canPrint=1))
    with pytest.raises(ProtectedScanFile) as caught:
        load_pages(data, "locked.pdf")
    assert str(caught.value) == (
        "locked.pdf is protected by a password; save it without a password and upload it again."
    )


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be ``width`` x ``height`` (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ScanPageTooLarge) as caught:
        load_pages(png_header_only(40_000, 40_000), "bomb.png")
    assert str(caught.value) == (
        "bomb.png is too large to read (40000 x 40000 pixels, 1600 megapixels; the limit is 100): "
        "scan it again at 600 dpi or less."
    )


def test_huge_pdf_page_is_rejected_and_the_other_pages_still_come() -> None:
    data = reportlab_pdf([(595, 842), (14_000, 14_000), (595, 842)])
    results = list(load_pages(data, "mixed.pdf"))
    assert [type(r) for r in results] == [PageImage, PageRejected, PageImage]
    rejected = results[1]
    assert isinstance(rejected, PageRejected) and rejected.code == "too_large"
    assert rejected.reason.startswith(
        "Page 2 of mixed.pdf is too large to read (58334 x 58334 pixels"
    )


def test_pdf_with_a_huge_embedded_image_is_rejected_by_its_pixel_count() -> None:
    data = pil_pdf(Image.fromarray(a4_scan(100)), 100.0)
    results = list(load_pages(data, "small-limit.pdf", ScanLimits(max_pixels=500_000)))
    assert isinstance(results[0], PageRejected) and results[0].code == "too_large"


def test_tiff_pages_too_large_or_damaged_do_not_stop_the_others() -> None:
    small, big = a4_scan(40), a4_scan(120)
    noisy = np.random.default_rng(1).integers(0, 255, small.shape, dtype=np.uint8)
    data = tiff(
        [
            (Image.fromarray(small), {"compression": "tiff_lzw"}),
            (Image.fromarray(big), {"compression": "tiff_lzw"}),
            (Image.fromarray(noisy), {"compression": "tiff_lzw"}),
            (Image.fromarray(small), {"compression": "tiff_lzw"}),
        ]
    )
    frame = Image.open(io.BytesIO(data))
    frame.seek(2)
    start, length = frame.tag_v2[273][0], sum(frame.tag_v2[279])
    damaged = bytearray(data)
    damaged[start : start + length] = (
        np.random.default_rng(2).integers(0, 255, length, dtype=np.uint8).tobytes()
    )
    results = list(load_pages(bytes(damaged), "batch.tif", ScanLimits(max_pixels=1_000_000)))
    assert [type(r) for r in results] == [PageImage, PageRejected, PageRejected, PageImage]
    assert isinstance(results[1], PageRejected) and results[1].code == "too_large"
    assert isinstance(results[2], PageRejected) and results[2].reason == (
        "Page 3 of batch.tif is damaged and cannot be read; scan that page again "
        "(the other pages were read)."
    )


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScanFileError, match="nothing.pdf does not exist"):
        iter_pages(tmp_path / "nothing.pdf")
    with pytest.raises(ScanFileError, match="is a folder"):
        iter_pages(tmp_path)
