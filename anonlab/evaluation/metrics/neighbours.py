"""Batched nearest-neighbour distances between encoded tables.

Every distance-based metric (distance to closest record, the distance and density membership attacks) reduces to
"for each query row, the distances to its k nearest reference rows". scikit-learn's brute-force search computes
these in blocks with a BLAS product and a partial sort per block, on all cores, so 50,000 x 50,000 rows take
seconds rather than the hours of a Python loop. Queries are fed in slices only to drive a progress bar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

__all__ = ["knn_distances"]

_SLICE = 10_000
#: a search shows its bar (when asked) from this many query x reference pairs: a few seconds of work
SHOW_FROM = 5e8


def knn_distances(
    query: np.ndarray,
    reference: np.ndarray,
    k: int = 1,
    *,
    desc: str = "nearest neighbours",
    progress: bool = False,
) -> np.ndarray:
    """Euclidean distances from each row of ``query`` to its ``k`` nearest rows of ``reference``.

    Returns an array of shape ``(len(query), k)``, each row ascending. ``k`` is cut to ``len(reference)``.
    ``progress``: a progress bar labelled ``desc`` on stderr, for queries large enough to take a while.
    """
    import numpy as np
    from sklearn.neighbors import NearestNeighbors

    from anonlab.progress import bar

    k = max(1, min(k, len(reference)))
    nn = NearestNeighbors(n_neighbors=k, algorithm="brute", metric="euclidean").fit(reference)
    out = np.empty((len(query), k), dtype=np.float64)
    show = progress and len(query) * len(reference) >= SHOW_FROM
    with bar(len(query), desc=desc, unit="row", enabled=show) as b:
        for s in range(0, len(query), _SLICE):
            d, _ = nn.kneighbors(query[s : s + _SLICE], return_distance=True)
            out[s : s + _SLICE] = d
            b.update(len(d))
    return out
