"""Location masking on real coordinates (GeoNames cities bundled in tests/data/real, CC BY 4.0)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonlab.deid.geo import haversine_m, location_risk, mask_points, mask_table
from anonlab.errors import InputError, UsageError


@pytest.fixture(scope="module")
def cities():
    from benchmarks.tables import bundled

    df = bundled("geonames")
    return df, df.latitude.astype(float).to_numpy(), df.longitude.astype(float).to_numpy()


def test_displacement_bounds_of_random_and_donut(cities):
    _, lat, lon = cities
    for method, lo, hi in (("random", None, 2000.0), ("donut", 500.0, 2000.0)):
        mlat, mlon, rep = mask_points(lat, lon, method=method, min_m=lo, max_m=hi, seed=1)
        d = haversine_m(lat, lon, mlat, mlon)
        assert d.max() <= hi * (1 + 1e-9) and d.min() >= (lo or 0) * (1 - 1e-9)
        assert rep.max_displacement_m == pytest.approx(d.max())


def test_laplace_mean_displacement_and_its_own_claim(cities):
    _, lat, lon = cities
    lat, lon = np.repeat(lat, 25), np.repeat(lon, 25)
    _, _, rep = mask_points(lat, lon, method="laplace", epsilon=2.0, radius_m=1000.0, seed=0)
    # planar Laplace with epsilon per metre e has mean radius 2 / e = 1000 m here
    assert rep.mean_displacement_m == pytest.approx(1000.0, rel=0.05)
    claim = rep.claim.to_dict()
    assert claim["differential_privacy"] is False and "not added to any ledger" in claim["statement"]


def test_rounding_grid_and_h3(cities):
    _, lat, lon = cities
    mlat, mlon, _ = mask_points(lat, lon, method="round", digits=1)
    assert np.allclose(mlat, np.round(lat, 1))
    _, _, rep = mask_points(lat, lon, method="grid", cell_m=10_000)
    assert rep.max_displacement_m <= 10_000 * np.sqrt(2) / 2 * 1.01
    h3 = pytest.importorskip("h3", reason="H3 coarsening needs the geo extra (h3)")
    mlat, mlon, _ = mask_points(lat, lon, method="h3", resolution=5)
    cells = [h3.latlng_to_cell(a, b, 5) for a, b in zip(lat, lon, strict=True)]
    assert [h3.latlng_to_cell(a, b, 5) for a, b in zip(mlat, mlon, strict=True)] == cells


@pytest.mark.parametrize("k", [2, 5, 20])
def test_adaptive_areas_hold_k_points(cities, k):
    _, lat, lon = cities
    mlat, mlon, rep = mask_points(lat, lon, method="adaptive", k=k)
    _, counts = np.unique(np.stack([mlat, mlon], 1), axis=0, return_counts=True)
    assert counts.min() >= k and rep.min_points_per_location == counts.min()
    risk = location_risk(lat, lon, mlat, mlon, k=k)
    assert risk.reidentified_share <= 1 / k + 0.05


def test_risk_against_brute_force(cities):
    _, lat, lon = cities
    mlat, mlon, _ = mask_points(lat, lon, method="donut", min_m=20_000, max_m=200_000, seed=4)
    risk = location_risk(lat, lon, mlat, mlon)
    for i in range(0, len(lat), 37):
        d = haversine_m(np.full(len(lat), mlat[i]), np.full(len(lat), mlon[i]), lat, lon)
        assert risk.candidates[i] == int((d < d[i] * (1 - 1e-9)).sum())
    nearest = np.array(
        [
            np.argmin(haversine_m(np.full(len(lat), a), np.full(len(lat), b), lat, lon))
            for a, b in zip(mlat, mlon, strict=True)
        ]
    )
    assert risk.reidentified_share == pytest.approx((nearest == np.arange(len(lat))).mean(), abs=0.01)
    unmasked = location_risk(lat, lon, lat, lon)
    assert unmasked.reidentified_share > 0.95


@settings(max_examples=60, deadline=None)
@given(
    lat=st.floats(-85, 85),
    lon=st.floats(-180, 180),
    hi=st.floats(1, 50_000),
    frac=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**32),
)
def test_donut_stays_in_its_ring_anywhere(lat, lon, hi, frac, seed):
    mlat, mlon, _ = mask_points([lat], [lon], method="donut", min_m=hi * frac, max_m=hi, seed=seed)
    d = haversine_m([lat], [lon], mlat, mlon)[0]
    assert hi * frac * (1 - 1e-6) - 1e-3 <= d <= hi * (1 + 1e-6) + 1e-3
    assert -90 <= mlat[0] <= 90 and -180 <= mlon[0] <= 180


def test_bad_parameters_and_inputs(cities):
    df, lat, lon = cities
    with pytest.raises(UsageError, match="needs digits="):
        mask_points(lat, lon, method="round")
    with pytest.raises(UsageError, match="does not use max_m="):
        mask_points(lat, lon, method="round", digits=2, max_m=3)
    with pytest.raises(UsageError, match="seed= is not used"):
        mask_points(lat, lon, method="grid", cell_m=10, seed=1)
    with pytest.raises(UsageError, match="below max_m"):
        mask_points(lat, lon, method="donut", min_m=10, max_m=5, seed=1)
    with pytest.raises(InputError, match="row 2: latitude"):
        mask_points([1, 95], [1, 1], method="round", digits=1)
    bad = df.copy()
    bad.loc[bad.index[3], "latitude"] = "north"
    with pytest.raises(InputError, match="column 'latitude', row 4"):
        mask_table(bad, lat="latitude", lon="longitude", method="round", digits=1)


def test_cli_mask_and_risk(tmp_path, cli):
    src = "tests/data/real/geonames.csv"
    out = tmp_path / "m.csv"
    code, stdout, err = cli(
        "geo",
        "mask",
        src,
        out,
        "--lat",
        "latitude",
        "--lon",
        "longitude",
        "--method",
        "adaptive",
        "--k",
        "5",
        "--json",
    )
    assert code == 0, err
    assert json.loads(stdout)["min_points_per_location"] >= 5
    import pandas as pd

    a, b = pd.read_csv(src, dtype=str), pd.read_csv(out, dtype=str)
    assert list(a.admin1code.fillna("")) == list(b.admin1code.fillna(""))  # codes kept exactly (01 stays 01)
    code, stdout, _ = cli("geo", "risk", src, out, "--lat", "latitude", "--lon", "longitude", "--json")
    assert code == 0 and json.loads(stdout)["reidentified_share"] < 0.3
    code, _, err = cli(
        "geo",
        "mask",
        src,
        tmp_path / "x.csv",
        "--lat",
        "latitude",
        "--lon",
        "longitude",
        "--method",
        "laplace",
        "--epsilon",
        "1",
    )
    assert code == 2 and "--radius-m" in err
    code, _, err = cli(
        "geo",
        "mask",
        src,
        tmp_path / "x.csv",
        "--lat",
        "lat",
        "--lon",
        "longitude",
        "--method",
        "round",
        "--digits",
        "2",
    )
    assert code == 2 and "'lat'" in err
