"""The public-domain encoding: codes from the schema only, missing as a category, decoding back to dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anonlab.errors import PrivacyError, SchemaError
from anonlab.schema import Column, Schema, infer_schema
from anonlab.synth.encoding import ColumnCoding, Encoding


def test_roundtrip_keeps_labels_ranges_and_dtypes(planted, schema):
    enc = Encoding.from_schema(schema, bins=8)
    codes, outside = enc.encode(schema.coerce(planted))
    assert outside == {}
    assert codes.shape == (len(planted), 6)
    assert (codes.max(axis=0) < np.array(enc.sizes)).all()
    back = enc.decode(codes, np.random.default_rng(0))
    assert list(back.columns) == list(planted.columns)
    assert back["a"].dropna().isin(["w", "x", "y", "z"]).all()
    assert back["b"].tolist() == planted["b"].tolist()  # categorical codes are exact
    assert pd.api.types.is_integer_dtype(back["age"]) and back["age"].between(18, 89).all()
    assert back["score"].dtype == float and back["score"].between(0, 100).all()
    assert pd.api.types.is_datetime64_any_dtype(back["day"])
    assert back["city"].isna().sum() == planted["city"].isna().sum()  # missing is its own category
    again, _ = enc.encode(back)
    assert (again == codes).all()  # decoding stays inside each bin


def test_small_integer_ranges_are_exact():
    col = ColumnCoding.from_column(Column("n", type="integer", lower=1, upper=16), bins=32)
    assert col.exact and col.n_values == 16 and col.size == 17


def test_out_of_domain_values_are_clamped_or_missing_and_counted(schema):
    df = pd.DataFrame(
        {
            "a": ["x", "nope"],
            "b": ["x", "y"],
            "age": [5, 200],
            "score": [1.0, 2.0],
            "day": ["2020-02-02", "2021-06-01"],
            "city": ["north", None],
        }
    )
    enc = Encoding.from_schema(schema)
    codes, outside = enc.encode(schema.coerce(df))
    assert outside == {"a": 1, "age": 2, "day": 1}
    assert codes[1, 0] == enc.columns[0].n_values  # unlisted category -> missing code


def test_domain_read_from_data_is_refused_unless_trusted(planted):
    inferred = infer_schema(planted)
    with pytest.raises(PrivacyError, match="from_data"):
        Encoding.from_schema(inferred)
    assert Encoding.from_schema(inferred, trust_domains=True).names


def test_missing_domain_is_a_schema_error():
    with pytest.raises(SchemaError, match="no categories"):
        Encoding.from_schema(Schema((Column("a", type="categorical"),)))
    with pytest.raises(SchemaError, match="no bounds"):
        Encoding.from_schema(Schema((Column("n", type="integer"),)))


def test_identifiers_and_text_are_never_synthesised():
    s = Schema(
        (
            Column("id", role="identifier", type="categorical"),
            Column("note", type="text"),
            Column("a", type="categorical", categories=("p", "q")),
        )
    )
    enc = Encoding.from_schema(s)
    assert enc.names == ["a"] and enc.skipped == ("id", "note")
    with pytest.raises(SchemaError, match="no column to synthesise"):
        Encoding.from_schema(Schema((Column("id", role="identifier"),)))


def test_no_missing_category_when_stated_public(planted, schema):
    from anonlab.errors import InputError

    enc = Encoding.from_schema(schema, missing=False)
    assert enc.sizes[0] == 4 and Encoding.from_dict(enc.to_dict()) == enc
    with pytest.raises(InputError, match="column 'city' holds a missing value"):
        enc.encode(schema.coerce(planted))


def test_a_number_with_listed_values_gets_a_code_per_value_and_comes_back_exact():
    """RAND HIE's lncoins: five values, one of them (4.61512) the upper bound. Bins with a noisy density inside
    them brought it back as 4.61507-4.61509 in some fits; a code per listed value brings back the values only."""
    import warnings

    import numpy as np
    import pandas as pd

    from anonlab.errors import PrivacyWarning
    from anonlab.schema import infer_schema
    from anonlab.synth import Budget, get_method
    from anonlab.synth.encoding import ColumnCoding

    atoms = [0.0, 3.258096, 3.931826, 4.564348, 4.61512]
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"lncoins": rng.choice(atoms, 3000, p=[0.5, 0.2, 0.1, 0.15, 0.05]), "k": rng.integers(0, 3, 3000)}
    )
    schema = infer_schema(frame)
    coding = ColumnCoding.from_column(schema["lncoins"], bins=16)
    assert coding.exact and coding.n_values == 5
    assert ColumnCoding.from_column(schema["lncoins"], bins=4).exact is False  # more values than bins: bins
    # a value that is none of the listed ones (a schema reused on another table) is coded as the one below it,
    # and counted outside the domain (reported to the data owner, as clamped bounds are)
    codes, outside = coding.encode(pd.Series([3.258096, 3.5, 4.61512, 4.9, 0.0]))
    assert codes.tolist() == [1, 1, 4, 4, 0] and outside == 2
    huge = infer_schema(pd.DataFrame({"x": [1e17, 3e17] * 50}))["x"]  # where v + 1.0 == v
    assert ColumnCoding.from_column(huge, bins=16).n_values == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        for method in ("mst", "aim"):
            m = get_method(method)(seed=3, trust_domains=True).fit(frame, schema, Budget(1.0, 1e-9))
            out = m.sample(3000, seed=4)
            assert set(out["lncoins"].dropna()) <= set(atoms), method
            assert (out["lncoins"] == 4.61512).mean() > 0.02, method
        # with DP domain discovery the values are data-read facts: never used (bins inside discovered bounds)
        d = get_method("mst")(seed=3).fit(frame, schema, Budget(1.0, 1e-9))
        col = [c for c in d.encoding_.columns if c.name == "lncoins"][0]
        assert not col.exact and d.privacy_.details["discovered_domains"]["lncoins"]["bounds"] != [
            0.0,
            4.61512,
        ]


def test_listed_values_beyond_the_bins_are_the_density_grid():
    """RAND HIE's disea: 31 values (13.73189, 10.57626, 3.4, ...) in [0, 58.6] with six decimals, more than the
    16 bins. The density tree over the range went seven levels deep (786 cells), and its atoms had to pass the
    threshold at every level; on the positions of the listed values it is two levels, and decoding draws listed
    values only, each about as often as in the data."""
    import warnings

    from anonlab.errors import PrivacyWarning
    from anonlab.synth import Budget, get_method
    from anonlab.synth.density import cells_in_values, plan_density

    rng = np.random.default_rng(2)
    atoms = np.round(np.sort(rng.uniform(0, 58.6, 31)), 6)
    atoms[0], atoms[-1] = 0.0, 58.6
    p = 0.7 * rng.dirichlet(np.full(31, 0.7)) + 0.3 / 31
    frame = pd.DataFrame({"disea": rng.choice(atoms, 8000, p=p), "k": rng.integers(0, 3, 8000)})
    schema = infer_schema(frame)
    assert len(schema["disea"].values) == 31
    coding = ColumnCoding.from_column(schema["disea"], bins=16)
    assert not coding.exact and coding.grid == tuple(atoms)
    from anonlab.synth.density import density_columns

    assert density_columns(Encoding((coding,))) == [("disea", 0.0, 30.0, 1.0)]
    assert plan_density(density_columns(Encoding((coding,))), 0.01).levels == (2,)
    # a value between two listed ones is coded in its bin and counted outside, as for an exact coding
    assert coding.encode(pd.Series([atoms[3], (atoms[3] + atoms[4]) / 2]))[1] == 1
    assert Encoding.from_dict(Encoding((coding,)).to_dict()).columns[0].grid == coding.grid
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrivacyWarning)
        for method in ("mst", "aim"):
            fit = get_method(method)(seed=3, trust_domains=True, bins=16)
            m = fit.fit(frame, schema, Budget(1.0, 1e-9))
            col = [c for c in m.encoding_.columns if c.name == "disea"][0]
            assert col.grid == tuple(atoms) and col.density is not None
            cells = cells_in_values(col)
            assert cells[0, 0] == 0.0 and set(cells[:, 0]) <= set(atoms)
            out = m.sample(8000, seed=4)["disea"].to_numpy(dtype=float)
            assert set(out) <= set(atoms), method
            real = pd.Series(frame["disea"]).value_counts(normalize=True)
            synth = pd.Series(out).value_counts(normalize=True).reindex(real.index, fill_value=0.0)
            assert 0.5 * np.abs(real - synth).sum() < 0.08, method
