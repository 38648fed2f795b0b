"""Distance to closest record (DCR): does a release sit closer to the training records than to unseen ones?

A release that copies or nearly copies its training records puts those people at risk even when no single value
is unusual. The test compares, for each released record, the distance to the closest *training* record with the
distance to the closest *holdout* record (real records from the same population that the release never saw). A
release that generalises rather than memorises is as close to one as to the other: the share of released records
closer to training than to holdout is near 1/2 when both sets have the same size.

Distances are Euclidean in :class:`~anonlab.evaluation.metrics.mixed_encoder.MixedEncoder` space: per column a Gower-like
dissimilarity in [0, 1] (range-scaled numeric difference, or 1 for two different categories).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = ["DCRResult", "distance_to_closest"]


@dataclass(frozen=True)
class DCRResult:
    """Distance-to-closest-record figures for one release.

    Attributes
    ----------
    n_release : released records measured (a sample when the release is large).
    exact_copy_share : share of released records identical (distance 0) to some training record, on the encoded
        columns. Compare with ``holdout_copy_share``: in data with many duplicates (Adult) an honest release also
        hits real records by chance.
    holdout_copy_share : the same share against the holdout (chance level); ``None`` without a holdout.
    dcr_train_p5, dcr_train_median : 5th percentile and median of the distance from a released record to its
        closest training record. Near 0 means near-copies.
    dcr_holdout_p5 : 5th percentile of the distance to the closest holdout record (same-size sets), the level an
        honest release reaches; ``None`` without a holdout.
    nndr_train_p5 : 5th percentile of the nearest-neighbour distance ratio (closest / second-closest training
        record). Small ratios mean a released record singles out one training record rather than a dense region.
    train_share : share of released records closer to a training record than to a holdout record (ties count
        one half), with train and holdout subsampled to the same size; ``None`` without a holdout.
    train_share_ci : 95% normal-approximation interval of ``train_share``.
    expected_share : the value for a release that never saw its training records (0.5).
    compared_rows : size of each of the equal-size train and holdout sets behind ``train_share``.
    """

    n_release: int
    exact_copy_share: float
    holdout_copy_share: float | None
    dcr_train_p5: float
    dcr_train_median: float
    dcr_holdout_p5: float | None
    nndr_train_p5: float
    train_share: float | None
    train_share_ci: tuple[float, float] | None
    expected_share: float
    compared_rows: int | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["train_share_ci"] = list(self.train_share_ci) if self.train_share_ci else None
        return d


def distance_to_closest(
    train: np.ndarray,
    release: np.ndarray,
    holdout: np.ndarray | None = None,
    *,
    rng: np.random.Generator,
    max_release: int | None = None,
    progress: bool = False,
) -> DCRResult:
    """Measure DCR on encoded matrices (see :class:`DCRResult`).

    ``max_release`` caps the released records measured (a uniform sample, from ``rng``); the training and
    holdout sets are used whole, except that the larger is subsampled to the size of the smaller for the
    train-versus-holdout share. ``progress``: bars on stderr for the large neighbour searches.
    """
    import numpy as np

    from anonlab.evaluation.metrics.neighbours import knn_distances

    if max_release is not None and len(release) > max_release:
        release = release[rng.choice(len(release), max_release, replace=False)]
    d_tr = knn_distances(release, train, k=2, desc="DCR to train", progress=progress)
    tol = 1e-6
    nearest = d_tr[:, 0]
    second = d_tr[:, 1] if d_tr.shape[1] > 1 else np.full(len(release), np.inf)
    ratio = np.where(second > tol, nearest / np.maximum(second, tol), 1.0)
    share = share_ci = hold_p5 = hold_copy = None
    m = None
    if holdout is not None:
        m = min(len(train), len(holdout))
        if len(train) > m:
            d_t = knn_distances(
                release,
                train[rng.choice(len(train), m, replace=False)],
                desc="DCR to train",
                progress=progress,
            )
            d_t = d_t[:, 0]
        else:
            d_t = nearest
        hold = holdout[rng.choice(len(holdout), m, replace=False)] if len(holdout) > m else holdout
        d_h = knn_distances(release, hold, desc="DCR to holdout", progress=progress)[:, 0]
        closer = np.where(np.abs(d_t - d_h) <= tol, 0.5, (d_t < d_h).astype(float))
        share = float(closer.mean())
        half = 1.96 * float(np.sqrt(max(share * (1 - share), 1e-12) / len(closer)))
        share_ci = (max(0.0, share - half), min(1.0, share + half))
        hold_p5 = float(np.percentile(d_h, 5))
        hold_copy = float((d_h <= tol).mean())
    return DCRResult(
        n_release=int(len(release)),
        exact_copy_share=float((nearest <= tol).mean()),
        holdout_copy_share=hold_copy,
        dcr_train_p5=float(np.percentile(nearest, 5)),
        dcr_train_median=float(np.median(nearest)),
        dcr_holdout_p5=hold_p5,
        nndr_train_p5=float(np.percentile(ratio, 5)),
        train_share=share,
        train_share_ci=share_ci,
        expected_share=0.5,
        compared_rows=m,
    )
