"""A page a scanner thresholded to black and white is read by the 1-bit rules whatever container it
arrives in (JPEG, grey or colour PNG, a JPEG inside a PDF); a grey scan or a phone photo never is."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from forms_service.scan.files import PageImage, load_pages, thresholded
from tests.conftest import SHIPPED

PRESETS = ("bilevel-200", "office", "office-150", "photocopy", "phone")


_SYNTH = """
import sys
import numpy as np
from forms_lab.synth.batch import synth_sheets
from forms_service.questionnaire import load_definition
from forms_service.sheets import new_sheet_id
q = load_definition(sys.argv[1]).questionnaire
rng, ids = np.random.default_rng(26), np.random.default_rng([26, 1])
out = {}
for preset in sys.argv[3:]:
    [sheet] = synth_sheets(q, "standard", [new_sheet_id(ids)], rng, preset=preset)
    for p in sheet.pages:
        out[f"{preset}/{p.page}"] = p.image
np.savez_compressed(sys.argv[2], **out)
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[np.ndarray]]:
    """One filled copy scanned under each preset, synthesised in a process of its own (the lab's
    renderer and filler leave nothing behind in the test process)."""
    target = tmp_path_factory.mktemp("thresholded") / "pages.npz"
    lab = Path(__file__).resolve().parents[2] / "lab"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(lab.parent), str(lab), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-c", _SYNTH, str(SHIPPED), str(target), *PRESETS], check=True, env=env)
    with np.load(target) as data:
        out: dict[str, list[np.ndarray]] = {p: [] for p in PRESETS}
        for key in sorted(data.files, key=lambda k: (k.split("/")[0], int(k.split("/")[1]))):
            out[key.split("/")[0]].append(data[key])
    return out


def saved(image: np.ndarray, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    mode = "RGB" if fmt in ("rgb-png", "rgb-jpeg") else "L"
    Image.fromarray(image).convert(mode).save(buf, "PNG" if fmt.endswith("png") else "JPEG" if "jpeg" in fmt
                                              else "PDF", dpi=(200, 200), **options)
    return buf.getvalue()


@pytest.mark.parametrize("preset", PRESETS)
def test_every_page_of_every_scan_kind_as_saved_and_as_jpeg(pages, preset: str) -> None:  # type: ignore[no-untyped-def]
    for image in pages[preset]:
        expected = preset == "bilevel-200"
        assert thresholded(image) is expected
        for quality in (50, 75, 85):
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, "JPEG", quality=quality)
            assert thresholded(np.asarray(Image.open(buf).convert("L"))) is expected, (preset, quality)


@pytest.mark.parametrize("fmt", ["jpeg", "rgb-jpeg", "png", "rgb-png", "pdf"])
def test_a_thresholded_page_in_any_container_is_read_as_1_bit(pages, fmt: str) -> None:  # type: ignore[no-untyped-def]
    image = pages["bilevel-200"][1]
    [page] = list(load_pages(saved(image, fmt), f"page.{fmt.split('-')[-1]}"))
    assert isinstance(page, PageImage) and page.bilevel
    assert set(np.unique(page.image)) <= {0, 255}  # black and white again: no ringing read as faint ink
    [grey] = list(load_pages(saved(pages["office"][1], fmt), f"page.{fmt.split('-')[-1]}"))
    assert isinstance(grey, PageImage) and not grey.bilevel


def test_a_page_of_paper_grey_alone_is_not_taken_for_1_bit() -> None:
    assert not thresholded(np.full((400, 300), 238, dtype=np.uint8))  # no ink: nothing says it was thresholded
