"""`anonlab nifti deface` on a real head image that ships in a wheel: pydeface's template, moved by a known affine
transform and resampled (downsampled for speed; the full-resolution run is marked slow). The truth is known: the
face mask and the brain region carried by the same transform. The face is gone, no brain voxel and nothing outside
the mask changes, the header is kept byte for byte, bad inputs stop with one line."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

nib = pytest.importorskip("nibabel", reason="the neuro extra (nibabel) is not installed")
pytest.importorskip("dipy", reason="the neuro extra (dipy) is not installed")
if importlib.util.find_spec("pydeface") is None:
    pytest.skip("the neuro extra (pydeface's template) is not installed", allow_module_level=True)

from dipy.align.imaffine import AffineMap  # noqa: E402

from anonlab.cli import main  # noqa: E402
from anonlab.deid.neuro import DefaceResult, deface  # noqa: E402
from anonlab.deid.neuro.defacing import _brain_region, _Volume, template_files  # noqa: E402
from anonlab.errors import InputError, MissingExtraError, OutputExistsError, UsageError  # noqa: E402


def moved_template(factor: int, seed: int, max_deg: float = 12.0):
    """pydeface's template block-averaged by ``factor``, moved by a random rotation, scaling and shift, on a
    larger grid; with the true face mask and brain region in that grid."""
    tpl_path, mask_path = template_files()
    tpl = _Volume.load(tpl_path).coarse(factor)
    face = _Volume.load(mask_path, face=True).coarse(factor)
    brain = _brain_region(_Volume.load(tpl_path).coarse(3))
    rng = np.random.default_rng(seed)
    a = np.deg2rad(rng.uniform(-max_deg, max_deg, 3))
    c, s = np.cos(a), np.sin(a)
    rx = np.array([[1, 0, 0], [0, c[0], -s[0]], [0, s[0], c[0]]])
    ry = np.array([[c[1], 0, s[1]], [0, 1, 0], [-s[1], 0, c[1]]])
    rz = np.array([[c[2], -s[2], 0], [s[2], c[2], 0], [0, 0, 1]])
    w = np.eye(4)
    w[:3, :3] = rx @ ry @ rz @ np.diag(rng.uniform(0.93, 1.07, 3))
    w[:3, 3] = rng.uniform(-10, 10, 3)
    shape = tuple(int(n * 1.1) for n in tpl.data.shape)
    grid = tpl.affine.copy()
    grid[:3, 3] -= 5

    def carry(vol, interp="linear"):
        m = AffineMap(w, domain_grid_shape=shape, domain_grid2world=grid, codomain_grid_shape=vol.data.shape,
                      codomain_grid2world=vol.affine)  # fmt: skip
        return m.transform(vol.data, interpolation=interp)

    image = np.clip(carry(tpl), 0, None).astype(np.int16)
    return nib.Nifti1Image(image, grid), carry(face) >= 0.5, carry(brain, "nearest") > 0.5


@pytest.fixture(scope="module")
def defaced(tmp_path_factory):
    root = tmp_path_factory.mktemp("deface")
    img, face, brain = moved_template(3, seed=1)
    img.header["descrip"] = b"kept as it was"
    src = root / "head.nii.gz"
    nib.save(img, src)
    before = src.read_bytes()
    png = root / "review.png" if importlib.util.find_spec("matplotlib") else None
    result = deface(src, root / "defaced.nii.gz", png=png, resolution_mm=6.0)
    assert src.read_bytes() == before  # input untouched
    return src, root / "defaced.nii.gz", result, face, brain


def test_face_removed_brain_untouched(defaced):
    src, dst, r, face, brain = defaced
    assert isinstance(r, DefaceResult) and r.ok and r.exit_code == 0, r.to_dict()
    a = np.asanyarray(nib.load(src).dataobj)
    b = np.asanyarray(nib.load(dst).dataobj)
    truth = face & (a > 0)
    assert ((b == 0) & truth).sum() / truth.sum() >= 0.9  # at least 90% of the true face's signal gone
    assert (a[brain] != b[brain]).sum() == 0  # the true brain region (known transform), not the estimated one
    changed = a != b
    assert changed.sum() > 0 and (b[changed] == 0).all()  # only zeroes written
    assert r.brain_changed == 0 and r.changed_outside_face == 0 and r.face_max_after == 0
    assert r.brain_voxels > 1000 and r.face_voxels >= changed.sum()
    assert r.similarity > 0.9 and 0.8 <= r.brain_coverage <= 1.25 and not r.warnings


def test_header_and_bytes_outside_face_kept(defaced):
    src, dst, *_ = defaced
    s, d = gzip.decompress(src.read_bytes()), gzip.decompress(dst.read_bytes())
    assert len(s) == len(d) and s[:352] == d[:352]  # header (descrip included) byte for byte
    assert nib.load(dst).header["descrip"] == b"kept as it was"
    assert gzip.open(dst).read(1) and dst.read_bytes()[3] & 0x08 == 0  # gzip header names no file


def test_rendering_and_result_views(defaced):
    *_, r, _, _ = defaced
    d = r.to_dict()
    json.dumps(d)  # plain json: no numpy scalars
    assert type(d["ok"]) is bool and type(d["brain_coverage"]) is float
    assert d["brain_changed"] == 0 and len(d["template_to_image"]) == 4
    assert "Defacing" in r._repr_html_()
    if r.png is not None:
        from PIL import Image

        with Image.open(r.png) as im:
            assert im.format == "PNG" and im.size[0] > 600


def test_cli_json_and_refusals(defaced, tmp_path, capsys):
    src, dst, *_ = defaced
    out = tmp_path / "cli.nii"
    assert main(["nifti", "deface", str(src), str(out), "--resolution-mm", "6", "--json", "--quiet"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["ok"] and d["brain_changed"] == 0 and out.is_file()
    assert main(["nifti", "deface", str(src), str(out), "--resolution-mm", "6"]) == 2  # exists, no --force
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and "Traceback" not in err
    assert main(["nifti", "deface", str(src), str(tmp_path / "x.img")]) == 2
    assert main(["nifti", "deface", str(tmp_path / "none.nii"), str(tmp_path / "y.nii")]) == 2
    assert main(["nifti", "deface", str(src), str(tmp_path / "z.nii"), "--resolution-mm", "0.1"]) == 2
    assert "--resolution-mm" in capsys.readouterr().err


def test_already_defaced_image_is_not_confirmed(defaced, tmp_path):
    # the face region holds no signal any more: nothing is left to remove, and nothing to confirm (exit 1)
    _, dst, *_ = defaced
    r = deface(dst, tmp_path / "twice.nii.gz", resolution_mm=6.0)
    assert r.brain_changed == 0 and r.face_mean_before < 0.05
    assert not r.ok and r.exit_code == 1 and any("no face" in w for w in r.warnings)


def test_not_a_whole_head_is_not_confirmed(tmp_path):
    # DIPY's wheel: a 10-slice diffusion S0 with 53 mm slices, no whole head in it
    import dipy

    from anonlab.deid.neuro.defacing import MAX_COVERAGE

    src = Path(dipy.__file__).parent / "data" / "files" / "S0_10slices.nii.gz"
    assert (
        main(["nifti", "deface", str(src), str(tmp_path / "s0.nii.gz"), "--resolution-mm", "6", "--quiet"])
        == 1
    )
    r = deface(src, tmp_path / "s0b.nii.gz", resolution_mm=6.0)
    assert not r.ok and (r.brain_coverage > MAX_COVERAGE or r.brain_coverage < 0.8) and r.warnings


def test_bad_inputs(tmp_path):
    four = tmp_path / "bold.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((20, 20, 20, 3), np.int16), np.eye(4)), four)
    with pytest.raises(InputError, match="one 3-D volume"):
        deface(four, tmp_path / "o.nii.gz")
    text = tmp_path / "fake.nii"
    text.write_text("not an image")
    with pytest.raises(InputError, match="cannot read as NIfTI"):
        deface(text, tmp_path / "o.nii")
    with pytest.raises(UsageError, match="src must be a NIfTI"):
        deface(tmp_path / "a.mgz", tmp_path / "o.nii")
    ok = tmp_path / "ok.nii"
    nib.save(nib.Nifti1Image(np.zeros((20, 20, 20), np.int16), np.eye(4)), ok)
    with pytest.raises(UsageError, match="must not replace the input"):
        deface(ok, ok, force=True)
    with pytest.raises(UsageError, match="threshold="):
        deface(ok, tmp_path / "o.nii", threshold=1.5)
    (tmp_path / "taken.nii").write_bytes(b"x")
    with pytest.raises(OutputExistsError):
        deface(ok, tmp_path / "taken.nii")
    assert not (tmp_path / "o.nii").exists()


def test_missing_pydeface_names_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "pydeface" else real(n, *a))
    ok = tmp_path / "ok.nii"
    nib.save(nib.Nifti1Image(np.zeros((20, 20, 20), np.int16), np.eye(4)), ok)
    with pytest.raises(MissingExtraError, match=r"anonlab\[neuro\]"):
        deface(ok, tmp_path / "o.nii")


@pytest.mark.slow
def test_full_resolution_head(tmp_path):
    img, face, brain = moved_template(1, seed=7)
    src = tmp_path / "t1.nii"
    nib.save(img, src)
    r = deface(src, tmp_path / "t1_defaced.nii")
    b = np.asanyarray(nib.load(tmp_path / "t1_defaced.nii").dataobj)
    a = np.asanyarray(img.dataobj)
    truth = face & (a > 0)
    assert r.ok and ((b == 0) & truth).sum() / truth.sum() >= 0.95
    assert (a[brain] != b[brain]).sum() == 0
