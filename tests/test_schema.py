"""Schema dataclasses, TOML round trips, inference and type checks."""

from __future__ import annotations

import datetime as dt

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
