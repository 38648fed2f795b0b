"""Masking point locations (home addresses, clinic visits as coordinates) and measuring what a masked point still
tells.

Methods (:func:`mask_points`), each moving every point of a table:

- ``round``: latitude and longitude rounded to ``digits`` decimals (3 decimals: cells of about 110 m north-south).
- ``grid``: snapped to the centre of square cells of ``cell_m`` metres (equal-area along latitude bands).
- ``h3``: snapped to the centre of Uber's H3 hexagon of ``resolution`` (0 coarse .. 15 fine; 8: about 0.7 km²).
- ``random``: displaced uniformly over a disc of radius ``max_m``.
- ``donut``: displaced uniformly over a ring between ``min_m`` and ``max_m``: never left near its true place.
- ``adaptive``: areal masking to at least ``k`` people per area (spatial k-anonymity): a quadtree over the table's
  own points splits a square only while every non-empty quarter still holds ``k`` points; each point is reported
  as the centre of its final square, so at least ``k`` points of the table share every published location.
- ``laplace``: geo-indistinguishability (Andrés et al., CCS 2013): planar Laplace noise with ``epsilon`` at
  ``radius_m``. A per-point, metric guarantee: for any two true locations ``d`` metres apart, the probabilities of
  any output differ by at most ``exp(epsilon * d / radius_m)``. It is not (epsilon, delta)-differential privacy over
  the table (it protects a location within a radius, not a person's presence), so it is reported as its own claim
  (:class:`GeoIndistinguishability`) and never added to a ledger's epsilon. Coordinates are floating point, which
  the proof's continuous noise ignores (Andrés et al. discuss truncation and discretisation).

The random methods draw from ``seed`` (a secret: whoever knows it can undo the displacement) or, without one, from
the operating system's entropy. :func:`location_risk` measures a masking: for each masked point, how many real
points lie nearer to it than its own true point (an attacker's candidates), and the share re-identified by
nearest-neighbour matching.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from anonlab.errors import InputError, UsageError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "METHODS",
    "GeoIndistinguishability",
    "GeoMaskReport",
    "LocationRisk",
    "mask_points",
    "mask_table",
    "location_risk",
    "haversine_m",
]

METHODS = ("round", "grid", "h3", "random", "donut", "adaptive", "laplace")
EARTH_M = 6_371_008.8  # mean Earth radius (IUGG)
_M_PER_DEG = math.pi * EARTH_M / 180


@dataclass(frozen=True)
class GeoIndistinguishability:
    """The claim of ``laplace``: epsilon-geo-indistinguishability at ``radius_m`` (epsilon per metre =
    ``epsilon / radius_m``). Per point; not (epsilon, delta)-DP over the table; never part of a ledger."""

    epsilon: float
    radius_m: float

    @property
    def mean_displacement_m(self) -> float:
        return 2 * self.radius_m / self.epsilon

    def statement(self) -> str:
        return (
            f"{self.epsilon:g}-geo-indistinguishability within {self.radius_m:g} m: any two true locations d metres "
            f"apart give any output with probabilities within a factor exp({self.epsilon:g} * d / {self.radius_m:g}); "
            "a per-point metric guarantee, not (epsilon, delta)-DP over the table, not added to any ledger"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "guarantee": "geo-indistinguishability",
            "epsilon": self.epsilon,
            "radius_m": self.radius_m,
            "epsilon_per_m": self.epsilon / self.radius_m,
            "statement": self.statement(),
            "differential_privacy": False,
        }


@dataclass(frozen=True)
class GeoMaskReport:
    """What a masking did: the method, its parameters, displacement in metres; for ``adaptive`` the smallest number
    of points sharing a published location; for ``laplace`` its claim. Never a coordinate or the seed."""

    method: str
    points: int
    params: dict[str, Any]
    mean_displacement_m: float
    median_displacement_m: float
    max_displacement_m: float
    min_points_per_location: int
    claim: GeoIndistinguishability | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "points": self.points,
            "params": self.params,
            "mean_displacement_m": round(self.mean_displacement_m, 1),
            "median_displacement_m": round(self.median_displacement_m, 1),
            "max_displacement_m": round(self.max_displacement_m, 1),
            "min_points_per_location": self.min_points_per_location,
            "claim": self.claim.to_dict() if self.claim else None,
        }


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance in metres between arrays of points (degrees)."""
    import numpy as np

    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def _offset(lat, lon, dist_m, bearing):
    """Points ``dist_m`` metres from (lat, lon) along ``bearing`` (radians from north), on the sphere."""
    import numpy as np

    p, lam, d = np.radians(lat), np.radians(lon), np.asarray(dist_m) / EARTH_M
    p2 = np.arcsin(np.sin(p) * np.cos(d) + np.cos(p) * np.sin(d) * np.cos(bearing))
    lam2 = lam + np.arctan2(np.sin(bearing) * np.sin(d) * np.cos(p), np.cos(d) - np.sin(p) * np.sin(p2))
    return np.degrees(p2), (np.degrees(lam2) + 540) % 360 - 180


def _check_coords(lat, lon, source: str):
    import numpy as np

    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    if lat.shape != lon.shape or lat.ndim != 1:
        raise UsageError("lat and lon must be one-dimensional and of one length")
    for name, v, lim in (("latitude", lat, 90), ("longitude", lon, 180)):
        bad = np.flatnonzero(~np.isfinite(v) | (np.abs(v) > lim))
        if bad.size:
            raise InputError(f"{source}: row {bad[0] + 1}: {name} {v[bad[0]]!r} is missing or outside ±{lim}")
    return lat, lon


def _rng(seed):
    import secrets

    import numpy as np

    return np.random.default_rng(secrets.randbits(128) if seed is None else seed)


def _positive(name: str, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not value > 0
        or not math.isfinite(value)
    ):
        raise UsageError(f"{name}={value!r}: must be a positive number")
    return float(value)


def _grid(lat, lon, cell_m: float):
    import numpy as np

    dlat = cell_m / _M_PER_DEG
    band = np.floor((lat + 90) / dlat)
    clat = np.clip(-90 + (band + 0.5) * dlat, -90, 90)
    dlon = np.minimum(cell_m / (_M_PER_DEG * np.maximum(np.cos(np.radians(clat)), 1e-9)), 360)
    clon = -180 + (np.floor((lon + 180) / dlon) + 0.5) * dlon
    return clat, (clon + 540) % 360 - 180


def _h3(lat, lon, resolution: int):
    import numpy as np

    from anonlab.errors import require_extra

    h3 = require_extra("geo", "h3", "H3 coarsening")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not 0 <= resolution <= 15:
        raise UsageError(f"resolution={resolution!r}: an H3 resolution from 0 to 15")
    centres = {}
    out = np.empty((len(lat), 2))
    for i, (a, b) in enumerate(zip(lat, lon, strict=True)):
        cell = h3.latlng_to_cell(a, b, resolution)
        if cell not in centres:
            centres[cell] = h3.cell_to_latlng(cell)
        out[i] = centres[cell]
    return out[:, 0], out[:, 1]


def _planar_laplace_radius(rng, n: int, eps_per_m: float):
    """Radii of the planar Laplace (Andrés et al.): r = -(W_{-1}((p - 1)/e) + 1) / eps."""
    import numpy as np
    from scipy.special import lambertw

    p = rng.random(n)
    return -(np.real(lambertw((p - 1) / math.e, k=-1)) + 1) / eps_per_m


def _adaptive(lat, lon, k: int):
    """Quadtree on an equirectangular plane: a square splits while every non-empty quarter holds >= k points."""
    import numpy as np

    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UsageError(f"k={k!r}: must be a whole number, at least 1")
    if len(lat) < k:
        raise UsageError(f"k={k}: the table has only {len(lat)} points; no area can hold k of them")
    x, y = lon, lat
    out_x, out_y = np.empty_like(x), np.empty_like(y)
    stack = [(np.arange(len(x)), -180.0, -90.0, 360.0, 180.0)]
    while stack:
        idx, x0, y0, w, h = stack.pop()
        hw, hh = w / 2, h / 2
        qx = (x[idx] >= x0 + hw).astype(int)
        qy = (y[idx] >= y0 + hh).astype(int)
        quarter = qx + 2 * qy
        counts = np.bincount(quarter, minlength=4)
        # split while every non-empty quarter keeps k points (squares under ~0.1 m are not split further)
        if w > 1e-6 and counts[counts > 0].min() >= k:
            for q in range(4):
                if counts[q]:
                    stack.append((idx[quarter == q], x0 + hw * (q % 2), y0 + hh * (q // 2), hw, hh))
            continue
        out_x[idx], out_y[idx] = x0 + hw, y0 + hh
    return out_y, out_x


def _displace(lat, lon, rng, min_m: float, max_m: float):
    import numpy as np

    n = len(lat)
    r = np.sqrt(rng.uniform(min_m**2, max_m**2, n))  # uniform over the ring's area
    return _offset(lat, lon, r, rng.uniform(0, 2 * np.pi, n))


def mask_points(
    lat,
    lon,
    *,
    method: str,
    digits: int | None = None,
    cell_m: float | None = None,
    resolution: int | None = None,
    min_m: float | None = None,
    max_m: float | None = None,
    k: int | None = None,
    epsilon: float | None = None,
    radius_m: float | None = None,
    seed: int | None = None,
    source: str = "input",
) -> tuple[np.ndarray, np.ndarray, GeoMaskReport]:
    """Mask arrays of latitudes and longitudes (degrees, WGS84) by ``method`` (see the module docstring for each
    method and its parameters). Returns (masked latitudes, masked longitudes, report)."""
    import numpy as np

    lat, lon = _check_coords(lat, lon, source)
    given = {
        n: v
        for n, v in dict(digits=digits, cell_m=cell_m, resolution=resolution, min_m=min_m, max_m=max_m, k=k,
                         epsilon=epsilon, radius_m=radius_m).items()
        if v is not None
    }  # fmt: skip
    needs = {
        "round": ["digits"],
        "grid": ["cell_m"],
        "h3": ["resolution"],
        "random": ["max_m"],
        "donut": ["min_m", "max_m"],
        "adaptive": ["k"],
        "laplace": ["epsilon", "radius_m"],
    }
    if method not in needs:
        raise UsageError(f"method={method!r}: one of {', '.join(METHODS)}")
    missing = [n for n in needs[method] if n not in given]
    extra = [n for n in given if n not in needs[method]]
    if missing:
        raise UsageError(f"method={method!r} needs {', '.join(f'{n}=' for n in missing)}")
    if extra:
        raise UsageError(f"method={method!r} does not use {', '.join(f'{n}=' for n in extra)}")
    if seed is not None and method not in ("random", "donut", "laplace"):
        raise UsageError(f"method={method!r} draws no randomness: seed= is not used")
    claim = None
    if method == "round":
        if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= 8:
            raise UsageError(f"digits={digits!r}: a whole number of decimals from 0 to 8")
        mlat, mlon = np.round(lat, digits), np.round(lon, digits)
    elif method == "grid":
        mlat, mlon = _grid(lat, lon, _positive("cell_m", cell_m))
    elif method == "h3":
        mlat, mlon = _h3(lat, lon, resolution)  # type: ignore[arg-type]
    elif method in ("random", "donut"):
        hi = _positive("max_m", max_m)
        lo = 0.0 if method == "random" else _positive("min_m", min_m)
        if lo >= hi:
            raise UsageError(f"min_m={min_m!r} must be below max_m={max_m!r}")
        mlat, mlon = _displace(lat, lon, _rng(seed), lo, hi)
    elif method == "adaptive":
        mlat, mlon = _adaptive(lat, lon, k)  # type: ignore[arg-type]
    else:
        claim = GeoIndistinguishability(_positive("epsilon", epsilon), _positive("radius_m", radius_m))
        rng = _rng(seed)
        r = _planar_laplace_radius(rng, len(lat), claim.epsilon / claim.radius_m)
        mlat, mlon = _offset(lat, lon, r, rng.uniform(0, 2 * np.pi, len(lat)))
    d = haversine_m(lat, lon, mlat, mlon)
    _, counts = np.unique(np.stack([mlat, mlon], axis=1), axis=0, return_counts=True)
    report = GeoMaskReport(
        method=method,
        points=len(lat),
        params=given,
        mean_displacement_m=float(d.mean()) if len(d) else 0.0,
        median_displacement_m=float(np.median(d)) if len(d) else 0.0,
        max_displacement_m=float(d.max()) if len(d) else 0.0,
        min_points_per_location=int(counts.min()) if len(counts) else 0,
        claim=claim,
    )
    return mlat, mlon, report


def _coords(df, lat: str, lon: str, source: str):
    from anonlab.deid.encoded_table import require_named

    require_named(df, [lat, lon], "lat" if lat not in df.columns else "lon", source)
    import pandas as pd

    out = []
    for col in (lat, lon):
        v = pd.to_numeric(df[col], errors="coerce")
        bad = v.isna() & df[col].notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(f"{source}: column {col!r}, row {row + 1}: {df[col].iat[row]!r} is not a number")
        out.append(v.to_numpy(dtype=float))
    return out


def mask_table(df: pd.DataFrame, *, lat: str, lon: str, method: str, source: str = "input", **params):
    """:func:`mask_points` on the ``lat`` and ``lon`` columns of ``df``; returns (a new table, report). Every other
    column is kept as it is (mask or drop identifiers separately)."""
    la, lo = _coords(df, lat, lon, source)
    mlat, mlon, report = mask_points(la, lo, method=method, source=source, **params)
    out = df.copy()
    out[lat], out[lon] = mlat, mlon
    return out, report


@dataclass(frozen=True)
class LocationRisk:
    """Per masked point, ``candidates``: the real points nearer to it than its own true point (0: the nearest real
    point is the true one). ``reidentified_share``: share with 0 candidates, an attacker who links each masked point
    to its nearest real point is right that often (ties count against the attacker). ``share_below_k``: share with
    fewer than ``k`` candidates."""

    points: int
    reidentified_share: float
    median_candidates: float
    share_below_k: float
    k: int
    mean_displacement_m: float
    candidates: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "points": self.points,
            "reidentified_share": round(self.reidentified_share, 4),
            "median_candidates": self.median_candidates,
            f"share_below_{self.k}_candidates": round(self.share_below_k, 4),
            "mean_displacement_m": round(self.mean_displacement_m, 1),
        }


def _unit(lat, lon):
    import numpy as np

    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=1)


def location_risk(lat, lon, masked_lat, masked_lon, *, k: int = 5) -> LocationRisk:
    """How well masked points link back to the real ones (the real points are the attacker's population, as when
    the attacker holds the address register). Row ``i`` of the masked arrays is the masking of row ``i``."""
    import numpy as np
    from scipy.spatial import cKDTree

    lat, lon = _check_coords(lat, lon, "lat/lon")
    mlat, mlon = _check_coords(masked_lat, masked_lon, "masked lat/lon")
    if len(lat) != len(mlat):
        raise UsageError("the masked points must be as many as the real points, row for row")
    real, masked = _unit(lat, lon), _unit(mlat, mlon)
    d = haversine_m(lat, lon, mlat, mlon)
    chord = 2 * np.sin(d / (2 * EARTH_M))
    tree = cKDTree(real)
    # strictly nearer: shrink the radius by a hair so the true point itself (at exactly d) is not counted
    counts = tree.query_ball_point(masked, np.maximum(chord * (1 - 1e-12) - 1e-15, 0), return_length=True)
    counts = np.where(chord > 0, np.asarray(counts), 0)  # an unmoved point has nothing strictly nearer
    _, nearest = tree.query(masked, k=1)
    own = np.arange(len(lat))
    ties = np.asarray(tree.query_ball_point(masked, chord * (1 + 1e-12) + 1e-15, return_length=True)) - counts
    hit = (nearest == own) & (counts == 0) & (ties <= 1)
    return LocationRisk(
        points=len(lat),
        reidentified_share=float(hit.mean()) if len(lat) else 0.0,
        median_candidates=float(np.median(counts)) if len(lat) else 0.0,
        share_below_k=float((counts < k).mean()) if len(lat) else 0.0,
        k=k,
        mean_displacement_m=float(d.mean()) if len(lat) else 0.0,
        candidates=counts,
    )
