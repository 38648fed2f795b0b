"""A schema's public ``other`` label: a column of many values synthesised with its frequent values listed and the
rest coded as the label (issue 13: the ZIP code table's cities were refused with trusted domains)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import SchemaError
from anonlab.schema import OTHER_LABEL, OTHER_MAX_LISTED, Column, Schema, infer_schema
from anonlab.synth import MST


def _cities(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    city = [f"c{i:04d}" for i in rng.zipf(1.6, n) % 2500]
    return pd.DataFrame({"city": city, "kind": rng.choice(["a", "b"], n)})


def test_infer_lists_the_frequent_values_and_an_other_label_and_round_trips():
    df = _cities()
    schema = infer_schema(df, max_categories=50)
    col = schema["city"]
    assert col.other == OTHER_LABEL and col.categories[-1] == OTHER_LABEL and len(col.categories) == 50
    counts = df["city"].value_counts()
    listed = list(col.categories[:-1])  # the most frequent (ties by value), never a value of one row
    assert counts[listed].min() >= counts.drop(listed).max()
    assert all(counts[c] >= 2 for c in col.categories[:-1])
    assert col.from_data and schema["kind"].other is None
    many = pd.DataFrame({"city": [f"c{i % 600:03d}" for i in range(12_000)]})  # 600 values of 20 rows
    assert len(infer_schema(many)["city"].categories) == 600  # under max_categories: all listed, no label
    assert len(infer_schema(many, max_categories=300)["city"].categories) == OTHER_MAX_LISTED + 1
    back = Schema.from_toml(schema.to_toml(reasons=True))
    assert back == schema and back["city"].other == OTHER_LABEL
    assert schema.problems(schema.coerce(df)) == []  # unlisted values fit: they are "other"


def test_an_other_label_must_be_a_category_of_a_label_column():
    with pytest.raises(SchemaError, match="other"):
        Column("c", type="categorical", categories=("a", "b"), other="z")
    with pytest.raises(SchemaError, match="other"):
        Column("n", type="integer", lower=0, upper=3, other="x")
    with pytest.raises(SchemaError, match="unknown key|other"):
        Schema.from_toml('[columns.c]\ntype = "categorical"\ncategories = ["a"]\nother = "b"\n')


def test_trusted_fit_codes_unlisted_values_as_the_label_and_writes_it():
    df = _cities()
    schema = infer_schema(df, max_categories=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MST(epsilon=1.0, seed=1, iters=100).fit(df, schema, trust_domains=True)
    out = model.sample(5000, seed=2)
    listed = set(schema["city"].categories)
    assert set(out["city"]) <= listed and out["city"].notna().all()
    real_other = (~df["city"].isin(listed)).mean()
    assert abs((out["city"] == OTHER_LABEL).mean() - real_other) < 0.05


def test_discovery_writes_the_schemas_own_label():
    df = _cities()
    schema = infer_schema(df, max_categories=50)
    col = schema["city"]
    named = schema.replace_column(
        Column(
            "city",
            type="categorical",
            categories=col.categories[:-1] + ("elsewhere",),
            other="elsewhere",
            from_data=True,
            missing=False,
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MST(epsilon=1.0, seed=1, iters=100).fit(df, named)
    out = model.sample(3000, seed=2)
    assert "elsewhere" in set(out["city"]) and OTHER_LABEL not in set(out["city"])
