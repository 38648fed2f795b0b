"""Defacing: the face removed from a T1/T2-weighted head image, the brain left untouched.

A structural MRI shows the face: a surface rendering of the head is recognisable. pydeface's template head
(``mean_reg2mean.nii.gz``) and its facial mask (``facemask.nii.gz``), both in pydeface's wheel (MIT), are
registered to the image by DIPY's affine registration (mutual information; centre of mass, then translation, rigid
and full affine, on a grid of ``resolution_mm``); the mask is carried into the image's grid and every voxel it
covers is set to 0. No FSL, no FreeSurfer: pydeface itself calls FSL's FLIRT, anonlab reads only its two data files.

Only the masked voxels change: the output keeps the input's header (and its extensions) and its stored values,
byte for byte, everywhere else. After writing, the output is read back and compared with the input:

- ``face_voxels``: voxels set to 0; ``face_max_after`` is the largest value left there (0 when the face is gone);
  ``face_mean_before`` the masked region's mean before, relative to the head's mean (near 0 means the mask lay on
  air: a failed registration).
- ``brain_changed``: voxels of the brain region that differ from the input (must be 0). The brain region is the
  template's head interior at least ``BRAIN_DEPTH_MM`` inside its outer surface, carried by the same registration
  (no voxel of it lies within 15 mm of the face mask in template space).
- ``brain_coverage``: the brain region's volume inside the image over its volume under the registration (the
  template's, scaled); below :data:`MIN_COVERAGE` the image does not hold a whole head (a slab, a few slices) or
  the template landed beside it; above :data:`MAX_COVERAGE` its voxels are too coarse (thick slices) to measure.
- ``similarity``: correlation of the image with the registered template on the registration grid; a low value
  means the template did not land on the head.

:attr:`DefaceResult.ok` needs all of them, and a face region that held signal (``face_mean_before`` at least
:data:`MIN_FACE_SIGNAL`: a skull-stripped or already defaced image has none, so there is nothing to confirm);
each failed one is said in ``warnings``.

These checks follow the registration; they cannot see a registration that is wrong in a way the correlation
misses. Look at the rendering (``png=``): maximum-intensity projections and surface renderings, before and
after, from the side and the front.
"""

from __future__ import annotations

import gzip
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from anonlab.errors import InputError, UsageError

__all__ = [
    "DefaceResult",
    "deface",
    "template_files",
    "BRAIN_DEPTH_MM",
    "MIN_SIMILARITY",
    "MIN_COVERAGE",
    "MAX_COVERAGE",
    "MIN_FACE_SIGNAL",
]

#: Depth below the template head's outer surface where its brain region starts (mm).
BRAIN_DEPTH_MM = 25.0
#: Below this correlation between image and registered template the result warns that registration failed.
MIN_SIMILARITY = 0.5
#: Below this share of the registered brain region inside the image, the image is not a whole head.
MIN_COVERAGE = 0.8
#: Above this, the image's voxels are too coarse for the brain region's volume to mean anything.
MAX_COVERAGE = 1.25
#: Below this mean (relative to the head's) the face region held no face: nothing to confirm removed.
MIN_FACE_SIGNAL = 0.05
#: Share of the registration grid's voxels that mutual information samples (None: all; sparse sampling lost 10% of the face).
SAMPLING = None
_SUFFIXES = (".nii", ".nii.gz")


@dataclass
class DefaceResult:
    """What :func:`deface` did and what its checks found (counts and summary values, never voxel data)."""

    input: str
    output: str
    shape: tuple[int, ...]
    voxel_mm: tuple[float, ...]
    face_voxels: int = 0
    face_mean_before: float = 0.0
    face_max_after: float = 0.0
    brain_voxels: int = 0
    brain_changed: int = 0
    changed_outside_face: int = 0
    similarity: float = 0.0
    brain_coverage: float = 0.0
    template_to_image: list[list[float]] = field(default_factory=list)
    png: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Face voxels that held signal were removed, none left with signal, no brain voxel and nothing outside the
        mask changed, the image holds the registered brain region and the registration's similarity is high."""
        return bool(
            self.face_voxels > 0
            and self.face_mean_before >= MIN_FACE_SIGNAL
            and self.face_max_after == 0
            and self.brain_changed == 0
            and self.changed_outside_face == 0
            and MIN_COVERAGE <= self.brain_coverage <= MAX_COVERAGE
            and self.similarity >= MIN_SIMILARITY
        )

    @property
    def exit_code(self) -> int:
        """0 when :attr:`ok`, 1 otherwise (the output is written either way: look at it)."""
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        return {
            "input": self.input,
            "output": self.output,
            "ok": self.ok,
            "shape": list(self.shape),
            "voxel_mm": [round(v, 4) for v in self.voxel_mm],
            "face_voxels": self.face_voxels,
            "face_mean_before": round(self.face_mean_before, 4),
            "face_max_after": self.face_max_after,
            "brain_voxels": self.brain_voxels,
            "brain_changed": self.brain_changed,
            "changed_outside_face": self.changed_outside_face,
            "brain_coverage": round(self.brain_coverage, 4),
            "similarity": round(self.similarity, 4),
            "template_to_image": [[round(v, 5) for v in row] for row in self.template_to_image],
            "png": self.png,
            "seconds": round(self.seconds, 2),
            "warnings": self.warnings,
        }

    def _repr_html_(self) -> str:
        from anonlab.deid.report import html_table

        d = self.to_dict()
        keys = ("ok", "face_voxels", "face_mean_before", "face_max_after", "brain_voxels", "brain_changed")
        rows = [
            (k, str(d[k]))
            for k in (*keys, "changed_outside_face", "brain_coverage", "similarity", "seconds", "png")
        ]
        return html_table("Defacing", rows, d["warnings"])


def template_files() -> tuple[Path, Path]:
    """Paths of pydeface's template head and facial mask (``pydeface`` installed with or without its
    dependencies: only these two files are read, pydeface's code is never imported)."""
    import importlib.util

    from anonlab.errors import MissingExtraError

    spec = importlib.util.find_spec("pydeface")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError("neuro", "pydeface", "defacing")
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    files = data / "mean_reg2mean.nii.gz", data / "facemask.nii.gz"
    for f in files:
        if not f.is_file():
            raise MissingExtraError("neuro", "pydeface", f"defacing ({f.name} is missing from pydeface)")
    return files


def deface(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    png: str | os.PathLike | None = None,
    force: bool = False,
    resolution_mm: float = 3.0,
    threshold: float = 0.5,
    progress: bool = False,
) -> DefaceResult:
    """Write ``dst``: the 3-D NIfTI head image ``src`` with its face set to 0 (see the module docstring).

    ``resolution_mm``: voxel size of the grid the registration runs on (the mask is applied at the image's own
    resolution); coarser is faster and less exact. ``threshold``: a voxel is removed when the interpolated face
    mask covers at least this share of it (lower removes more around the face's edge). ``png``: also write a
    rendering for a person to review (needs matplotlib, the ``eval`` extra). ``force``: overwrite ``dst`` (and
    ``png``). ``src`` is never modified. Returns a :class:`DefaceResult`; raises
    :class:`~anonlab.errors.InputError` for a file that is not a single-file 3-D NIfTI image.
    """
    from anonlab.errors import require_extra
    from anonlab.io import check_output

    t0 = time.perf_counter()
    src, dst = Path(src), Path(dst)
    _check_args(src, dst, png, resolution_mm, threshold)
    require_extra("neuro", "nibabel", "defacing")
    require_extra("neuro", "dipy", "defacing")
    if png is not None:
        require_extra("eval", "matplotlib", "the defacing rendering (png=)")
        check_output(png, force)
    check_output(dst, force)
    tpl_path, mask_path = template_files()
    steps = _Steps(progress)
    img, raw = _load(src)
    data = _scaled(img, raw)
    steps.next("registering the template")
    tpl = _Volume.load(tpl_path)
    affine, similarity = _register(data, img.affine, tpl, resolution_mm)
    steps.next("applying the face mask")
    face = _warp(_Volume.load(mask_path, face=True), img, affine, threshold)
    region = _brain_region(tpl.coarse(3.0))
    brain = _warp(region, img, affine, 0.5)
    out_raw = raw.copy()
    out_raw[face] = _zero_value(img)
    _write(src, dst, img, out_raw, force)
    steps.next("checking")
    result = _check(src, dst, img, raw, data, face, brain)
    result.similarity = similarity
    result.template_to_image = affine.tolist()
    result.brain_coverage = _coverage(region, brain, img, affine)
    _warn(result)
    if png is not None:
        steps.next("rendering")
        from anonlab.deid.neuro.rendering import render

        render(data, _scaled(img, out_raw), face, img, Path(png), force)
        result.png = str(png)
    steps.close()
    result.seconds = time.perf_counter() - t0
    return result


def _coverage(region: _Volume, brain, img, affine) -> float:
    """Volume of the brain region inside the image over its whole volume carried by ``affine`` (which maps image
    world points to template world points, so volumes in the image are the template's divided by its determinant)."""
    import numpy as np

    det = abs(np.linalg.det(np.asarray(affine)[:3, :3]))
    whole = float(region.data.sum()) * abs(np.linalg.det(region.affine[:3, :3])) / det
    inside = float(brain.sum()) * abs(np.linalg.det(img.affine[:3, :3]))
    return float(inside / whole) if whole > 0 else 0.0


def _warn(r: DefaceResult) -> None:
    """A warning for each check that the figures fail (the earlier ones come from :func:`_check`)."""
    if r.face_voxels and r.face_mean_before < MIN_FACE_SIGNAL:
        r.warnings.append(
            f"the face region held almost no signal (mean {r.face_mean_before:.2f} of the head's): the image may "
            "have no face (skull-stripped, already defaced, cut) or the template missed it; review the rendering"
        )
    if r.brain_coverage < MIN_COVERAGE:
        r.warnings.append(
            f"only {r.brain_coverage:.0%} of the template's brain region lies in the image: not a whole head, or "
            "the template landed beside it; review the rendering"
        )
    if r.brain_coverage > MAX_COVERAGE:
        r.warnings.append(
            f"the brain region measures {r.brain_coverage:.1f} times its volume in the image: voxels too coarse "
            "(thick slices) or an unusual affine; review the rendering"
        )
    if r.similarity < MIN_SIMILARITY:
        r.warnings.append(
            f"the template correlates {r.similarity:.2f} with the image after registration (< {MIN_SIMILARITY}): "
            "it may not lie on the head; review the rendering"
        )


def _check_args(src: Path, dst: Path, png, resolution_mm: float, threshold: float) -> None:
    for p, name in ((src, "src"), (dst, "dst")):
        if not p.name.endswith(_SUFFIXES):
            raise UsageError(f"{p}: {name} must be a NIfTI file (.nii or .nii.gz)")
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if dst.exists() and src.resolve() == dst.resolve():
        raise UsageError(f"{dst}: the output must not replace the input")
    if png is not None and not str(png).lower().endswith(".png"):
        raise UsageError(f"png={str(png)!r}: must end in .png")
    if (
        isinstance(resolution_mm, bool)
        or not isinstance(resolution_mm, int | float)
        or not 1 <= resolution_mm <= 8
    ):
        raise UsageError(f"resolution_mm={resolution_mm!r}: must be a number of millimetres from 1 to 8")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
        raise UsageError(f"threshold={threshold!r}: must lie strictly between 0 and 1")


class _Steps:
    """Progress over the named steps (a bar on stderr when ``progress``)."""

    def __init__(self, progress: bool):
        self.bar = None
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(total=4, desc="nifti deface: reading", unit="step", leave=False)

    def next(self, what: str) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_description(f"nifti deface: {what}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _load(src: Path):
    """The image and its stored (unscaled) values, squeezed to 3-D; refuses pairs, 4-D series and non-NIfTI."""
    import nibabel as nib
    import numpy as np

    try:
        img = nib.load(src)
    except Exception as exc:  # nibabel's ImageFileError, gzip and struct errors on a cut file
        raise InputError(f"{src}: cannot read as NIfTI: {type(exc).__name__}") from None
    if type(img) not in (nib.Nifti1Image, nib.Nifti2Image):
        raise InputError(f"{src}: not a single-file NIfTI image ({type(img).__name__})")
    shape = img.shape
    if len([n for n in shape if n > 1]) != 3 or len(shape) > 3 and any(n != 1 for n in shape[3:]):
        raise InputError(f"{src}: defacing needs one 3-D volume; this image has shape {tuple(shape)}")
    if min(shape[:3]) < 8:
        raise InputError(f"{src}: too small to be a head image (shape {tuple(shape)})")
    try:
        raw = np.asanyarray(img.dataobj.get_unscaled()).reshape(shape[:3], order="A")
    except Exception as exc:
        raise InputError(f"{src}: cannot read the voxels: {type(exc).__name__}") from None
    return img, raw


def _scaled(img, raw):
    import numpy as np

    slope, inter = img.header.get_slope_inter()
    data = raw.astype(np.float32)
    if slope is not None:
        data = data * np.float32(slope) + np.float32(inter or 0.0)
    return np.nan_to_num(data, nan=0.0, posinf=0.0, neginf=0.0)


def _zero_value(img):
    """The stored value that reads as 0 under the header's scaling (clipped to the stored type)."""
    import numpy as np

    dtype = img.get_data_dtype()
    slope, inter = img.header.get_slope_inter()
    value = 0.0 if slope is None or not inter else -inter / slope
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return dtype.type(min(max(round(value), info.min), info.max))
    return dtype.type(value)


@dataclass
class _Volume:
    data: object
    affine: object

    @classmethod
    def load(cls, path: Path, face: bool = False) -> _Volume:
        import nibabel as nib
        import numpy as np

        img = nib.load(path)
        data = np.asanyarray(img.dataobj).astype(np.float32)
        return cls(1.0 - data if face else data, img.affine)  # pydeface's mask is 1 to keep, 0 on the face

    def coarse(self, mm: float) -> _Volume:
        """Block means over whole voxels, each block about ``mm`` wide (per axis)."""
        import numpy as np

        zooms = np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0))
        f = [max(1, int(round(mm / z))) for z in zooms]
        a = self.data
        a = a[: a.shape[0] // f[0] * f[0], : a.shape[1] // f[1] * f[1], : a.shape[2] // f[2] * f[2]]
        a = a.reshape(a.shape[0] // f[0], f[0], a.shape[1] // f[1], f[1], a.shape[2] // f[2], f[2]).mean(
            (1, 3, 5)
        )
        scale = np.diag([*f, 1.0])
        scale[:3, 3] = (np.array(f) - 1) / 2
        return _Volume(a.astype(np.float32), self.affine @ scale)


def _register(data, affine, tpl: _Volume, mm: float):
    """Template-to-image world affine (DIPY, mutual information) and the correlation it reaches."""
    import numpy as np
    from dipy.align.imaffine import (
        AffineMap,
        AffineRegistration,
        MutualInformationMetric,
        transform_centers_of_mass,
    )
    from dipy.align.transforms import AffineTransform3D, RigidTransform3D, TranslationTransform3D

    static = _Volume(data, affine).coarse(mm)
    moving = tpl.coarse(mm)
    reg = AffineRegistration(
        metric=MutualInformationMetric(nbins=32, sampling_proportion=SAMPLING),
        level_iters=[100, 50, 10],
        sigmas=[3.0, 1.0, 0.0],
        factors=[4, 2, 1],
        verbosity=0,
    )
    grids = {"static_grid2world": static.affine, "moving_grid2world": moving.affine}
    start = transform_centers_of_mass(static.data, static.affine, moving.data, moving.affine).affine
    for transform in (TranslationTransform3D(), RigidTransform3D(), AffineTransform3D()):
        try:
            start = reg.optimize(
                static.data, moving.data, transform, None, **grids, starting_affine=start
            ).affine
        except Exception as exc:  # DIPY raises when the images do not overlap at all
            raise InputError(f"registration failed ({type(exc).__name__}: {exc})") from None
    warped = AffineMap(
        start,
        domain_grid_shape=static.data.shape,
        domain_grid2world=static.affine,
        codomain_grid_shape=moving.data.shape,
        codomain_grid2world=moving.affine,
    ).transform(moving.data)
    inside = (static.data > 0) | (warped > 0)
    sim = float(np.corrcoef(static.data[inside], warped[inside])[0, 1]) if inside.sum() > 2 else 0.0
    return np.asarray(start), sim if np.isfinite(sim) else 0.0


def _warp(vol: _Volume, img, affine, threshold: float):
    """``vol`` (a 0-1 mask in template space) carried into the image's grid, as booleans (>= ``threshold``)."""
    from dipy.align.imaffine import AffineMap

    amap = AffineMap(
        affine,
        domain_grid_shape=img.shape[:3],
        domain_grid2world=img.affine,
        codomain_grid_shape=vol.data.shape,
        codomain_grid2world=vol.affine,
    )
    return amap.transform(vol.data, interpolation="linear") >= threshold


def _brain_region(tpl: _Volume) -> _Volume:
    """The template head's interior at least :data:`BRAIN_DEPTH_MM` below its outer surface (a 0/1 volume)."""
    import numpy as np
    from scipy import ndimage

    head = ndimage.binary_fill_holes(tpl.data > 0.2 * np.percentile(tpl.data, 99))
    labels, n = ndimage.label(head)
    if n > 1:
        head = labels == (np.bincount(labels.ravel())[1:].argmax() + 1)
    zooms = np.sqrt((tpl.affine[:3, :3] ** 2).sum(axis=0))
    depth = ndimage.distance_transform_edt(head, sampling=zooms)
    return _Volume((depth > BRAIN_DEPTH_MM).astype(np.float32), tpl.affine)


def _write(src: Path, dst: Path, img, out_raw, force: bool) -> None:
    """The input's bytes up to the voxel data (header, extensions), then the new stored values in its layout."""
    import numpy as np

    from anonlab.io import atomic_path

    opener = gzip.open if src.name.endswith(".gz") else open
    vox = int(img.dataobj.offset)
    with opener(src, "rb") as fh:
        head = fh.read(vox)
    body = np.asarray(out_raw, dtype=img.header.get_data_dtype()).reshape(img.shape, order="F")
    with atomic_path(dst, force=force) as tmp, open(tmp, "wb") as raw:
        out = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) if dst.name.endswith(".gz") else raw
        try:
            out.write(head)
            out.write(body.tobytes(order="F"))
        finally:
            if out is not raw:
                out.close()


def _check(src: Path, dst: Path, img, raw, data, face, brain) -> DefaceResult:
    """Read ``dst`` back and compare it with the input: removed, left, changed."""
    import nibabel as nib
    import numpy as np

    back = np.asanyarray(nib.load(dst).dataobj.get_unscaled()).reshape(raw.shape, order="A")
    same = (back == raw) | (np.isnan(back) & np.isnan(raw)) if back.dtype.kind == "f" else back == raw
    out = _scaled(img, back)
    head = data > 0.2 * np.percentile(data, 99)
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
    result = DefaceResult(str(src), str(dst), tuple(int(n) for n in raw.shape), zooms)
    result.face_voxels = int(face.sum())
    head_mean = float(data[head].mean()) if head.any() else 0.0
    if result.face_voxels and head_mean > 0:
        result.face_mean_before = float(data[face].mean()) / head_mean
    result.face_max_after = float(np.abs(out[face]).max()) if result.face_voxels else 0.0
    result.brain_voxels = int(brain.sum())
    result.brain_changed = int((~same & brain).sum())
    result.changed_outside_face = int((~same & ~face).sum())
    if not result.face_voxels:
        result.warnings.append("the face mask covers no voxel of the image: nothing was removed")
    if result.brain_voxels == 0:
        result.warnings.append("the template's brain region covers no voxel of the image")
    return result
