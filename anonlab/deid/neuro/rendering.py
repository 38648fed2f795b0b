"""A picture of a head image before and after defacing, for a person to review (matplotlib, the ``eval`` extra).

Two rows (before, after), three views: the maximum-intensity projection seen from the side, and the skin surface
seen from the side and from the front. The surface is the first voxel above a head threshold along each line of
sight, shaded by its depth and by the light on its slope: the view in which a face is recognised. The removed
region is outlined in red on the projections. Axes follow the image's closest RAS orientation, voxel sizes kept.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["render", "surface"]


def surface(vol, axis: int, level: float, reverse: bool = False):
    """Shaded depth map of the first voxel above ``level`` along ``axis`` (0-1, NaN where the line hits nothing);
    ``reverse`` looks from the high end of the axis."""
    import numpy as np

    v = np.flip(vol, axis) if reverse else vol
    hit = v > level
    depth = np.argmax(hit, axis=axis).astype(np.float32)
    any_hit = hit.any(axis=axis)
    n = vol.shape[axis]
    gy, gx = np.gradient(depth)
    light = 1.0 / np.sqrt(1.0 + gx**2 + gy**2)  # Lambert, light along the line of sight
    shade = (0.35 + 0.65 * light) * (1.0 - 0.6 * depth / n)
    return np.where(any_hit, shade, np.nan)


def render(before, after, face, img, png: Path, force: bool = False) -> None:
    """Write ``png``: rows before/after, columns side projection, side surface, front surface."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import nibabel as nib
    import numpy as np

    from anonlab.io import atomic_path

    ornt = nib.orientations.io_orientation(img.affine)
    ras = [nib.orientations.apply_orientation(a, ornt) for a in (before, after, face.astype(np.float32))]
    zooms = np.asarray(img.header.get_zooms()[:3], dtype=float)[ornt[:, 0].astype(int)]
    level = 0.2 * float(np.percentile(before, 99))
    fig, axes = plt.subplots(2, 3, figsize=(12, 8), facecolor="black")
    for row, (vol, title) in enumerate(((ras[0], "before"), (ras[1], "after"))):
        views = [
            (vol.max(axis=0), zooms[2] / zooms[1], "gray", f"{title}: projection, side"),
            (
                surface(vol, 0, level, reverse=True),
                zooms[2] / zooms[1],
                "bone",
                f"{title}: surface, right side",
            ),
            (surface(vol, 1, level, reverse=True), zooms[2] / zooms[0], "bone", f"{title}: surface, front"),
        ]
        for col, (pic, aspect, cmap, label) in enumerate(views):
            ax = axes[row, col]
            ax.imshow(pic.T, origin="lower", cmap=cmap, aspect=aspect, interpolation="nearest")
            if col == 0:
                ax.contour(ras[2].max(axis=0).T, [0.5], colors="red", linewidths=0.8)
            ax.set_title(label, color="white", fontsize=10)
            ax.axis("off")
    fig.suptitle("anonlab nifti deface: the face region (red) set to 0", color="white")
    fig.tight_layout()
    with atomic_path(png, force=force) as tmp:
        fig.savefig(tmp, format="png", dpi=80, facecolor="black")
    plt.close(fig)
