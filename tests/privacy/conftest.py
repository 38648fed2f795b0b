"""Small real tables and schemas for the DP tests."""

import numpy as np
import pandas as pd
import pytest

SCHEMA = """
[columns.age]
role = "quasi"
type = "integer"
lower = 0
upper = 100

[columns.sex]
role = "quasi"
type = "categorical"
categories = ["F", "M", "X"]

[columns.city]
role = "quasi"
type = "categorical"
categories = ["Oslo", "Bergen", "Tromso"]

[columns.income]
role = "sensitive"
type = "float"
lower = 0.0
upper = 100000.0

[columns.zip]
role = "quasi"
type = "categorical"
categories = ["0150", "5003"]
from_data = true

[columns.note]
role = "other"
type = "text"
"""


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)  # test data only; no privacy claim rests on it
    n = 400
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "city": rng.choice(["Oslo", "Bergen"], n),  # no one from Tromso: its cells must still be released
            "income": np.round(rng.uniform(1000, 90000, n), 2),
            "zip": rng.choice(["0150", "5003"], n),
            "note": ["free text"] * n,
        }
    )
    path = tmp_path / "people.csv"
    df.to_csv(path, index=False)
    schema = tmp_path / "schema.toml"
    schema.write_text(SCHEMA)
    return df, path, schema
