"""`anonlab image strip` on real photos from Pillow's and piexif's test images (tests/data/photos/README.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageOps

from anonlab.deid.image import strip_image, strip_path
from anonlab.errors import InputError, OutputExistsError, UsageError

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "photos"
ALL = sorted(p for p in PHOTOS.iterdir() if p.suffix in (".jpg", ".png", ".webp", ".tif"))


def metadata(path: Path) -> dict:
    with Image.open(path) as im:
        exif = im.getexif()
        return {
            "exif": {k: v for k, v in exif.items() if k != 0x0112},
            "gps": dict(exif.get_ifd(0x8825)),
            "sub": dict(exif.get_ifd(0x8769)),
            "orientation": exif.get(0x0112),
            "info": {k for k in im.info if k in ("xmp", "XML:com.adobe.xmp", "comment", "Comment", "exif")},
        }


def same_pixels(a: Path, b: Path, transpose: bool = False) -> bool:
    with Image.open(a) as x, Image.open(b) as y:
        x = ImageOps.exif_transpose(x) if transpose else x
        return ImageChops.difference(x.convert("RGBA"), y.convert("RGBA")).getbbox() is None


def scan_data(data: bytes) -> bytes:
    """From the first start-of-scan marker to the end of image."""
    i = data.rindex(b"\xff\xda")  # the last scan: an EXIF thumbnail holds a scan of its own
    return data[i : data.rindex(b"\xff\xd9") + 2]


@pytest.mark.parametrize("photo", ALL, ids=lambda p: p.name)
def test_strip_removes_metadata_and_keeps_pixels(photo, tmp_path):
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    out = tmp_path / photo.name
    report = strip_image(photo, out)
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before
    meta = metadata(out)
    assert meta["gps"] == {} and meta["sub"] == {}
    assert meta["info"] <= {"exif"}  # at most the orientation-only EXIF block
    if photo.suffix != ".tif":
        assert meta["exif"] == {}
    assert not {0x010F, 0x0110, 0x013B, 0x8298, 0x8769, 0x8825} & set(meta["exif"])
    assert b"http://ns.adobe.com/xap" not in out.read_bytes()
    assert b"Photoshop 3.0" not in out.read_bytes()
    transposed = photo.suffix == ".tif" and "orientation_6" in photo.name
    assert same_pixels(photo, out, transpose=transposed)
    if photo.suffix != ".tif":  # TIFF is rewritten (losslessly), its size may change
        assert report.bytes_out <= report.bytes_in


def test_jpeg_scan_data_copied_byte_for_byte(tmp_path):
    for photo in [p for p in ALL if p.suffix == ".jpg"]:
        out = tmp_path / photo.name
        strip_image(photo, out)
        assert scan_data(out.read_bytes()) == scan_data(photo.read_bytes()), photo.name


def test_gps_serials_and_owner_are_reported_and_gone(tmp_path):
    canon = PHOTOS / "piexif_canon_owner.jpg"
    with Image.open(canon) as im:
        owner = im.getexif().get_ifd(0x8769).get(0xA430)
    r = strip_image(canon, tmp_path / "c.jpg")
    assert {"GPSInfo", "CameraOwnerName", "MakerNote", "Artist"} <= set(r.exif_tags)
    assert "EXIF" in r.removed
    casio = PHOTOS / "piexif_casio_serial.jpg"
    with Image.open(casio) as im:
        serial = im.getexif().get_ifd(0x8769)[0xA431].encode("latin-1")
    r = strip_image(casio, tmp_path / "s.jpg")
    assert "BodySerialNumber" in r.exif_tags
    assert serial in casio.read_bytes() and serial not in (tmp_path / "s.jpg").read_bytes()
    assert owner is not None
    assert "IPTC" in strip_image(PHOTOS / "pillow_iptc.jpg", tmp_path / "i.jpg").removed
    assert "XMP" in strip_image(PHOTOS / "pillow_xmp.jpg", tmp_path / "x.jpg").removed


@pytest.mark.parametrize("name", ["pillow_orientation_6.jpg", "pillow_orientation_6.webp"])
def test_orientation_tag_kept_alone(name, tmp_path):
    out = tmp_path / name
    r = strip_image(PHOTOS / name, out)
    assert r.orientation == 6
    with Image.open(out) as im:
        exif = im.getexif()
        assert dict(exif) == {0x0112: 6}
        assert ImageOps.exif_transpose(im).size == im.size[::-1]


def test_tiff_orientation_applied_to_pixels(tmp_path):
    src = PHOTOS / "pillow_orientation_6.tif"
    out = tmp_path / "o.tif"
    strip_image(src, out)
    with Image.open(src) as a, Image.open(out) as b:
        assert b.size == a.size[::-1]
        assert b.getexif().get(0x0112) in (None, 1)


def test_folder_mode_and_output_rules(tmp_path):
    out = tmp_path / "clean"
    result = strip_path(PHOTOS, out)
    assert len(result.stripped) == len(ALL)
    assert [Path(s["input"]).name for s in result.skipped] == ["README.md"]
    with pytest.raises(OutputExistsError):
        strip_path(PHOTOS, out)
    assert len(strip_path(PHOTOS, out, force=True).stripped) == len(ALL)
    with pytest.raises(UsageError):
        strip_path(PHOTOS, PHOTOS / "sub")
    with pytest.raises(InputError, match="not a JPEG"):
        strip_image(PHOTOS / "README.md", tmp_path / "x.jpg")


def test_damaged_jpeg_is_an_input_error(tmp_path):
    bad = tmp_path / "cut.jpg"
    bad.write_bytes((PHOTOS / "piexif_gps.jpg").read_bytes()[:300])
    with pytest.raises(InputError, match="damaged JPEG"):
        strip_image(bad, tmp_path / "o.jpg")


def test_cli_strip(tmp_path, cli):
    code, out, err = cli("image", "strip", PHOTOS / "piexif_gps.jpg", tmp_path / "a.jpg", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["stripped"][0]["exif_tags"][0] == "GPSInfo"
    code, out, err = cli("image", "strip", PHOTOS / "piexif_gps.jpg", tmp_path / "a.jpg")
    assert code == 2 and "exists" in err and "Traceback" not in err
    code, out, err = cli("image", "strip", PHOTOS, tmp_path / "all")
    assert code == 0 and "12 photos stripped" in out and "GPSInfo" in out


def test_symbolic_links_in_a_folder_are_listed_as_skipped(tmp_path):
    """Links inside IN were skipped without a word ("0 files skipped"): each is listed with its reason, and
    nothing is read through it (a link may point out of IN)."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "mine.jpg").write_bytes((PHOTOS / "piexif_gps.jpg").read_bytes())
    (src / "file.jpg").symlink_to(PHOTOS / "piexif_gps.jpg")
    (src / "folder").symlink_to(PHOTOS)
    result = strip_path(src, tmp_path / "out")
    assert [Path(s.input).name for s in result.stripped] == ["mine.jpg"]
    skipped = {Path(s["input"]).name: s["reason"] for s in result.skipped}
    assert set(skipped) == {"file.jpg", "folder"} and all("symbolic link" in r for r in skipped.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["mine.jpg"]


def test_result_notebook_view(tmp_path):
    from PIL import Image

    src = tmp_path / "a.png"
    Image.new("RGB", (4, 4)).save(src)
    result = strip_path(src, tmp_path / "b.png")
    page = result._repr_html_()
    assert "1 photos stripped" in page and "a.png" in page
    assert result.stripped[0]._repr_html_().startswith("<div>")
