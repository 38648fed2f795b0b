"""`assess` with a location risk: masked coordinates against the real ones (issue 20)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from anonlab.cli import main
from anonlab.deid import assess
from anonlab.deid.geo import location_risk, mask_table
from anonlab.errors import InputError, UsageError


@pytest.fixture(scope="module")
def tables():
    rng = np.random.default_rng(7)
    n = 400
    real = pd.DataFrame(
        {
            "lat": 60.1 + rng.random(n) * 0.1,
            "lon": 24.8 + rng.random(n) * 0.2,
            "age": rng.integers(20, 70, n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    masked, _ = mask_table(real, lat="lat", lon="lon", method="donut", min_m=200, max_m=800, seed=3)
    return real, masked


def test_location_section_is_location_risk(tables):
    real, masked = tables
    report = assess(masked, quasi=["age", "sex"], lat="lat", lon="lon", original=real, threshold=0.25)
    direct = location_risk(real.lat, real.lon, masked.lat, masked.lon, k=4)
    assert report.location is not None
    assert report.location.reidentified_share == direct.reidentified_share
    assert np.array_equal(report.location.candidates, direct.candidates)
    assert report.location.k == 4  # 1 / threshold
    out = report.to_dict()
    assert out["location"] == direct.to_dict()
    json.dumps(out)  # no array inside
    assert 0 < report.location.reidentified_share < 1
    assert "locations re-identified" in report._repr_html_()


def test_no_location_keeps_the_report_as_it_was(tables):
    _, masked = tables
    out = assess(masked, quasi=["age", "sex"]).to_dict()
    assert "location" not in out


def test_unmoved_points_are_all_reidentified(tables):
    real, _ = tables
    report = assess(real, quasi=["age"], lat="lat", lon="lon", original=real)
    assert report.location.reidentified_share == 1.0 and report.location.median_candidates == 0


def test_without_quasi_the_published_locations_are_the_classes(tables):
    real, _ = tables
    grid, _ = mask_table(real, lat="lat", lon="lon", method="adaptive", k=10)
    report = assess(grid, lat="lat", lon="lon", original=real)
    assert report.quasi == ["lat", "lon"] and report.k >= 10


def test_bad_location_arguments(tables):
    real, masked = tables
    with pytest.raises(UsageError, match="go together"):
        assess(masked, quasi=["age"], lat="lat", lon="lon")
    with pytest.raises(InputError, match="row for row"):
        assess(masked, quasi=["age"], lat="lat", lon="lon", original=real.iloc[:10])
    bad = masked.copy()
    bad["lat"] = bad["lat"].astype(object)
    bad.loc[5, "lat"] = "north"
    with pytest.raises(InputError, match="row 6"):
        assess(bad, quasi=["age"], lat="lat", lon="lon", original=real)


def test_cli(tables, tmp_path, capsys):
    real, masked = tables
    real.to_csv(tmp_path / "real.csv", index=False)
    masked.to_csv(tmp_path / "masked.csv", index=False)
    args = ["assess", str(tmp_path / "masked.csv"), "--quasi", "age,sex", "--lat", "lat", "--lon", "lon"]
    assert main([*args, "--original", str(tmp_path / "real.csv")]) == 0
    assert "re-identified by nearest-neighbour matching" in capsys.readouterr().out
    assert main([*args, "--original", str(tmp_path / "real.csv"), "--json"]) == 0
    assert "reidentified_share" in json.loads(capsys.readouterr().out)["location"]
    assert main(args) == 2
    assert "--original go together" in capsys.readouterr().err
    real.iloc[:5].to_csv(tmp_path / "short.csv", index=False)
    assert main([*args, "--original", str(tmp_path / "short.csv")]) == 2
    err = capsys.readouterr().err
    assert "--original has 5" in err and err.count("\n") == 1
