"""Schema dataclasses, TOML round trips, inference and type checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonlab.errors import InputError, SchemaError
from anonlab.schema import Column, Schema, guess_role, infer_schema


def test_toml_round_trip_keeps_everything():
    schema = Schema(
        (
            Column("age", "quasi", "integer", lower=0, upper=120),
            Column("sex", "quasi", "categorical", categories=("F", "M"), from_data=True),
            Column("dob", "quasi", "date", lower="1900-01-01", upper="2020-12-31"),
            Column("income", "sensitive", "float", lower=0.0, upper=1e6),
            Column("notes", "other", "text"),
        )
    )
    back = Schema.from_toml(schema.to_toml())
    assert back == schema
    assert back["dob"].lower == dt.date(1900, 1, 1)
    assert back["age"].public_domain and not back["sex"].public_domain
    assert back.trusting()["sex"].public_domain
    assert schema.fingerprint() == back.fingerprint()


@given(
    st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6, unique=True),
    st.integers(-1000, 1000),
    st.integers(0, 1000),
)
def test_round_trip_property(cats, lo, width):
    schema = Schema(
        (Column("c", categories=tuple(cats)), Column("n", type="integer", lower=lo, upper=lo + width))
    )
    assert Schema.from_toml(schema.to_toml()) == schema


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[columns.a]\nrole = 'boss'\n", "role 'boss'"),
        ("[columns.a]\ntype = 'integer'\nlower = 5\nupper = 1\n", "lower 5 is above upper 1"),
        ("[columns.a]\ntype = 'integer'\nlower = 5\n", "both lower and upper"),
        ("[columns.a]\ncategories = ['x', 'x']\n", "repeated category"),
        ("[columns.a]\ncolour = 'red'\n", "unknown key 'colour'"),
        ("columns = 3\n", "no [columns.NAME]"),
        ("[columns.a\n", "not valid TOML"),
    ],
)
def test_bad_schema_is_named(toml, message):
    with pytest.raises(SchemaError, match=message.replace("[", r"\[")):
        Schema.from_toml(toml, "s.toml")


def test_infer_guesses_roles_and_marks_domains_from_data():
    df = pd.DataFrame(
        {
            "patient_name": ["Ann Lee", "Bo Chan", "Cy Dorn"],
            "email": ["a@x.org", "b@y.org", "c@z.org"],
            "contact": ["+44 20 7946 0001", "+44 20 7946 0002", "+44 20 7946 0003"],
            "age": [34, 51, 29],
            "sex": ["F", "M", "F"],
            "zip": ["02139", "02140", "02141"],
            "date_of_birth": ["1990-01-02", "1973-05-06", "1995-07-08"],
            "diagnosis": ["J45", "E11", "I10"],
            "visits": [1.5, 2.25, 3.0],
        }
    )
    schema = infer_schema(df)
    roles = {c.name: c.role for c in schema}
    assert roles["patient_name"] == roles["email"] == roles["contact"] == "identifier"
    assert roles["age"] == roles["sex"] == roles["zip"] == roles["date_of_birth"] == "quasi"
    assert roles["diagnosis"] == "sensitive"
    assert schema["age"].type == "integer" and schema["age"].from_data and schema["age"].lower == 29
    assert schema["date_of_birth"].type == "date"
    assert schema["visits"].type == "float"
    # identifier values never reach the schema
    assert "Ann Lee" not in schema.to_toml() and "a@x.org" not in schema.to_toml()


def test_guess_role_by_name():
    assert guess_role("Patient ID") == "identifier"
    assert guess_role("postcode") == "quasi"
    assert guess_role("hours_per_week") == "other"


def test_coerce_names_column_and_row():
    schema = Schema((Column("age", type="integer"), Column("when", type="date")))
    df = pd.DataFrame({"age": ["1", "2", "x3"], "when": ["2020-01-01", None, "2020-02-02"]})
    with pytest.raises(InputError, match=r"column 'age', row 3: 'x3' is not an integer"):
        schema.coerce(df, "t.csv")
    df2 = pd.DataFrame({"age": [1, 2.5], "when": ["2020-01-01", "soon"]})
    with pytest.raises(InputError, match="row 2"):
        schema.coerce(df2, "t.csv")
    ok = schema.coerce(pd.DataFrame({"age": ["1", None], "when": ["2020-01-01", None]}), "t.csv")
    assert str(ok["age"].dtype) == "Int64"


# -- format versions, missing, code, roles from values, subsets (issues 12 and 13) -----------------------------

DATA = Path(__file__).parent / "data"


def test_schema_written_by_the_landed_version_still_reads():
    schema = Schema.read(DATA / "schema-v1.toml")
    assert schema.names[:3] == ["patient_id", "age", "sex"]
    assert all(c.missing is None and c.allows_missing for c in schema)  # v1 said nothing: missing allowed
    assert schema["age"].from_data and not schema["age"].public_domain
    assert schema["dob"].lower == dt.date(1900, 1, 1)
    # unchanged text and fingerprint: a release made under it still names the same schema
    assert schema.to_toml() == (DATA / "schema-v1.toml").read_text()
    assert Schema.from_toml(schema.to_toml()).fingerprint() == schema.fingerprint()


def test_missing_and_code_round_trip():
    schema = Schema(
        (
            Column("zip", "quasi", "code", categories=("02140", "12345"), missing=False, from_data=True),
            Column("age", "quasi", "integer", lower=0, upper=99, missing=True),
            Column("mrn", "identifier", "code", missing=False, from_data=True),
        )
    )
    text = schema.to_toml()
    assert "missing = false" in text and 'type = "code"' in text
    back = Schema.from_toml(text)
    assert back == schema and not back["zip"].allows_missing and back["age"].allows_missing
    assert back["zip"].is_categorical and not back["age"].is_categorical
    with pytest.raises(SchemaError, match="missing must be true or false"):
        Schema.from_toml("[columns.a]\nmissing = 'no'\n")


def test_coerce_integers_exactly_and_codes_as_written():
    schema = Schema((Column("id", type="integer"), Column("zip", type="code"), Column("n", type="integer")))
    df = pd.DataFrame(
        {"id": ["9007199254740993", None], "zip": ["02140", None], "n": ["3.0", "1e2"]}, dtype=object
    )
    out = schema.coerce(df)
    assert out["id"].tolist()[0] == 9007199254740993 and str(out["id"].dtype) == "Int64"
    assert out["zip"].tolist()[0] == "02140"
    assert out["n"].tolist() == [3, 100] and out["n"].dtype == "int64"
    big = pd.DataFrame({"id": ["99999999999999999999"], "zip": ["1"], "n": ["1"]})
    with pytest.raises(InputError, match="beyond the 64-bit integer range"):
        schema.coerce(big)


def test_infer_types_codes_missing_and_reasons():
    df = pd.DataFrame(
        {
            "zip": ["02140", "12345", "02141", "02140"],
            "plz": [10115, 20095, 80331, 10115],
            "age": pd.array([34, 51, None, 29], dtype="Int64"),
            "telephone": ["A191", "A192", "A191", "A191"],
        }
    )
    schema = Schema.infer(df)
    assert schema["zip"].type == "code" and schema["zip"].categories == ("02140", "02141", "12345")
    assert schema["plz"].type == "code"
    assert schema["age"].type == "integer" and schema["age"].missing is True
    assert schema["zip"].missing is False and schema["zip"].from_data
    assert schema["telephone"].role != "identifier"  # two codes are no identifier (German credit)
    assert "2 distinct values" in schema["telephone"].reason
    text = schema.to_toml(reasons=True)
    assert "# zip: quasi" in text and Schema.from_toml(text) == schema


def test_roles_from_values():
    rng = __import__("random").Random(0)
    first = [
        "Matti",
        "Anna",
        "Juha",
        "Liisa",
        "Pekka",
        "Maria",
        "Jose",
        "Carmen",
        "Hans",
        "Greta",
        "John",
        "Mary",
    ]
    last = [
        "Virtanen",
        "Korhonen",
        "Garcia",
        "Lopez",
        "Muller",
        "Schmidt",
        "Smith",
        "Jones",
        "Nieminen",
        "Rossi",
    ]
    n = 40
    df = pd.DataFrame(
        {
            "etunimi": [rng.choice(first) for _ in range(n)],
            "col7": [f"{rng.choice(first)} {rng.choice(last)}" for _ in range(n)],
            "contact": [f"user{i}@example.org" for i in range(n)],
            "hetu": [_hetu(1 + i % 28, 1 + i % 12, 40 + i, 100 + i) for i in range(n)],
            "col9": [f"{100 + i:03d}-45-{6789 + i:04d}" for i in range(n)],
            "site": [f"https://example.org/p/{i}" for i in range(n)],
            "host": [f"10.0.{i}.{i + 1}" for i in range(n)],
            "born": [f"{1940 + i}-0{1 + i % 9}-1{i % 9}" for i in range(n)],
            "remark": [
                f"Patient number {i} reported mild symptoms after the second visit to the clinic"
                for i in range(n)
            ],
            "grade": [rng.choice(["low", "mid", "high"]) for _ in range(n)],
        }
    )
    schema = infer_schema(df)
    role = {c.name: c.role for c in schema}
    reason = {c.name: c.reason for c in schema}
    for col, why in [
        ("etunimi", "name"),
        ("col7", "person names"),
        ("contact", "e-mail"),
        ("hetu", "identifier"),
        ("col9", "US social security"),
        ("site", "URLs"),
        ("host", "IP addresses"),
        ("remark", "free text"),
    ]:
        assert role[col] == "identifier", (col, reason[col])
        assert why in reason[col], (col, reason[col])
    assert role["born"] == "quasi" and "dates of birth" in reason["born"]
    assert role["grade"] == "other"
    assert not any(v in schema.to_toml(reasons=True) for v in ("Virtanen", "user1@", "131052"))


def _hetu(day: int, month: int, year: int, number: int) -> str:
    head = f"{day:02d}{month:02d}{year % 100:02d}"
    return f"{head}-{number:03d}" + "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(head + f"{number:03d}") % 31]


def test_finnish_henkilotunnus_check_character():
    from anonlab.schema import explain_role

    good = pd.Series(["131052-308T", "010101A123N", "290200A1239"] * 4)
    bad = pd.Series(["131052-308X", "010101A123A", "290200A123Z"] * 4)  # right shape, wrong check character
    assert explain_role("x", good) == (
        "identifier",
        "values look like national ID numbers (Finnish henkilötunnus)",
    )
    assert "Finnish" not in explain_role("x", bad)[1]


def test_subset_and_present_in():
    schema = Schema((Column("a"), Column("b", type="integer"), Column("c", type="code")))
    assert schema.subset(["c", "a"]).names == ["c", "a"]
    assert schema.present_in(pd.DataFrame({"c": [1], "a": [2], "z": [3]})).names == ["c", "a"]
    with pytest.raises(SchemaError, match="no column 'zz'"):
        schema.subset(["zz"])


def test_coerce_dates_one_format_and_no_day_month_guessing():
    schema = Schema((Column("when", type="date"),))
    ok = schema.coerce(pd.DataFrame({"when": ["2 Jan 2020", "13 Feb 2020", None]}))
    assert ok["when"].dt.month.tolist()[:2] == [1, 2]
    with pytest.raises(InputError, match=r"column 'when'.*ambiguous.*YYYY-MM-DD"):
        schema.coerce(pd.DataFrame({"when": ["01/02/2020", "13/02/2020"]}), "t.csv")


@pytest.mark.parametrize(
    "name", ["surname", "etunimi", "Sukunimi", "henkilötunnus", "nombre", "pat_nm", "Vorname"]
)
def test_identifier_names_in_several_languages(name):
    assert guess_role(name) == "identifier"


def test_float_decimals_are_inferred_written_and_checked():
    import pandas as pd

    from anonlab.errors import SchemaError
    from anonlab.schema import Column, Schema, infer_schema

    s = infer_schema(pd.DataFrame({"visib": [10.0, 9.75, 0.12, 10.0], "x": [1.123456789, 2.0, 3.0, 4.5]}))
    assert s["visib"].decimals == 2 and s["x"].decimals is None
    assert Schema.from_toml(s.to_toml()) == s and "decimals = 2" in s.to_toml()
    for bad in (-1, 16, 1.5, True):
        with pytest.raises(SchemaError, match="decimals"):
            Column("v", type="float", decimals=bad)
    with pytest.raises(SchemaError, match="decimals given for a integer"):
        Column("v", type="integer", decimals=2)


def test_values_of_a_number_of_few_values_are_inferred_written_and_checked():
    from anonlab.schema import MAX_VALUES

    lncoins = [0.0, 3.258096, 3.931826, 4.564348, 4.61512] * 20
    frame = pd.DataFrame({"lncoins": lncoins, "n": [0, 5, 9, 40] * 25, "wide": list(range(100))})
    s = infer_schema(frame)
    assert s["lncoins"].values == (0.0, 3.258096, 3.931826, 4.564348, 4.61512)
    assert s["n"].values == (0, 5, 9, 40) and all(type(v) is int for v in s["n"].values)
    assert s["wide"].values is None and 100 > MAX_VALUES  # too many values: bins, as before
    assert Schema.from_toml(s.to_toml()) == s and "values = [" in s.to_toml()
    for kw, message in [
        ({"type": "categorical", "values": [1]}, "values given for a categorical"),
        ({"type": "float", "values": []}, "non-empty list"),
        ({"type": "float", "values": [2.0, 1.0]}, "increase"),
        ({"type": "float", "values": [1.0, 1.0]}, "increase"),
        ({"type": "integer", "values": [1.5]}, "whole numbers"),
        ({"type": "float", "values": [float("nan")]}, "finite"),
        ({"type": "float", "values": ["1"]}, "finite"),
        ({"type": "float", "lower": 0.0, "upper": 1.0, "values": [0.0, 2.0]}, r"outside \[lower, upper\]"),
    ]:
        with pytest.raises(SchemaError, match=message):
            Column("v", **kw)


def test_problems_counts_what_does_not_fit_and_never_shows_values():
    import pandas as pd

    from anonlab.schema import Column, Schema

    schema = Schema(
        [
            Column("age", type="integer", lower=0, upper=120, missing=False),
            Column("sex", type="categorical", categories=("F", "M")),
        ]
    )
    df = pd.DataFrame({"age": pd.array([5, 130, None], dtype="Int64"), "sex": ["F", "X-secret", "M"]})
    found = schema.problems(df)
    assert len(found) == 3
    assert any("1 missing value(s)" in p for p in found)
    assert any("outside [0, 120]" in p for p in found)
    assert any("outside the schema's categories" in p for p in found)
    assert not any("X-secret" in p for p in found)
    assert schema.problems(df.iloc[[0]].assign(age=pd.array([5], dtype="Int64"))) == []


def test_schema_shows_in_a_notebook():
    from anonlab.schema import Column, Schema

    schema = Schema([Column("zip", type="code", categories=("02140", "<b>"), from_data=True)])
    html = schema._repr_html_()
    assert "read from the data" in html and "&lt;b&gt;" not in html  # counts, not values
    assert repr(schema) == "Schema(zip: other code)"


def test_a_key_column_is_an_identifier_and_never_blocks_synthesis():
    # the zipcodes table: one ZIP per row (more ZIPs than max_categories, so no category list): a key, not a
    # quasi-identifier left without categories that stops synth; a repeated ZIP column stays a quasi-identifier
    zips = [f"{i:05d}" for i in range(0, 1500 * 7, 7)]
    df = pd.DataFrame({"zip_code": zips, "state": ["MA", "NY", "CA"] * 500, "size": list(range(1500))})
    schema = infer_schema(df, max_categories=1000)
    assert schema["zip_code"].role == "identifier" and schema["zip_code"].categories is None
    assert "a key" in schema["zip_code"].reason and "00007" not in schema["zip_code"].reason
    # a repeated label and a column of numbers are no keys
    assert schema["state"].role != "identifier" and schema["size"].role != "identifier"
    from anonlab.synth.encoding import Encoding

    assert "zip_code" in Encoding.from_schema(schema, trust_domains=True).skipped
    repeated = infer_schema(pd.DataFrame({"zip_code": zips[:300] * 5}))
    assert repeated["zip_code"].role == "quasi" and len(repeated["zip_code"].categories) == 300
    few = infer_schema(pd.DataFrame({"code": [f"A{i}" for i in range(80)]}))  # 80 distinct: too few for a key
    assert few["code"].role != "identifier"


def test_load_takes_a_schema_the_bundled_name_or_a_path(tmp_path):
    from anonlab.datasets import adult_schema
    from anonlab.errors import InputError
    from anonlab.schema import Schema

    adult = Schema.load("adult")
    assert adult == adult_schema() and Schema.load(adult) is adult
    path = tmp_path / "s.toml"
    path.write_text(adult.subset(["age", "sex"]).to_toml())
    assert Schema.load(path).names == ["age", "sex"]
    with pytest.raises(InputError, match="no such schema file"):
        Schema.load(tmp_path / "nope.toml")


def test_evaluate_takes_the_bundled_schema_by_name(tmp_path, capsys):
    from anonlab.cli import main
    from anonlab.datasets import load_adult

    df = load_adult().sample(600, random_state=1)
    real, release = tmp_path / "real.csv", tmp_path / "release.csv"
    df.iloc[:300].to_csv(real, index=False)
    df.iloc[300:].to_csv(release, index=False)
    args = [
        "evaluate",
        str(real),
        str(release),
        "--schema",
        "adult",
        "--skip",
        "anonymeter,quality,tstr,dcr,membership",
    ]
    assert main([*args, "--quiet", "--json"]) == 0, capsys.readouterr().err
