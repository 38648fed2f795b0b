"""Cleaning burned-in text from real DICOM pixels: deid's filter rules on deid-data's ultrasounds, OCR on text drawn
at known places, the check pass, transfer syntaxes, withholding what cannot be checked, and the deidentify hook."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pydicom
import pytest

pytest.importorskip("rapidocr_onnxruntime", reason="the media extra is not installed")
pytest.importorskip("deid", reason="the media extra is not installed")

from anonlab.deid.dicom.pixels import PixelCleaner  # noqa: E402
from anonlab.errors import UsageError  # noqa: E402

from .conftest import DEID_DATA, pyd  # noqa: E402

warnings.filterwarnings("ignore", module="pydicom")


@pytest.fixture(scope="module")
def cleaner():
    return PixelCleaner()


def _draw(ds, text: str, org: tuple[int, int], scale: float = 0.6):
    """Burn ``text`` into ``ds`` at ``org`` (bottom-left), brightest value; returns the box it covers."""
    import cv2

    arr = ds.pixel_array.copy()
    canvas = np.zeros(arr.shape[:2], np.uint8)
    cv2.putText(canvas, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 2)
    ys, xs = np.nonzero(canvas)
    arr[canvas > 0] = arr.max()
    ds.set_pixel_data(arr, ds.PhotometricInterpretation, int(ds.BitsStored))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _changed_outside(before, after, regions) -> int:
    mask = np.zeros(before.shape[:2], bool)
    for _, x0, y0, x1, y1 in regions:
        mask[y0:y1, x0:x1] = True
    diff = before != after
    if diff.ndim == 3:
        diff = diff.any(axis=2)
    return int((diff & ~mask).sum())


def test_known_region_rule_then_ocr_on_real_ultrasound(cleaner):
    ds = pydicom.dcmread(DEID_DATA / "ultrasounds" / "GREYSCALE_IMAGE.dcm")
    before = ds.pixel_array.copy()
    out = cleaner.clean(ds)
    assert out.cleaned and out.reason is None
    assert any("Philips" in r and "0,0,1024,49" in r for r in out.rules)  # the rule applied is recorded
    assert ds.BurnedInAnnotation == "NO"
    after = ds.pixel_array
    assert (after[:49] == after.min()).all()  # the rule's band is blank
    assert _changed_outside(before, after, out.regions) == 0


def test_drawn_text_found_and_nothing_else_changed(cleaner):
    ds = pydicom.dcmread(pyd("CT_small.dcm"))
    box = _draw(ds, "DOE 1961", (10, 30), scale=0.5)
    before = ds.pixel_array.copy()
    out = cleaner.clean(ds)
    assert out.cleaned, out.reason
    after = ds.pixel_array
    x0, y0, x1, y1 = box
    assert (after[y0:y1, x0:x1] == before.min()).all()  # every drawn pixel blanked
    assert _changed_outside(before, after, out.regions) == 0
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian


def test_rle_stays_rle(cleaner):
    ds = pydicom.dcmread(pyd("MR_small_RLE.dcm"))
    _draw(ds, "ROE 77", (8, 40), scale=0.5)
    ds.compress(pydicom.uid.RLELossless)
    out = cleaner.clean(ds)
    assert out.cleaned, out.reason
    assert ds.file_meta.TransferSyntaxUID == pydicom.uid.RLELossless and out.transfer_syntax is None


def test_identifying_policy_blanks_names_and_dates():
    ds = pydicom.dcmread(pyd("CT_small.dcm"))
    box = _draw(ds, "1961-03-04", (8, 100), scale=0.45)
    out = PixelCleaner(ocr_policy="identifying").clean(ds, terms=["DOE"])
    assert out.cleaned, out.reason
    x0, y0, x1, y1 = box
    assert (ds.pixel_array[y0:y1, x0:x1] == ds.pixel_array.min()).all()


def test_nothing_to_blank_keeps_pixel_bytes(cleaner):
    ds = pydicom.dcmread(DEID_DATA / "humans" / "ctbrain1.dcm")  # a real CT whose pixels hold no text
    data = ds.PixelData
    out = cleaner.clean(ds)
    assert out.cleaned and not out.regions
    assert ds.PixelData == data


def test_withheld_when_it_cannot_check(cleaner):
    ds = pydicom.dcmread(pyd("JPEGLSNearLossless_16.dcm"))
    try:
        _ = ds.pixel_array
        pytest.skip("a JPEG-LS decoder is installed here")
    except Exception:
        pass
    out = cleaner.clean(ds)
    assert not out.cleaned and "could not be decoded" in out.reason
    assert "BurnedInAnnotation" not in ds or ds.BurnedInAnnotation != "NO"
    ds = pydicom.dcmread(DEID_DATA / "ultrasounds" / "ultrasound-multiframe.dcm")
    out = PixelCleaner(max_frames=5).clean(ds)
    assert not out.cleaned and "max_frames=5" in out.reason
    with pytest.raises(UsageError, match="ocr_policy="):
        PixelCleaner(ocr_policy="some")


def test_deidentify_hook(tmp_path):
    from anonlab.deid.dicom import deidentify
    from anonlab.deid.keys import generate_key

    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(DEID_DATA / "ultrasounds" / "RGB_IMAGE.dcm", src)
    shutil.copy(pyd("JPEGLSNearLossless_16.dcm"), src)
    ds = pydicom.dcmread(src / "JPEGLSNearLossless_16.dcm")
    ds.BurnedInAnnotation = "YES"
    ds.save_as(src / "JPEGLSNearLossless_16.dcm")
    key = generate_key()
    plain = deidentify(src, tmp_path / "plain", key=key, workers=1)
    assert plain.written == 0 and len(plain.withheld) == 2
    result = deidentify(src, tmp_path / "out", key=key, workers=1, clean_pixels=True)
    assert result.written == 1, result.withheld
    assert "pixels not cleaned" in result.withheld[0]["reason"]
    cleaned = result.to_dict()["pixels_cleaned"]
    assert len(cleaned) == 1 and cleaned[0]["rules"] and cleaned[0]["regions_blanked"] > 0
    out = pydicom.dcmread(next((tmp_path / "out").rglob("*.dcm")))
    assert out.BurnedInAnnotation == "NO"
    assert "113101" in [item.CodeValue for item in out.DeidentificationMethodCodeSequence]
    with pytest.raises(UsageError, match="ocr_policy="):
        deidentify(src, tmp_path / "x", key=key, clean_pixels=True, ocr_policy="nope")


@pytest.mark.slow
def test_multiframe_colour_cine(cleaner):
    ds = pydicom.dcmread(DEID_DATA / "ultrasounds" / "ultrasound-multiframe.dcm")
    before = ds.pixel_array.copy()
    out = cleaner.clean(ds)
    assert out.cleaned, out.reason
    assert ds.pixel_array.shape == before.shape


def test_check_sees_differently_from_the_cleaning():
    """The check's OCR view is not one the cleaning pass uses, and the check has a detector that is no OCR."""
    from anonlab.deid.dicom.pixels import CHECK_VIEWS, CLEAN_VIEWS

    cleaning = {(v[1], v[2]) for v in CLEAN_VIEWS}
    assert CHECK_VIEWS and all((v[1], v[2]) not in cleaning for v in CHECK_VIEWS)


def test_check_withholds_what_the_cleaning_missed(monkeypatch):
    """With every OCR detector blind (a cleaning pass that misses the text, and the check's own OCR view too),
    the classical text-line detector still sees the drawn record number and the image is withheld, not marked
    clean. Fails if the check only repeats the cleaning's detector."""
    ds = pydicom.dcmread(pyd("CT_small.dcm"))
    _draw(ds, "MRN 4471902", (6, 60), scale=0.45)
    monkeypatch.setattr(PixelCleaner, "_detect", lambda self, img, view: [])
    out = PixelCleaner().clean(ds)
    assert not out.cleaned and "text-lines" in out.reason
    assert {hit[1] for hit in out.check_found} == {"text-lines"}
    assert "BurnedInAnnotation" not in ds or ds.BurnedInAnnotation != "NO"


def test_text_lines_finds_drawn_text_not_anatomy():
    import cv2

    from anonlab.deid.dicom.pixels import _display, text_lines

    ds = pydicom.dcmread(DEID_DATA / "humans" / "ctbrain1.dcm")
    gray = cv2.cvtColor(_display(ds.pixel_array, "RGB"), cv2.COLOR_BGR2GRAY)
    assert text_lines(gray) == []  # a drawing without text
    ds = pydicom.dcmread(pyd("CT_small.dcm"))
    plain = cv2.cvtColor(_display(ds.pixel_array, "MONOCHROME2"), cv2.COLOR_BGR2GRAY)
    assert text_lines(plain) == []  # a real CT slice
    x0, y0, x1, y1 = _draw(ds, "DOE 1961", (10, 30), scale=0.5)
    found = text_lines(cv2.cvtColor(_display(ds.pixel_array, "MONOCHROME2"), cv2.COLOR_BGR2GRAY))
    assert any(a <= x0 + 5 and b <= y0 + 5 and c >= x1 - 5 and d >= y1 - 5 for a, b, c, d in found)
